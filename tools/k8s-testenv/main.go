// Command k8s-testenv runs a real Kubernetes control plane for tests, bound to loopback:
// embedded etcd in this process, kube-apiserver and a kube-controller-manager limited to the
// controllers tests rely on as child processes (this same binary, subcommands "apiserver" and
// "controller-manager"). When the API server is ready it prints the path of an admin
// kubeconfig on stdout. It stops on SIGINT/SIGTERM or when its parent process exits. SIGUSR1
// stops the API server alone and SIGUSR2 starts it again on the same port (fault tests; the
// state reached is written to <dir>/apiserver: "stopped" or "running").
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // CronJob timeZone validation

	"golang.org/x/sys/unix"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const (
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
	// The controllers that make namespaces, owner references, default service accounts,
	// kube-root-ca.crt and the aggregated admin/edit/view roles behave as in a cluster.
	// Workload controllers are left out on purpose: tests own Deployment and Job status.
	defaultControllers = "namespace-controller,garbage-collector-controller,serviceaccount-controller," +
		"root-ca-certificate-publisher-controller,clusterrole-aggregation-controller"
	// With --node, Jobs and CronJobs run for real, and so do Deployments (the apps that AutoX
	// tests label and experiment on).
	// node-lifecycle-controller lifts the not-ready taint the kubelet registers with.
	nodeControllers = "job-controller,cronjob-controller,ttl-after-finished-controller,node-lifecycle-controller," +
		"deployment-controller,replicaset-controller"
)

// msgOut is where this program's own messages go (the original stderr); component logs go
// to the log file once it is open.
var msgOut io.Writer = os.Stderr

func say(format string, args ...any) {
	fmt.Fprintf(msgOut, "k8s-testenv: "+format+"\n", args...)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	dir          string
	port         int
	users        string
	controllers  string
	readyTimeout time.Duration
	watchParent  bool
	keepDir      bool
	apiserverArg listFlag
	node         bool
	pauseLayout  string
	runtime      string
	snapshotter  string
	argocdBin    string
	argocdCRDDir string
}

func main() {
	if filepath.Base(os.Args[0]) == cniPluginName {
		os.Exit(cniMain())
	}
	if len(os.Args) > 1 && os.Args[1] == "apiserver" {
		cmd := apiserverapp.NewAPIServerCommand()
		cmd.SetArgs(os.Args[2:])
		os.Exit(cli.Run(cmd))
	}
	if len(os.Args) > 1 && os.Args[1] == "controller-manager" {
		cmd := kcmapp.NewControllerManagerCommand()
		cmd.SetArgs(os.Args[2:])
		os.Exit(cli.Run(cmd))
	}
	if len(os.Args) > 1 && os.Args[1] == "scheduler" {
		cmd := schedulerapp.NewSchedulerCommand()
		cmd.SetArgs(os.Args[2:])
		os.Exit(cli.Run(cmd))
	}
	if len(os.Args) > 1 && os.Args[1] == "node" {
		os.Exit(nodeMain(os.Args[2:]))
	}
	os.Exit(run())
}

func parseFlags() (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("k8s-testenv", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "state directory (certificates, kubeconfigs, etcd data, logs); default: a new temporary directory, removed on exit")
	fs.IntVar(&o.port, "port", 0, "kube-apiserver port on 127.0.0.1; 0 picks a free one")
	fs.StringVar(&o.users, "users", "alice:dev,bob", "extra static-token users: name[:group;group],... (each gets <dir>/<name>.kubeconfig)")
	fs.StringVar(&o.controllers, "controllers", defaultControllers, "kube-controller-manager controllers to run, or \"none\"")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 120*time.Second, "give up when the control plane is not ready after this long")
	fs.BoolVar(&o.watchParent, "watch-parent", true, "stop when the parent process exits")
	fs.BoolVar(&o.keepDir, "keep-dir", false, "keep a temporary --dir on exit")
	fs.BoolVar(&o.node, "node", false, "also run a node: kubelet + containerd, kube-scheduler, a docker-registry on loopback, and the job/cronjob controllers")
	fs.StringVar(&o.pauseLayout, "pause-layout", "", "with --node: OCI image layout of the pod sandbox image (testenv.sh builds it)")
	fs.StringVar(&o.runtime, "runtime", "runc", "with --node: the OCI runtime, runc or crun")
	fs.StringVar(&o.snapshotter, "snapshotter", "overlayfs", "with --node: containerd's snapshotter, overlayfs or native")
	fs.StringVar(&o.argocdBin, "argocd-bin", "", "also run Argo CD (application controller, repo server, redis) with this multi-binary (testenv.sh start --argocd builds it)")
	fs.StringVar(&o.argocdCRDDir, "argocd-crds", "", "with --argocd-bin: the directory of Argo CD's CRDs (manifests/crds of the same module)")
	fs.Var(&o.apiserverArg, "apiserver-arg", "extra kube-apiserver flag, e.g. --apiserver-arg=--v=2 (repeatable)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.runtime != "runc" && o.runtime != "crun" {
		return nil, fmt.Errorf("--runtime must be runc or crun, not %q", o.runtime)
	}
	if o.snapshotter != "overlayfs" && o.snapshotter != "native" {
		return nil, fmt.Errorf("--snapshotter must be overlayfs or native, not %q", o.snapshotter)
	}
	if o.argocdBin != "" {
		if err := argocdCheck(o); err != nil {
			return nil, err
		}
	}
	if o.node {
		if err := nodeCheck(o.runtime); err != nil {
			return nil, err
		}
		if o.controllers == defaultControllers {
			o.controllers += "," + nodeControllers
		}
	}
	return o, nil
}

func parseUsers(spec string) ([]user, error) {
	var out []user
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, groups, _ := strings.Cut(item, ":")
		if name == "" || name == "admin" || strings.ContainsAny(name, "/\\ \"") {
			return nil, fmt.Errorf("bad user name %q in --users", name)
		}
		u := user{name: name}
		for _, g := range strings.Split(groups, ";") {
			if g != "" {
				u.groups = append(u.groups, g)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// stopper ends the run once: it records why and sends SIGTERM to this process, which the
// kube-apiserver's own signal handler turns into a graceful shutdown.
type stopper struct {
	once   sync.Once
	mu     sync.Mutex
	reason error
}

func (s *stopper) stop(reason error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		if reason != nil {
			say("%v", reason)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	})
}

func (s *stopper) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		say("error: %v", err)
		return 2
	}
	extraUsers, err := parseUsers(o.users)
	if err != nil {
		say("error: %v", err)
		return 2
	}

	// Port: a fixed one must be free now; otherwise pick one.
	port := o.port
	if port != 0 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			say("error: cannot use port 127.0.0.1:%d for kube-apiserver: %v", port, err)
			return 1
		}
		l.Close()
	} else if port, err = freePort(); err != nil {
		say("error: no free loopback port: %v", err)
		return 1
	}

	dir := o.dir
	removeDir := false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "k8s-testenv-"); err != nil {
			say("error: creating state directory: %v", err)
			return 1
		}
		removeDir = !o.keepDir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		say("error: creating state directory: %v", err)
		return 1
	}
	if dir, err = filepath.Abs(dir); err != nil {
		say("error: %v", err)
		return 1
	}
	// Stale markers from an earlier run in the same directory must not look ready. The pid
	// file lets `testenv.sh apiserver` signal this process (testenv.sh start writes the same
	// pid before it execs this binary).
	_ = os.Remove(filepath.Join(dir, "ready"))
	_ = os.Remove(filepath.Join(dir, "apiserver"))
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		say("error: %v", err)
		return 1
	}
	_ = os.RemoveAll(filepath.Join(dir, "etcd"))
	code := serve(o, dir, port, extraUsers)
	_ = os.RemoveAll(filepath.Join(dir, "etcd"))
	if removeDir {
		_ = os.RemoveAll(dir)
	}
	return code
}

// redirectLogs points fd 2 at <dir>/control-plane.log so that klog and etcd output lands there,
// and keeps the original stderr for this program's own messages.
func redirectLogs(logPath string) error {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	orig, err := unix.Dup(2)
	if err != nil {
		return err
	}
	msgOut = os.NewFile(uintptr(orig), "stderr")
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		return err
	}
	return f.Close()
}

func serve(o *options, dir string, port int, extraUsers []user) int {
	start := time.Now()
	logPath := filepath.Join(dir, "control-plane.log")
	if err := redirectLogs(logPath); err != nil {
		say("error: opening log %s: %v", logPath, err)
		return 1
	}

	adminToken, err := randomToken()
	if err != nil {
		say("error: %v", err)
		return 1
	}
	users := []user{{name: "admin", groups: []string{"system:masters"}, token: adminToken}}
	for _, u := range extraUsers {
		if u.token, err = randomToken(); err != nil {
			say("error: %v", err)
			return 1
		}
		users = append(users, u)
	}
	nodeToken := ""
	if o.node {
		nu := nodeUser()
		if nu.token, err = randomToken(); err != nil {
			say("error: %v", err)
			return 1
		}
		nodeToken = nu.token
		users = append(users, nu)
	}
	p, err := makePKI(dir, users)
	if err != nil {
		say("error: %v", err)
		return 1
	}

	etcd, etcdURL, err := startEtcd(dir)
	if err != nil {
		say("error: %v (log: %s)", err, logPath)
		return 1
	}
	defer etcd.Close()

	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--tls-cert-file=" + p.servCert,
		"--tls-private-key-file=" + p.servKey,
		"--client-ca-file=" + p.caCert,
		"--token-auth-file=" + p.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.saKey,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		// Shut down in ~2 s instead of waiting up to 60 s for open watches to end.
		"--shutdown-send-retry-after=true",
	}
	if o.node {
		// The kubelet authenticates as system:node:<name>; the Node authorizer grants it what
		// a kubelet needs. The API server reaches the kubelet (logs, exec) on 127.0.0.1 with a
		// client certificate and checks the kubelet's serving certificate against the CA.
		for i, a := range args {
			if a == "--authorization-mode=RBAC" {
				args[i] = "--authorization-mode=Node,RBAC"
			}
		}
		args = append(args,
			"--enable-admission-plugins=NodeRestriction",
			"--kubelet-client-certificate="+p.kubeletClientCert,
			"--kubelet-client-key="+p.kubeletClientKey,
			"--kubelet-certificate-authority="+p.caCert,
			"--kubelet-preferred-address-types=Hostname",
		)
	}
	args = append(args, o.apiserverArg...)

	self, err := os.Executable()
	if err != nil {
		say("error: %v", err)
		return 1
	}
	// Everything that wants to stop the run sends SIGTERM to this process (stopper.stop).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2)
	st := &stopper{}
	kcm := &childProc{}
	nd := &stopRef{}
	ad := &stopRef{}
	api := &apiserverProc{bin: self, args: append([]string{"apiserver"}, args...), logPath: logPath,
		stateFile: filepath.Join(dir, "apiserver"), st: st, get: apiGetter(server, p.caPEM, adminToken)}
	if err := api.start(); err != nil {
		say("error: starting kube-apiserver: %v", err)
		return 1
	}

	if o.watchParent {
		go watchParent(st)
	}
	go func() {
		if err := bringUp(o, dir, server, p, users, nodeToken, kcm, nd, ad, st, start); err != nil {
			st.stop(fmt.Errorf("error: %v (log: %s)", err, logPath))
		}
	}()

	for sig := range sigs {
		if sig == syscall.SIGUSR1 {
			api.pause()
			continue
		}
		if sig == syscall.SIGUSR2 {
			if err := api.start(); err != nil {
				st.stop(fmt.Errorf("error: restarting kube-apiserver: %v", err))
			}
			continue
		}
		break
	}
	// Argo CD, the node and the controller manager first, so that their watches do not hold
	// up the API server's shutdown.
	ad.stop()
	nd.stop()
	kcm.stop()
	api.close()
	if err := st.err(); err != nil {
		return 1
	}
	return 0
}

// apiserverProc is the kube-apiserver child: stopped and started again on request (SIGUSR1,
// SIGUSR2) with the same flags, so on the same port, certificates and etcd.
type apiserverProc struct {
	bin       string
	args      []string
	logPath   string
	stateFile string
	st        *stopper
	get       func(string) (int, []byte, error)
	mu        sync.Mutex
	proc      *childProc
	closed    bool
}

// start runs the API server unless it runs already; in the background, the state file says
// "running" once it answers /readyz.
func (a *apiserverProc) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.proc != nil {
		return nil
	}
	// Its log goes to fd 2, the control-plane log, as when it ran in this process.
	p := &childProc{name: "kube-apiserver", sharedLog: true}
	if err := p.start(a.bin, a.args, a.logPath, a.st); err != nil {
		return err
	}
	a.proc = p
	go func() {
		for {
			a.mu.Lock()
			current := a.proc == p
			a.mu.Unlock()
			if !current {
				return
			}
			if code, _, err := a.get("/readyz"); err == nil && code == http.StatusOK {
				a.mu.Lock()
				if a.proc == p {
					_ = os.WriteFile(a.stateFile, []byte("running\n"), 0o644)
				}
				a.mu.Unlock()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return nil
}

// pause stops the API server (graceful, then SIGKILL after 20 s) without ending the run.
func (a *apiserverProc) pause() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return
	}
	a.proc.stopWithin(20 * time.Second)
	a.proc = nil
	_ = os.WriteFile(a.stateFile, []byte("stopped\n"), 0o644)
}

// close stops the API server for good.
func (a *apiserverProc) close() {
	a.pause()
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
}

// watchParent stops the run when the process that started us goes away (we get reparented).
func watchParent(st *stopper) {
	ppid := os.Getppid()
	if ppid <= 1 {
		return
	}
	for {
		time.Sleep(250 * time.Millisecond)
		if os.Getppid() != ppid {
			st.stop(errors.New("parent process exited; stopping"))
			return
		}
	}
}

// bringUp waits for /readyz, writes kubeconfigs, starts the controller manager, waits for
// its effects, then announces readiness.
func bringUp(o *options, dir, server string, p *pki, users []user, nodeToken string, kcm *childProc, nd, ad *stopRef, st *stopper, start time.Time) error {
	deadline := start.Add(o.readyTimeout)
	get := apiGetter(server, p.caPEM, users[0].token)
	waitFor := func(what string, ok func() bool) error {
		for !ok() {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not reached within %s", what, o.readyTimeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	}

	if err := waitFor("kube-apiserver /readyz", func() bool {
		code, _, err := get("/readyz")
		return err == nil && code == http.StatusOK
	}); err != nil {
		return err
	}
	apiReady := time.Since(start)

	adminKubeconfig := filepath.Join(dir, "admin.kubeconfig")
	for _, u := range users {
		if strings.HasPrefix(u.name, "system:node:") {
			continue // the node's own kubeconfig is written by startNode
		}
		if err := writeKubeconfig(filepath.Join(dir, u.name+".kubeconfig"), server, p.caPEM, u); err != nil {
			return fmt.Errorf("writing kubeconfig for %s: %w", u.name, err)
		}
	}

	if o.controllers != "none" && o.controllers != "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		kargs := []string{
			"controller-manager",
			"--kubeconfig=" + adminKubeconfig,
			"--secure-port=0", // no serving, so no port and no delegated authn/authz
			"--leader-elect=false",
			"--use-service-account-credentials=false",
			"--root-ca-file=" + p.caCert,
			"--controllers=" + o.controllers,
		}
		if o.node {
			// On a loaded 2-core machine the kubelet's heartbeat can come late; the default 50 s
			// grace taints the node unreachable and strands pods Pending.
			kargs = append(kargs, "--node-monitor-grace-period=300s")
		}
		if err := kcm.start(self, kargs, filepath.Join(dir, "controller-manager.log"), st); err != nil {
			return fmt.Errorf("starting kube-controller-manager: %w", err)
		}
		// Wait for what the default controllers provide, so tests never race them.
		if strings.Contains(o.controllers, "serviceaccount-controller") {
			if err := waitFor("default ServiceAccount (serviceaccount-controller)", func() bool {
				code, _, err := get("/api/v1/namespaces/default/serviceaccounts/default")
				return err == nil && code == http.StatusOK
			}); err != nil {
				return err
			}
		}
		if strings.Contains(o.controllers, "clusterrole-aggregation-controller") {
			if err := waitFor("aggregated ClusterRole admin (clusterrole-aggregation-controller)", func() bool {
				code, body, err := get("/apis/rbac.authorization.k8s.io/v1/clusterroles/admin")
				var cr struct {
					Rules []json.RawMessage `json:"rules"`
				}
				return err == nil && code == http.StatusOK && json.Unmarshal(body, &cr) == nil && len(cr.Rules) > 0
			}); err != nil {
				return err
			}
		}
	}

	if o.node {
		n, err := startNode(o, dir, server, p, nodeToken, st, get, waitFor)
		nd.set(n)
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}

	if o.argocdBin != "" {
		a, err := startArgoCD(o, dir, server, p, users[0].token, st, get, waitFor)
		ad.set(a)
		if err != nil {
			return fmt.Errorf("argocd: %w", err)
		}
	}

	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(adminKubeconfig+"\n"), 0o644); err != nil {
		return err
	}
	_, ver, _ := get("/version")
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	_ = json.Unmarshal(ver, &v)
	say("kube-apiserver %s at %s: /readyz after %.1fs, ready after %.1fs (state in %s)",
		v.GitVersion, server, apiReady.Seconds(), time.Since(start).Seconds(), dir)
	fmt.Fprintln(os.Stdout, adminKubeconfig)
	return nil
}

// apiGetter returns a GET on the API server as the admin user: status, body, error.
func apiGetter(server string, caPEM []byte, token string) func(string) (int, []byte, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	return func(path string) (int, []byte, error) {
		req, err := http.NewRequest(http.MethodGet, server+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
}

// writeKubeconfig writes a token kubeconfig atomically (temp file + rename).
func writeKubeconfig(path, server string, caPEM []byte, u user) error {
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: iter8-testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: iter8-testenv
  context:
    cluster: iter8-testenv
    user: %s
    namespace: default
current-context: iter8-testenv
`, server, base64.StdEncoding.EncodeToString(caPEM), u.name, u.token, u.name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// childProc is a child process (the controller manager, the node, the scheduler, the
// registry) whose unexpected exit stops the run.
type childProc struct {
	name      string   // for messages; "" means kube-controller-manager
	sharedLog bool     // output to this process's fd 2 (the control-plane log), not its own file
	env       []string // added to this process's environment
	mu        sync.Mutex
	cmd       *exec.Cmd
	stopping  bool
	done      chan struct{}
}

func (c *childProc) start(bin string, args []string, logPath string, st *stopper) error {
	return c.startWith(bin, args, logPath, st, 0)
}

// startWith starts the child with extra clone flags (e.g. CLONE_NEWNS for the node).
func (c *childProc) startWith(bin string, args []string, logPath string, st *stopper, cloneflags uintptr) error {
	logf := os.Stderr
	if !c.sharedLog {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		logf = f
	}
	closeLog := func() {
		if !c.sharedLog {
			logf.Close()
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if c.env != nil {
		cmd.Env = append(os.Environ(), c.env...)
	}
	// If this process dies without cleaning up (SIGKILL), the kernel kills the child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true, Cloneflags: cloneflags}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		closeLog()
		return errors.New("shutting down")
	}
	if err := cmd.Start(); err != nil {
		closeLog()
		return err
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() {
		err := cmd.Wait()
		closeLog()
		close(c.done)
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if !stopping {
			name := c.name
			if name == "" {
				name = "kube-controller-manager"
			}
			st.stop(fmt.Errorf("error: %s exited (%v); last log lines:\n%s", name, err, tail(logPath, 15)))
		}
	}()
	return nil
}

// stop ends the child: SIGTERM, then SIGKILL after 5 s.
func (c *childProc) stop() { c.stopWithin(5 * time.Second) }

// stopWithin ends the child: SIGTERM, then SIGKILL after grace.
func (c *childProc) stopWithin(grace time.Duration) {
	c.mu.Lock()
	c.stopping = true
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// stopRef holds something started in the background (the node, Argo CD) once it starts, so
// that shutdown can stop it from any goroutine.
type stopRef struct {
	mu   sync.Mutex
	s    interface{ stop() }
	done bool
}

func (r *stopRef) set(s interface{ stop() }) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		go s.stop()
		return
	}
	r.s = s
}

func (r *stopRef) stop() {
	r.mu.Lock()
	s := r.s
	r.done = true
	r.s = nil
	r.mu.Unlock()
	if s != nil {
		s.stop()
	}
}
