// Argo CD in the test environment (--argocd-bin): Argo CD's CRDs from its module, the argocd
// namespace with the settings a controller needs, and three children on loopback: Debian's
// redis-server, the repo server (real Helm on PATH) and the application controller, which
// syncs Applications into this control plane as its "in-cluster" destination.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// argocdNamespace is where Argo CD's settings and Applications live (Iter8 v0.13 assumes it).
const argocdNamespace = "argocd"

// argocdCRDs are the files of the module's manifests/crds and the CRD each holds.
var argocdCRDs = []struct{ file, name string }{
	{"application-crd.yaml", "applications.argoproj.io"},
	{"appproject-crd.yaml", "appprojects.argoproj.io"},
	{"applicationset-crd.yaml", "applicationsets.argoproj.io"},
}

// argocd is the orchestrator's handle on Argo CD's processes.
type argocd struct {
	redis      childProc
	repoServer childProc
	controller childProc
}

func (a *argocd) stop() {
	a.controller.stop()
	a.repoServer.stop()
	a.redis.stop()
}

// argocdCheck names what --argocd-bin needs and is missing, before anything starts.
func argocdCheck(o *options) error {
	if st, err := os.Stat(o.argocdBin); err != nil || st.IsDir() {
		return fmt.Errorf("--argocd-bin %s: not an Argo CD binary (testenv.sh start --argocd builds it)", o.argocdBin)
	}
	for _, f := range argocdCRDs {
		p := filepath.Join(o.argocdCRDDir, f.file)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("--argocd-crds %s: %v", o.argocdCRDDir, err)
		}
	}
	for _, tool := range []struct{ bin, pkg string }{{"redis-server", "redis-server"}, {"git", "git"}, {"helm", "Helm (tools/fetch-helm.sh)"}} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			return fmt.Errorf("--argocd needs %s on PATH (%s)", tool.bin, tool.pkg)
		}
	}
	return nil
}

// apiSender returns a request on the API server as the admin user: status, body, error.
func apiSender(server string, caPEM []byte, token string) func(method, path, contentType string, body []byte) (int, []byte, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	return func(method, path, contentType string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, server+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
}

// startArgoCD installs Argo CD's CRDs and settings, then starts redis, the repo server and
// the application controller. It returns once the repo server answers and the controller
// runs; what it started is in the returned handle even on error.
func startArgoCD(o *options, dir, server string, p *pki, adminToken string, st *stopper,
	get func(string) (int, []byte, error), waitFor func(string, func() bool) error) (*argocd, error) {
	a := &argocd{}
	a.redis.name = "redis-server"
	a.repoServer.name = "argocd-repo-server"
	a.controller.name = "argocd-application-controller"
	adir := filepath.Join(dir, "argocd")
	for _, sub := range []string{"bin", "redis", "tmp", "home"} {
		if err := os.MkdirAll(filepath.Join(adir, sub), 0o755); err != nil {
			return a, err
		}
	}
	send := apiSender(server, p.caPEM, adminToken)
	apply := func(path string, body []byte) error {
		code, out, err := send(http.MethodPatch, path+"?fieldManager=k8s-testenv&force=true", "application/apply-patch+yaml", body)
		if err != nil {
			return err
		}
		if code != http.StatusOK && code != http.StatusCreated {
			return fmt.Errorf("apply %s: HTTP %d: %s", path, code, strings.TrimSpace(string(out)))
		}
		return nil
	}

	// The CRDs, exactly as the module ships them.
	for _, f := range argocdCRDs {
		body, err := os.ReadFile(filepath.Join(o.argocdCRDDir, f.file))
		if err != nil {
			return a, err
		}
		if err := apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+f.name, body); err != nil {
			return a, fmt.Errorf("CRD %s: %w", f.name, err)
		}
	}
	for _, f := range argocdCRDs {
		if err := waitFor("CRD "+f.name+" established", func() bool {
			code, body, err := get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + f.name)
			var crd struct {
				Status struct {
					Conditions []struct{ Type, Status string } `json:"conditions"`
				} `json:"status"`
			}
			if err != nil || code != http.StatusOK || json.Unmarshal(body, &crd) != nil {
				return false
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == "Established" && c.Status == "True" {
					return true
				}
			}
			return false
		}); err != nil {
			return a, err
		}
	}

	// The namespace, the settings Argo CD reads (found by the part-of label), and the default
	// project that argocd-server would otherwise create.
	secretKey, err := randomToken()
	if err != nil {
		return a, err
	}
	objects := []struct{ path, yaml string }{
		{"/api/v1/namespaces/" + argocdNamespace, `apiVersion: v1
kind: Namespace
metadata:
  name: ` + argocdNamespace + "\n"},
		{"/api/v1/namespaces/" + argocdNamespace + "/configmaps/argocd-cm", `apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
  # Hand-made here: no argocd-server, so no UI URL; reconcile often, tests wait on it.
  timeout.reconciliation: 10s
`},
		{"/api/v1/namespaces/" + argocdNamespace + "/secrets/argocd-secret", `apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  labels:
    app.kubernetes.io/name: argocd-secret
    app.kubernetes.io/part-of: argocd
stringData:
  server.secretkey: ` + secretKey + "\n"},
		{"/apis/argoproj.io/v1alpha1/namespaces/" + argocdNamespace + "/appprojects/default", `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
spec:
  sourceRepos: ["*"]
  destinations:
  - server: "*"
    namespace: "*"
  clusterResourceWhitelist:
  - group: "*"
    kind: "*"
`},
	}
	for _, obj := range objects {
		if err := apply(obj.path, []byte(obj.yaml)); err != nil {
			return a, err
		}
	}

	// redis-server: loopback, no persistence.
	redisPort, err := freePort()
	if err != nil {
		return a, err
	}
	redisAddr := fmt.Sprintf("127.0.0.1:%d", redisPort)
	redisBin, _ := exec.LookPath("redis-server")
	if err := a.redis.start(redisBin, []string{"--bind", "127.0.0.1", "--port", fmt.Sprint(redisPort),
		"--save", "", "--appendonly", "no", "--dir", filepath.Join(adir, "redis")},
		filepath.Join(dir, "redis.log"), st); err != nil {
		return a, fmt.Errorf("starting redis-server: %w", err)
	}
	if err := waitFor("redis-server at "+redisAddr, func() bool { return dialOK(redisAddr) }); err != nil {
		return a, err
	}

	// The multi-binary picks its command by its name: one link per command.
	for _, name := range []string{"argocd-repo-server", "argocd-application-controller"} {
		link := filepath.Join(adir, "bin", name)
		_ = os.Remove(link)
		if err := os.Symlink(o.argocdBin, link); err != nil {
			return a, err
		}
	}
	env := []string{
		"HOME=" + filepath.Join(adir, "home"),
		"TMPDIR=" + filepath.Join(adir, "tmp"),
		"KUBECONFIG=" + filepath.Join(dir, "admin.kubeconfig"),
		// The "in-cluster" destination (https://kubernetes.default.svc) is this control plane,
		// reached through KUBECONFIG, as Argo CD's own local runs do.
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"ARGOCD_GPG_ENABLED=false",
		// Its git credential socket, by default a fixed path in /tmp, in the state directory.
		"ARGOCD_ASK_PASS_SOCK=" + filepath.Join(adir, "ask-pass.sock"),
		"ARGOCD_EXEC_TIMEOUT=180s",
	}

	repoPort, err := freePort()
	if err != nil {
		return a, err
	}
	repoMetrics, err := freePort()
	if err != nil {
		return a, err
	}
	repoAddr := fmt.Sprintf("127.0.0.1:%d", repoPort)
	a.repoServer.env = env
	if err := a.repoServer.start(filepath.Join(adir, "bin", "argocd-repo-server"), []string{
		"--address=127.0.0.1", fmt.Sprintf("--port=%d", repoPort),
		"--metrics-address=127.0.0.1", fmt.Sprintf("--metrics-port=%d", repoMetrics),
		"--disable-tls", "--client-ca-path=", "--redis=" + redisAddr, "--logformat=text",
	}, filepath.Join(dir, "argocd-repo-server.log"), st); err != nil {
		return a, fmt.Errorf("starting argocd-repo-server: %w", err)
	}
	if err := waitFor("argocd-repo-server at "+repoAddr, func() bool { return dialOK(repoAddr) }); err != nil {
		return a, err
	}

	ctrlMetrics, err := freePort()
	if err != nil {
		return a, err
	}
	a.controller.env = env
	if err := a.controller.start(filepath.Join(adir, "bin", "argocd-application-controller"), []string{
		"--kubeconfig=" + filepath.Join(dir, "admin.kubeconfig"),
		"--namespace=" + argocdNamespace,
		"--repo-server=" + repoAddr, "--repo-server-plaintext",
		"--redis=" + redisAddr,
		// The controller binds its metrics on all interfaces (no address flag in v3.5).
		fmt.Sprintf("--metrics-port=%d", ctrlMetrics),
		"--status-processors=2", "--operation-processors=2",
		"--app-resync=10", "--self-heal-timeout-seconds=2",
		"--logformat=text",
	}, filepath.Join(dir, "argocd-application-controller.log"), st); err != nil {
		return a, fmt.Errorf("starting argocd-application-controller: %w", err)
	}
	if err := waitFor("argocd-application-controller /healthz", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", ctrlMetrics))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return a, err
	}
	info := fmt.Sprintf("namespace=%s\nrepo-server=%s\nredis=%s\n", argocdNamespace, repoAddr, redisAddr)
	return a, os.WriteFile(filepath.Join(dir, "argocd.addr"), []byte(info), 0o644)
}

// dialOK says whether a TCP connection to addr succeeds.
func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
