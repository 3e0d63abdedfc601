// The node's pod network: a CNI plugin (this binary, run by containerd under the name
// cniPluginName) that gives each pod without the host network its own network namespace with
// lo and an eth0 that leads nowhere (one end of a veth pair whose other end stays in the same
// namespace), addressed by Debian's host-local IPAM. containerd's CRI plugin insists on an
// interface with an address ("failed to find network info for sandbox" otherwise), and this
// VM's kernel has no dummy links; nothing is created in the machine's own network namespace,
// and a pod without the host network reaches nothing but itself.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cniPluginName is the plugin type in the node's network config, and the name of the link to
// this binary in the node's CNI bin directory.
const cniPluginName = "iter8-testenv-net"

// podSubnet is the host-local range pod addresses come from; they exist only inside pods.
const podSubnet = "10.88.0.0/16"

// cniConfList is the node's network config: this plugin with host-local addresses.
func cniConfList() string {
	return fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "iter8-testenv", "plugins": [{"type": %q, "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]]}}]}`+"\n",
		cniPluginName, podSubnet)
}

// cniBinDir fills dir with the plugins containerd runs: this binary as cniPluginName, and
// Debian's loopback and host-local.
func cniBinDir(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	links := map[string]string{
		cniPluginName: self,
		"loopback":    "/usr/lib/cni/loopback",
		"host-local":  "/usr/lib/cni/host-local",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, target := range links {
		p := filepath.Join(dir, name)
		_ = os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	return nil
}

// cniResult is the part of a CNI 0.4.0 result this plugin reads and writes.
type cniResult struct {
	CNIVersion string         `json:"cniVersion"`
	Interfaces []cniInterface `json:"interfaces,omitempty"`
	IPs        []cniIP        `json:"ips,omitempty"`
	DNS        struct{}       `json:"dns"`
}

type cniInterface struct {
	Name    string `json:"name"`
	Sandbox string `json:"sandbox,omitempty"`
}

type cniIP struct {
	Version   string `json:"version,omitempty"`
	Address   string `json:"address"`
	Gateway   string `json:"gateway,omitempty"`
	Interface *int   `json:"interface,omitempty"`
}

// cniMain runs one CNI command (CNI_COMMAND: ADD, DEL, CHECK, VERSION) as the spec says: the
// network config on stdin, the result or an error as JSON on stdout.
func cniMain() int {
	conf, _ := io.ReadAll(os.Stdin)
	var c struct {
		CNIVersion string `json:"cniVersion"`
		IPAM       struct {
			Type string `json:"type"`
		} `json:"ipam"`
	}
	_ = json.Unmarshal(conf, &c)
	version := c.CNIVersion
	if version == "" {
		version = "0.4.0"
	}
	fail := func(format string, a ...any) int {
		msg, _ := json.Marshal(map[string]any{"cniVersion": version, "code": 100,
			"msg": fmt.Sprintf(cniPluginName+": "+format, a...)})
		fmt.Println(string(msg))
		return 1
	}
	netns, ifname := os.Getenv("CNI_NETNS"), os.Getenv("CNI_IFNAME")
	switch os.Getenv("CNI_COMMAND") {
	case "VERSION":
		fmt.Println(`{"cniVersion": "0.4.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0"]}`)
		return 0
	case "CHECK":
		return 0
	case "DEL":
		// The links go with the namespace; the address goes back to the pool.
		if c.IPAM.Type != "" {
			if _, err := runIPAM(c.IPAM.Type, conf); err != nil {
				return fail("releasing the address: %v", err)
			}
		}
		return 0
	case "ADD":
		if netns == "" || ifname == "" {
			return fail("CNI_NETNS and CNI_IFNAME are required for ADD")
		}
		out, err := runIPAM(c.IPAM.Type, conf)
		if err != nil {
			return fail("allocating an address: %v", err)
		}
		var ipam cniResult
		if err := json.Unmarshal(out, &ipam); err != nil || len(ipam.IPs) == 0 {
			return fail("IPAM %s returned no address: %s", c.IPAM.Type, strings.TrimSpace(string(out)))
		}
		peer := ifname + "-end"
		script := fmt.Sprintf("link add %s type veth peer name %s\nlink set %s up\naddr add %s dev %s\nlink set %s up\n",
			ifname, peer, peer, ipam.IPs[0].Address, ifname, ifname)
		ip := exec.Command("nsenter", "--net="+netns, "ip", "-batch", "-")
		ip.Stdin = strings.NewReader(script)
		if b, err := ip.CombinedOutput(); err != nil {
			_, _ = runIPAMCommand("DEL", c.IPAM.Type, conf)
			return fail("nsenter --net=%s ip: %v: %s", netns, err, strings.TrimSpace(string(b)))
		}
		zero := 0
		res := cniResult{CNIVersion: version, Interfaces: []cniInterface{{Name: ifname, Sandbox: netns}}}
		for _, a := range ipam.IPs {
			a.Interface = &zero
			a.Gateway = ""
			res.IPs = append(res.IPs, a)
		}
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		return 0
	default:
		return fail("unknown CNI_COMMAND %q", os.Getenv("CNI_COMMAND"))
	}
}

// runIPAM runs the IPAM plugin for this CNI_COMMAND with the same config.
func runIPAM(plugin string, conf []byte) ([]byte, error) {
	return runIPAMCommand(os.Getenv("CNI_COMMAND"), plugin, conf)
}

func runIPAMCommand(command, plugin string, conf []byte) ([]byte, error) {
	if plugin == "" || strings.ContainsRune(plugin, '/') {
		return nil, fmt.Errorf("bad IPAM type %q", plugin)
	}
	var bin string
	for _, d := range filepath.SplitList(os.Getenv("CNI_PATH")) {
		if _, err := os.Stat(filepath.Join(d, plugin)); err == nil {
			bin = filepath.Join(d, plugin)
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("IPAM plugin %s not in CNI_PATH %q", plugin, os.Getenv("CNI_PATH"))
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command)
	cmd.Stdin = bytes.NewReader(conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s %s", bin, command, err, strings.TrimSpace(string(out)), strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
