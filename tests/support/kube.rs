//! Support for the tests against the real kube-apiserver of `tools/k8s-testenv`: the shared
//! control plane, and `iter8` / real `helm` run as child processes (async, so servers in the
//! test's runtime keep answering while they run).

use std::path::{Path, PathBuf};

use testsupport::kube_env::TestEnv;

/// The control plane shared by the whole test process.
pub fn env() -> &'static TestEnv {
    match TestEnv::shared() {
        Ok(env) => env,
        Err(e) => panic!("the test control plane is required: {e}"),
    }
}

/// Exit code and output of a child process.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(out: std::process::Output) -> Out {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Out {
    /// The `Error: ` lines on stderr.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("Error: "))
            .collect()
    }
}

/// `iter8 <args>`, in `dir` if given.
pub async fn iter8_in(dir: Option<&Path>, args: &[&str]) -> Out {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_iter8"));
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.output().await.expect("run iter8").into()
}

/// `iter8 <args>`.
pub async fn iter8(args: &[&str]) -> Out {
    iter8_in(None, args).await
}

/// Real Helm v4 with the admin kubeconfig.
pub async fn helm(args: &[&str]) -> Out {
    run_helm(
        testsupport::tools::helm().expect("helm (tools/fetch-helm.sh)"),
        args,
    )
    .await
}

/// The Helm release chartgen follows by default (`.tools/bin/helm-v4.3.2`, Helm v4.3.2), whose
/// `helm template` output `iter8 launch` reproduces.
pub async fn helm_default(args: &[&str]) -> Out {
    run_helm(
        testsupport::tools::tool("helm-v4.3.2").expect("helm-v4.3.2 (tools/fetch-helm.sh)"),
        args,
    )
    .await
}

/// Helm v3.11 (`.tools/bin/helm3`), the Helm that Iter8 v0.13 was built with.
pub async fn helm3(args: &[&str]) -> Out {
    run_helm(
        testsupport::tools::tool("helm3").expect("helm3 (tools/fetch-helm.sh)"),
        args,
    )
    .await
}

async fn run_helm(helm: PathBuf, args: &[&str]) -> Out {
    let mut cmd = tokio::process::Command::new(helm);
    cmd.args(args)
        .arg("--kubeconfig")
        .arg(env().kubeconfig_path());
    cmd.output().await.expect("run helm").into()
}

/// A kubeconfig file in `dir` for the chart's runner ServiceAccount `<release>-iter8-sa`
/// (a TokenRequest token, so only the chart's RBAC applies), as the runner pod would be.
pub async fn runner_kubeconfig(ns: &str, release: &str, dir: &Path) -> String {
    let token = env()
        .service_account_token(ns, &format!("{release}-iter8-sa"))
        .await
        .expect("token");
    let path = dir.join(format!("{release}.kubeconfig"));
    std::fs::write(&path, env().kubeconfig_yaml_for_token(&token, ns)).expect("write");
    path.to_str().expect("utf8").to_string()
}

/// Builds the runner image (`tools/build-image.sh`, into `target/image/<name>`) and pushes it
/// to the registry of `env`'s node as `iter8:test`: (repository:tag, digest).
pub fn push_runner_image(env: &TestEnv, name: &str) -> (String, String) {
    let registry = env.registry().expect("the node's registry address");
    let root = testsupport::repo_root();
    let out = root.join("target/image").join(name);
    let reference = format!("{registry}/iter8:test");
    let res = std::process::Command::new("bash")
        .arg(root.join("tools/build-image.sh"))
        .arg("--out")
        .arg(&out)
        .arg("--push")
        .arg(&reference)
        .output()
        .expect("run tools/build-image.sh");
    assert!(
        res.status.success(),
        "tools/build-image.sh --push: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let digest = std::fs::read_to_string(root.join(format!("target/image/{name}.digest")))
        .expect("the digest file build-image.sh writes");
    (reference, digest.trim().to_string())
}

/// What a test prints when something in namespace `ns` did not happen in time: each pod's
/// phase, conditions, container states and log tail, each Job's conditions, and the
/// namespace's Events (scheduling, sandbox, image pull failures), oldest first. Errors of the
/// calls themselves are printed in place, so the report never hides why it is empty.
pub async fn cluster_report(client: kube::Client, ns: &str) -> String {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::{Event, Pod};
    use kube::Api;
    use kube::api::{ListParams, LogParams};
    let lp = ListParams::default();
    let mut out = String::new();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    match pods.list(&lp).await {
        Err(e) => out.push_str(&format!("\n(listing pods in {ns}: {e})")),
        Ok(list) if list.items.is_empty() => out.push_str(&format!("\n(no pods in {ns})")),
        Ok(list) => {
            for p in list.items {
                let name = p.metadata.name.clone().unwrap_or_default();
                let st = p.status.unwrap_or_default();
                out.push_str(&format!(
                    "\n--- pod {name}: phase {}",
                    st.phase.as_deref().unwrap_or("(none)")
                ));
                for c in st.conditions.unwrap_or_default() {
                    out.push_str(&format!(
                        "\n  condition {}={} {} {}",
                        c.type_,
                        c.status,
                        c.reason.unwrap_or_default(),
                        c.message.unwrap_or_default()
                    ));
                }
                for c in st.container_statuses.unwrap_or_default() {
                    let state = serde_json::to_string(&c.state).unwrap_or_default();
                    out.push_str(&format!(
                        "\n  container {} ready={} restarts={} state={state}",
                        c.name, c.ready, c.restart_count
                    ));
                }
                let tail = LogParams {
                    tail_lines: Some(30),
                    ..LogParams::default()
                };
                match pods.logs(&name, &tail).await {
                    Ok(log) => out.push_str(&format!("\n  log (last 30 lines):\n{log}")),
                    Err(e) => out.push_str(&format!("\n  (no log: {e})")),
                }
            }
        }
    }
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    match jobs.list(&lp).await {
        Err(e) => out.push_str(&format!("\n(listing jobs in {ns}: {e})")),
        Ok(list) => {
            for j in list.items {
                let st = j.status.unwrap_or_default();
                let conds: Vec<String> = st
                    .conditions
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| format!("{}={} {}", c.type_, c.status, c.reason.unwrap_or_default()))
                    .collect();
                out.push_str(&format!(
                    "\n--- job {}: active {} succeeded {} failed {} [{}]",
                    j.metadata.name.unwrap_or_default(),
                    st.active.unwrap_or(0),
                    st.succeeded.unwrap_or(0),
                    st.failed.unwrap_or(0),
                    conds.join(", ")
                ));
            }
        }
    }
    let events: Api<Event> = Api::namespaced(client, ns);
    match events.list(&lp).await {
        Err(e) => out.push_str(&format!("\n(listing events in {ns}: {e})")),
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| e.last_timestamp.clone().or(e.first_timestamp.clone()));
            out.push_str("\n--- events:");
            for e in items {
                out.push_str(&format!(
                    "\n  {} {} {}/{} x{}: {}",
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.involved_object.kind.unwrap_or_default(),
                    e.involved_object.name.unwrap_or_default(),
                    e.count.unwrap_or(1),
                    e.message.unwrap_or_default()
                ));
            }
        }
    }
    out
}
