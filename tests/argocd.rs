//! GitOps for real: Argo CD v3 (its application controller and repo server with real Helm,
//! built from its Go module by `tools/k8s-testenv/testenv.sh start --node --argocd`) syncs
//! `charts/iter8` from our hub served on loopback into the test cluster with a real node. The
//! experiment runs in a real Job, `iter8 k assert` reads its result, and the Application's
//! health shows the verdict through the health check docs/gitops/secret-health.lua ships.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::Api;
use kube::api::{
    ApiResource, DynamicObject, ListParams, LogParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use testsupport::kube_env::TestEnv;

mod support;

use support::kube::Out;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Where Argo CD keeps its settings and Applications in the test environment.
const ARGOCD_NS: &str = "argocd";

fn argo_env() -> &'static TestEnv {
    match TestEnv::with_argocd() {
        Ok(env) => env,
        Err(e) => panic!("the test cluster with a node and Argo CD is required: {e}"),
    }
}

/// The runner image in the node's registry: (repository:tag, digest).
fn pushed_image() -> &'static (String, String) {
    static IMAGE: OnceLock<(String, String)> = OnceLock::new();
    IMAGE.get_or_init(|| support::kube::push_runner_image(argo_env(), "argocd-test"))
}

/// Our hub (`hub/`: index.yaml and the packaged charts) as a Helm repository on loopback.
fn hub() -> &'static testsupport::chart_servers::Nginx {
    static HUB: OnceLock<testsupport::chart_servers::Nginx> = OnceLock::new();
    HUB.get_or_init(|| {
        testsupport::chart_servers::Nginx::start(&testsupport::repo_root().join("hub"), false)
    })
}

/// The iter8 chart in the hub over HTTP, as an Application's source.
fn http_source() -> Value {
    json!({"repoURL": hub().url, "chart": "iter8", "targetRevision": chart_version()})
}

/// The iter8 chart pushed from the hub to the node's registry (plain HTTP on loopback), as an
/// Application's source, with the repository Secret Argo CD needs for it (OCI over HTTP).
async fn oci_source() -> Value {
    static PUSHED: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let repo = PUSHED
        .get_or_init(|| async {
            let registry = argo_env().registry().expect("the node's registry");
            let archive = testsupport::repo_root()
                .join("hub")
                .join(format!("iter8-{}.tgz", chart_version()));
            let push = tokio::process::Command::new(
                testsupport::tools::helm().expect("helm (tools/fetch-helm.sh)"),
            )
            .arg("push")
            .arg(&archive)
            .arg(format!("oci://{registry}/charts"))
            .arg("--plain-http")
            .output()
            .await
            .expect("run helm push");
            assert!(
                push.status.success(),
                "helm push: {}",
                String::from_utf8_lossy(&push.stderr)
            );
            let repo = format!("{registry}/charts");
            let secrets: Api<Secret> =
                Api::namespaced(argo_env().admin_client().expect("client"), ARGOCD_NS);
            let secret: Secret = serde_json::from_value(json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "iter8-oci",
                    "labels": {"argocd.argoproj.io/secret-type": "repository"},
                },
                "stringData": {
                    "type": "helm",
                    "name": "iter8-oci",
                    "url": repo,
                    "enableOCI": "true",
                    "insecureOCIForceHttp": "true",
                },
            }))
            .expect("secret");
            secrets
                .patch(
                    "iter8-oci",
                    &PatchParams::apply("argocd-test").force(),
                    &Patch::Apply(&secret),
                )
                .await
                .expect("repository Secret");
            repo
        })
        .await;
    json!({"repoURL": repo, "chart": "iter8", "targetRevision": chart_version()})
}

/// The version of `charts/iter8`, which the hub serves.
fn chart_version() -> String {
    let text = std::fs::read_to_string(testsupport::repo_root().join("charts/iter8/Chart.yaml"))
        .expect("charts/iter8/Chart.yaml");
    text.lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .expect("a version line")
}

fn apps() -> Api<DynamicObject> {
    let ar = ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    };
    Api::namespaced_with(argo_env().admin_client().expect("client"), ARGOCD_NS, &ar)
}

/// Installs the health check docs/gitops/secret-health.lua ships into argocd-cm, as the
/// GitOps guide tells users to (Argo CD reads its settings live).
async fn install_health_check() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let lua =
            std::fs::read_to_string(testsupport::repo_root().join("docs/gitops/secret-health.lua"))
                .expect("docs/gitops/secret-health.lua");
        let cms: Api<ConfigMap> =
            Api::namespaced(argo_env().admin_client().expect("client"), ARGOCD_NS);
        cms.patch(
            "argocd-cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"resource.customizations.health.Secret": lua}})),
        )
        .await
        .expect("patch argocd-cm");
    })
    .await;
}

/// The experiment's values: `tasks` etc. from the test, then what runs the runner on the
/// node (our image by digest, host network, the API server on loopback), runner=job and
/// argocd=true.
fn values(experiment: Value) -> Value {
    let (image, digest) = pushed_image();
    let server = argo_env().server();
    let port = server.rsplit(':').next().expect("server has a port");
    let mut v = experiment;
    let extra = json!({
        "runner": "job",
        "argocd": true,
        "iter8Image": image,
        "iter8ImageDigest": digest,
        "runnerHostNetwork": true,
        "runnerEnv": [
            {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": port},
        ],
    });
    for (k, val) in extra.as_object().expect("object") {
        v[k] = val.clone();
    }
    v
}

/// An Application of the iter8 chart from the hub into namespace `ns`, as docs/gitops.md
/// writes it: the experiment Secret ignored (Iter8 v0.13's ignoreDifferences and
/// RespectIgnoreDifferences), automated sync with selfHeal.
fn application(name: &str, ns: &str, source: &Value, values: &Value) -> Value {
    let mut source = source.clone();
    // JSON is YAML: the values as Argo CD takes them (`helm.values`, a string).
    source["helm"] = json!({"values": serde_json::to_string(values).expect("json")});
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ARGOCD_NS},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "source": source,
            "ignoreDifferences": [{
                "kind": "Secret",
                "name": name,
                "namespace": ns,
                "jsonPointers": ["/data", "/metadata"],
            }],
            "syncPolicy": {
                "automated": {"selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"],
            },
        },
    })
}

/// Creates the Application; it is deleted (with its resources: Argo CD's finalizer) on drop.
struct App {
    name: String,
}

impl App {
    async fn create(name: &str, ns: &str, source: &Value, values: &Value) -> App {
        let mut app = application(name, ns, source, values);
        app["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
        let obj: DynamicObject = serde_json::from_value(app).expect("application");
        apps()
            .create(&PostParams::default(), &obj)
            .await
            .expect("create Application");
        App { name: name.into() }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Blocking on a fresh runtime: Drop cannot await, and the test's runtime is ending.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = apps().delete(&name, &Default::default()).await;
            });
        })
        .join();
    }
}

/// The Application's status field at `pointer` (e.g. `/health/status`), "" when absent.
async fn app_status(name: &str, pointer: &str) -> String {
    match apps().get(name).await {
        Ok(app) => app.data["status"]
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// Waits (at most `limit`) until `check` holds of the Application's status; panics with the
/// status, the pods and the component logs' location otherwise.
async fn wait_app(
    name: &str,
    ns: &str,
    what: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) {
    let start = Instant::now();
    loop {
        let status = apps()
            .get(name)
            .await
            .map(|a| a.data["status"].clone())
            .unwrap_or(Value::Null);
        if check(&status) {
            return;
        }
        if start.elapsed() > limit {
            panic!(
                "Application {name}: {what} not reached within {limit:?}; status: {}\npods: {}",
                serde_json::to_string_pretty(&status).unwrap_or_default(),
                pods_report(ns).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each pod's phase and log, and where the component logs are, for failure messages.
async fn pods_report(ns: &str) -> String {
    let client = argo_env().admin_client().expect("client");
    let pods: Api<Pod> = Api::namespaced(client, ns);
    let mut out = String::new();
    for p in pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        let name = p.metadata.name.clone().unwrap_or_default();
        let phase = p
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let log = pods
            .logs(&name, &LogParams::default())
            .await
            .unwrap_or_else(|e| format!("(no log: {e})"));
        out.push_str(&format!("\n--- pod {name}: {phase}\n{log}"));
    }
    if let Some(dir) = argo_env().dir() {
        out.push_str(&format!("\n(component logs in {})", dir.display()));
    }
    out
}

/// Waits until Job `name` in `ns` has finished; its uid and whether it succeeded.
async fn wait_job(ns: &str, name: &str, limit: Duration) -> (String, bool) {
    let jobs: Api<Job> = Api::namespaced(argo_env().admin_client().expect("client"), ns);
    let start = Instant::now();
    loop {
        if let Ok(job) = jobs.get(name).await {
            let st = job.status.clone().unwrap_or_default();
            let uid = job.metadata.uid.clone().unwrap_or_default();
            if st.succeeded.unwrap_or(0) > 0 {
                return (uid, true);
            }
            if st.failed.unwrap_or(0) > 0 {
                return (uid, false);
            }
        }
        if start.elapsed() > limit {
            panic!(
                "Job {ns}/{name} did not finish within {limit:?}; pods: {}",
                pods_report(ns).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `iter8 k <args> -n <ns>` with the cluster's admin kubeconfig.
async fn k(ns: &str, args: &[&str]) -> Out {
    let admin = argo_env().kubeconfig_path().to_str().expect("utf8");
    let mut all = vec!["k"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-n", ns, "--kubeconfig", admin]);
    support::kube::iter8(&all).await
}

/// The experiment document in Secret `name`.
async fn experiment(ns: &str, name: &str) -> (String, runner::Experiment) {
    let secrets: Api<Secret> = Api::namespaced(argo_env().admin_client().expect("client"), ns);
    let secret = secrets.get(name).await.expect("the experiment Secret");
    let text = secret
        .data
        .as_ref()
        .and_then(|d| d.get("experiment.yaml"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .expect("experiment.yaml");
    let exp = runner::Experiment::from_yaml(&text).expect("experiment");
    (text, exp)
}

fn http_experiment(url: &str, requests: u32, slo: (&str, f64)) -> Value {
    json!({
        "tasks": ["http", "assess"],
        "http": {"url": url, "numRequests": requests},
        "assess": {"SLOs": {"upper": {slo.0: slo.1}}},
    })
}

/// Argo CD syncs an Application of the iter8 chart from the hub over HTTP: the Job runs on the
/// node and sends exactly the requested load to a target on loopback, `iter8 k assert -g <app>`
/// passes, and the Application turns Healthy. Three reconciliations with selfHeal later the
/// results the runner wrote are still in the Secret (not reverted). Changing the values in
/// the Application replaces the Job, which runs the new experiment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_runs_the_experiment_and_turns_healthy() -> TestResult {
    let env = argo_env();
    install_health_check().await;
    let ns = env.namespace("argo-pass").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let name = format!("exp-{ns}");
    let _app = App::create(
        &name,
        ns,
        &http_source(),
        &values(http_experiment(&url, 40, ("http/error-count", 0.0))),
    )
    .await;

    let job = format!("{name}-1-job");
    let (uid, ok) = wait_job(ns, &job, Duration::from_secs(300)).await;
    assert!(ok, "the Job failed: {}", pods_report(ns).await);
    assert_eq!(target.requests("/echo"), 40);
    let assert = k(
        ns,
        &["assert", "-g", &name, "-c", "completed,nofailure,slos"],
    )
    .await;
    assert_eq!(assert.code, 0, "k assert: {}", assert.stderr);
    wait_app(
        &name,
        ns,
        "health Healthy and Synced",
        Duration::from_secs(120),
        |s| s["health"]["status"] == "Healthy" && s["sync"]["status"] == "Synced",
    )
    .await;

    // Three reconciliations (every 10 s here) with selfHeal: the results stay.
    let (before, _) = experiment(ns, &name).await;
    for round in 0..3 {
        let seen = app_status(&name, "/reconciledAt").await;
        wait_app(
            &name,
            ns,
            &format!("reconciliation {}", round + 1),
            Duration::from_secs(90),
            |s| s["reconciledAt"].as_str().is_some_and(|t| t != seen),
        )
        .await;
    }
    let (after, exp) = experiment(ns, &name).await;
    assert_eq!(
        after, before,
        "the results Secret changed over three selfHeal cycles"
    );
    assert_eq!(exp.result.as_ref().map(|r| r.num_completed_tasks), Some(2));
    assert_eq!(app_status(&name, "/sync/status").await, "Synced");

    // New values: the Job is replaced and runs the new experiment (25 requests).
    let changed = values(http_experiment(&url, 25, ("http/error-count", 0.0)));
    apps()
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"source": {"helm": {
                "values": serde_json::to_string(&changed)?}}}})),
        )
        .await?;
    let jobs: Api<Job> = Api::namespaced(env.admin_client()?, ns);
    let start = Instant::now();
    loop {
        let replaced = jobs
            .get_opt(&job)
            .await?
            .and_then(|j| j.metadata.uid)
            .is_some_and(|u| u != uid);
        if replaced {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the Job was not replaced after the values changed; app status: {}",
            app_status(&name, "/operationState/message").await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, ok) = wait_job(ns, &job, Duration::from_secs(300)).await;
    assert!(ok, "the relaunched Job failed: {}", pods_report(ns).await);
    assert_eq!(target.requests("/echo"), 40 + 25);
    let (text, exp) = experiment(ns, &name).await;
    assert!(text.contains("numRequests: 25"), "the new spec: {text}");
    assert_eq!(exp.result.as_ref().map(|r| r.num_completed_tasks), Some(2));
    wait_app(
        &name,
        ns,
        "Healthy after the relaunch",
        Duration::from_secs(120),
        |s| s["health"]["status"] == "Healthy",
    )
    .await;
    Ok(())
}

/// With an SLO that cannot hold (mean latency below 0 ms) the experiment completes, `k assert
/// -c slos` fails, and the Application's health turns Degraded (only the shipped check can
/// say so: Argo CD has no health of its own for Secrets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violated_slo_turns_the_application_degraded() -> TestResult {
    let env = argo_env();
    install_health_check().await;
    let ns = env.namespace("argo-fail").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let name = format!("exp-{ns}");
    let _app = App::create(
        &name,
        ns,
        &http_source(),
        &values(http_experiment(&url, 20, ("http/latency-mean", 0.0))),
    )
    .await;
    let (_, ok) = wait_job(ns, &format!("{name}-1-job"), Duration::from_secs(300)).await;
    assert!(ok, "the Job failed: {}", pods_report(ns).await);
    assert_eq!(target.requests("/echo"), 20);
    let assert = k(ns, &["assert", "-g", &name, "-c", "completed,nofailure"]).await;
    assert_eq!(
        assert.code, 0,
        "k assert completed,nofailure: {}",
        assert.stderr
    );
    let slos = k(ns, &["assert", "-g", &name, "-c", "slos"]).await;
    assert_ne!(slos.code, 0, "k assert -c slos passed: {}", slos.stderr);
    wait_app(
        &name,
        ns,
        "health Degraded",
        Duration::from_secs(120),
        |s| s["health"]["status"] == "Degraded",
    )
    .await;
    Ok(())
}

/// The same chart from an OCI registry (the node's, on loopback, over plain HTTP): Argo CD
/// pulls it through a repository Secret with enableOCI, the Job runs the experiment and the
/// Application turns Healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_from_oci_turns_healthy() -> TestResult {
    let env = argo_env();
    install_health_check().await;
    let ns = env.namespace("argo-oci").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let name = format!("exp-{ns}");
    let source = oci_source().await;
    let _app = App::create(
        &name,
        ns,
        &source,
        &values(http_experiment(&url, 10, ("http/error-count", 0.0))),
    )
    .await;
    let (_, ok) = wait_job(ns, &format!("{name}-1-job"), Duration::from_secs(300)).await;
    assert!(ok, "the Job failed: {}", pods_report(ns).await);
    assert_eq!(target.requests("/echo"), 10);
    wait_app(
        &name,
        ns,
        "health Healthy and Synced",
        Duration::from_secs(120),
        |s| s["health"]["status"] == "Healthy" && s["sync"]["status"] == "Synced",
    )
    .await;
    Ok(())
}
