//! Test support for the end-to-end tests: the `iter8` binary, a real httpbin under gunicorn, a
//! real nginx (HTTP/1.1, TLS with h2, h2c), free loopback ports and temporary run directories.

#![allow(dead_code)] // each test binary uses a different subset

pub mod kube;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `iter8` as built by cargo for this test run, with plain (non-terminal) log lines.
pub fn iter8() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iter8"));
    cmd.env("ITER8_LOG_TTY", "0");
    cmd.stdin(Stdio::null());
    cmd
}

/// Run `iter8 <args>` and return its output.
pub fn run_iter8(args: &[&str]) -> Output {
    iter8().args(args).output().expect("spawn iter8")
}

/// Stdout and stderr as text, for assertions and failure messages.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of stderr that start with `Error: `.
pub fn error_lines(out: &Output) -> Vec<String> {
    texts(out)
        .1
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .map(str::to_string)
        .collect()
}

#[allow(unused_imports)] // each test binary uses a different subset
pub use testsupport::servers::{Httpbin, free_port, http_status};

/// nginx (Debian's `nginx`) on free loopback ports, speaking each protocol the client may
/// choose; every request is logged with the port and the protocol nginx saw
/// (`$server_protocol`). Stopped on drop.
pub struct Nginx {
    server: testsupport::servers::Nginx,
    /// HTTP/1.1 over TCP.
    pub plain: SocketAddr,
    /// TLS 1.3 offering `h2` and `http/1.1` by ALPN on the same port.
    pub tls: SocketAddr,
    /// TLS 1.3 offering `http/1.1` only.
    pub tls_h1: SocketAddr,
    /// HTTP/2 with prior knowledge (h2c).
    pub h2c: SocketAddr,
}

impl Nginx {
    /// Start nginx and wait until every port accepts connections.
    pub fn start() -> Nginx {
        use testsupport::servers::loopback;
        let (plain, tls, tls_h1, h2c) = (free_port(), free_port(), free_port(), free_port());
        let ok = r#"location / { return 200 "hello\n"; }"#;
        let http = format!(
            "log_format proto '$server_port $server_protocol';\n\
             access_log {{dir}}/access.log proto;\n\
             ssl_protocols TLSv1.3;\n\
             ssl_certificate {{dir}}/cert.pem; ssl_certificate_key {{dir}}/key.pem;\n\
             server {{ listen 127.0.0.1:{plain}; {ok} }}\n\
             server {{ listen 127.0.0.1:{tls} ssl http2; {ok} }}\n\
             server {{ listen 127.0.0.1:{tls_h1} ssl; {ok} }}\n\
             server {{ listen 127.0.0.1:{h2c} http2; {ok} }}"
        );
        let server = testsupport::servers::Nginx::start(&http, &[plain, tls, tls_h1, h2c], &[]);
        Nginx {
            server,
            plain: loopback(plain),
            tls: loopback(tls),
            tls_h1: loopback(tls_h1),
            h2c: loopback(h2c),
        }
    }

    /// How many requests nginx logged on `addr`'s port, by protocol (`HTTP/1.1`, `HTTP/2.0`).
    pub fn protocols_seen(&self, addr: SocketAddr) -> std::collections::BTreeMap<String, u64> {
        let port = addr.port().to_string();
        let mut seen = std::collections::BTreeMap::new();
        for line in self.server.log_lines("access.log") {
            if let Some((p, proto)) = line.split_once(' ')
                && p == port
            {
                *seen.entry(proto.to_string()).or_insert(0) += 1;
            }
        }
        seen
    }
}

/// A fresh temporary run directory.
pub fn run_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create temp dir")
}

/// Names of the entries of `dir` (to check that nothing was written).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// Where tests keep artifacts worth looking at (screenshots): `<target dir>/test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create test-artifacts dir");
    dir
}

/// Parse `<dir>/experiment.yaml`.
pub fn read_experiment(dir: &Path) -> runner::Experiment {
    let text = std::fs::read_to_string(dir.join("experiment.yaml")).expect("read experiment.yaml");
    runner::Experiment::from_yaml(&text).expect("valid experiment.yaml")
}

/// Current value of `metric` for version 0.
pub fn metric(exp: &runner::Experiment, metric: &str) -> Option<f64> {
    exp.result
        .as_ref()?
        .insights
        .as_ref()?
        .scalar_metric_value(0, metric)
}

/// `iter8 report -o json --runDir <dir>`, checked and parsed by [`check_json_report`].
pub fn json_report(dir: &Path) -> serde_json::Value {
    let out = run_iter8(&[
        "report",
        "-o",
        "json",
        "--runDir",
        &dir.display().to_string(),
    ]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "iter8 report -o json: {stderr}");
    check_json_report(&stdout)
}

/// A JSON report checked against `schemas/report.v1.schema.json` (with chartgen's JSON Schema
/// validator, the one chart values are checked with) and parsed.
pub fn check_json_report(text: &str) -> serde_json::Value {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.v1.schema.json");
    let schema = std::fs::read(&schema_path).expect("read the report schema");
    let value = chartgen::yaml::from_json(text).expect("the JSON report parses");
    if let Err(e) = chartgen::chart::schema::validate(&value, &schema) {
        panic!("the JSON report does not match its schema:\n{e}\n{text}");
    }
    serde_json::from_str(text).expect("the JSON report parses")
}
