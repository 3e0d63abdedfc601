//! Test support for the end-to-end tests: the `iter8` binary, a real httpbin under gunicorn, a
//! real nginx (HTTP/1.1, TLS with h2, h2c), free loopback ports and temporary run directories.

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

/// nginx (Debian's `nginx`) on free loopback ports, with a certificate for `localhost` made at
/// start; every request is logged with the port and the protocol nginx saw
/// (`$server_protocol`). Stopped on drop.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
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
    /// Start nginx and wait until it answers on the plain port (at most 30 s).
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().expect("create nginx dir");
        let d = dir.path().display().to_string();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("test certificate");
        std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem())
            .expect("write key");
        let addr = || -> SocketAddr {
            format!("127.0.0.1:{}", free_port())
                .parse()
                .expect("loopback address")
        };
        let (plain, tls, tls_h1, h2c) = (addr(), addr(), addr(), addr());
        let ok = r#"location / { return 200 "hello\n"; }"#;
        let conf = format!(
            "daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
               log_format proto '$server_port $server_protocol';\n\
               access_log {d}/access.log proto;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               ssl_protocols TLSv1.3;\n\
               ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem;\n\
               server {{ listen {plain}; {ok} }}\n\
               server {{ listen {tls} ssl http2; {ok} }}\n\
               server {{ listen {tls_h1} ssl; {ok} }}\n\
               server {{ listen {h2c} http2; {ok} }}\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or("nginx");
        let child = Command::new(bin)
            .args(["-p", &d, "-c", &format!("{d}/nginx.conf"), "-e", "stderr"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx (apt-get install -y nginx)");
        let mut nginx = Nginx {
            child,
            dir,
            plain,
            tls,
            tls_h1,
            h2c,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_status(plain, "/") != Some(200) {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = std::fs::read_to_string(nginx.dir.path().join("error.log"));
                panic!(
                    "nginx exited early with {status}: {}",
                    log.unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not answer on {plain} within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The readiness probe is logged too, after its response went out: wait for its line,
        // then start counting from here.
        let access = nginx.dir.path().join("access.log");
        let logged = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&access).map_or(0, |m| m.len()) == 0 && Instant::now() < logged {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::write(&access, "").expect("truncate access log");
        nginx
    }

    /// How many requests nginx logged on `addr`'s port, by protocol (`HTTP/1.1`, `HTTP/2.0`).
    pub fn protocols_seen(&self, addr: SocketAddr) -> std::collections::BTreeMap<String, u64> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log"))
            .expect("read nginx access log");
        let port = addr.port().to_string();
        let mut seen = std::collections::BTreeMap::new();
        for line in log.lines() {
            if let Some((p, proto)) = line.split_once(' ')
                && p == port
            {
                *seen.entry(proto.to_string()).or_insert(0) += 1;
            }
        }
        seen
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master this test started (it stops its own worker).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
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
