// A real node for the test cluster (--node): a kubelet from the same Kubernetes module as the
// API server, Debian's containerd and runc (or crun), a docker-registry on loopback that the
// node pulls from, and kube-scheduler. Pods use the host network, or one of their own that
// reaches nothing but the pod (cni.go); nothing listens on anything but 127.0.0.1.
//
// The kubelet and containerd share one private mount namespace (the "node" subcommand). That
// namespace masks the six kernel sysctls the kubelet insists on (vm.overcommit_memory,
// kernel.panic, ...) with files holding the values it wants, so the kubelet never rewrites the
// machine's settings, and every mount it or containerd makes (volumes, snapshots, shim sockets)
// vanishes with the namespace. Pod cgroups live under this process's memory cgroup.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/component-base/cli"
	kubeletapp "k8s.io/kubernetes/cmd/kubelet/app"
)

// nodeName is also the Hostname address the API server dials for logs and exec: the kubelet
// refuses a loopback --node-ip ("nodeIP can't be loopback address"), and "localhost" resolves
// to loopback without touching /etc/hosts.
const nodeName = "localhost"

// nodeUser is the kubelet's identity: the Node authorizer grants it what a kubelet needs.
func nodeUser() user {
	return user{name: "system:node:" + nodeName, groups: []string{"system:nodes"}}
}

// kubeletSysctls are the values the kubelet checks (and otherwise writes) at start.
var kubeletSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// node is the orchestrator's handle on the node's processes.
type node struct {
	registry  childProc
	kubelet   childProc // the "node" subcommand: containerd + kubelet
	scheduler childProc
	dir       string
}

func (n *node) stop() {
	// The kubelet's namespace process cleans up pods and containerd on SIGTERM.
	n.kubelet.stopWithin(20 * time.Second)
	n.scheduler.stop()
	n.registry.stop()
}

// nodeCheck names a missing host program the node needs, with the Debian package.
func nodeCheck(runtime string) error {
	need := [][2]string{
		{"containerd", "containerd"}, {"containerd-shim-runc-v2", "containerd"},
		{runtime, runtime}, {"docker-registry", "docker-registry"}, {"skopeo", "skopeo"},
	}
	for _, n := range need {
		if _, err := exec.LookPath(n[0]); err != nil {
			return fmt.Errorf("--node needs %s on PATH (Debian package %s): %v", n[0], n[1], err)
		}
	}
	for _, p := range []string{"loopback", "host-local"} {
		if _, err := os.Stat("/usr/lib/cni/" + p); err != nil {
			return fmt.Errorf("--node needs the CNI %s plugin (Debian package containernetworking-plugins): %v", p, err)
		}
	}
	for _, n := range [][2]string{{"nsenter", "util-linux"}, {"ip", "iproute2"}} {
		if _, err := exec.LookPath(n[0]); err != nil {
			return fmt.Errorf("--node needs %s on PATH for pod networks (Debian package %s): %v", n[0], n[1], err)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("--node needs root (the kubelet mounts volumes and creates cgroups)")
	}
	return nil
}

// memoryCgroup is this process's cgroup in the memory hierarchy (cgroup v1), or "/".
func memoryCgroup() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "/"
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			for _, c := range strings.Split(parts[1], ",") {
				if c == "memory" {
					return parts[2]
				}
			}
		}
	}
	return "/"
}

// startNode brings the node up; it returns once the Node is Ready.
func startNode(o *options, dir, server string, p *pki, nodeToken string, st *stopper,
	get func(string) (int, []byte, error), waitFor func(string, func() bool) error) (*node, error) {
	n := &node{dir: filepath.Join(dir, "node")}
	n.registry.name = "docker-registry"
	n.kubelet.name = "node (containerd + kubelet)"
	n.scheduler.name = "kube-scheduler"
	for _, sub := range []string{"registry", "cni", "kubelet", "pod-logs", "sysctl", "containerd"} {
		if err := os.MkdirAll(filepath.Join(n.dir, sub), 0o755); err != nil {
			return n, err
		}
	}

	// The registry the node pulls from.
	regPort, err := freePort()
	if err != nil {
		return n, err
	}
	registry := fmt.Sprintf("127.0.0.1:%d", regPort)
	regCfg := filepath.Join(n.dir, "registry.yml")
	if err := os.WriteFile(regCfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(n.dir, "registry"), registry)), 0o644); err != nil {
		return n, err
	}
	regBin, _ := exec.LookPath("docker-registry")
	if err := n.registry.start(regBin, []string{"serve", regCfg}, filepath.Join(dir, "registry.log"), st); err != nil {
		return n, fmt.Errorf("starting docker-registry: %w", err)
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor("docker-registry at "+registry, func() bool {
		resp, err := plain.Get("http://" + registry + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return n, err
	}

	// The pod sandbox ("pause") image, from the layout testenv.sh built.
	pause := registry + "/iter8-testenv/pause:1"
	if o.pauseLayout == "" {
		return n, errors.New("--node needs --pause-layout (testenv.sh builds it)")
	}
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false",
		"oci:"+o.pauseLayout, "docker://"+pause).CombinedOutput(); err != nil {
		return n, fmt.Errorf("skopeo copy oci:%s docker://%s: %v: %s", o.pauseLayout, pause, err, strings.TrimSpace(string(out)))
	}

	// containerd.
	runtimeBin, _ := exec.LookPath(o.runtime)
	sock := filepath.Join(n.dir, "containerd.sock")
	cd := filepath.Join(n.dir, "containerd")
	containerdCfg := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(containerdCfg, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = %q
    default_runtime_name = "iter8"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.iter8]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.iter8.options]
        BinaryName = %q
        Root = %q
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.%q]
    endpoint = [%q]
`, filepath.Join(cd, "root"), filepath.Join(cd, "state"), sock, sock+".ttrpc", pause, o.snapshotter,
		runtimeBin, filepath.Join(cd, "runtime"), filepath.Join(n.dir, "cni-bin"), filepath.Join(n.dir, "cni"), registry, "http://"+registry)), 0o644); err != nil {
		return n, err
	}
	// Pods without the host network get a namespace of their own that reaches nothing but
	// itself (cni.go).
	if err := cniBinDir(filepath.Join(n.dir, "cni-bin")); err != nil {
		return n, err
	}
	if err := os.WriteFile(filepath.Join(n.dir, "cni", "10-iter8-testenv.conflist"), []byte(cniConfList()), 0o644); err != nil {
		return n, err
	}

	// kubelet.
	kubeletPort, err := freePort()
	if err != nil {
		return n, err
	}
	cgroupRoot := strings.TrimSuffix(memoryCgroup(), "/") + fmt.Sprintf("/iter8-testenv-%d", os.Getpid())
	kubeletCfg := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(kubeletCfg, []byte(fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %q}
authorization:
  mode: AlwaysAllow
tlsCertFile: %q
tlsPrivateKeyFile: %q
cgroupDriver: cgroupfs
cgroupRoot: %q
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: true
containerRuntimeEndpoint: unix://%s
podLogsDir: %q
volumePluginDir: %q
resolvConf: ""
clusterDomain: cluster.local
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
  nodefs.inodesFree: "1%%"
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
`, kubeletPort, p.caCert, p.servCert, p.servKey, cgroupRoot, sock,
		filepath.Join(n.dir, "pod-logs"), filepath.Join(n.dir, "kubelet", "volume-plugins"))), 0o644); err != nil {
		return n, err
	}
	kubeletKubeconfig := filepath.Join(n.dir, "kubelet.kubeconfig")
	nu := nodeUser()
	nu.token = nodeToken
	if err := writeKubeconfig(kubeletKubeconfig, server, p.caPEM, nu); err != nil {
		return n, err
	}
	self, err := os.Executable()
	if err != nil {
		return n, err
	}
	nodeArgs := []string{"node", "--dir", n.dir, "--containerd-config", containerdCfg,
		"--containerd-socket", sock, "--cgroup-root", cgroupRoot, "--",
		"--config=" + kubeletCfg, "--kubeconfig=" + kubeletKubeconfig,
		"--root-dir=" + filepath.Join(n.dir, "kubelet"), "--cert-dir=" + filepath.Join(n.dir, "kubelet", "pki"),
		"--hostname-override=" + nodeName, "--v=1"}
	if err := n.kubelet.startWith(self, nodeArgs, filepath.Join(dir, "node.log"), st, syscall.CLONE_NEWNS); err != nil {
		return n, fmt.Errorf("starting the node: %w", err)
	}

	// kube-scheduler places the pods on the node.
	if err := n.scheduler.start(self, []string{"scheduler",
		"--kubeconfig=" + filepath.Join(dir, "admin.kubeconfig"),
		"--authentication-kubeconfig=" + filepath.Join(dir, "admin.kubeconfig"),
		"--authorization-kubeconfig=" + filepath.Join(dir, "admin.kubeconfig"),
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"},
		filepath.Join(dir, "scheduler.log"), st); err != nil {
		return n, fmt.Errorf("starting kube-scheduler: %w", err)
	}

	if err := waitFor("Node "+nodeName+" Ready (log: "+filepath.Join(dir, "node.log")+")", func() bool {
		code, body, err := get("/api/v1/nodes/" + nodeName)
		if err != nil || code != http.StatusOK {
			return false
		}
		var nd struct {
			Status struct {
				Conditions []struct{ Type, Status string } `json:"conditions"`
			} `json:"status"`
		}
		if json.Unmarshal(body, &nd) != nil {
			return false
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == "Ready" {
				return c.Status == "True"
			}
		}
		return false
	}); err != nil {
		return n, err
	}
	if err := os.WriteFile(filepath.Join(dir, "registry"), []byte(registry+"\n"), 0o644); err != nil {
		return n, err
	}
	return n, nil
}

// ---- the "node" subcommand: runs in its own mount namespace ----

// nodeMain masks the sysctls, creates the pod cgroup root, starts containerd, then runs the
// kubelet in this process. On SIGTERM/SIGINT (or when the kubelet returns) it kills every pod
// and every process of this mount namespace (containerd, shims), and removes the cgroups.
func nodeMain(args []string) int {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	dir := fs.String("dir", "", "node state directory")
	containerdCfg := fs.String("containerd-config", "", "containerd config file")
	sock := fs.String("containerd-socket", "", "containerd socket")
	cgroupRoot := fs.String("cgroup-root", "", "the kubelet's cgroupRoot (created here)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	kubeletArgs := fs.Args()
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "k8s-testenv node: error: "+format+"\n", a...)
		return 1
	}
	// Nothing mounted here propagates back (the machine's mounts are private; make sure).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail("mount --make-rprivate / in the node's namespace: %v", err)
	}
	if err := maskSysctls(filepath.Join(*dir, "sysctl")); err != nil {
		return fail("%v", err)
	}
	for _, d := range []string{"/run/containerd", "/var/log/containers", "/run/netns", "/var/lib/cni"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail("%v", err)
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
			return fail("mounting a private tmpfs on %s: %v", d, err)
		}
	}
	created, err := makeCgroupRoot(*cgroupRoot)
	cleanup := sync.OnceFunc(func() { nodeCleanup(*cgroupRoot, created) })
	defer cleanup()
	if err != nil {
		return fail("creating cgroup %s: %v", *cgroupRoot, err)
	}

	cdLog, err := os.OpenFile(filepath.Join(*dir, "..", "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fail("%v", err)
	}
	cd := exec.Command("containerd", "--config", *containerdCfg)
	cd.Stdout, cd.Stderr = cdLog, cdLog
	cd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cd.Start(); err != nil {
		return fail("starting containerd: %v", err)
	}
	cdDone := make(chan struct{})
	go func() { _ = cd.Wait(); close(cdDone) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(*sock); err == nil {
			break
		}
		select {
		case <-cdDone:
			return fail("containerd --config %s exited at start; last log lines:\n%s", *containerdCfg, tail(cdLog.Name(), 15))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail("containerd socket %s did not appear within 60s", *sock)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-cdDone:
			fmt.Fprintf(os.Stderr, "k8s-testenv node: error: containerd exited; last log lines:\n%s\n", tail(cdLog.Name(), 15))
		}
		cleanup()
		os.Exit(0)
	}()
	cmd := kubeletapp.NewKubeletCommand(ctx)
	cmd.SetArgs(kubeletArgs)
	code := cli.Run(cmd)
	fmt.Fprintf(os.Stderr, "k8s-testenv node: kubelet returned %d\n", code)
	return code
}

// maskSysctls bind-mounts a file holding the kubelet's expected value over each sysctl that
// differs, in this mount namespace only.
func maskSysctls(dir string) error {
	names := make([]string, 0, len(kubeletSysctls))
	for k := range kubeletSysctls {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		want := kubeletSysctls[name]
		target := "/proc/sys/" + name
		cur, err := os.ReadFile(target)
		if err == nil && strings.TrimSpace(string(cur)) == want {
			continue
		}
		file := filepath.Join(dir, strings.ReplaceAll(name, "/", "."))
		if err := os.WriteFile(file, []byte(want+"\n"), 0o444); err != nil {
			return err
		}
		if err := unix.Mount(file, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("masking %s for the kubelet (bind mount %s): %v", target, file, err)
		}
	}
	return nil
}

// cgroupMounts lists the cgroup v1 hierarchies (mount points).
func cgroupMounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 {
			out = append(out, f[4])
		}
	}
	return out
}

// makeCgroupRoot creates root in every cgroup v1 hierarchy (cpuset levels get their parent's
// cpus and mems) and returns the directories it created, deepest last.
func makeCgroupRoot(root string) ([]string, error) {
	var created []string
	for _, m := range cgroupMounts() {
		parts := strings.Split(strings.Trim(root, "/"), "/")
		path := m
		for _, part := range parts {
			parent := path
			path = filepath.Join(path, part)
			if _, err := os.Stat(path); err == nil {
				continue
			}
			if err := os.Mkdir(path, 0o755); err != nil {
				return created, err
			}
			created = append(created, path)
			if strings.HasSuffix(m, "/cpuset") {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					if v, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
						_ = os.WriteFile(filepath.Join(path, f), v, 0o644)
					}
				}
			}
		}
	}
	return created, nil
}

// nodeCleanup kills the pods (every process under the cgroup root), then every other process
// of this mount namespace (containerd and its shims), then removes the cgroups it created.
func nodeCleanup(root string, created []string) {
	for i := 0; i < 50; i++ {
		pids := cgroupPids(root)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if self, err := os.Readlink("/proc/self/ns/mnt"); err == nil {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && ns == self {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	// Remove every cgroup below the root (the kubelet's), then the ones created here.
	for _, m := range cgroupMounts() {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(m, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for try := 0; try < 20; try++ {
				if err := os.Remove(dirs[i]); err == nil || errors.Is(err, os.ErrNotExist) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for i := len(created) - 1; i >= 0; i-- {
		_ = os.Remove(created[i])
	}
}

// cgroupPids lists the processes in root's subtree (any hierarchy that has them).
func cgroupPids(root string) []int {
	seen := map[int]bool{}
	for _, m := range cgroupMounts() {
		_ = filepath.WalkDir(filepath.Join(m, root), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			b, _ := io.ReadAll(f)
			f.Close()
			for _, l := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(l); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	out := make([]int, 0, len(seen))
	for pid := range seen {
		out = append(out, pid)
	}
	return out
}
