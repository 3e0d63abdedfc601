//! Kubernetes experiments against the real kube-apiserver of `tools/k8s-testenv`: real
//! `helm install` of charts/iter8 creates the experiment Secret, RBAC and Job; `iter8 k run`
//! (the Job's command) runs as the chart's ServiceAccount, with only the rights the chart
//! grants it, against a target on loopback; `iter8 k assert` and `iter8 k report` read the
//! results from the Secret; Helm still owns the release afterwards.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

type TestResult = Result<(), Box<dyn std::error::Error>>;

mod support;

use support::kube::{env, helm, iter8, runner_kubeconfig};

fn experiment_of(secret: &Secret) -> runner::Experiment {
    let text = secret
        .data
        .as_ref()
        .and_then(|d| d.get("experiment.yaml"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .expect("experiment.yaml in the Secret");
    runner::Experiment::from_yaml(&text).expect("experiment parses")
}

/// helm install → iter8 k run as the chart's ServiceAccount → k assert / k report read the
/// results from the Secret, whose Helm metadata survives, and helm uninstall still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installed_experiment_runs_in_the_cluster() -> TestResult {
    let env = env();
    let ns = env.namespace("krun").await?;
    let admin_kc = env.kubeconfig_path();
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    let url = format!("{}/echo", target.url());
    let chart = testsupport::repo_root().join("charts/iter8");
    let install = helm(&[
        "install",
        "exp",
        chart.to_str().expect("utf8"),
        "--namespace",
        ns.name(),
        "--set",
        "tasks={http,assess}",
        "--set",
        &format!("http.url={url}"),
        "--set",
        "http.numRequests=40",
        "--set",
        "assess.SLOs.upper.http/error-count=0",
        "--set",
        "assess.SLOs.upper.http/latency-mean=500",
        "--set",
        "runner=job",
    ])
    .await;
    assert_eq!(install.code, 0, "helm install: {}", install.stderr);

    // The runner pod's identity: the chart's ServiceAccount, limited by the chart's Role.
    let token = env.service_account_token(ns.name(), "exp-iter8-sa").await?;
    let dir = tempfile::tempdir()?;
    let runner_kc = dir.path().join("runner.kubeconfig");
    std::fs::write(&runner_kc, env.kubeconfig_yaml_for_token(&token, ns.name()))?;
    let runner_kc = runner_kc.to_str().expect("utf8");

    let run = iter8(&["k", "run", "-g", "exp", "--kubeconfig", runner_kc]).await;
    assert_eq!(run.code, 0, "k run: {}", run.stderr);
    assert!(
        run.stderr.contains("task 1: http: completed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("task 2: assess: completed"),
        "{}",
        run.stderr
    );
    assert_eq!(target.requests("/echo"), 40);

    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns.name());
    let secret = secrets.get("exp").await?;
    let exp = experiment_of(&secret);
    let result = exp.result.as_ref().expect("result written");
    assert_eq!(result.num_completed_tasks, 2);
    assert!(!result.failure);
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("meta.helm.sh/release-name")
            .map(String::as_str),
        Some("exp"),
        "Helm's ownership annotation is kept: {annotations:?}"
    );
    assert_eq!(
        annotations.get("iter8.tools/group").map(String::as_str),
        Some("exp")
    );

    let admin = admin_kc.to_str().expect("utf8");
    let assert = iter8(&[
        "k",
        "assert",
        "-g",
        "exp",
        "-n",
        ns.name(),
        "--kubeconfig",
        admin,
        "-c",
        "completed,nofailure,slos",
    ])
    .await;
    assert_eq!(assert.code, 0, "k assert: {}", assert.stderr);
    assert!(
        assert.stderr.contains("all conditions were satisfied"),
        "{}",
        assert.stderr
    );

    let report = iter8(&[
        "k",
        "report",
        "-g",
        "exp",
        "-n",
        ns.name(),
        "--kubeconfig",
        admin,
    ])
    .await;
    assert_eq!(report.code, 0, "k report: {}", report.stderr);
    assert!(
        report
            .stdout
            .lines()
            .any(|l| l.contains("http/request-count") && l.contains("40.00")),
        "{}",
        report.stdout
    );

    // A second loop (as a CronJob's next run): the JSON report counts both loops.
    let run = iter8(&[
        "k",
        "run",
        "-g",
        "exp",
        "--reuseResult",
        "--kubeconfig",
        runner_kc,
    ])
    .await;
    assert_eq!(run.code, 0, "k run (loop 2): {}", run.stderr);
    assert_eq!(target.requests("/echo"), 80);
    let report = iter8(&[
        "k",
        "report",
        "-o",
        "json",
        "-g",
        "exp",
        "-n",
        ns.name(),
        "--kubeconfig",
        admin,
    ])
    .await;
    assert_eq!(report.code, 0, "k report -o json: {}", report.stderr);
    let json = support::check_json_report(&report.stdout);
    assert_eq!(json["summary"]["numLoops"], 2);
    assert_eq!(json["summary"]["slos"], true);
    assert_eq!(json["failingSLOs"], serde_json::json!([]));

    let uninstall = helm(&["uninstall", "exp", "--namespace", ns.name()]).await;
    assert_eq!(uninstall.code, 0, "helm uninstall: {}", uninstall.stderr);
    assert!(
        secrets.get_opt("exp").await?.is_none(),
        "Secret removed by helm uninstall"
    );
    target.shutdown().await;
    Ok(())
}

/// A missing Secret or a malformed experiment in it: one Error line naming the Secret,
/// exit 1, and the Secret is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_experiment_secret_is_reported_and_left_alone() -> TestResult {
    let env = env();
    let ns = env.namespace("kbad").await?;
    let admin = env.kubeconfig_path().to_str().expect("utf8").to_string();

    let missing = iter8(&[
        "k",
        "run",
        "-g",
        "nosuch",
        "-n",
        ns.name(),
        "--kubeconfig",
        &admin,
    ])
    .await;
    assert_eq!(missing.code, 1);
    let last = missing
        .stderr
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.starts_with("Error: unable to get secret nosuch in namespace ")
            && last.contains(ns.name()),
        "{}",
        missing.stderr
    );

    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns.name());
    let broken = Secret {
        metadata: ObjectMeta {
            name: Some("broken".into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "experiment.yaml".to_string(),
            ByteString(b"spec: [\n".to_vec()),
        )])),
        ..Secret::default()
    };
    let created = secrets.create(&PostParams::default(), &broken).await?;
    let out = iter8(&[
        "k",
        "run",
        "-g",
        "broken",
        "-n",
        ns.name(),
        "--kubeconfig",
        &admin,
    ])
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains("broken"), "{}", out.stderr);
    let after = secrets.get("broken").await?;
    assert_eq!(
        after.metadata.resource_version, created.metadata.resource_version,
        "the Secret was not written"
    );

    let nokey = Secret {
        metadata: ObjectMeta {
            name: Some("nokey".into()),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    secrets.create(&PostParams::default(), &nokey).await?;
    let out = iter8(&[
        "k",
        "report",
        "-g",
        "nokey",
        "-n",
        ns.name(),
        "--kubeconfig",
        &admin,
    ])
    .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("has no experiment.yaml field"),
        "{}",
        out.stderr
    );
    Ok(())
}

async fn install(ns: &str, release: &str, sets: &[String]) {
    let chart = testsupport::repo_root().join("charts/iter8");
    let mut args = vec![
        "install".to_string(),
        release.to_string(),
        chart.to_str().expect("utf8").to_string(),
        "--namespace".to_string(),
        ns.to_string(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = helm(&args).await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
}

/// The `ready` tasks wait (retrying about once a second) until the Service exists and the
/// Deployment reports Available, with only the rights the chart's `-ready` Role gives the
/// runner; then load runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_for_the_deployment_to_become_available() -> TestResult {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;
    use kube::api::{Patch, PatchParams};
    let env = env();
    let ns = env.namespace("kready").await?;
    let client = env.admin_client()?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let deploy: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "app"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}},
                         "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
        }
    }))?;
    deployments.create(&PostParams::default(), &deploy).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "app"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "app"}}
    }))?;
    services.create(&PostParams::default(), &svc).await?;

    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    install(
        ns.name(),
        "exp",
        &[
            "tasks={ready,http,assess}".into(),
            "ready.deploy=app".into(),
            "ready.service=app".into(),
            "ready.timeout=30s".into(),
            format!("http.url={}/echo", target.url()),
            "http.numRequests=10".into(),
            "assess.SLOs.upper.http/error-count=0".into(),
            "runner=job".into(),
        ],
    )
    .await;
    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns.name(), "exp", dir.path()).await;

    // The Deployment becomes Available 2.5 s after the runner starts.
    let patcher = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let status = serde_json::json!({"status": {"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
        ]}});
        deployments
            .patch_status("app", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .map(|_| ())
    });
    let started = std::time::Instant::now();
    let run = iter8(&["k", "run", "-g", "exp", "--kubeconfig", &kc]).await;
    let took = started.elapsed();
    patcher.await??;
    assert_eq!(run.code, 0, "k run: {}", run.stderr);
    assert!(
        took >= std::time::Duration::from_secs(2),
        "waited: {took:?}"
    );
    assert!(
        run.stderr.contains("apps/v1/deployments ")
            && run
                .stderr
                .contains("is not ready yet: object status does not contain conditions"),
        "{}",
        run.stderr
    );
    assert_eq!(target.requests("/echo"), 10);
    let secrets: Api<Secret> = Api::namespaced(client, ns.name());
    let exp = experiment_of(&secrets.get("exp").await?);
    let result = exp.result.as_ref().expect("result");
    assert_eq!(
        result.num_completed_tasks, 4,
        "ready service, ready deploy, http, assess"
    );
    assert!(!result.failure);
    target.shutdown().await;
    Ok(())
}

/// A Deployment that never appears: the ready task gives up after its timeout, the runner
/// exits 1 and the Secret records the failure; no load is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_gives_up_after_its_timeout() -> TestResult {
    let env = env();
    let ns = env.namespace("knotready").await?;
    let target = runner::target::Target::start("127.0.0.1:0".parse()?).await?;
    install(
        ns.name(),
        "late",
        &[
            "tasks={ready,http}".into(),
            "ready.deploy=missing".into(),
            "ready.timeout=2s".into(),
            format!("http.url={}/echo", target.url()),
            "runner=job".into(),
        ],
    )
    .await;
    let dir = tempfile::tempdir()?;
    let kc = runner_kubeconfig(ns.name(), "late", dir.path()).await;
    let run = iter8(&["k", "run", "-g", "late", "--kubeconfig", &kc]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let want = format!("apps/v1/deployments {}/missing is not ready", ns.name());
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert_eq!(target.requests("/echo"), 0);
    let secrets: Api<Secret> = Api::namespaced(env.admin_client()?, ns.name());
    let exp = experiment_of(&secrets.get("late").await?);
    let result = exp.result.as_ref().expect("result");
    assert!(result.failure);
    assert_eq!(result.num_completed_tasks, 0);
    target.shutdown().await;
    Ok(())
}
