//! `iter8 abn` against the real kube-apiserver of `tools/k8s-testenv`: `charts/abn` installed by
//! real Helm (its ConfigMap is the service's WATCHER_CONFIG, its Role the only rights the
//! service has, its Secret the store), the service a child process on 127.0.0.1 port 0, and
//! a client we did not write in Rust (Python grpcio, stubs generated from runner/proto/abn.proto)
//! doing the calls. Two Deployments and Services `backend` and `backend-candidate-1` with
//! version labels; the Deployments' Available condition is set by the test (no node here).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

mod support;

use support::kube::{Out, env, helm, iter8_in};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LIMIT: Duration = Duration::from_secs(60);

fn client() -> Client {
    env().admin_client().expect("client")
}

/// A running `iter8 abn`; stderr lines collected; killed on drop.
struct Abn {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    addr: String,
}

impl Abn {
    fn start(kubeconfig: &Path, config: &Path) -> Abn {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iter8"))
            .args(["abn", "--port", "0", "--address", "127.0.0.1"])
            .args(["--kubeconfig", kubeconfig.to_str().expect("utf8")])
            .env("WATCHER_CONFIG", config)
            .env("ITER8_LOG_TTY", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn iter8 abn");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        let start = Instant::now();
        let addr = loop {
            let found = lines.lock().expect("lines").iter().find_map(|l| {
                l.split("A/B/n service listening on ")
                    .nth(1)
                    .map(|a| a.trim().to_string())
            });
            if let Some(a) = found {
                break a;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "iter8 abn exited ({status}):\n{}",
                    lines.lock().expect("lines").join("\n")
                );
            }
            assert!(start.elapsed() < LIMIT, "iter8 abn did not listen");
            std::thread::sleep(Duration::from_millis(100));
        };
        Abn { child, lines, addr }
    }

    fn log(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    /// SIGKILL (no flush).
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            assert!(start.elapsed() < LIMIT, "iter8 abn ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Abn {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Python grpcio client with `args`; its stdout parsed as JSON.
fn py(args: &[&str]) -> Value {
    let script = testsupport::repo_root().join("tests/abn/abn_client.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("run python client");
    assert!(
        out.status.success(),
        "python client {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "python client printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Poll `f` every 250 ms until it returns Some (at most LIMIT).
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Deployment and Service `name` labelled with `version`; the Deployment Available.
async fn track(ns: &str, name: &str, version: &str) -> TestResult {
    let labels = json!({"app.kubernetes.io/version": version});
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
    let deployments: Api<Deployment> = Api::namespaced(client(), ns);
    deployments.create(&PostParams::default(), &d).await?;
    deployments
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "Available", "status": "True", "reason": "Test", "message": "set by the test"}
            ]}})),
        )
        .await?;
    let s: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}
    }))?;
    Api::<Service>::namespaced(client(), ns)
        .create(&PostParams::default(), &s)
        .await?;
    Ok(())
}

/// Set the version label of both objects of track `name`.
async fn relabel(ns: &str, name: &str, version: &str) -> TestResult {
    let p = Patch::Merge(json!({"metadata": {"labels": {"app.kubernetes.io/version": version}}}));
    Api::<Deployment>::namespaced(client(), ns)
        .patch(name, &PatchParams::default(), &p)
        .await?;
    Api::<Service>::namespaced(client(), ns)
        .patch(name, &PatchParams::default(), &p)
        .await?;
    Ok(())
}

/// `helm install abn charts/abn` with the app `backend` in `ns`; the service's Deployment is
/// scaled to nothing by having no node; returns the config file and a kubeconfig of the
/// chart's ServiceAccount (only the chart's RBAC applies).
async fn install_chart(ns: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let values = dir.join("values.yaml");
    std::fs::write(
        &values,
        format!("apps:\n  {ns}:\n    backend:\n      maxNumCandidates: 1\n      resources: [deployment, service]\n"),
    )
    .expect("values");
    let chart = testsupport::repo_root().join("charts/abn");
    let out: Out = helm(&[
        "install",
        "abn",
        chart.to_str().expect("utf8"),
        "-n",
        ns,
        "-f",
        values.to_str().expect("utf8"),
    ])
    .await;
    assert_eq!(out.code, 0, "helm install: {}", out.stderr);
    let cm = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client(), ns)
        .get("abn")
        .await
        .expect("config map");
    let config = dir.join("abn-config.yaml");
    std::fs::write(
        &config,
        cm.data.expect("data")["abn-config.yaml"].as_bytes(),
    )
    .expect("config");
    let token = env().service_account_token(ns, "abn").await.expect("token");
    let kubeconfig = dir.join("abn.kubeconfig");
    std::fs::write(&kubeconfig, env().kubeconfig_yaml_for_token(&token, ns)).expect("write");
    (config, kubeconfig)
}

fn data(addr: &str, app: &str) -> Value {
    py(&["data", addr, app])
}

fn write_experiment(dir: &Path, addr: &str, app: &str, reward: &str) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("experiment.yaml"),
        format!(
            "spec:\n- task: abnmetrics\n  with:\n    endpoint: {addr}\n    application: {app}\n- task: assess\n  with:\n    rewards:\n      max: [{reward}]\n    SLOs:\n      lower:\n      - metric: {reward}/count\n        limit: 100\n"
        ),
    )
    .expect("experiment");
}

/// The split over tracks is stable per user over 10,000 lookups of 1,000 users and survives
/// unrelated object changes and a restart; a user's track changes only when a version
/// changes; a reward higher on the candidate makes it the winner in the reports and
/// `iter8 assert -c winner`, an equal reward is inconclusive and fails the assert; bad calls
/// get v0.13's status and message; finalizers come and go with the objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_metrics_and_a_winner() -> TestResult {
    let ns = env().namespace("abn").await?;
    let ns = ns.name().to_string();
    let dir = tempfile::tempdir()?;
    let (config, kubeconfig) = install_chart(&ns, dir.path()).await;
    track(&ns, "backend", "v1").await?;
    track(&ns, "backend-candidate-1", "v2").await?;
    let app = format!("{ns}/backend");

    let abn = Abn::start(&kubeconfig, &config);
    let addr = abn.addr.clone();
    until("both tracks live", || {
        let d = data(&addr, &app);
        (d["tracks"].as_object().map(|t| t.len()) == Some(2)).then_some(())
    })
    .await;
    // The finalizer is on every watched object.
    let d = Api::<Deployment>::namespaced(client(), &ns)
        .get("backend-candidate-1")
        .await?;
    assert_eq!(
        d.metadata.finalizers.unwrap_or_default(),
        vec!["iter8.tools/finalizer".to_string()]
    );

    let first = py(&["lookups", &addr, &app, "1000", "10"]);
    assert_eq!(first["calls"], 10_000);
    assert_eq!(
        first["unstable"], 0,
        "a user changed track without a change"
    );
    let on = |r: &Value, t: &str| r["tracks"][t].as_u64().unwrap_or(0);
    assert_eq!(
        on(&first, "backend") + on(&first, "backend-candidate-1"),
        1000
    );
    assert!(
        on(&first, "backend") >= 350 && on(&first, "backend-candidate-1") >= 350,
        "{}",
        first["tracks"]
    );

    // An unrelated change (an annotation) is seen by the watch but changes no assignment.
    Api::<Deployment>::namespaced(client(), &ns)
        .patch(
            "backend",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"touched": "yes"}}})),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = py(&["lookups", &addr, &app, "1000", "1"]);
    assert_eq!(again["assignment"], first["assignment"]);

    // Rewards: 12..16 on the candidate, 10..14 on the baseline; clicks 1..5 on both.
    let written = py(&[
        "write",
        &addr,
        &app,
        "sales",
        "1000",
        r#"{"backend": [10, 11, 12, 13, 14], "backend-candidate-1": [12, 13, 14, 15, 16]}"#,
    ]);
    assert_eq!(
        written["written"]["backend"].as_u64().unwrap_or(0)
            + written["written"]["backend-candidate-1"]
                .as_u64()
                .unwrap_or(0),
        5000
    );
    py(&[
        "write",
        &addr,
        &app,
        "clicks",
        "1000",
        r#"{"backend": [1, 2, 3, 4, 5], "backend-candidate-1": [1, 2, 3, 4, 5]}"#,
    ]);

    // An experiment with abnmetrics and assess names the candidate the winner.
    let run = dir.path().join("sales");
    write_experiment(&run, &addr, &app, "abn/sales");
    let out = iter8_in(Some(&run), &["run"]).await;
    assert_eq!(out.code, 0, "iter8 run: {}", out.stderr);
    let report = iter8_in(Some(&run), &["report", "-o", "json"]).await;
    let report: Value = serde_json::from_str(&report.stdout)?;
    assert_eq!(report["versions"][0]["track"], "backend");
    assert_eq!(report["versions"][0]["version"], "v1");
    assert_eq!(report["versions"][1]["track"], "backend-candidate-1");
    assert_eq!(report["versions"][1]["version"], "v2");
    assert_eq!(
        report["comparison"]["winner"]["index"], 1,
        "{}",
        report["comparison"]
    );
    let sales = report["comparison"]["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["metric"] == "abn/sales"))
        .cloned()
        .expect("abn/sales compared");
    assert_eq!(sales["verdict"], "better");
    assert_eq!(
        sales["baselineCount"].as_f64().unwrap_or(0.0)
            + sales["candidateCount"].as_f64().unwrap_or(0.0),
        5000.0
    );
    let text = iter8_in(Some(&run), &["report"]).await.stdout;
    assert!(text.contains("Winner: backend-candidate-1 (v2)"), "{text}");
    let html = iter8_in(Some(&run), &["report", "-o", "html"]).await.stdout;
    assert!(html.contains("Winner: backend-candidate-1 (v2)"));
    let ok = iter8_in(
        Some(&run),
        &[
            "assert",
            "-c",
            "completed",
            "-c",
            "nofailure",
            "-c",
            "slos",
            "-c",
            "winner",
        ],
    )
    .await;
    assert_eq!(ok.code, 0, "assert: {}", ok.stderr);

    // Equal rewards: inconclusive, no winner, the assert fails.
    let run = dir.path().join("clicks");
    write_experiment(&run, &addr, &app, "abn/clicks");
    assert_eq!(iter8_in(Some(&run), &["run"]).await.code, 0);
    let report: Value =
        serde_json::from_str(&iter8_in(Some(&run), &["report", "-o", "json"]).await.stdout)?;
    assert_eq!(report["comparison"]["winner"], Value::Null);
    let no = iter8_in(Some(&run), &["assert", "-c", "winner"]).await;
    assert_eq!(no.code, 1);
    assert!(no.stderr.contains("inconclusive"), "{}", no.stderr);

    // Bad calls: v0.13's status (Unknown) and messages.
    let errors = py(&["errors", &addr, &app]);
    assert_eq!(
        errors["unknown-app"],
        json!(["UNKNOWN", "application nope/none not found"])
    );
    assert_eq!(
        errors["no-user"],
        json!(["UNKNOWN", "no user session provided"])
    );
    assert_eq!(
        errors["write-no-user"],
        json!(["UNKNOWN", "no user session provided"])
    );
    assert_eq!(
        errors["write-unknown-app"],
        json!(["UNKNOWN", "application nope/none not found"])
    );
    assert_eq!(
        errors["not-a-number"],
        json!([
            "UNKNOWN",
            "strconv.ParseFloat: parsing \"abc\": invalid syntax"
        ])
    );
    assert_eq!(
        errors["data-unknown-app"],
        json!(["UNKNOWN", "nope/none not in memory"])
    );

    // A restart keeps every assignment (the hash has no per-process seed).
    drop(abn);
    let abn = Abn::start(&kubeconfig, &config);
    let addr = abn.addr.clone();
    let after = py(&["lookups", &addr, &app, "1000", "1"]);
    assert_eq!(after["assignment"], first["assignment"]);

    // A new candidate version: only users to or from the candidate move, and some do.
    relabel(&ns, "backend-candidate-1", "v3").await?;
    until("the candidate at v3", || {
        (data(&addr, &app)["tracks"]["backend-candidate-1"] == "v3").then_some(())
    })
    .await;
    let changed = py(&["lookups", &addr, &app, "1000", "3"]);
    assert_eq!(changed["unstable"], 0);
    let moved = first["assignment"]
        .as_object()
        .expect("assignment")
        .iter()
        .filter(|(u, t)| changed["assignment"][u.as_str()] != **t)
        .count();
    assert!(moved > 50 && moved < 950, "{moved} users moved");

    // Deleting a track's objects: the track goes, the finalizer is released, the objects go.
    Api::<Deployment>::namespaced(client(), &ns)
        .delete("backend-candidate-1", &DeleteParams::default())
        .await?;
    Api::<Service>::namespaced(client(), &ns)
        .delete("backend-candidate-1", &DeleteParams::default())
        .await?;
    until("the candidate track gone", || {
        (data(&addr, &app)["tracks"].as_object().map(|t| t.len()) == Some(1)).then_some(())
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client(), &ns);
    let start = Instant::now();
    while deployments.get_opt("backend-candidate-1").await?.is_some() {
        assert!(
            start.elapsed() < LIMIT,
            "finalizer not released:\n{}",
            abn.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for name in ["backend"] {
        Api::<Deployment>::namespaced(client(), &ns)
            .delete(name, &DeleteParams::default())
            .await?;
        Api::<Service>::namespaced(client(), &ns)
            .delete(name, &DeleteParams::default())
            .await?;
    }
    until("no tracks", || {
        (data(&addr, &app)["tracks"].as_object().map(|t| t.len()) == Some(0)).then_some(())
    })
    .await;
    Ok(())
}

/// Count of `metric` over all versions in Secret `backend-metrics`.
async fn stored_count(ns: &str, metric: &str) -> f64 {
    let s = Api::<Secret>::namespaced(client(), ns)
        .get("backend-metrics")
        .await
        .expect("secret");
    let text = s
        .data
        .and_then(|d| d.get("application.yaml").map(|b| b.0.clone()))
        .unwrap_or_default();
    let v: Value = serde_yaml_ng::from_slice(&text).unwrap_or(Value::Null);
    v["versions"]
        .as_object()
        .map(|vs| {
            vs.values()
                .filter_map(|x| x["metrics"][metric][0].as_f64())
                .sum()
        })
        .unwrap_or(0.0)
}

/// Every acknowledged WriteMetric is in Secret `<app>-metrics` after a SIGKILL (a write is
/// acknowledged only once persisted; at most the one call in flight may be there too), and
/// after a SIGTERM nothing is missing and nothing extra; a restarted service carries on
/// from the stored data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_and_term() -> TestResult {
    let ns = env().namespace("abn-crash").await?;
    let ns = ns.name().to_string();
    let dir = tempfile::tempdir()?;
    let (config, kubeconfig) = install_chart(&ns, dir.path()).await;
    track(&ns, "backend", "v1").await?;
    track(&ns, "backend-candidate-1", "v2").await?;
    let app = format!("{ns}/backend");

    for (signal, metric) in [("KILL", "killed"), ("TERM", "termed")] {
        let mut abn = Abn::start(&kubeconfig, &config);
        let addr = abn.addr.clone();
        until("both tracks live", || {
            (data(&addr, &app)["tracks"].as_object().map(|t| t.len()) == Some(2)).then_some(())
        })
        .await;
        // A client writing one value at a time until the service goes away.
        let script = testsupport::repo_root().join("tests/abn/abn_client.py");
        let mut writer = Command::new("/usr/bin/python3")
            .arg(&script)
            .args(["stream", &addr, &app, metric])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Its progress (one line per acknowledged write), read to the end so it never blocks.
        let progress = BufReader::new(writer.stderr.take().expect("piped"));
        let acked_so_far = Arc::new(AtomicU64::new(0));
        let counter = acked_so_far.clone();
        std::thread::spawn(move || {
            for line in progress.lines().map_while(Result::ok) {
                if let Ok(n) = line.trim().parse::<u64>() {
                    counter.store(n, Ordering::SeqCst);
                }
            }
        });
        until("200 acknowledged writes", || {
            (acked_so_far.load(Ordering::SeqCst) >= 200).then_some(())
        })
        .await;
        match signal {
            "KILL" => abn.kill(),
            _ => {
                let status = abn.terminate();
                assert!(
                    status.success(),
                    "exit after SIGTERM: {status}\n{}",
                    abn.log()
                );
                assert!(abn.log().contains("persisted at shutdown"), "{}", abn.log());
            }
        }
        let out = writer.wait_with_output()?;
        let result: Value = serde_json::from_slice(&out.stdout)?;
        let acked = result["acked"].as_f64().unwrap_or(0.0);
        assert!(acked >= 200.0, "{result}");
        let stored = stored_count(&ns, metric).await;
        eprintln!("SIG{signal}: acknowledged {acked}, stored {stored}");
        // Acknowledged ⇒ persisted; the one call in flight may have made it too.
        assert!(
            stored >= acked && stored <= acked + 1.0,
            "{signal}: acked {acked}, stored {stored}"
        );
        // A restart reads what is stored and serves it.
        let abn = Abn::start(&kubeconfig, &config);
        let d = data(&abn.addr, &app);
        let served: f64 = d["versions"]
            .as_object()
            .map(|vs| {
                vs.values()
                    .filter_map(|x| x["metrics"][metric][0].as_f64())
                    .sum()
            })
            .unwrap_or(0.0);
        assert_eq!(served, stored);
        drop(abn);
    }
    // Release the finalizers before the namespace goes.
    let abn = Abn::start(&kubeconfig, &config);
    for name in ["backend", "backend-candidate-1"] {
        Api::<Deployment>::namespaced(client(), &ns)
            .delete(name, &DeleteParams::default())
            .await?;
        Api::<Service>::namespaced(client(), &ns)
            .delete(name, &DeleteParams::default())
            .await?;
    }
    let addr = abn.addr.clone();
    until("no tracks", || {
        (data(&addr, &app)["tracks"].as_object().map(|t| t.len()) == Some(0)).then_some(())
    })
    .await;
    Ok(())
}

/// A missing WATCHER_CONFIG and a bad configuration file exit 1 with one line naming them.
#[tokio::test]
async fn bad_config_exits_1() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out: Out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .args(["abn", "--port", "0"])
        .env_remove("WATCHER_CONFIG")
        .output()?
        .into();
    assert_eq!(out.code, 1);
    assert_eq!(
        out.error_lines(),
        ["Error: configuration file is required (hint: set WATCHER_CONFIG to its path)"]
    );
    let bad = dir.path().join("abn.yaml");
    std::fs::write(&bad, "ns:\n  backend:\n    resources:\n    - version: v1\n")?;
    let out: Out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .args(["abn", "--port", "0"])
        .env("WATCHER_CONFIG", &bad)
        .output()?
        .into();
    assert_eq!(out.code, 1);
    assert_eq!(
        out.error_lines(),
        [format!(
            "Error: {}: ns.backend.resources[0].resource: is required (the plural name, e.g. deployments)",
            bad.display()
        )]
    );
    let out: Out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .args(["abn", "--flush-interval", "5s"])
        .env("WATCHER_CONFIG", &bad)
        .output()?
        .into();
    assert_eq!(out.code, 1);
    assert_eq!(out.error_lines().len(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--flush-interval \"5s\": must be above 0 and at most 1s")
    );
    Ok(())
}
