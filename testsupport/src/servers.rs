//! Third-party servers as child processes on loopback, and the pieces every such server needs:
//! a free port, waiting until it listens (or failing with why it exited), and stopping it when
//! the test's handle drops. httpbin (gunicorn) and nginx live here; the chart servers
//! ([`crate::chart_servers`]) and the gRPC route guide ([`crate::route_guide`]) build on it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago (for servers that take it in a config file).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// `127.0.0.1:<port>`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A Debian-installed program (`tools/deps.sh` installs them); panics with the hint if missing.
pub fn system(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed\nhint: run tools/deps.sh");
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

/// A child process this test started: SIGTERM when the handle drops (so a server stops its own
/// workers), SIGKILL if it has not exited within 10 s.
pub struct Proc(Child);

impl Proc {
    /// Spawn `cmd` (its stdin and stdout to /dev/null, stderr as the command says).
    pub fn spawn(cmd: &mut Command, what: &str) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}\nhint: run tools/deps.sh"));
        Proc(child)
    }

    /// Wait until `ready()` holds, polling every 20 ms for at most `limit`; panics naming `what`
    /// if the process exits first (with `log`'s contents, when given) or the time runs out.
    pub fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        log: Option<&Path>,
        mut ready: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + limit;
        let log_text = || {
            log.and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        loop {
            if ready() {
                return;
            }
            if let Ok(Some(status)) = self.0.try_wait() {
                panic!("{what} exited early with {status}\n{}", log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{what} was not ready within {limit:?}\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until something accepts connections on each of `ports` (see [`Proc::wait_until`]).
    pub fn wait_listening(&mut self, what: &str, ports: &[u16], log: Option<&Path>) {
        for &port in ports {
            self.wait_until(what, Duration::from_secs(30), log, || {
                TcpStream::connect(loopback(port)).is_ok()
            });
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// httpbin (Debian's python3-httpbin) served by gunicorn on a free loopback port; stopped on drop.
pub struct Httpbin {
    _proc: Proc,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Httpbin {
    /// Start gunicorn and wait until `/get` answers 200 (at most 60 s).
    pub fn start() -> Httpbin {
        let addr = loopback(free_port());
        let mut proc = Proc::spawn(
            Command::new("gunicorn")
                .args(["-b", &addr.to_string(), "-w", "2", "--log-level", "warning"])
                .arg("httpbin:app")
                // The server keeps the real clock when tools/clock-check.sh moves the test's:
                // gunicorn's worker watchdog compares the clock with file times the kernel
                // sets, and a clock a year ahead makes it kill every worker.
                .env_remove("LD_PRELOAD")
                .env_remove("FAKETIME")
                .stderr(Stdio::null()),
            "gunicorn httpbin:app (Debian's python3-httpbin and gunicorn)",
        );
        proc.wait_until("httpbin", Duration::from_secs(60), None, || {
            http_status(addr, "/get") == Some(200)
        });
        Httpbin { _proc: proc, addr }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Debian's nginx as one process (no master) in a fresh directory, with a self-signed
/// certificate for `localhost` and `127.0.0.1` there (`cert.pem`, `key.pem`); the test gives the
/// body of the `http` block (servers, log formats) and the ports to wait for. Stopped on drop.
pub struct Nginx {
    _proc: Proc,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Start nginx with `http` inside its `http { }` block, in which `{dir}` stands for the
    /// server's directory, and wait until each of `ports` accepts connections (at most 30 s
    /// each). `files` are written into the directory first (pages, password files).
    pub fn start(http: &str, ports: &[u16], files: &[(&str, &[u8])]) -> Nginx {
        let dir = tempfile::tempdir().expect("create nginx dir");
        let d = dir.path().display().to_string();
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("test certificate");
        std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem())
            .expect("write key");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write nginx file");
        }
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               {}\n\
             }}\n",
            http.replace("{dir}", &d)
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let mut proc = Proc::spawn(
            Command::new(system("nginx"))
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stderr(Stdio::null()),
            "nginx",
        );
        proc.wait_listening("nginx", ports, Some(&dir.path().join("error.log")));
        Nginx { _proc: proc, dir }
    }

    /// The server's directory (its config, certificate, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The lines of `name` (a log the config writes into the directory) so far.
    pub fn log_lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
