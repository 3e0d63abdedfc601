//! Helm's files on the user's machine: `repositories.yaml` (repositories added with `repo
//! add`), the repository cache (`<name>-index.yaml`, `<name>-charts.txt`), and registry
//! credentials (Helm's `registry/config.json`, then Docker's `config.json` with its
//! credential helpers). Locations follow Helm's variables: `HELM_REPOSITORY_CONFIG`,
//! `HELM_REPOSITORY_CACHE`, `HELM_REGISTRY_CONFIG`, `HELM_CONFIG_HOME`, `HELM_CACHE_HOME`,
//! `XDG_CONFIG_HOME`, `XDG_CACHE_HOME`, `DOCKER_CONFIG`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::{Options, SourceError};
use crate::value::{Map, Value};

/// Where Helm keeps its files.
#[derive(Debug, Clone)]
pub struct HelmEnv {
    /// `repositories.yaml`.
    pub repository_config: PathBuf,
    /// Directory of cached indexes.
    pub repository_cache: PathBuf,
    /// Helm's registry credentials (`config.json`, Docker's format).
    pub registry_config: PathBuf,
}

fn var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    var("HOME").unwrap_or_else(|| PathBuf::from("/"))
}

impl HelmEnv {
    /// Helm's defaults under the current environment.
    pub fn from_env() -> HelmEnv {
        let config = var("HELM_CONFIG_HOME").unwrap_or_else(|| {
            var("XDG_CONFIG_HOME")
                .unwrap_or_else(|| home().join(".config"))
                .join("helm")
        });
        let cache = var("HELM_CACHE_HOME").unwrap_or_else(|| {
            var("XDG_CACHE_HOME")
                .unwrap_or_else(|| home().join(".cache"))
                .join("helm")
        });
        HelmEnv {
            repository_config: var("HELM_REPOSITORY_CONFIG")
                .unwrap_or_else(|| config.join("repositories.yaml")),
            repository_cache: var("HELM_REPOSITORY_CACHE")
                .unwrap_or_else(|| cache.join("repository")),
            registry_config: var("HELM_REGISTRY_CONFIG")
                .unwrap_or_else(|| config.join("registry").join("config.json")),
        }
    }

    /// The entries of `repositories.yaml` (none when the file does not exist).
    pub fn repositories(&self) -> Result<Vec<RepoEntry>, SourceError> {
        let path = &self.repository_config;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(SourceError::io(path, e)),
        };
        let bad = |m: String| SourceError::msg(format!("{}: {m}", path.display()));
        let v = crate::yaml::parse_values(&text).map_err(|e| bad(e.to_string()))?;
        let Value::Map(m) = v else {
            return Err(bad("not a repositories file".into()));
        };
        let m = m.borrow();
        let mut out = Vec::new();
        if let Some(Value::List(l)) = m.get("repositories") {
            for item in &l.items {
                let Value::Map(e) = item else {
                    return Err(bad("repositories holds a non-map entry".into()));
                };
                out.push(RepoEntry::from_map(&e.borrow()));
            }
        }
        Ok(out)
    }

    /// The repository called `name`, or Helm's error when there is none.
    pub fn repository(&self, name: &str) -> Result<RepoEntry, SourceError> {
        self.repositories()?
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| SourceError::msg(format!("repo {name} not found")))
    }

    /// Write `repositories.yaml` (through a temporary file, so it is never half-written).
    pub fn save_repositories(&self, repos: &[RepoEntry]) -> Result<(), SourceError> {
        let mut top = Map::new();
        top.insert("apiVersion".into(), Value::str(""));
        top.insert("generated".into(), Value::str("0001-01-01T00:00:00Z"));
        top.insert(
            "repositories".into(),
            Value::list(repos.iter().map(RepoEntry::to_value).collect()),
        );
        let text = crate::yaml::to_yaml(&Value::map(top)).map_err(SourceError::msg)?;
        write_atomic(&self.repository_config, text.as_bytes())
    }

    /// Path of a repository's cached index.
    pub fn cached_index(&self, name: &str) -> PathBuf {
        self.repository_cache.join(format!("{name}-index.yaml"))
    }

    /// Path of a repository's cached chart list.
    pub fn cached_charts(&self, name: &str) -> PathBuf {
        self.repository_cache.join(format!("{name}-charts.txt"))
    }
}

/// One repository of `repositories.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoEntry {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Basic auth user.
    pub username: String,
    /// Basic auth password.
    pub password: String,
    /// Client certificate.
    pub cert_file: String,
    /// Client key.
    pub key_file: String,
    /// CA bundle.
    pub ca_file: String,
    /// Skip TLS verification.
    pub insecure_skip_tls_verify: bool,
    /// Send credentials to every host.
    pub pass_credentials_all: bool,
}

impl RepoEntry {
    fn from_map(m: &Map) -> RepoEntry {
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let b = |k: &str| matches!(m.get(k), Some(Value::Bool(true)));
        RepoEntry {
            name: s("name"),
            url: s("url"),
            username: s("username"),
            password: s("password"),
            cert_file: s("certFile"),
            key_file: s("keyFile"),
            ca_file: s("caFile"),
            insecure_skip_tls_verify: b("insecure_skip_tls_verify"),
            pass_credentials_all: b("pass_credentials_all"),
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("caFile".into(), Value::str(self.ca_file.as_str()));
        m.insert("certFile".into(), Value::str(self.cert_file.as_str()));
        m.insert(
            "insecure_skip_tls_verify".into(),
            Value::Bool(self.insecure_skip_tls_verify),
        );
        m.insert("keyFile".into(), Value::str(self.key_file.as_str()));
        m.insert("name".into(), Value::str(self.name.as_str()));
        m.insert(
            "pass_credentials_all".into(),
            Value::Bool(self.pass_credentials_all),
        );
        m.insert("password".into(), Value::str(self.password.as_str()));
        m.insert("url".into(), Value::str(self.url.as_str()));
        m.insert("username".into(), Value::str(self.username.as_str()));
        Value::map(m)
    }

    /// The entry's connection settings, with flags given on the command line taking
    /// precedence.
    pub fn merge_into(&self, opts: &Options) -> Options {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut o = opts.clone();
        o.username = o.username.or_else(|| some(&self.username));
        o.password = o.password.or_else(|| some(&self.password));
        o.ca_file = o.ca_file.or_else(|| some(&self.ca_file).map(PathBuf::from));
        o.cert_file = o
            .cert_file
            .or_else(|| some(&self.cert_file).map(PathBuf::from));
        o.key_file = o
            .key_file
            .or_else(|| some(&self.key_file).map(PathBuf::from));
        o.insecure_skip_tls_verify |= self.insecure_skip_tls_verify;
        o.pass_credentials |= self.pass_credentials_all;
        o
    }
}

/// Write `data` to `path` through a temporary file in the same directory (created if
/// missing); the file is private (0600) as Helm's are.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), SourceError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| SourceError::io(dir, e))?;
    let mut tmp = tempfile_in(dir)?;
    let res = tmp
        .1
        .write_all(data)
        .and_then(|_| tmp.1.sync_all())
        .and_then(|_| std::fs::rename(&tmp.0, path));
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp.0);
        SourceError::io(path, e)
    })
}

fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File), SourceError> {
    use std::os::unix::fs::OpenOptionsExt;
    for n in 0..100u32 {
        let p = dir.join(format!(".chartgen-{}-{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SourceError::io(&p, e)),
        }
    }
    Err(SourceError::msg(format!(
        "cannot create a temporary file in {}",
        dir.display()
    )))
}

/// Registry credentials: user name and password (or identity token as password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, SourceError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| SourceError::msg(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SourceError::io(path, e)),
    }
}

/// Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
pub fn docker_config() -> PathBuf {
    var("DOCKER_CONFIG")
        .unwrap_or_else(|| home().join(".docker"))
        .join("config.json")
}

/// Credentials for `host` from one Docker-format config file: `credHelpers[host]`, else an
/// `auths` entry, else `credsStore`.
pub fn credentials_in(path: &Path, host: &str) -> Result<Option<Credentials>, SourceError> {
    let Some(cfg) = read_json(path)? else {
        return Ok(None);
    };
    if let Some(helper) = cfg
        .get("credHelpers")
        .and_then(|h| h.get(host))
        .and_then(|h| h.as_str())
    {
        return helper_get(helper, host);
    }
    let auths = cfg.get("auths").and_then(|a| a.as_object());
    let entry = auths.and_then(|a| {
        a.get(host).or_else(|| {
            a.iter()
                .find(|(k, _)| strip_scheme(k) == host)
                .map(|(_, v)| v)
        })
    });
    if let Some(e) = entry {
        if let Some(auth) = e.get("auth").and_then(|a| a.as_str())
            && !auth.is_empty()
        {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth)
                .map_err(|_| {
                    SourceError::msg(format!("{}: bad auth for {host}", path.display()))
                })?;
            let text = String::from_utf8_lossy(&raw);
            let (u, p) = text.split_once(':').ok_or_else(|| {
                SourceError::msg(format!("{}: bad auth for {host}", path.display()))
            })?;
            return Ok(Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
        if let Some(tok) = e.get("identitytoken").and_then(|t| t.as_str()) {
            return Ok(Some(Credentials {
                username: "<token>".into(),
                password: tok.to_string(),
            }));
        }
    }
    if let Some(store) = cfg.get("credsStore").and_then(|s| s.as_str())
        && !store.is_empty()
    {
        return helper_get(store, host);
    }
    Ok(None)
}

fn strip_scheme(k: &str) -> &str {
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    k.split('/').next().unwrap_or(k)
}

/// Ask `docker-credential-<helper> get` for `host`'s credentials.
fn helper_get(helper: &str, host: &str) -> Result<Option<Credentials>, SourceError> {
    let prog = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&prog)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| SourceError::msg(format!("credential helper {prog}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| SourceError::msg(format!("credential helper {prog}: {e}")))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(SourceError::msg(format!(
            "credential helper {prog} failed for {host}: {}",
            text.trim()
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| SourceError::msg(format!("credential helper {prog}: {e}")))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    Ok(Some(Credentials {
        username: s("Username"),
        password: s("Secret"),
    }))
}

impl HelmEnv {
    /// Credentials for a registry host: Helm's registry config first, then Docker's.
    pub fn registry_credentials(&self, host: &str) -> Result<Option<Credentials>, SourceError> {
        if let Some(c) = credentials_in(&self.registry_config, host)? {
            return Ok(Some(c));
        }
        credentials_in(&docker_config(), host)
    }

    /// Store `host`'s credentials in Helm's registry config (`registry login`).
    pub fn store_registry_credentials(
        &self,
        host: &str,
        creds: &Credentials,
    ) -> Result<(), SourceError> {
        let path = &self.registry_config;
        let mut cfg = read_json(path)?.unwrap_or_else(|| serde_json::json!({}));
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", creds.username, creds.password));
        let obj = cfg
            .as_object_mut()
            .ok_or_else(|| SourceError::msg(format!("{}: not a JSON object", path.display())))?;
        let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
        let auths = auths.as_object_mut().ok_or_else(|| {
            SourceError::msg(format!("{}: auths is not an object", path.display()))
        })?;
        auths.insert(host.to_string(), serde_json::json!({ "auth": auth }));
        let text = serde_json::to_vec_pretty(&cfg).map_err(|e| SourceError::msg(e.to_string()))?;
        write_atomic(path, &text)
    }

    /// Remove `host`'s credentials (`registry logout`); false when there were none.
    pub fn remove_registry_credentials(&self, host: &str) -> Result<bool, SourceError> {
        let path = &self.registry_config;
        let Some(mut cfg) = read_json(path)? else {
            return Ok(false);
        };
        let removed = cfg
            .get_mut("auths")
            .and_then(|a| a.as_object_mut())
            .and_then(|a| a.remove(host))
            .is_some();
        if removed {
            let text =
                serde_json::to_vec_pretty(&cfg).map_err(|e| SourceError::msg(e.to_string()))?;
            write_atomic(path, &text)?;
        }
        Ok(removed)
    }
}
