//! Test support for the end-to-end tests: the `iter8` binary, a real httpbin under gunicorn,
//! free loopback ports and temporary run directories.

#![allow(dead_code)] // each test binary uses a different subset

pub mod kube;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// GET `path` on `addr` with a raw HTTP/1.1 request; the status code, or None on failure.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).ok()?;
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    head.get(9..12)?.parse().ok()
}

/// httpbin (Debian's python3-httpbin) served by gunicorn on a free loopback port; stopped on drop.
pub struct Httpbin {
    child: Child,
    pub addr: SocketAddr,
}

impl Httpbin {
    /// Start gunicorn and wait until `/get` answers 200 (at most 60 s).
    pub fn start() -> Httpbin {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .expect("loopback address");
        let child = Command::new("gunicorn")
            .args([
                "-b",
                &addr.to_string(),
                "-w",
                "2",
                "--log-level",
                "warning",
                "httpbin:app",
            ])
            // The server keeps the real clock when tools/clock-check.sh moves the test's:
            // gunicorn's worker watchdog compares the clock with file times the kernel sets,
            // and a clock a year ahead makes it kill every worker.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gunicorn (apt-get install -y python3-httpbin gunicorn)");
        let mut bin = Httpbin { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if http_status(addr, "/get") == Some(200) {
                return bin;
            }
            if let Ok(Some(status)) = bin.child.try_wait() {
                panic!("gunicorn httpbin:app exited early with {status}");
            }
            assert!(
                Instant::now() < deadline,
                "httpbin did not answer on {addr} within 60s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        // Only the gunicorn master this test started (it stops its own workers).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
