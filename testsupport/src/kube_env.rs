//! A real Kubernetes API server for tests: one per test process, one namespace per test.
//!
//! [`TestEnv::shared`] uses the control plane named by `ITER8_TESTENV_KUBECONFIG` (an admin
//! kubeconfig, as printed by `tools/k8s-testenv/testenv.sh start`), or waits for the one
//! starting in `ITER8_TESTENV_DIR` (its `--dir`), or else runs that script
//! itself (building kube-apiserver on first use) and keeps it for the life of the process; the
//! server stops by itself when the test process exits. There is no skip: a control plane
//! that cannot be had is an error naming the reason.
//!
//! [`TestEnv::with_node`] is a second control plane with a real node (`testenv.sh start
//! --node`: kubelet + containerd, kube-scheduler, the Job/CronJob controllers and a registry on
//! loopback), from `ITER8_TESTENV_NODE_DIR` or started the same way; it needs root. Its API
//! server can be stopped and started again for fault tests ([`TestEnv::stop_apiserver`]).
//!
//! [`TestEnv::with_argocd`] is that cluster with Argo CD as well (`--node --argocd`), from
//! `ITER8_TESTENV_ARGOCD_DIR` or started the same way.
//!
//! [`TestEnv::private`] is a control plane of one test's own (no node), for a fault test that
//! stops its API server while other tests of the process use the shared one; it stops when
//! the handle drops.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::repo_root;

/// Environment variable naming an admin kubeconfig of a control plane that is already running.
pub const KUBECONFIG_ENV: &str = "ITER8_TESTENV_KUBECONFIG";
/// Environment variable naming the `--dir` of a `testenv.sh start` that may still be starting
/// (CI starts it in the background while it builds the tests); tests wait for `<dir>/ready`.
pub const DIR_ENV: &str = "ITER8_TESTENV_DIR";
/// Environment variable naming the `--dir` of a `testenv.sh start --node` (see [`DIR_ENV`]).
pub const NODE_DIR_ENV: &str = "ITER8_TESTENV_NODE_DIR";
/// State directory of a running `testenv.sh start --node --argocd` (the node cluster with Argo
/// CD) to wait for and use.
pub const ARGOCD_DIR_ENV: &str = "ITER8_TESTENV_ARGOCD_DIR";
/// Environment variable: seconds to wait for the script to build and start (default 1800).
pub const START_TIMEOUT_ENV: &str = "ITER8_TESTENV_START_TIMEOUT";
/// Environment variable: when `1`, test namespaces are left behind for debugging.
pub const KEEP_NAMESPACES_ENV: &str = "ITER8_TESTENV_KEEP_NAMESPACES";

/// Why the test control plane or one of its resources is not available.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    #[error("starting the test control plane with {script}: {message}")]
    Start { script: PathBuf, message: String },
    #[error("{0}")]
    Earlier(String),
    #[error("reading kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig {path} has no cluster entry")]
    NoCluster { path: PathBuf },
    #[error("building a Kubernetes client")]
    Client(#[source] kube::Error),
    #[error("creating test namespace {name}")]
    Namespace {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// A running control plane: its admin kubeconfig and what tests derive from it.
pub struct TestEnv {
    kubeconfig_path: PathBuf,
    server: String,
    ca_data: String,
    admin: Config,
    /// Its state directory, when known (`--dir`).
    dir: Option<PathBuf>,
    /// The control plane this process started, if it did (kept alive, never waited on:
    /// k8s-testenv stops when this process exits).
    _child: Option<Mutex<(Child, ChildStdout)>>,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("kubeconfig_path", &self.kubeconfig_path)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl TestEnv {
    /// The control plane for this test process, started on first use.
    pub fn shared() -> Result<&'static TestEnv, TestEnvError> {
        static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
        ENV.get_or_init(|| Self::connect_or_start().map_err(|e| error_chain(&e)))
            .as_ref()
            .map_err(|msg| TestEnvError::Earlier(msg.clone()))
    }

    /// The control plane with a real node for this test process, started on first use.
    pub fn with_node() -> Result<&'static TestEnv, TestEnvError> {
        static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
        ENV.get_or_init(|| Self::connect_or_start_node().map_err(|e| error_chain(&e)))
            .as_ref()
            .map_err(|msg| TestEnvError::Earlier(msg.clone()))
    }

    /// The control plane with a real node and Argo CD (`testenv.sh start --node --argocd`:
    /// the application controller, the repo server and redis on loopback, Argo CD's CRDs and
    /// settings in namespace `argocd`), from `ITER8_TESTENV_ARGOCD_DIR` or started on first use.
    pub fn with_argocd() -> Result<&'static TestEnv, TestEnvError> {
        static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
        ENV.get_or_init(|| {
            Self::connect_or_start_with(ARGOCD_DIR_ENV, &["--node", "--argocd"])
                .map_err(|e| error_chain(&e))
        })
        .as_ref()
        .map_err(|msg| TestEnvError::Earlier(msg.clone()))
    }

    /// A control plane of the caller's own (`testenv.sh start` in a temporary state
    /// directory, no node), started now and stopped (SIGTERM) when the handle drops; its API
    /// server can be stopped and started ([`TestEnv::stop_apiserver`]) without disturbing any
    /// other test. Blocking: it waits until the control plane is ready.
    pub fn private() -> Result<TestEnv, TestEnvError> {
        let (path, child) = start_script(&[])?;
        let dir = path.parent().map(Path::to_path_buf);
        let mut env = Self::from_kubeconfig(path, Some(child))?;
        env.dir = dir;
        Ok(env)
    }

    fn connect_or_start() -> Result<TestEnv, TestEnvError> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(path) = var(KUBECONFIG_ENV) {
            return Self::from_kubeconfig(PathBuf::from(path), None);
        }
        match var(DIR_ENV) {
            Some(dir) => Self::from_kubeconfig(wait_ready(Path::new(&dir))?, None),
            None => {
                let (path, child) = start_script(&[])?;
                Self::from_kubeconfig(path, Some(child))
            }
        }
    }

    fn connect_or_start_node() -> Result<TestEnv, TestEnvError> {
        Self::connect_or_start_with(NODE_DIR_ENV, &["--node"])
    }

    /// The control plane whose state directory `dir_env` names, or one started with `flags`.
    fn connect_or_start_with(dir_env: &str, flags: &[&str]) -> Result<TestEnv, TestEnvError> {
        let (dir, env) = match std::env::var_os(dir_env).filter(|v| !v.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                let env = Self::from_kubeconfig(wait_ready(&dir)?, None)?;
                (dir, env)
            }
            None => {
                // Its own temporary state directory (removed when it stops), where the admin
                // kubeconfig it prints lives.
                let (path, child) = start_script(flags)?;
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (dir, Self::from_kubeconfig(path, Some(child))?)
            }
        };
        let mut env = env;
        env.dir = Some(dir);
        Ok(env)
    }

    /// The node's image registry (`127.0.0.1:<port>`), for a control plane with a node.
    pub fn registry(&self) -> Option<String> {
        let dir = self.dir.as_ref()?;
        let text = std::fs::read_to_string(dir.join("registry")).ok()?;
        Some(text.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// The state directory (logs of every component), when known.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Stops this control plane's API server; everything else (etcd, the controllers, the
    /// node) keeps running and clients get "connection refused" until
    /// [`TestEnv::start_apiserver`]. Returns once it is down. Blocking (it runs
    /// `testenv.sh apiserver stop`); needs the state directory ([`TestEnv::with_node`] has it).
    pub fn stop_apiserver(&self) -> Result<(), TestEnvError> {
        self.apiserver_script("stop")
    }

    /// Starts the API server that [`TestEnv::stop_apiserver`] stopped, on the same port;
    /// returns once it answers `/readyz`. Blocking.
    pub fn start_apiserver(&self) -> Result<(), TestEnvError> {
        self.apiserver_script("start")
    }

    fn apiserver_script(&self, action: &str) -> Result<(), TestEnvError> {
        let script = repo_root().join("tools/k8s-testenv/testenv.sh");
        let fail = |message: String| TestEnvError::Start {
            script: script.clone(),
            message,
        };
        let dir = self.dir.as_ref().ok_or_else(|| {
            fail(format!(
                "apiserver {action}: the state directory is unknown"
            ))
        })?;
        let out = Command::new("bash")
            .arg(&script)
            .args(["apiserver", action])
            .arg(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| fail(format!("cannot run bash: {e}")))?;
        if !out.status.success() {
            return Err(fail(format!(
                "apiserver {action}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn from_kubeconfig(
        path: PathBuf,
        child: Option<(Child, ChildStdout)>,
    ) -> Result<TestEnv, TestEnvError> {
        let kubeconfig =
            Kubeconfig::read_from(&path).map_err(|source| TestEnvError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        let cluster = kubeconfig
            .clusters
            .first()
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| TestEnvError::NoCluster { path: path.clone() })?;
        let server = cluster.server.unwrap_or_default();
        let ca_data = cluster.certificate_authority_data.unwrap_or_default();
        let admin =
            config_from_kubeconfig(kubeconfig).map_err(|source| TestEnvError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        Ok(TestEnv {
            kubeconfig_path: path,
            server,
            ca_data,
            admin,
            dir: None,
            _child: child.map(Mutex::new),
        })
    }

    /// The admin kubeconfig (token user in `system:masters`), for `helm`/`kubectl`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The API server's URL, `https://127.0.0.1:<port>`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Kubeconfig of a static-token user that k8s-testenv created (`alice` in group `dev`,
    /// `bob` with no group, by default).
    pub fn user_kubeconfig_path(&self, user: &str) -> PathBuf {
        let dir = self.kubeconfig_path.parent().unwrap_or(Path::new("."));
        dir.join(format!("{user}.kubeconfig"))
    }

    /// Client configuration for the admin user.
    pub fn admin_config(&self) -> Config {
        self.admin.clone()
    }

    /// A new admin client. Call it inside the test's tokio runtime: a client belongs to the
    /// runtime it was made in.
    pub fn admin_client(&self) -> Result<Client, TestEnvError> {
        Client::try_from(self.admin.clone()).map_err(TestEnvError::Client)
    }

    /// A kubeconfig (YAML text) that authenticates with a bearer `token`, e.g. a
    /// ServiceAccount token from a TokenRequest, for `kubectl`/`helm --kubeconfig`.
    pub fn kubeconfig_yaml_for_token(&self, token: &str, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: testenv\n  cluster:\n    server: {}\n    \
             certificate-authority-data: {}\nusers:\n- name: bearer\n  user:\n    token: {}\n\
             contexts:\n- name: testenv\n  context:\n    cluster: testenv\n    user: bearer\n    \
             namespace: {}\ncurrent-context: testenv\n",
            self.server, self.ca_data, token, namespace
        )
    }

    /// A token for ServiceAccount `sa` in `namespace`, from a TokenRequest (valid 10 min),
    /// e.g. to act as a pod running under that ServiceAccount.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        sa: &str,
    ) -> Result<String, TestEnvError> {
        use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
        use k8s_openapi::api::core::v1::ServiceAccount;
        let sas: Api<ServiceAccount> = Api::namespaced(self.admin_client()?, namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                expiration_seconds: Some(600),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let tr = sas
            .create_token_request(sa, &PostParams::default(), &request)
            .await
            .map_err(TestEnvError::Client)?;
        Ok(tr.status.map(|s| s.token).unwrap_or_default())
    }

    /// A client that authenticates with a bearer `token` (no admin rights).
    pub async fn client_for_token(
        &self,
        token: &str,
        namespace: &str,
    ) -> Result<Client, TestEnvError> {
        let text = self.kubeconfig_yaml_for_token(token, namespace);
        let bad = |source| TestEnvError::Kubeconfig {
            path: PathBuf::from("<token kubeconfig>"),
            source,
        };
        let kubeconfig = Kubeconfig::from_yaml(&text).map_err(bad)?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(bad)?;
        Client::try_from(config).map_err(TestEnvError::Client)
    }

    /// Creates a fresh namespace `t-<prefix>-<random>` for one test; it is deleted when the
    /// returned guard is dropped (unless `ITER8_TESTENV_KEEP_NAMESPACES=1`).
    pub async fn namespace(&self, prefix: &str) -> Result<TestNamespace, TestEnvError> {
        let name = namespace_name(prefix);
        let api: Api<Namespace> = Api::all(self.admin_client()?);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("iter8.tools/test".to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        api.create(&PostParams::default(), &ns)
            .await
            .map_err(|source| TestEnvError::Namespace {
                name: name.clone(),
                source,
            })?;
        Ok(TestNamespace {
            name,
            admin: self.admin.clone(),
        })
    }
}

impl Drop for TestEnv {
    /// Stops a control plane this handle started (SIGTERM: it shuts down and removes its state;
    /// SIGKILL after 20 s). The shared ones live in statics and never drop.
    fn drop(&mut self) {
        let Some(child) = self._child.take() else {
            return;
        };
        let (mut child, _stdout) = match child.into_inner() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A namespace owned by one test; dropping it deletes the namespace (the namespace
/// controller then removes its contents in the background).
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
    admin: Config,
}

impl TestNamespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var(KEEP_NAMESPACES_ENV).as_deref() == Ok("1") {
            eprintln!("testsupport: keeping namespace {}", self.name);
            return;
        }
        // Own thread and runtime: Drop may run inside (or outside) the test's runtime.
        let name = self.name.clone();
        let config = self.admin.clone();
        let deleter = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let client = Client::try_from(config).map_err(|e| e.to_string())?;
                let api: Api<Namespace> = Api::all(client);
                match tokio::time::timeout(
                    Duration::from_secs(20),
                    api.delete(&name, &DeleteParams::background()),
                )
                .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(format!("deleting namespace {name}: {e}")),
                    Err(_) => Err(format!("deleting namespace {name}: timed out")),
                }
            })
        });
        match deleter.join() {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => eprintln!("testsupport: {msg}"),
            Err(_) => eprintln!("testsupport: namespace cleanup thread panicked"),
        }
    }
}

/// `t-<prefix>-<6 hex>`, a valid DNS-1123 label.
fn namespace_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let clean = clean.trim_matches('-');
    format!("t-{clean}-{:06x}", h.finish() & 0xff_ffff)
}

/// Builds a kube `Config` from a parsed kubeconfig on a helper thread, so that this works
/// both inside and outside a tokio runtime.
fn config_from_kubeconfig(kubeconfig: Kubeconfig) -> Result<Config, kube::config::KubeconfigError> {
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime builds");
        rt.block_on(Config::from_custom_kubeconfig(
            kubeconfig,
            &KubeConfigOptions::default(),
        ))
    });
    worker
        .join()
        .expect("the kubeconfig loader thread does not panic")
}

/// Waits for `<dir>/ready` (the admin kubeconfig's path) of a control plane started elsewhere;
/// fails at once when the process named by `<dir>/pid` is gone.
pub fn wait_ready(dir: &Path) -> Result<PathBuf, TestEnvError> {
    let fail = |message: String| TestEnvError::Start {
        script: dir.to_path_buf(),
        message,
    };
    let timeout = start_timeout();
    let started = Instant::now();
    let mut announced = false;
    loop {
        let ready = std::fs::read_to_string(dir.join("ready")).unwrap_or_default();
        if !ready.trim().is_empty() {
            return Ok(PathBuf::from(ready.trim()));
        }
        let pid = std::fs::read_to_string(dir.join("pid")).unwrap_or_default();
        let pid = pid.trim();
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            return Err(fail(format!(
                "the process that was starting it ({pid}) is gone; see the logs in {}",
                dir.display()
            )));
        }
        if started.elapsed() > Duration::from_secs(timeout) {
            return Err(fail(format!(
                "not ready after {timeout}s ({START_TIMEOUT_ENV}); see the logs in {}",
                dir.display()
            )));
        }
        if !announced && started.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "testsupport: waiting for the control plane in {}",
                dir.display()
            );
            announced = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_timeout() -> u64 {
    std::env::var(START_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800)
}

/// Runs `tools/k8s-testenv/testenv.sh start` and waits for the kubeconfig path it prints.
fn start_script(args: &[&str]) -> Result<(PathBuf, (Child, ChildStdout)), TestEnvError> {
    let script = repo_root().join("tools/k8s-testenv/testenv.sh");
    let fail = |message: String| TestEnvError::Start {
        script: script.clone(),
        message,
    };
    let timeout = start_timeout();
    eprintln!(
        "testsupport: starting {} start {} (first run builds kube-apiserver)",
        script.display(),
        args.join(" ")
    );
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(&script)
        .arg("start")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(format!("cannot run bash: {e}")))?;
    let stdout = child.stdout.take().expect("stdout was requested as a pipe");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let got = reader.read_line(&mut line).map(|_| line);
        // Hand the pipe back so it stays open while the server runs.
        let _ = tx.send((got, reader.into_inner()));
    });
    let outcome = rx.recv_timeout(Duration::from_secs(timeout));
    let (line, stdout) = match outcome {
        Ok((Ok(line), stdout)) if !line.trim().is_empty() => (line, stdout),
        Ok((Ok(_), _)) => {
            let status = child
                .wait()
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            return Err(fail(format!(
                "it exited ({status}) before it was ready; its messages are above"
            )));
        }
        Ok((Err(e), _)) => return Err(fail(format!("reading its output: {e}"))),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "not ready after {timeout}s ({START_TIMEOUT_ENV})"
            )));
        }
    };
    eprintln!(
        "testsupport: control plane ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok((PathBuf::from(line.trim()), (child, stdout)))
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::namespace_name;

    /// Namespace names are valid DNS-1123 labels and differ between calls.
    #[test]
    fn namespace_names_are_labels() {
        let a = namespace_name("My_Test.Case");
        let b = namespace_name("My_Test.Case");
        assert!(a.starts_with("t-my-test-case-"), "{a}");
        assert_ne!(a, b);
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
