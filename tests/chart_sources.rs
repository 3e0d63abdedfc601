//! `iter8 launch -c` with charts that are not local paths: an `oci://` reference into a
//! real `docker-registry`, and a chart name in an HTTP chart repository (`--repo`, nginx
//! serving `hub/`). The experiment rendered from the fetched chart equals the one rendered
//! from the built-in chart, and the fetched chart's digest is logged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testsupport::chart_servers::{Nginx, Registry};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The newest chart archive in hub/ (name, bytes).
fn hub_chart() -> (String, Vec<u8>) {
    let idx = std::fs::read_to_string(root().join("hub/index.yaml")).expect("hub index");
    let index = chartgen::source::http::parse_index(idx.as_bytes(), "hub").expect("index");
    let e = chartgen::source::http::find(&index, "iter8", "", "hub").expect("iter8 in hub");
    let bytes = std::fs::read(root().join("hub").join(&e.urls[0])).expect("hub archive");
    (e.version.clone(), bytes)
}

fn launch(run_dir: &Path, extra: &[&str]) -> Output {
    launch_with_hub(run_dir, None, extra)
}

/// `iter8 launch --dry` with `$ITER8_HUB` set to `hub` (or unset).
fn launch_with_hub(run_dir: &Path, hub: Option<&str>, extra: &[&str]) -> Output {
    let home = run_dir.join("home");
    let mut c = Command::new(env!("CARGO_BIN_EXE_iter8"));
    match hub {
        Some(url) => c.env("ITER8_HUB", url),
        None => c.env_remove("ITER8_HUB"),
    };
    c.env("HOME", &home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .args(["launch", "--dry", "--runDir"])
        .arg(run_dir)
        .args([
            "--set",
            "tasks={http}",
            "--set",
            "http.url=http://127.0.0.1:1/get",
        ])
        .args(extra);
    c.output().expect("run iter8")
}

fn experiment(dir: &Path) -> runner::Experiment {
    let text = std::fs::read_to_string(dir.join("experiment.yaml")).expect("experiment.yaml");
    runner::Experiment::from_yaml(&text).expect("experiment parses")
}

/// `result.chart` of the experiment in `dir`.
fn chart_origin(dir: &Path) -> runner::ChartOrigin {
    experiment(dir)
        .result
        .and_then(|r| r.chart)
        .expect("result.chart recorded")
}

/// `-c oci://…` pulls the chart from a plain-HTTP registry (pushed by chartgen's library),
/// logs the manifest digest, renders the same tasks as the built-in chart and records the
/// chart (reference, version, archive and manifest digests) in `result.chart`; a tag that does
/// not exist fails in one line and writes nothing.
#[test]
fn launch_from_oci_registry() {
    let reg = Registry::plain();
    let (version, archive) = hub_chart();
    let opts = chartgen::source::Options {
        plain_http: true,
        ..Default::default()
    };
    let pushed =
        chartgen::source::oci::push(&archive, &format!("oci://{}/charts", reg.host), &opts)
            .expect("push");
    let builtin = tempfile::tempdir().expect("tmp");
    let out = launch(builtin.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().expect("tmp");
    let reference = format!("oci://{}/charts/iter8", reg.host);
    let out = launch(
        dir.path(),
        &["-c", &reference, "--version", &version, "--plain-http"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("(digest {})", pushed.digest)),
        "{err}"
    );
    assert_eq!(experiment(dir.path()).spec, experiment(builtin.path()).spec);
    let origin = chart_origin(dir.path());
    assert_eq!(origin.name, "iter8");
    assert_eq!(origin.version, version);
    assert_eq!(origin.source, reference);
    assert_eq!(origin.digest, chartgen::source::sha256_digest(&archive));
    assert_eq!(
        origin.manifest_digest.as_deref(),
        Some(pushed.digest.as_str())
    );
    let builtin_result = experiment(builtin.path()).result.expect("result");
    assert!(
        builtin_result.chart.is_none(),
        "nothing recorded for the built-in chart"
    );

    let none = tempfile::tempdir().expect("tmp");
    let out = launch(
        none.path(),
        &["-c", &format!("{reference}:9.9.9"), "--plain-http"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.lines()
            .any(|l| l.starts_with("Error: --chartName oci://")),
        "{err}"
    );
    assert!(!none.path().join("experiment.yaml").exists());
}

/// `-c iter8 --repo URL --version ~X.Y` finds the chart in an HTTP repository serving hub/,
/// checks its digest against the index, logs it, renders the built-in chart's tasks and
/// records the repository, chart URL and digest in `result.chart`.
#[test]
fn launch_from_http_repository() {
    let nginx = Nginx::start(&root().join("hub"), false);
    let (version, archive) = hub_chart();
    let range = format!(
        "~{}",
        version.rsplit_once('.').map(|(a, _)| a).unwrap_or(&version)
    );
    let builtin = tempfile::tempdir().expect("tmp");
    assert!(launch(builtin.path(), &[]).status.success());
    let dir = tempfile::tempdir().expect("tmp");
    let out = launch(
        dir.path(),
        &["-c", "iter8", "--repo", &nginx.url, "--version", &range],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&chartgen::source::sha256_digest(&archive)),
        "{err}"
    );
    assert_eq!(experiment(dir.path()).spec, experiment(builtin.path()).spec);
    let origin = chart_origin(dir.path());
    assert_eq!(origin.version, version);
    assert_eq!(origin.source, nginx.url);
    assert_eq!(
        origin.url,
        format!("{}/iter8-{version}.tgz", nginx.url.trim_end_matches('/'))
    );
    assert_eq!(origin.digest, chartgen::source::sha256_digest(&archive));
    assert_eq!(origin.manifest_digest, None);
}

/// `-c iter8` without `--repo` asks the default hub (here `$ITER8_HUB`: nginx serving hub/,
/// which lists the older 0.1.x chart and the 0.13.N one) for `0.13.x`, as Iter8 v0.13 asked
/// its hub, and gets the 0.13 chart; `--version` still selects another; a hub without a 0.13
/// chart fails in Helm's words and writes nothing.
#[test]
fn default_hub_resolves_v013_range() {
    let nginx = Nginx::start(&root().join("hub"), false);
    let (version, archive) = hub_chart();
    assert!(
        version.starts_with("0.13."),
        "hub's newest iter8 is {version}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let out = launch_with_hub(dir.path(), Some(&nginx.url), &["-c", "iter8"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let origin = chart_origin(dir.path());
    assert_eq!(origin.version, version);
    assert_eq!(origin.source, nginx.url);
    assert_eq!(origin.digest, chartgen::source::sha256_digest(&archive));

    let idx = std::fs::read(root().join("hub/index.yaml")).expect("index");
    let index = chartgen::source::http::parse_index(&idx, "hub").expect("index");
    let older = index.entries["iter8"]
        .iter()
        .map(|e| e.version.clone())
        .find(|v| !v.starts_with("0.13."))
        .expect("an older iter8 kept in hub/index.yaml");
    let dir = tempfile::tempdir().expect("tmp");
    let out = launch_with_hub(
        dir.path(),
        Some(&nginx.url),
        &["-c", "iter8", "--version", &older],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(chart_origin(dir.path()).version, older);

    // A hub holding only a 0.1.x chart: v0.13's range finds nothing.
    let work = tempfile::tempdir().expect("tmp");
    let only_old = work.path().join("hub");
    std::fs::create_dir(&only_old).expect("mkdir");
    let e = index.entries["iter8"]
        .iter()
        .find(|e| e.version == older)
        .expect("older entry");
    std::fs::copy(
        root().join("hub").join(&e.urls[0]),
        only_old.join(&e.urls[0]),
    )
    .expect("copy");
    std::fs::write(
        only_old.join("index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n  iter8:\n  - name: iter8\n    version: {older}\n    urls: [{}]\n",
            e.urls[0]
        ),
    )
    .expect("index");
    let old_nginx = Nginx::start(&only_old, false);
    let dir = tempfile::tempdir().expect("tmp");
    let out = launch_with_hub(dir.path(), Some(&old_nginx.url), &["-c", "iter8"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.lines()
            .any(|l| l.starts_with("Error: --chartName iter8: ")
                && l.contains("chart \"iter8\" version \"0.13.x\" not found")),
        "{err}"
    );
    assert!(!dir.path().join("experiment.yaml").exists());
}

/// `iter8 launch` (not `--dry`) from pulled charts runs a real experiment against a target on
/// loopback: `-c oci://…@sha256:…` (pinned to the manifest digest chartgen pushed) and
/// `-c iter8 --repo URL`; each result counts exactly its requests and records the chart's
/// source and digests, and `iter8 report` names them.
#[test]
fn launch_runs_experiments_from_pulled_charts() {
    let target = runner::target::BackgroundTarget::start("127.0.0.1:0".parse().expect("addr"))
        .expect("start target");
    let reg = Registry::plain();
    let nginx = Nginx::start(&root().join("hub"), false);
    let (version, archive) = hub_chart();
    let opts = chartgen::source::Options {
        plain_http: true,
        ..Default::default()
    };
    let pushed =
        chartgen::source::oci::push(&archive, &format!("oci://{}/charts", reg.host), &opts)
            .expect("push");
    let pinned = format!("oci://{}/charts/iter8@{}", reg.host, pushed.digest);
    let url = format!("http.url={}/echo", target.url());
    for (n, chart) in [
        (3u64, vec!["-c", pinned.as_str(), "--plain-http"]),
        (5, vec!["-c", "iter8", "--repo", nginx.url.as_str()]),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("home");
        let before = target.requests("/echo");
        let requests = format!("http.numRequests={n}");
        let out = Command::new(env!("CARGO_BIN_EXE_iter8"))
            .env("HOME", &home)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("DOCKER_CONFIG", home.join("docker"))
            .env_remove("ITER8_HUB")
            .args(["launch", "--runDir"])
            .arg(dir.path())
            .args(&chart)
            .args([
                "--set",
                "tasks={http,assess}",
                "--set",
                &url,
                "--set",
                &requests,
            ])
            .args(["--set", "assess.SLOs.upper.http/error-count=0"])
            .output()
            .expect("run iter8");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{chart:?}: {err}");
        assert_eq!(target.requests("/echo") - before, n, "{chart:?}");
        let exp = experiment(dir.path());
        let result = exp.result.as_ref().expect("result");
        assert_eq!(result.num_completed_tasks, 2, "{chart:?}");
        assert!(!result.failure, "{chart:?}");
        let origin = result.chart.as_ref().expect("result.chart");
        assert_eq!(origin.version, version);
        assert_eq!(origin.digest, chartgen::source::sha256_digest(&archive));
        let source = chart[1];
        if source == "iter8" {
            assert_eq!(origin.source, nginx.url);
            assert_eq!(origin.manifest_digest, None);
        } else {
            assert_eq!(origin.source, pinned);
            assert_eq!(
                origin.manifest_digest.as_deref(),
                Some(pushed.digest.as_str())
            );
        }
        let report = Command::new(env!("CARGO_BIN_EXE_iter8"))
            .args(["report", "--runDir"])
            .arg(dir.path())
            .output()
            .expect("run iter8 report");
        let text = String::from_utf8_lossy(&report.stdout);
        assert!(report.status.success(), "{text}");
        assert!(
            text.contains(&format!("  Chart: iter8 {version} from {}", origin.source)),
            "{text}"
        );
    }
}
