//! Chart repositories and registries for tests, on loopback: Debian's `docker-registry`
//! (distribution) with TLS from a fresh test CA and htpasswd auth, or plain HTTP; nginx
//! serving a directory as a chart repository, plainly or over TLS with basic auth. Each
//! server is a child process stopped when its handle drops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::servers::Proc;

/// User name the secure servers accept.
pub const USER: &str = "chartuser";
/// Its password.
pub const PASS: &str = "s3cret-pass";

pub use crate::servers::{free_port, system};

/// A test CA and a server certificate for 127.0.0.1 signed by it (PEM files in `dir`).
pub struct Tls {
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
}

pub fn tls(dir: &Path) -> Tls {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "chartgen test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("params");
    let cert = params.signed_by(&key, &ca).expect("sign");
    let t = Tls {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&t.ca, ca.pem()).expect("write");
    std::fs::write(&t.cert, cert.pem()).expect("write");
    std::fs::write(&t.key, key.serialize_pem()).expect("write");
    t
}

fn htpasswd(dir: &Path) -> PathBuf {
    let out = Command::new(system("htpasswd"))
        .args(["-Bbn", USER, PASS])
        .output()
        .expect("htpasswd");
    assert!(out.status.success(), "htpasswd failed");
    let p = dir.join("htpasswd");
    std::fs::write(&p, &out.stdout).expect("write");
    p
}

/// A running `docker-registry`.
pub struct Registry {
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// The TLS material, for the secure registry.
    pub tls: Option<Tls>,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Plain HTTP, no auth.
    pub fn plain() -> Registry {
        Registry::start(false)
    }

    /// TLS (test CA) and htpasswd auth.
    pub fn secure() -> Registry {
        Registry::start(true)
    }

    fn start(secure: bool) -> Registry {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        let t = secure.then(|| tls(dir.path()));
        if let Some(t) = &t {
            let pw = htpasswd(dir.path());
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                t.cert.display(),
                t.key.display(),
                pw.display()
            ));
        }
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).expect("write");
        let mut proc = Proc::spawn(
            Command::new(system("docker-registry"))
                .arg("serve")
                .arg(&cfg_path)
                .stderr(Stdio::null()),
            "docker-registry",
        );
        proc.wait_listening("docker-registry", &[port], None);
        Registry {
            host: format!("127.0.0.1:{port}"),
            tls: t,
            _proc: proc,
            _dir: dir,
        }
    }

    /// Flags both Helm and chartgen take to reach this registry.
    pub fn flags(&self) -> Vec<String> {
        match &self.tls {
            Some(t) => vec!["--ca-file".into(), t.ca.display().to_string()],
            None => vec!["--plain-http".into()],
        }
    }

    /// How `program` reaches this registry: Helm v3.11 has neither `--ca-file` nor
    /// `--plain-http` for registries and speaks plain HTTP to 127.0.0.1 (containerd's
    /// localhost rule), so it only reaches the plain registry, without flags.
    pub fn reach(&self, c: &mut Command, program: &Path) {
        if program.ends_with("helm3") {
            assert!(self.tls.is_none(), "helm3 reaches only the plain registry");
        } else {
            c.args(self.flags());
        }
    }
}

/// nginx serving `dir` as a chart repository (optionally over TLS with basic auth).
pub struct Nginx {
    /// `http(s)://127.0.0.1:<port>`.
    pub url: String,
    /// The TLS material, for the secure server.
    pub tls: Option<Tls>,
    _server: crate::servers::Nginx,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Serve `serve`; `secure`: TLS and basic auth.
    pub fn start(serve: &Path, secure: bool) -> Nginx {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let t = secure.then(|| tls(dir.path()));
        let (listen, extra) = match &t {
            Some(t) => (
                format!("127.0.0.1:{port} ssl"),
                format!(
                    "ssl_certificate {};\n ssl_certificate_key {};\n auth_basic \"charts\";\n auth_basic_user_file {};\n",
                    t.cert.display(),
                    t.key.display(),
                    htpasswd(dir.path()).display()
                ),
            ),
            None => (format!("127.0.0.1:{port}"), String::new()),
        };
        let http = format!(
            "access_log off;\n server {{\n listen {listen};\n {extra} root {};\n }}",
            serve.display()
        );
        let server = crate::servers::Nginx::start(&http, &[port], &[]);
        let scheme = if secure { "https" } else { "http" };
        Nginx {
            url: format!("{scheme}://127.0.0.1:{port}"),
            tls: t,
            _server: server,
            _dir: dir,
        }
    }
}
