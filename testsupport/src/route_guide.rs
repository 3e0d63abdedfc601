//! The route guide gRPC server of the gRPC tutorials on Python grpcio (Debian's
//! `python3-grpcio`; server reflection by grpcio-reflection from PyPI in `.tools/python`), started from `tests/grpc/route_guide_server.py` on 127.0.0.1 port 0, and
//! stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Options of [`RouteGuide::start_with`].
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Serve TLS with this PEM certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require client certificates signed by this PEM CA (with `tls`).
    pub client_ca: Option<PathBuf>,
    /// Also serve this directory over plain HTTP.
    pub http_dir: Option<PathBuf>,
    /// Listen on this port instead of a free one (to restart a server on the same port).
    pub port: Option<u16>,
    /// Serve server reflection on these versions (`"v1"`, `"v1alpha"`), by grpcio-reflection
    /// from `.tools/python` (tools/deps.sh).
    pub reflection: Vec<String>,
    /// Accept client keepalive PINGs as often as every this many milliseconds (without it,
    /// grpcio's policy closes a connection that PINGs more than twice while idle).
    pub min_ping_interval_ms: Option<u64>,
}

/// A running route guide server.
pub struct RouteGuide {
    child: Child,
    stdin: Option<ChildStdin>,
    /// gRPC port on 127.0.0.1.
    pub port: u16,
    /// HTTP port of `Options::http_dir`, if asked for.
    pub http_port: Option<u16>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RouteGuideError {
    /// The interpreter could not be started.
    #[error("cannot start /usr/bin/python3 (install python3-grpcio: tools/deps.sh)")]
    Spawn(#[source] std::io::Error),
    /// The script did not print its port.
    #[error("route guide server did not start: {0}")]
    NoPort(String),
}

impl RouteGuide {
    /// `tests/grpc/route_guide.proto`, the service's schema.
    pub fn proto_path() -> PathBuf {
        crate::repo_root().join("tests/grpc/route_guide.proto")
    }

    /// A plaintext server.
    pub fn start() -> Result<RouteGuide, RouteGuideError> {
        Self::start_with(&Options::default())
    }

    /// A server with `opts`.
    pub fn start_with(opts: &Options) -> Result<RouteGuide, RouteGuideError> {
        let script = crate::repo_root().join("tests/grpc/route_guide_server.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script);
        if let Some((cert, key)) = &opts.tls {
            cmd.arg("--tls").arg(cert).arg(key);
        }
        if let Some(ca) = &opts.client_ca {
            cmd.arg("--client-ca").arg(ca);
        }
        if let Some(dir) = &opts.http_dir {
            cmd.arg("--http-dir").arg(dir);
        }
        if let Some(p) = opts.port {
            cmd.arg("--port").arg(p.to_string());
        }
        for v in &opts.reflection {
            cmd.arg("--reflection").arg(v);
        }
        if let Some(ms) = opts.min_ping_interval_ms {
            cmd.arg("--min-ping-interval-ms").arg(ms.to_string());
        }
        cmd.env("PYTHONPATH", crate::repo_root().join(".tools/python"));
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(RouteGuideError::Spawn)?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| RouteGuideError::NoPort("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut port_of = |tag: &str| -> Result<u16, RouteGuideError> {
            let line = lines
                .next()
                .and_then(Result::ok)
                .ok_or_else(|| RouteGuideError::NoPort(format!("no {tag} line")))?;
            line.strip_prefix(tag)
                .and_then(|p| p.trim().parse().ok())
                .ok_or(RouteGuideError::NoPort(line))
        };
        let mut guide = RouteGuide {
            child,
            stdin,
            port: 0,
            http_port: None,
        };
        guide.port = port_of("PORT ")?;
        if opts.http_dir.is_some() {
            guide.http_port = Some(port_of("HTTP ")?);
        }
        Ok(guide)
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<http port>/<name>` of a file of `Options::http_dir`.
    pub fn file_url(&self, name: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.http_port.unwrap_or_default(),
            name.trim_start_matches('/')
        )
    }

    /// Stop the server and wait for it to exit.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Closing stdin makes the script stop its server and exit.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RouteGuide {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Copy the schema into `dir` (for tests that serve it by URL or name it by path).
pub fn copy_proto(dir: &Path) -> std::io::Result<PathBuf> {
    let to = dir.join("route_guide.proto");
    std::fs::copy(RouteGuide::proto_path(), &to)?;
    Ok(to)
}
