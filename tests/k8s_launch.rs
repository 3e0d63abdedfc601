//! `iter8 k launch|delete|log` against the real kube-apiserver of `tools/k8s-testenv`, with
//! real `helm` on the other side: releases written by `iter8 k launch` are listed, read,
//! upgraded and uninstalled by Helm, and `iter8 k delete` uninstalls what Helm installed.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Api;
use kube::api::{ListParams, PostParams};

type TestResult = Result<(), Box<dyn std::error::Error>>;

mod support;

use support::kube::{Out, env, helm, helm_default, helm3, iter8, iter8_in, runner_kubeconfig};

/// `iter8 k <args> -n <ns> --kubeconfig <admin>`.
async fn k(ns: &str, args: &[&str]) -> Out {
    let admin = env().kubeconfig_path().to_str().expect("utf8").to_string();
    let mut all = vec!["k"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-n", ns, "--kubeconfig", &admin]);
    iter8(&all).await
}

fn chart_dir() -> String {
    testsupport::repo_root()
        .join("charts/iter8")
        .to_str()
        .expect("utf8")
        .to_string()
}

/// `iter8-<version>` of charts/iter8, as `helm list` shows the chart.
fn chart_label() -> String {
    let text = std::fs::read_to_string(testsupport::repo_root().join("charts/iter8/Chart.yaml"))
        .expect("Chart.yaml");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .expect("version in Chart.yaml")
        .trim()
        .trim_matches('"');
    format!("iter8-{version}")
}

fn sets(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| ["--set".to_string(), v.clone()])
        .collect()
}

async fn release_records(ns: &str, release: &str) -> Vec<String> {
    let secrets: Api<Secret> = Api::namespaced(env().admin_client().expect("client"), ns);
    let lp = ListParams::default().labels(&format!("owner=helm,name={release}"));
    let mut names: Vec<String> = secrets
        .list(&lp)
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    names.sort();
    names
}

async fn job_names(ns: &str) -> Vec<String> {
    let jobs: Api<Job> = Api::namespaced(env().admin_client().expect("client"), ns);
    let mut names: Vec<String> = jobs
        .list(&ListParams::default())
        .await
        .expect("list jobs")
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    names.sort();
    names
}

/// Names of the Secrets, ServiceAccounts (other than `default`), Roles, RoleBindings and Jobs
/// in `ns`: what a release of the chart creates.
async fn leftovers(ns: &str) -> Vec<String> {
    let c = env().admin_client().expect("client");
    let lp = ListParams::default();
    let mut out = Vec::new();
    for s in Api::<Secret>::namespaced(c.clone(), ns)
        .list(&lp)
        .await
        .expect("secrets")
    {
        out.push(format!("secret/{}", s.metadata.name.unwrap_or_default()));
    }
    for s in Api::<ServiceAccount>::namespaced(c.clone(), ns)
        .list(&lp)
        .await
        .expect("sas")
    {
        let name = s.metadata.name.unwrap_or_default();
        if name != "default" {
            out.push(format!("serviceaccount/{name}"));
        }
    }
    for r in Api::<Role>::namespaced(c.clone(), ns)
        .list(&lp)
        .await
        .expect("roles")
    {
        out.push(format!("role/{}", r.metadata.name.unwrap_or_default()));
    }
    for r in Api::<RoleBinding>::namespaced(c.clone(), ns)
        .list(&lp)
        .await
        .expect("rolebindings")
    {
        out.push(format!(
            "rolebinding/{}",
            r.metadata.name.unwrap_or_default()
        ));
    }
    for j in job_names(ns).await {
        out.push(format!("job/{j}"));
    }
    out
}

/// k launch → helm list sees revision 1 → k run as the chart's ServiceAccount → k assert →
/// a second k launch with other values upgrades to revision 2 (old Job gone, new Job present,
/// helm history shows both; the Secret taken back even without Helm's metadata) → k delete
/// removes the objects and every release record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_run_upgrade_delete() -> TestResult {
    let env = env();
    let ns = env.namespace("klaunch").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let values = |n: u32| {
        sets(&[
            "tasks={http,assess}".into(),
            format!("http.url={url}"),
            format!("http.numRequests={n}"),
            "assess.SLOs.upper.http/error-count=0".into(),
            "runner=job".into(),
        ])
    };
    let v1 = values(20);
    let mut args = vec!["launch", "-g", "exp"];
    args.extend(v1.iter().map(String::as_str));
    let launch = k(ns, &args).await;
    assert_eq!(launch.code, 0, "k launch: {}", launch.stderr);
    assert!(
        launch
            .stderr
            .contains("experiment launched. Happy Iter8ing!"),
        "{}",
        launch.stderr
    );

    let list = helm(&["list", "-n", ns, "-o", "json"]).await;
    assert_eq!(list.code, 0, "helm list: {}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout)?;
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1, "{}", list.stdout);
    assert_eq!(listed[0]["name"], "exp");
    assert_eq!(listed[0]["revision"], "1");
    assert_eq!(listed[0]["status"], "deployed");
    assert_eq!(listed[0]["chart"], chart_label().as_str());
    assert_eq!(job_names(ns).await, vec!["exp-1-job".to_string()]);

    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns, "exp", dir.path()).await;
    let run = iter8(&["k", "run", "-g", "exp", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 0, "k run: {}", run.stderr);
    assert_eq!(target.requests("/echo"), 20);
    let assert = k(
        ns,
        &["assert", "-g", "exp", "-c", "completed,nofailure,slos"],
    )
    .await;
    assert_eq!(assert.code, 0, "k assert: {}", assert.stderr);

    // Iter8 v0.13's runner rewrites the Secret without Helm's label and annotations; the
    // upgrade still takes it (it is in the release's manifest), as Helm does.
    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns);
    let mut stripped = secrets.get("exp").await?;
    stripped.metadata.labels = None;
    stripped.metadata.annotations = None;
    stripped.metadata.managed_fields = None;
    secrets
        .replace("exp", &PostParams::default(), &stripped)
        .await?;

    // Upgrade with other values: revision 2, a fresh experiment, the old Job replaced.
    let v2 = values(7);
    let mut args = vec!["launch", "-g", "exp"];
    args.extend(v2.iter().map(String::as_str));
    let upgrade = k(ns, &args).await;
    assert_eq!(upgrade.code, 0, "k launch (upgrade): {}", upgrade.stderr);
    assert_eq!(job_names(ns).await, vec!["exp-2-job".to_string()]);
    let history = helm(&["history", "exp", "-n", ns, "-o", "json"]).await;
    assert_eq!(history.code, 0, "helm history: {}", history.stderr);
    let history: serde_json::Value = serde_json::from_str(&history.stdout)?;
    let statuses: Vec<(i64, &str)> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap_or(-1),
                r["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(statuses, vec![(1, "superseded"), (2, "deployed")]);
    let run = iter8(&["k", "run", "-g", "exp", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 0, "k run (revision 2): {}", run.stderr);
    assert_eq!(target.requests("/echo"), 27, "20 + 7 requests");

    let delete = k(ns, &["delete", "-g", "exp"]).await;
    assert_eq!(delete.code, 0, "k delete: {}", delete.stderr);
    assert!(
        delete.stderr.contains("experiment group exp deleted"),
        "{}",
        delete.stderr
    );
    assert_eq!(leftovers(ns).await, Vec::<String>::new());
    let list = helm(&["list", "-n", ns, "-o", "json"]).await;
    assert_eq!(list.stdout.trim(), "[]");
    target.shutdown().await;
    Ok(())
}

/// What k launch writes is Helm's: helm (v4 and v3.11) list and get values/manifest read it,
/// an upgrade with no values reuses the previous values (Helm's rule), helm upgrade takes it
/// over, and helm uninstall removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_reads_upgrades_and_uninstalls_a_k_launch_release() -> TestResult {
    let env = env();
    let ns = env.namespace("khelm").await?;
    let ns = ns.name();
    let launch = k(
        ns,
        &[
            "launch",
            "-g",
            "hx",
            "--set",
            "tasks={http}",
            "--set",
            "http.url=http://127.0.0.1:9/get",
            "--set",
            "runner=job",
        ],
    )
    .await;
    assert_eq!(launch.code, 0, "k launch: {}", launch.stderr);

    let values = helm(&["get", "values", "hx", "-n", ns, "-o", "json"]).await;
    assert_eq!(values.code, 0, "helm get values: {}", values.stderr);
    let values: serde_json::Value = serde_json::from_str(&values.stdout)?;
    assert_eq!(
        values,
        serde_json::json!({"tasks": ["http"], "http": {"url": "http://127.0.0.1:9/get"}, "runner": "job"})
    );
    let list3 = helm3(&["list", "-n", ns, "-o", "json"]).await;
    assert_eq!(list3.code, 0, "helm3 list: {}", list3.stderr);
    let list3: serde_json::Value = serde_json::from_str(&list3.stdout)?;
    assert_eq!(list3[0]["name"], "hx", "{list3}");
    assert_eq!(list3[0]["status"], "deployed", "{list3}");
    let values3 = helm3(&["get", "values", "hx", "-n", ns, "-o", "json"]).await;
    assert_eq!(values3.code, 0, "helm3 get values: {}", values3.stderr);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&values3.stdout)?,
        values
    );
    let manifest = helm(&["get", "manifest", "hx", "-n", ns]).await;
    assert_eq!(manifest.code, 0, "helm get manifest: {}", manifest.stderr);
    assert!(
        manifest.stdout.contains("name: hx-1-job"),
        "{}",
        manifest.stdout
    );

    // No values: the previous ones are reused, so the Job is still there (as hx-2-job).
    let again = k(ns, &["launch", "-g", "hx"]).await;
    assert_eq!(again.code, 0, "k launch (no values): {}", again.stderr);
    assert_eq!(job_names(ns).await, vec!["hx-2-job".to_string()]);

    // Real helm upgrades the release k launch wrote, keeping its values.
    let chart = chart_dir();
    let upgrade = helm(&["upgrade", "hx", &chart, "-n", ns, "--reuse-values"]).await;
    assert_eq!(upgrade.code, 0, "helm upgrade: {}", upgrade.stderr);
    assert_eq!(job_names(ns).await, vec!["hx-3-job".to_string()]);
    assert_eq!(release_records(ns, "hx").await.len(), 3);

    let uninstall = helm(&["uninstall", "hx", "-n", ns]).await;
    assert_eq!(uninstall.code, 0, "helm uninstall: {}", uninstall.stderr);
    assert_eq!(leftovers(ns).await, Vec::<String>::new());
    Ok(())
}

/// k delete uninstalls a release real helm installed (objects and records); deleting it
/// again is one Error line naming the group, exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k_delete_removes_a_helm_installed_release() -> TestResult {
    let env = env();
    let ns = env.namespace("kdel").await?;
    let ns = ns.name();
    let chart = chart_dir();
    let install = helm(&[
        "install",
        "hi",
        &chart,
        "-n",
        ns,
        "--set",
        "tasks={http}",
        "--set",
        "http.url=http://127.0.0.1:9/",
        "--set",
        "runner=job",
    ])
    .await;
    assert_eq!(install.code, 0, "helm install: {}", install.stderr);
    assert_eq!(
        release_records(ns, "hi").await,
        vec!["sh.helm.release.v1.hi.v1".to_string()]
    );

    // k launch upgrades Helm's release; then k delete removes both revisions.
    let launch = k(
        ns,
        &[
            "launch",
            "-g",
            "hi",
            "--set",
            "tasks={http}",
            "--set",
            "http.url=http://127.0.0.1:9/x",
            "--set",
            "runner=job",
        ],
    )
    .await;
    assert_eq!(launch.code, 0, "k launch: {}", launch.stderr);
    assert_eq!(release_records(ns, "hi").await.len(), 2);

    let delete = k(ns, &["delete", "-g", "hi"]).await;
    assert_eq!(delete.code, 0, "k delete: {}", delete.stderr);
    assert_eq!(leftovers(ns).await, Vec::<String>::new());

    let again = k(ns, &["delete", "-g", "hi"]).await;
    assert_eq!(again.code, 1);
    assert_eq!(
        again.error_lines(),
        vec!["Error: deletion of experiment group hi failed: release: not found"],
        "{}",
        again.stderr
    );
    Ok(())
}

fn mask_start_time(manifest: &str) -> String {
    manifest
        .lines()
        .map(|l| match l.find("startTime:") {
            Some(i) => format!("{}startTime: <masked>", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// --dry writes manifest.yaml (mode 0600) equal to the output of `helm template` of the Helm
/// release chartgen follows by default (v4.3.2) for the same values, and creates nothing in
/// the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_launch_writes_the_manifest_and_creates_nothing() -> TestResult {
    let env = env();
    let ns = env.namespace("kdry").await?;
    let ns = ns.name();
    let values = sets(&[
        "tasks={http,assess}".into(),
        "http.url=http://127.0.0.1:9/get".into(),
        "assess.SLOs.upper.http/latency-mean=50".into(),
        "runner=job".into(),
    ]);
    let dir = tempfile::tempdir()?;
    let admin = env.kubeconfig_path().to_str().expect("utf8");
    let mut args = vec![
        "k",
        "launch",
        "-g",
        "dg",
        "--dry",
        "-n",
        ns,
        "--kubeconfig",
        admin,
    ];
    args.extend(values.iter().map(String::as_str));
    let out = iter8_in(Some(dir.path()), &args).await;
    assert_eq!(out.code, 0, "k launch --dry: {}", out.stderr);
    assert!(
        out.stderr
            .contains("wrote kubernetes manifest into manifest.yaml")
    );
    assert!(out.stderr.contains("dry run complete"));
    let path = dir.path().join("manifest.yaml");
    let ours = std::fs::read_to_string(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
    }
    let chart = chart_dir();
    let mut hargs = vec!["template", "dg", chart.as_str(), "-n", ns];
    hargs.extend(values.iter().map(String::as_str));
    let theirs = helm_default(&hargs).await;
    assert_eq!(theirs.code, 0, "helm template: {}", theirs.stderr);
    assert!(ours.contains("name: dg-1-job"), "{ours}");
    assert_eq!(mask_start_time(&ours), mask_start_time(&theirs.stdout));
    assert_eq!(leftovers(ns).await, Vec::<String>::new());
    assert_eq!(release_records(ns, "dg").await, Vec::<String>::new());
    Ok(())
}

/// Bad values (a bad http input caught by the experiment check, render failures) and a bad
/// group name: one Error line, exit 1, nothing created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_fail_with_one_error_line_and_create_nothing() -> TestResult {
    let env = env();
    let ns = env.namespace("kbadv").await?;
    let ns = ns.name();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "launch",
                "-g",
                "bv",
                "--set",
                "tasks={http}",
                "--set",
                "http.url=ftp://x/",
                "--set",
                "runner=job",
            ],
            "task 1: http: invalid input url: \"ftp://x/\" must start with http:// or https://",
        ),
        (
            &[
                "launch",
                "-g",
                "bv",
                "--set",
                "tasks={http}",
                "--set",
                "http.url=http://x/",
                "--set",
                "runner=bogus",
            ],
            "runner",
        ),
        (
            &["launch", "-g", "bv", "--set", "runner=job"],
            ".Values.tasks is empty",
        ),
        (
            &["launch", "-g", "Bad_Name", "--set", "tasks={http}"],
            "Bad_Name",
        ),
    ];
    for (args, want) in cases {
        let out = k(ns, args).await;
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        let errors = out.error_lines();
        assert_eq!(errors.len(), 1, "{args:?}: {}", out.stderr);
        assert!(errors[0].contains(want), "{args:?}: {}", out.stderr);
    }
    assert_eq!(leftovers(ns).await, Vec::<String>::new());
    Ok(())
}

/// k log lists the pods labelled with the group (no pods: an empty log; two pods: their logs
/// joined by `***`; other groups' pods ignored); a caller not allowed to list pods gets one
/// Error line naming what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k_log_lists_group_pods() -> TestResult {
    let env = env();
    let ns = env.namespace("klog").await?;
    let ns = ns.name();
    let empty = k(ns, &["log", "-g", "lg"]).await;
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    let lines: Vec<&str> = empty.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("msg=experiment logs from Kubernetes cluster")),
        "{}",
        empty.stderr
    );
    assert!(!empty.stderr.contains("***"), "{}", empty.stderr);

    // Pods with no node: the API server serves an empty log for each.
    let pods: Api<Pod> = Api::namespaced(env.admin_client()?, ns);
    for (name, group) in [("p1", "lg"), ("p2", "lg"), ("p3", "other")] {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"iter8.tools/group": group}},
            "spec": {"containers": [{"name": "iter8", "image": "iter8"}]}
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
    }
    let two = k(ns, &["log", "-g", "lg"]).await;
    assert_eq!(two.code, 0, "{}", two.stderr);
    assert_eq!(
        two.stderr.lines().filter(|l| l.trim() == "***").count(),
        1,
        "two pods, one separator: {}",
        two.stderr
    );

    // The runner's ServiceAccount may not list pods.
    let launch = k(
        ns,
        &[
            "launch",
            "-g",
            "lg",
            "--set",
            "tasks={http}",
            "--set",
            "http.url=http://127.0.0.1:9/",
        ],
    )
    .await;
    assert_eq!(launch.code, 0, "{}", launch.stderr);
    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns, "lg", dir.path()).await;
    let denied = iter8(&["k", "log", "-g", "lg", "--kubeconfig", &kc]).await;
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let errors = denied.error_lines();
    assert_eq!(errors.len(), 1, "{}", denied.stderr);
    assert!(
        errors[0].starts_with("Error: unable to get experiment pod(s) in namespace "),
        "{}",
        denied.stderr
    );
    Ok(())
}

/// An object of the release's name that something else owns: k launch refuses before writing
/// anything (no release record, no ServiceAccount, the foreign Secret untouched), with one
/// Error line naming the object, as Helm does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_object_stops_launch_before_any_write() -> TestResult {
    let env = env();
    let ns = env.namespace("kforeign").await?;
    let ns = ns.name();
    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns);
    let foreign: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "fg"},
        "stringData": {"owner": "someone else"}
    }))?;
    let created = secrets.create(&PostParams::default(), &foreign).await?;
    let chart = chart_dir();
    let out = k(
        ns,
        &[
            "launch",
            "-g",
            "fg",
            "-c",
            &chart,
            "--set",
            "tasks={http}",
            "--set",
            "http.url=http://127.0.0.1:9/",
            "--set",
            "runner=job",
        ],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].contains("Secret \"fg\"")
            && errors[0].contains("exists and cannot be imported into the current release"),
        "{}",
        out.stderr
    );
    assert_eq!(leftovers(ns).await, vec!["secret/fg".to_string()]);
    assert_eq!(release_records(ns, "fg").await, Vec::<String>::new());
    let after = secrets.get("fg").await?;
    assert_eq!(
        after.metadata.resource_version,
        created.metadata.resource_version
    );
    Ok(())
}

/// The newest iter8 chart in hub/: its version and archive bytes.
fn hub_chart() -> (String, Vec<u8>) {
    let hub = testsupport::repo_root().join("hub");
    let idx = std::fs::read(hub.join("index.yaml")).expect("hub index");
    let index = chartgen::source::http::parse_index(&idx, "hub").expect("index");
    let e = chartgen::source::http::find(&index, "iter8", "", "hub").expect("iter8 in hub");
    let bytes = std::fs::read(hub.join(&e.urls[0])).expect("hub archive");
    (e.version.clone(), bytes)
}

/// `helm get metadata <release> -o json`'s chart annotations.
async fn chart_annotations(ns: &str, release: &str) -> serde_json::Value {
    let meta = helm(&["get", "metadata", release, "-n", ns, "-o", "json"]).await;
    assert_eq!(meta.code, 0, "helm get metadata: {}", meta.stderr);
    let meta: serde_json::Value = serde_json::from_str(&meta.stdout).expect("json");
    meta["annotations"].clone()
}

/// k launch from an `oci://` reference (a plain-HTTP docker-registry on loopback) and from
/// `--repo` (nginx serving hub/): the release record carries the chart's source and digests
/// as chart annotations that real `helm get metadata` prints; the experiment's result records
/// them through a real `k run` (which starts a fresh result), and `k report` names them; the
/// experiment from the repository runs as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_from_registry_and_repo_records_the_chart_digest() -> TestResult {
    use testsupport::chart_servers::{Nginx, Registry};
    let env = env();
    let ns = env.namespace("kchartsrc").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let values = sets(&[
        "tasks={http}".into(),
        format!("http.url={url}"),
        "http.numRequests=5".into(),
        "runner=job".into(),
    ]);
    let (version, archive) = hub_chart();
    let archive_digest = chartgen::source::sha256_digest(&archive);

    // From an OCI registry, by version.
    let reg = Registry::plain();
    let opts = chartgen::source::Options {
        plain_http: true,
        ..Default::default()
    };
    let repo = format!("oci://{}/charts", reg.host);
    let (bytes, to) = (archive.clone(), repo.clone());
    // chartgen's source API is sync (its own runtime): off the test's runtime.
    let pushed =
        tokio::task::spawn_blocking(move || chartgen::source::oci::push(&bytes, &to, &opts))
            .await??;
    let reference = format!("{repo}/iter8");
    let mut args = vec![
        "launch",
        "-g",
        "fromoci",
        "-c",
        &reference,
        "--version",
        &version,
        "--plain-http",
    ];
    args.extend(values.iter().map(String::as_str));
    let launch = k(ns, &args).await;
    assert_eq!(launch.code, 0, "k launch oci: {}", launch.stderr);
    let ann = chart_annotations(ns, "fromoci").await;
    assert_eq!(ann["iter8.tools/chart-source"], reference.as_str(), "{ann}");
    assert_eq!(
        ann["iter8.tools/chart-url"],
        format!("{}/charts/iter8:{version}", reg.host).as_str(),
        "{ann}"
    );
    assert_eq!(ann["iter8.tools/chart-digest"], archive_digest.as_str());
    assert_eq!(
        ann["iter8.tools/chart-manifest-digest"],
        pushed.digest.as_str()
    );

    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns, "fromoci", dir.path()).await;
    let run = iter8(&["k", "run", "-g", "fromoci", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 0, "k run: {}", run.stderr);
    assert_eq!(target.requests("/echo"), 5);
    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns);
    let stored = secrets.get("fromoci").await?;
    let text = stored
        .data
        .as_ref()
        .and_then(|d| d.get("experiment.yaml"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .expect("experiment.yaml in the Secret");
    let exp = runner::Experiment::from_yaml(&text)?;
    let result = exp.result.as_ref().expect("result");
    assert_eq!(result.num_loops, 1, "the runner wrote its result");
    let chart = result.chart.as_ref().expect("result.chart after the run");
    assert_eq!(chart.version, version);
    assert_eq!(chart.digest, archive_digest);
    assert_eq!(
        chart.manifest_digest.as_deref(),
        Some(pushed.digest.as_str())
    );
    let report = k(ns, &["report", "-g", "fromoci"]).await;
    assert_eq!(report.code, 0, "k report: {}", report.stderr);
    assert!(
        report.stdout.contains(&format!(
            "\n  Chart: iter8 {version} from {reference} (digest {})\n",
            pushed.digest
        )),
        "{}",
        report.stdout
    );

    // From an HTTP repository (--repo, newest version), the archive digest checked against the
    // index and recorded.
    let nginx = Nginx::start(&testsupport::repo_root().join("hub"), false);
    let mut args = vec![
        "launch", "-g", "fromrepo", "-c", "iter8", "--repo", &nginx.url,
    ];
    args.extend(values.iter().map(String::as_str));
    let launch = k(ns, &args).await;
    assert_eq!(launch.code, 0, "k launch --repo: {}", launch.stderr);
    let ann = chart_annotations(ns, "fromrepo").await;
    assert_eq!(ann["iter8.tools/chart-source"], nginx.url.as_str(), "{ann}");
    assert_eq!(ann["iter8.tools/chart-digest"], archive_digest.as_str());
    assert!(
        ann.get("iter8.tools/chart-manifest-digest").is_none(),
        "{ann}"
    );
    let report = k(ns, &["report", "-g", "fromrepo"]).await;
    assert_eq!(report.code, 0, "k report: {}", report.stderr);
    assert!(
        report.stdout.contains(&format!(
            "\n  Chart: iter8 {version} from {} (digest {archive_digest})\n",
            nginx.url
        )),
        "{}",
        report.stdout
    );
    // The experiment launched from the repository runs too.
    let kc = runner_kubeconfig(ns, "fromrepo", dir.path()).await;
    let run = iter8(&["k", "run", "-g", "fromrepo", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 0, "k run fromrepo: {}", run.stderr);
    assert_eq!(target.requests("/echo"), 10, "5 requests per experiment");
    // A chart from the disk records nothing (Iter8 v0.13's release and report).
    let chart = chart_dir();
    let mut args = vec!["launch", "-g", "fromdisk", "-c", &chart];
    args.extend(values.iter().map(String::as_str));
    let launch = k(ns, &args).await;
    assert_eq!(launch.code, 0, "k launch -c dir: {}", launch.stderr);
    let ann = chart_annotations(ns, "fromdisk").await;
    assert!(ann.get("iter8.tools/chart-digest").is_none(), "{ann}");
    target.shutdown().await;
    Ok(())
}

/// The documents of a manifest stream (split at `---` lines).
fn split_docs(stream: &str) -> Vec<&str> {
    stream
        .split("---\n")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect()
}

/// The experiment in a Secret document's `stringData.experiment.yaml` block.
fn secret_experiment(doc: &str) -> runner::Experiment {
    let text: String = doc
        .lines()
        .skip_while(|l| l.trim() != "experiment.yaml: |")
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", &l[4..]))
        .collect();
    runner::Experiment::from_yaml(&text).expect("experiment.yaml parses")
}

/// `helm history <release>`: (revision, status) pairs.
async fn history(ns: &str, release: &str) -> Vec<(i64, String)> {
    let out = helm(&["history", release, "-n", ns, "-o", "json"]).await;
    assert_eq!(out.code, 0, "helm history: {}", out.stderr);
    let h: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    h.as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap_or(-1),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Real Helm v4 installs into the control plane the iter8 chart chartgen pushed to a registry,
/// once by version and once by the manifest digest chartgen printed, and Helm v3.11 by
/// version; `iter8 k` works on those
/// releases as Helm wrote them: `k run` runs the experiment Helm installed, `k report` and
/// `k assert` read it, `k launch` from the same digest upgrades Helm's release to revision 2
/// with Helm's values, and `k delete` uninstalls the other two. The other way
/// round, a release `k launch -c oci://…@sha256:…` installed is listed by Helm, its values and
/// metadata read, and `helm get manifest` equals `helm template` of the same reference (the
/// experiment Secret apart, which also records the chart's origin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_what_chartgen_pushed_and_k_reads_it() -> TestResult {
    use testsupport::chart_servers::Registry;
    let env = env();
    let ns = env.namespace("khelmoci").await?;
    let ns = ns.name();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let values = sets(&[
        "tasks={http,assess}".into(),
        format!("http.url={url}"),
        "http.numRequests=4".into(),
        "assess.SLOs.upper.http/error-count=0".into(),
        "runner=job".into(),
    ]);
    let (version, archive) = hub_chart();
    let reg = Registry::plain();
    let opts = chartgen::source::Options {
        plain_http: true,
        ..Default::default()
    };
    let repo = format!("oci://{}/charts", reg.host);
    let (bytes, to) = (archive.clone(), repo.clone());
    let pushed =
        tokio::task::spawn_blocking(move || chartgen::source::oci::push(&bytes, &to, &opts))
            .await??;
    let reference = format!("{repo}/iter8");
    let pinned = format!("{reference}@{}", pushed.digest);
    let label = format!("iter8-{version}");

    // Helm installs by version and by digest.
    for (release, by) in [
        ("byversion", vec![reference.as_str(), "--version", &version]),
        ("bydigest", vec![pinned.as_str()]),
    ] {
        let mut args = vec!["install", release];
        args.extend(by);
        args.extend(["--plain-http", "-n", ns]);
        args.extend(values.iter().map(String::as_str));
        let install = helm(&args).await;
        assert_eq!(
            install.code, 0,
            "helm install {release}: {}",
            install.stderr
        );
        assert_eq!(
            release_records(ns, release).await,
            vec![format!("sh.helm.release.v1.{release}.v1")]
        );
    }
    // Helm v3.11 (Iter8 v0.13's Helm) installs it too; it speaks plain HTTP to 127.0.0.1 by
    // itself (no --plain-http flag).
    let mut args = vec![
        "install",
        "byhelm3",
        reference.as_str(),
        "--version",
        &version,
        "-n",
        ns,
    ];
    args.extend(values.iter().map(String::as_str));
    let install = helm3(&args).await;
    assert_eq!(install.code, 0, "helm3 install: {}", install.stderr);
    let list = helm(&["list", "-n", ns, "-o", "json"]).await;
    assert_eq!(list.code, 0, "helm list: {}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout)?;
    let charts: Vec<(&str, &str)> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or(""),
                r["chart"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        charts,
        vec![
            ("bydigest", label.as_str()),
            ("byhelm3", label.as_str()),
            ("byversion", label.as_str())
        ]
    );

    // iter8 k on the release Helm installed by version.
    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns, "byversion", dir.path()).await;
    let run = iter8(&["k", "run", "-g", "byversion", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 0, "k run: {}", run.stderr);
    assert_eq!(target.requests("/echo"), 4);
    let assert = k(
        ns,
        &[
            "assert",
            "-g",
            "byversion",
            "-c",
            "completed,nofailure,slos",
        ],
    )
    .await;
    assert_eq!(assert.code, 0, "k assert: {}", assert.stderr);
    let report = k(ns, &["report", "-g", "byversion"]).await;
    assert_eq!(report.code, 0, "k report: {}", report.stderr);
    assert!(
        report.stdout.contains("http/error-count"),
        "{}",
        report.stdout
    );
    // Helm records no chart origin; neither is one made up.
    assert!(!report.stdout.contains("  Chart: "), "{}", report.stdout);

    // k launch from the same digest, without values: Helm's release upgraded, Helm's values
    // reused.
    let upgrade = k(
        ns,
        &["launch", "-g", "byversion", "-c", &pinned, "--plain-http"],
    )
    .await;
    assert_eq!(upgrade.code, 0, "k launch (upgrade): {}", upgrade.stderr);
    assert_eq!(
        history(ns, "byversion").await,
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    let got = helm(&["get", "values", "byversion", "-n", ns, "-o", "json"]).await;
    assert_eq!(got.code, 0, "helm get values: {}", got.stderr);
    let got: serde_json::Value = serde_json::from_str(&got.stdout)?;
    assert_eq!(got["http"]["url"], url.as_str(), "{got}");
    assert_eq!(got["http"]["numRequests"], 4, "{got}");
    let ann = chart_annotations(ns, "byversion").await;
    assert_eq!(
        ann["iter8.tools/chart-manifest-digest"],
        pushed.digest.as_str(),
        "{ann}"
    );
    assert!(job_names(ns).await.contains(&"byversion-2-job".to_string()));

    // k delete uninstalls the releases Helm v4 installed by digest and Helm v3.11 by version.
    for release in ["bydigest", "byhelm3"] {
        let delete = k(ns, &["delete", "-g", release]).await;
        assert_eq!(delete.code, 0, "k delete {release}: {}", delete.stderr);
        assert_eq!(release_records(ns, release).await, Vec::<String>::new());
        assert!(!job_names(ns).await.iter().any(|j| j.starts_with(release)));
    }

    // The other way round: k launch by digest, Helm reads the release.
    let mut args = vec!["launch", "-g", "kdigest", "-c", &pinned, "--plain-http"];
    args.extend(values.iter().map(String::as_str));
    let launch = k(ns, &args).await;
    assert_eq!(launch.code, 0, "k launch by digest: {}", launch.stderr);
    let status = helm(&["status", "kdigest", "-n", ns, "-o", "json"]).await;
    assert_eq!(status.code, 0, "helm status: {}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout)?;
    assert_eq!(status["info"]["status"], "deployed", "{status}");
    let list = helm(&["list", "-n", ns, "--filter", "^kdigest$", "-o", "json"]).await;
    assert_eq!(list.code, 0, "helm list: {}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout)?;
    assert_eq!(listed[0]["chart"], label.as_str(), "{listed}");
    let ann = chart_annotations(ns, "kdigest").await;
    assert_eq!(ann["iter8.tools/chart-source"], pinned.as_str(), "{ann}");
    assert_eq!(
        ann["iter8.tools/chart-manifest-digest"],
        pushed.digest.as_str()
    );
    assert_eq!(
        ann["iter8.tools/chart-digest"],
        chartgen::source::sha256_digest(&archive).as_str()
    );
    let got = helm(&["get", "values", "kdigest", "-n", ns, "-o", "json"]).await;
    assert_eq!(got.code, 0, "helm get values: {}", got.stderr);
    let got: serde_json::Value = serde_json::from_str(&got.stdout)?;
    assert_eq!(got["tasks"], serde_json::json!(["http", "assess"]), "{got}");
    let manifest = helm(&["get", "manifest", "kdigest", "-n", ns]).await;
    assert_eq!(manifest.code, 0, "helm get manifest: {}", manifest.stderr);
    let mut targs = vec![
        "template",
        "kdigest",
        pinned.as_str(),
        "--plain-http",
        "-n",
        ns,
    ];
    targs.extend(values.iter().map(String::as_str));
    let templated = helm_default(&targs).await;
    assert_eq!(templated.code, 0, "helm template: {}", templated.stderr);
    // The release's manifest is what `helm template` renders, but for the experiment Secret,
    // which k launch writes with the chart's origin in `result.chart`.
    let (ours, theirs) = (split_docs(&manifest.stdout), split_docs(&templated.stdout));
    let is_secret = |d: &str| d.contains("\nkind: Secret\n");
    let others = |docs: &[&str]| -> Vec<String> {
        docs.iter()
            .filter(|d| !is_secret(d))
            .map(|d| d.trim_end().to_string())
            .collect()
    };
    assert_eq!(others(&ours), others(&theirs));
    let exp = |docs: &[&str]| {
        let secret = docs
            .iter()
            .find(|d| is_secret(d))
            .expect("the experiment Secret");
        secret_experiment(secret)
    };
    let (ours, theirs) = (exp(&ours), exp(&theirs));
    assert_eq!(ours.spec, theirs.spec);
    let chart = ours.result.and_then(|r| r.chart).expect("result.chart");
    assert_eq!(
        chart.manifest_digest.as_deref(),
        Some(pushed.digest.as_str())
    );
    let uninstall = helm(&["uninstall", "kdigest", "byversion", "-n", ns]).await;
    assert_eq!(uninstall.code, 0, "helm uninstall: {}", uninstall.stderr);
    assert_eq!(leftovers(ns).await, Vec::<String>::new());
    target.shutdown().await;
    Ok(())
}
