//! `iter8 autox` against the real kube-apiserver of `tools/k8s-testenv`: the controller runs
//! as a child process with the RBAC that `charts/autox` (installed by real Helm) grants its
//! ServiceAccount, reading the CONFIG the chart rendered. Direct mode installs the experiment
//! chart from our hub (served by nginx) as a Helm-compatible release; Argo CD mode writes
//! Applications validated by Argo CD's own CRD (from its Go module). Faults: trigger deleted
//! and recreated, two replicas with one Lease, API connections cut mid-watch, the real API
//! server stopped and restarted (on a control plane of that test's own).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::{Api, Client};
use serde_json::{Value, json};

mod support;

use support::kube::{Out, env, iter8};
use testsupport::kube_env::TestEnv;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running `iter8 autox`; its stderr lines are collected; killed on drop.
struct Autox {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Autox {
    fn start(kubeconfig: &Path, config: &str, args: &[&str]) -> Autox {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_iter8"))
            .arg("autox")
            .args(["--kubeconfig", kubeconfig.to_str().expect("utf8")])
            .args(["--health-addr", "127.0.0.1:0"])
            .args(args)
            .env("CONFIG", &path)
            .env("ITER8_LOG_TTY", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn iter8 autox");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Autox {
            child,
            lines,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    async fn wait_log(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while self.count(needle) == 0 {
            assert!(
                start.elapsed() < limit,
                "no log line with {needle:?} within {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Autox {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Poll `f` every 250 ms until it returns Some (at most `limit`); panics with `what`.
async fn until<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn client() -> Client {
    env().admin_client().expect("client")
}

/// A Deployment `name` (its pods never run here: no node) with `labels`.
async fn deployment(e: &TestEnv, ns: &str, name: &str, labels: &[(&str, &str)]) -> TestResult {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1"}]}
            }
        }
    }))?;
    Api::<Deployment>::namespaced(e.admin_client()?, ns)
        .create(&PostParams::default(), &d)
        .await?;
    Ok(())
}

/// Merge-patch the Deployment's labels (null removes one).
async fn relabel(e: &TestEnv, ns: &str, name: &str, labels: Value) -> TestResult {
    Api::<Deployment>::namespaced(e.admin_client()?, ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await?;
    Ok(())
}

/// Revisions of Helm release `name` in `ns`, from its record Secrets.
async fn revisions(ns: &str, name: &str) -> Vec<String> {
    let secrets: Api<Secret> = Api::namespaced(client(), ns);
    let mut v: Vec<String> = secrets
        .list(&ListParams::default().labels(&format!("owner=helm,name={name}")))
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.labels?.get("version").cloned())
        .collect();
    v.sort();
    v
}

/// The revision of Helm release `name` whose record says `deployed`, if any.
async fn deployed(e: &TestEnv, ns: &str, name: &str) -> Option<String> {
    let secrets: Api<Secret> = Api::namespaced(e.admin_client().ok()?, ns);
    secrets
        .list(&ListParams::default().labels(&format!("owner=helm,name={name},status=deployed")))
        .await
        .ok()?
        .items
        .into_iter()
        .find_map(|s| s.metadata.labels?.get("version").cloned())
}

async fn job_names(ns: &str) -> Vec<String> {
    let mut v: Vec<String> = Api::<Job>::namespaced(client(), ns)
        .list(&ListParams::default())
        .await
        .expect("list jobs")
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    v.sort();
    v
}

/// Reasons of the Events on object `name`, oldest first.
async fn event_reasons(ns: &str, name: &str) -> Vec<String> {
    let mut events = Api::<Event>::namespaced(client(), ns)
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .expect("list events")
        .items;
    events.sort_by_key(|e| e.event_time.clone().map(|t| t.0));
    events
        .into_iter()
        .filter(|e| e.source.as_ref().and_then(|s| s.component.as_deref()) == Some("iter8-autox"))
        .filter_map(|e| e.reason)
        .collect()
}

/// Real `helm install <release> charts/autox -n <ns>` with `sets`, the controller scaled to
/// zero (the test runs it as a child process with the chart's ServiceAccount instead).
async fn install_chart(
    e: &TestEnv,
    ns: &str,
    release: &str,
    values_file: &Path,
    sets: &[&str],
) -> Out {
    let chart = testsupport::repo_root().join("charts/autox");
    let mut args = vec![
        "install",
        release,
        chart.to_str().expect("utf8"),
        "-n",
        ns,
        "-f",
        values_file.to_str().expect("utf8"),
        "--set",
        "replicas=0",
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let helm = testsupport::tools::helm().expect("helm (tools/fetch-helm.sh)");
    tokio::process::Command::new(helm)
        .args(&args)
        .arg("--kubeconfig")
        .arg(e.kubeconfig_path())
        .output()
        .await
        .expect("run helm")
        .into()
}

/// The CONFIG the chart rendered (Secret `<release>`, key config.yaml).
async fn chart_config(e: &TestEnv, ns: &str, release: &str) -> String {
    let s = Api::<Secret>::namespaced(e.admin_client().expect("client"), ns)
        .get(release)
        .await
        .expect("config Secret");
    let data = s.data.expect("data");
    String::from_utf8(data["config.yaml"].0.clone()).expect("utf8")
}

/// A kubeconfig for the chart's ServiceAccount `<release>` (TokenRequest), so only the chart's
/// RBAC applies; `server` replaces the API server address when given.
async fn sa_kubeconfig(
    e: &TestEnv,
    ns: &str,
    release: &str,
    dir: &Path,
    server: Option<&str>,
) -> PathBuf {
    let token = e.service_account_token(ns, release).await.expect("token");
    let mut yaml = e.kubeconfig_yaml_for_token(&token, ns);
    if let Some(s) = server {
        yaml = yaml.replace(e.server(), s);
    }
    let path = dir.join(format!("{release}.kubeconfig"));
    std::fs::write(&path, yaml).expect("write");
    path
}

/// Values of group `g` with trigger Deployment `app` in `ns`, spec `iter8` of the hub's iter8
/// chart (an http task and a Job runner; the Job never runs here), and with `with_other`
/// spec `other`, for an experiment that autox must leave alone.
fn values(ns: &str, with_other: bool) -> String {
    let mut v = format!(
        "groups:\n  g:\n    trigger:\n      name: app\n      namespace: {ns}\n      group: apps\n      version: v1\n      resource: deployments\n    specs:\n      iter8:\n        name: iter8\n        version: 0.1.0\n        values:\n          tasks: [http]\n          http:\n            url: http://127.0.0.1:9/get\n            numRequests: 5\n          runner: job\n"
    );
    if with_other {
        v.push_str("      other:\n        name: iter8\n        version: 0.1.0\n        values:\n          tasks: [http]\n          http:\n            url: http://127.0.0.1:9/other\n          runner: job\n");
    }
    v
}

fn write_values(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("values.yaml");
    std::fs::write(&p, text).expect("write values");
    p
}

fn hub() -> testsupport::chart_servers::Nginx {
    testsupport::chart_servers::Nginx::start(&testsupport::repo_root().join("hub"), false)
}

/// A config with a missing trigger field, or two groups with one trigger, exits 1 with
/// Iter8 v0.13's message; no CONFIG at all is v0.13's fatal message.
#[tokio::test]
async fn bad_config_exits_1_with_v013_messages() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cases = [
        (
            "specs:\n  test:\n    trigger: {name: test, namespace: default, version: v1}\n",
            "Error: trigger in spec group \"test\" does not have a resource",
        ),
        (
            "specs:\n  a:\n    trigger: {name: t, namespace: d, version: v1, resource: deployments}\n  b:\n    trigger: {name: t, namespace: d, version: v1, resource: deployments}\n",
            "Error: multiple release specs with the same trigger: name: \"t\", namespace: \"d\", group: \"\", version: \"v1\", resource: \"deployments\",",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, text)?;
        let out = Command::new(env!("CARGO_BIN_EXE_iter8"))
            .arg("autox")
            .env("CONFIG", &path)
            .env("ITER8_LOG_TTY", "0")
            .output()?;
        let out = Out::from(out);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(out.error_lines(), vec![expected], "{}", out.stderr);
    }
    let out: Out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .arg("autox")
        .env_remove("CONFIG")
        .env("ITER8_LOG_TTY", "0")
        .output()?
        .into();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("Error: group configuration file is required"),
        "{}",
        out.stderr
    );
    Ok(())
}

/// Direct mode, with only the chart's RBAC: the version label launches release
/// autox-g-iter8 (a Job), an unrelated label changes nothing, a new version relaunches
/// (revision 2, a new Job), removing the label deletes it; a release of the same name pattern
/// that autox did not launch is left alone; each launch and delete is an Event on the
/// Deployment; deleting the trigger deletes the experiment and recreating it launches anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_mode_launch_relaunch_delete() -> TestResult {
    let ns_guard = env().namespace("autox-direct").await?;
    let ns = ns_guard.name();
    let dir = tempfile::tempdir()?;
    let hub = hub();
    let vf = write_values(dir.path(), &values(ns, true));
    let out = install_chart(
        env(),
        ns,
        "autox",
        &vf,
        &["mode=direct", &format!("repoURL={}", hub.url)],
    )
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);

    // A release named like spec `other`, installed by hand: not autox's.
    let chart = testsupport::repo_root().join("charts/iter8");
    let admin = env().kubeconfig_path().to_str().expect("utf8").to_string();
    let own = iter8(&[
        "k",
        "launch",
        "-g",
        "autox-g-other",
        "-c",
        chart.to_str().expect("utf8"),
        "--set",
        "tasks={http}",
        "--set",
        "http.url=http://127.0.0.1:9/mine",
        "-n",
        ns,
        "--kubeconfig",
        &admin,
    ])
    .await;
    assert_eq!(own.code, 0, "k launch: {}", own.stderr);

    deployment(
        env(),
        ns,
        "app",
        &[
            ("app.kubernetes.io/version", "1.0.0"),
            ("app.kubernetes.io/name", "app"),
        ],
    )
    .await?;
    let kc = sa_kubeconfig(env(), ns, "autox", dir.path(), None).await;
    let config = chart_config(env(), ns, "autox").await;
    let autox = Autox::start(
        &kc,
        &config,
        &[
            "--mode",
            "direct",
            "--repo",
            &hub.url,
            "--lease-namespace",
            ns,
        ],
    );

    until("revision 1 deployed", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    assert!(
        job_names(ns)
            .await
            .contains(&"autox-g-iter8-1-job".to_string())
    );

    // Unrelated label: nothing; then a new version: exactly one more revision.
    relabel(env(), ns, "app", json!({"team": "a"})).await?;
    relabel(
        env(),
        ns,
        "app",
        json!({"app.kubernetes.io/version": "2.0.0"}),
    )
    .await?;
    until("revision 2 deployed", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("2")).then_some(())
    })
    .await;
    assert_eq!(revisions(ns, "autox-g-iter8").await, ["1", "2"]);
    let jobs = job_names(ns).await;
    assert!(
        jobs.contains(&"autox-g-iter8-2-job".to_string()),
        "{jobs:?}"
    );
    assert!(
        !jobs.contains(&"autox-g-iter8-1-job".to_string()),
        "{jobs:?}"
    );

    // Label removed: deleted.
    relabel(env(), ns, "app", json!({"app.kubernetes.io/version": null})).await?;
    until("release deleted", LIMIT, || async {
        revisions(ns, "autox-g-iter8")
            .await
            .is_empty()
            .then_some(())
    })
    .await;

    // Trigger deleted and recreated with a version: launched anew.
    relabel(
        env(),
        ns,
        "app",
        json!({"app.kubernetes.io/version": "3.0.0"}),
    )
    .await?;
    until("relaunch for 3.0.0", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    Api::<Deployment>::namespaced(client(), ns)
        .delete("app", &DeleteParams::default())
        .await?;
    until("deleted with the trigger", LIMIT, || async {
        revisions(ns, "autox-g-iter8")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    deployment(env(), ns, "app", &[("app.kubernetes.io/version", "4.0.0")]).await?;
    until("launched for the recreated trigger", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;

    // The hand-made release was never touched: still revision 1 with its own values.
    assert_eq!(
        revisions(ns, "autox-g-other").await,
        ["1"],
        "{}",
        autox.log()
    );
    assert!(autox.count("autox-g-other exists but was not launched by autox") > 0);
    let reasons = event_reasons(ns, "app").await;
    assert_eq!(
        reasons,
        [
            "ExperimentLaunched",
            "ExperimentRelaunched",
            "ExperimentDeleted",
            "ExperimentLaunched",
            "ExperimentDeleted",
            "ExperimentLaunched"
        ],
        "{}",
        autox.log()
    );
    Ok(())
}

/// The Application CRD of Argo CD v3.5.8, read from its Go module (downloaded by `go mod
/// download` into the module cache; nothing committed), applied server-side.
async fn argo_crd() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let out = Command::new("go")
            .args([
                "mod",
                "download",
                "-json",
                "github.com/argoproj/argo-cd/v3@v3.5.8",
            ])
            .env("GOFLAGS", "-mod=mod")
            .output()
            .expect("go (Go toolchain on PATH)");
        assert!(
            out.status.success(),
            "go mod download: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info: Value = serde_json::from_slice(&out.stdout).expect("json");
        let dir = info["Dir"].as_str().expect("Dir");
        let crd = Path::new(dir).join("manifests/crds/application-crd.yaml");
        let kubectl = testsupport::tools::kubectl().expect("kubectl");
        let out = Command::new(kubectl)
            .args(["apply", "--server-side", "--force-conflicts", "-f"])
            .arg(&crd)
            .arg("--kubeconfig")
            .arg(env().kubeconfig_path())
            .output()
            .expect("kubectl");
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Established once the API server serves it (its status may not exist for a moment).
        let crds = ApiResource {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            plural: "customresourcedefinitions".into(),
        };
        let api: Api<DynamicObject> = Api::all_with(client(), &crds);
        until("the Application CRD established", LIMIT, || async {
            let crd = api.get("applications.argoproj.io").await.ok()?;
            let established = crd.data["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True");
            established.then_some(())
        })
        .await;
    })
    .await;
}

fn apps(ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    };
    Api::namespaced_with(client(), ns, &ar)
}

/// What Argo CD's finalizer would do once it cleaned up: let the Application go.
async fn release_finalizer(ns: &str, name: &str) {
    let _ = apps(ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
}

/// Argo CD mode with the chart's RBAC and Argo CD's own CRD: the Application has exactly the
/// fields of v0.13's (owner = the chart's group Secret, finalizer, label, destination, source
/// with the values and autoXAdditionalValues as YAML, ignoreDifferences, sync policy); an
/// unrelated label keeps it (same uid); a new version recreates it (new uid) once the old one
/// is gone; removing the label deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_mode_applications() -> TestResult {
    argo_crd().await;
    let ns_guard = env().namespace("autox-argo").await?;
    let ns = ns_guard.name();
    let dir = tempfile::tempdir()?;
    let text = format!(
        "groups:\n  g:\n    trigger:\n      name: app\n      namespace: {ns}\n      group: apps\n      version: v1\n      resource: deployments\n    specs:\n      iter8:\n        name: iter8\n        version: 0.1.0\n        values:\n          tasks: [http]\n          http:\n            url: http://app.{ns}/get\n          runner: job\n"
    );
    let vf = write_values(dir.path(), &text);
    let repo = "oci://127.0.0.1:5000/hub";
    let out = install_chart(
        env(),
        ns,
        "autox",
        &vf,
        &[
            "mode=argocd",
            &format!("argocdNamespace={ns}"),
            &format!("repoURL={repo}"),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
    let owner = Api::<Secret>::namespaced(client(), ns)
        .list(&ListParams::default().labels("iter8.tools/autox-group=g"))
        .await?
        .items;
    assert_eq!(owner.len(), 1);
    let owner_name = owner[0].metadata.name.clone().expect("name");
    let owner_uid = owner[0].metadata.uid.clone().expect("uid");

    deployment(env(), ns, "app", &[("app.kubernetes.io/version", "1.0.0")]).await?;
    let kc = sa_kubeconfig(env(), ns, "autox", dir.path(), None).await;
    let config = chart_config(env(), ns, "autox").await;
    let autox = Autox::start(
        &kc,
        &config,
        &[
            "--mode",
            "argocd",
            "--argocd-namespace",
            ns,
            "--repo",
            repo,
            "--lease-namespace",
            ns,
        ],
    );
    let app = until("Application", LIMIT, || async {
        apps(ns).get_opt("autox-g-iter8").await.ok().flatten()
    })
    .await;
    let v = serde_json::to_value(&app)?;
    assert_eq!(
        v["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "iter8"})
    );
    assert_eq!(
        v["metadata"]["ownerReferences"],
        json!([{"apiVersion": "v1", "kind": "Secret", "name": owner_name, "uid": owner_uid}])
    );
    assert_eq!(
        v["metadata"]["finalizers"],
        json!(["resources-finalizer.argocd.argoproj.io"])
    );
    let values = format!(
        "autoXAdditionalValues:\n  app.kubernetes.io/name: ''\n  app.kubernetes.io/version: 1.0.0\n  iter8.tools/track: ''\nhttp:\n  url: http://app.{ns}/get\nrunner: job\ntasks:\n- http\n"
    );
    assert_eq!(
        v["spec"],
        json!({
            "destination": {"namespace": ns, "server": "https://kubernetes.default.svc"},
            "project": "default",
            "source": {
                "chart": "iter8",
                "helm": {"values": values},
                "repoURL": repo,
                "targetRevision": "0.1.0"
            },
            "ignoreDifferences": [{
                "kind": "Secret", "name": "autox-g-iter8", "namespace": ns,
                "jsonPointers": ["/data", "/metadata"]
            }],
            "syncPolicy": {
                "automated": {"selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"]
            }
        })
    );
    let uid1 = app.metadata.uid.clone().expect("uid");

    // An unrelated label: the same Application; then a new version: a new one.
    relabel(env(), ns, "app", json!({"team": "a"})).await?;
    relabel(
        env(),
        ns,
        "app",
        json!({"app.kubernetes.io/version": "2.0.0"}),
    )
    .await?;
    until("old Application marked for deletion", LIMIT, || async {
        let a = apps(ns).get_opt("autox-g-iter8").await.ok().flatten()?;
        (a.metadata.uid.as_deref() == Some(uid1.as_str())
            && a.metadata.deletion_timestamp.is_some())
        .then_some(())
    })
    .await;
    release_finalizer(ns, "autox-g-iter8").await;
    let app2 = until("new Application", LIMIT, || async {
        let a = apps(ns).get_opt("autox-g-iter8").await.ok().flatten()?;
        (a.metadata.uid.as_deref() != Some(uid1.as_str())).then_some(a)
    })
    .await;
    let v2 = serde_json::to_value(&app2)?;
    assert!(
        v2["spec"]["source"]["helm"]["values"]
            .as_str()
            .is_some_and(|s| s.contains("app.kubernetes.io/version: 2.0.0")),
        "{v2}"
    );
    assert_eq!(
        autox.count("relaunched experiment autox-g-iter8"),
        1,
        "{}",
        autox.log()
    );

    relabel(env(), ns, "app", json!({"app.kubernetes.io/version": null})).await?;
    until("Application marked for deletion", LIMIT, || async {
        let a = apps(ns).get_opt("autox-g-iter8").await.ok().flatten()?;
        a.metadata.deletion_timestamp.is_some().then_some(())
    })
    .await;
    release_finalizer(ns, "autox-g-iter8").await;
    until("Application gone", LIMIT, || async {
        apps(ns)
            .get_opt("autox-g-iter8")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        event_reasons(ns, "app").await,
        [
            "ExperimentLaunched",
            "ExperimentRelaunched",
            "ExperimentDeleted"
        ],
        "{}",
        autox.log()
    );
    Ok(())
}

/// Two replicas with one Lease: only one acquires it and acts (one launch, one Event); when
/// it stops, the other takes over after the Lease expires and acts on the next change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_acts() -> TestResult {
    let ns_guard = env().namespace("autox-lease").await?;
    let ns = ns_guard.name();
    let dir = tempfile::tempdir()?;
    let hub = hub();
    let vf = write_values(dir.path(), &values(ns, false));
    let out = install_chart(
        env(),
        ns,
        "autox",
        &vf,
        &["mode=direct", &format!("repoURL={}", hub.url)],
    )
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
    deployment(env(), ns, "app", &[("app.kubernetes.io/version", "1.0.0")]).await?;
    let kc = sa_kubeconfig(env(), ns, "autox", dir.path(), None).await;
    let config = chart_config(env(), ns, "autox").await;
    let flags = |id: &'static str| {
        vec![
            "--mode".to_string(),
            "direct".into(),
            "--repo".into(),
            hub.url.clone(),
            "--lease-namespace".into(),
            ns.to_string(),
            "--lease-name".into(),
            "autox".into(),
            "--identity".into(),
            id.into(),
            "--lease-duration".into(),
            "4".into(),
        ]
    };
    let fa = flags("replica-a");
    let fb = flags("replica-b");
    let a = Autox::start(
        &kc,
        &config,
        &fa.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let b = Autox::start(
        &kc,
        &config,
        &fb.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    until("launch", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    // Both have listed the trigger; exactly one holds the Lease and acted; the other follows.
    a.wait_log("every trigger listed; ready", LIMIT).await;
    b.wait_log("every trigger listed; ready", LIMIT).await;
    assert_eq!(
        a.count("acting as leader") + b.count("acting as leader"),
        1,
        "a:\n{}\nb:\n{}",
        a.log(),
        b.log()
    );
    let (mut leader, follower) = if a.count("acting as leader") == 1 {
        (a, b)
    } else {
        (b, a)
    };
    follower.wait_log("following", LIMIT).await;
    assert_eq!(leader.count("launched experiment"), 1, "{}", leader.log());
    assert_eq!(
        follower.count("launched experiment"),
        0,
        "{}",
        follower.log()
    );

    // The leader stops; the follower takes over once the Lease expires, and acts.
    leader.stop();
    follower.wait_log("acting as leader", LIMIT).await;
    relabel(
        env(),
        ns,
        "app",
        json!({"app.kubernetes.io/version": "2.0.0"}),
    )
    .await?;
    until("relaunch by the new leader", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("2")).then_some(())
    })
    .await;
    assert_eq!(
        follower.count("relaunched experiment autox-g-iter8"),
        1,
        "{}",
        follower.log()
    );
    assert_eq!(
        event_reasons(ns, "app").await,
        ["ExperimentLaunched", "ExperimentRelaunched"]
    );
    Ok(())
}

/// A loopback TCP relay to the API server whose connections the test can cut (and refuse for
/// a while), as an API server restart does to its clients.
struct Relay {
    addr: std::net::SocketAddr,
    up: Arc<std::sync::atomic::AtomicBool>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (u, g) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !u.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused/reset
                }
                let upstream = upstream.clone();
                let g = g.clone();
                let mine = g.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut out);
                    let cut = async {
                        while g.load(Ordering::SeqCst) == mine {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, _ = cut => {} }
                });
            }
        });
        Relay {
            addr,
            up,
            generation,
        }
    }

    /// Cut every connection and refuse new ones until `restore`.
    fn cut(&self) {
        use std::sync::atomic::Ordering;
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The API connection is cut mid-watch and refused for 3 s while the trigger is relabelled:
/// the controller resumes its watch from the last resourceVersion it saw (no relist) and
/// relaunches for the new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_after_api_outage() -> TestResult {
    let ns_guard = env().namespace("autox-outage").await?;
    let ns = ns_guard.name();
    let dir = tempfile::tempdir()?;
    let hub = hub();
    let vf = write_values(dir.path(), &values(ns, false));
    let out = install_chart(
        env(),
        ns,
        "autox",
        &vf,
        &["mode=direct", &format!("repoURL={}", hub.url)],
    )
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
    deployment(env(), ns, "app", &[("app.kubernetes.io/version", "1.0.0")]).await?;
    let upstream = env().server().trim_start_matches("https://").to_string();
    let relay = Relay::start(upstream).await;
    let kc = sa_kubeconfig(
        env(),
        ns,
        "autox",
        dir.path(),
        Some(&format!("https://{}", relay.addr)),
    )
    .await;
    let config = chart_config(env(), ns, "autox").await;
    let autox = Autox::start(
        &kc,
        &config,
        &[
            "--mode",
            "direct",
            "--repo",
            &hub.url,
            "--lease-namespace",
            ns,
            "--lease-duration",
            "30",
        ],
    );
    until("launch", LIMIT, || async {
        (deployed(env(), ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    let lists_before = autox.count("listed deployments.apps");
    relay.cut();
    relabel(
        env(),
        ns,
        "app",
        json!({"app.kubernetes.io/version": "2.0.0"}),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    relay.restore();
    let start = Instant::now();
    while deployed(env(), ns, "autox-g-iter8").await.as_deref() != Some("2") {
        assert!(
            start.elapsed() < LIMIT,
            "no relaunch after the outage:\n{}",
            autox.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    autox
        .wait_log("resuming watch of deployments.apps", LIMIT)
        .await;
    assert_eq!(
        autox.count("listed deployments.apps"),
        lists_before,
        "relisted: {}",
        autox.log()
    );
    Ok(())
}

/// The real kube-apiserver (not a relay) is stopped for 5 s while the controller runs, and
/// started again on the same port: the controller's watch fails meanwhile (it says so and
/// retries), resumes once the API server is back, and a version change after the restart
/// relaunches (revision 2). On a control plane of its own, so that the other tests of this
/// binary keep theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_resumes_after_the_apiserver_restarts() -> TestResult {
    let own = tokio::task::spawn_blocking(TestEnv::private).await??;
    let e = &own;
    let ns_guard = e.namespace("autox-restart").await?;
    let ns = ns_guard.name();
    let dir = tempfile::tempdir()?;
    let hub = hub();
    let vf = write_values(dir.path(), &values(ns, false));
    let out = install_chart(
        e,
        ns,
        "autox",
        &vf,
        &["mode=direct", &format!("repoURL={}", hub.url)],
    )
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
    deployment(e, ns, "app", &[("app.kubernetes.io/version", "1.0.0")]).await?;
    let kc = sa_kubeconfig(e, ns, "autox", dir.path(), None).await;
    let config = chart_config(e, ns, "autox").await;
    let autox = Autox::start(
        &kc,
        &config,
        &[
            "--mode",
            "direct",
            "--repo",
            &hub.url,
            "--lease-namespace",
            ns,
            "--lease-duration",
            "15",
        ],
    );
    until("launch", LIMIT, || async {
        (deployed(e, ns, "autox-g-iter8").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    let failed_before = autox.count("unable to watch deployments.apps");
    tokio::task::block_in_place(|| e.stop_apiserver())?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::block_in_place(|| e.start_apiserver())?;
    assert!(
        autox.count("unable to watch deployments.apps") > failed_before,
        "the controller did not notice the outage:\n{}",
        autox.log()
    );
    relabel(e, ns, "app", json!({"app.kubernetes.io/version": "2.0.0"})).await?;
    let start = Instant::now();
    while deployed(e, ns, "autox-g-iter8").await.as_deref() != Some("2") {
        assert!(
            start.elapsed() < LIMIT,
            "no relaunch after the API server restarted:\n{}",
            autox.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        autox.count("relaunched experiment autox-g-iter8"),
        1,
        "{}",
        autox.log()
    );
    Ok(())
}
