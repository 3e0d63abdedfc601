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
    let home = run_dir.join("home");
    let mut c = Command::new(env!("CARGO_BIN_EXE_iter8"));
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

fn experiment(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("experiment.yaml")).expect("experiment.yaml");
    text.lines()
        .filter(|l| !l.contains("startTime"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `-c oci://…` pulls the chart from a plain-HTTP registry (pushed by chartgen's library),
/// logs the manifest digest, and renders the same experiment as the built-in chart; a tag
/// that does not exist fails in one line and writes nothing.
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
    assert_eq!(experiment(dir.path()), experiment(builtin.path()));

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

/// `-c iter8 --repo URL --version ~0.1` finds the chart in an HTTP repository serving hub/,
/// checks its digest against the index, logs it, and renders the built-in chart's experiment.
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
    assert_eq!(experiment(dir.path()), experiment(builtin.path()));
}
