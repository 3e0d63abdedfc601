//! Where charts come from besides the local disk: HTTP chart repositories (`index.yaml`) and
//! OCI registries, as Helm reaches them (`helm pull`, `helm push`, `helm registry login`,
//! `helm repo add`). The network clients are async (reqwest, oci-client) and stay inside this
//! module: every public call is sync and runs its own single-threaded runtime. The rest of
//! chartgen stays offline.
//!
//! A pulled archive is checked before anyone sees it: its sha256 against the index entry's
//! `digest` or the OCI layer descriptor, an `@sha256:` pin against the manifest, and the
//! archive itself through [`crate::chart::load_archive`] (paths, links, sizes).

pub mod helm_env;
pub mod http;
pub mod oci;
pub mod version;

use sha2::{Digest, Sha256};

/// What a chart reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartRef {
    /// `oci://registry/repo/name[:tag][@sha256:...]`
    Oci(String),
    /// A chart name in the repository at this URL (`--repo URL NAME`).
    RepoUrl {
        /// The repository URL.
        url: String,
        /// The chart name.
        name: String,
    },
    /// `repo/name`: a repository added with `repo add`.
    Named {
        /// The repository's name in repositories.yaml.
        repo: String,
        /// The chart name.
        name: String,
    },
}

impl ChartRef {
    /// Classify `reference` (with the `--repo` flag, if any) as Helm's `LocateChart` does.
    /// Local paths are the caller's business and are not handled here.
    pub fn parse(reference: &str, repo_url: Option<&str>) -> Result<ChartRef, SourceError> {
        if reference.starts_with("oci://") {
            if repo_url.is_some() {
                return Err(SourceError::msg(
                    "--repo cannot be used with an oci:// chart reference",
                ));
            }
            return Ok(ChartRef::Oci(reference.to_string()));
        }
        if let Some(url) = repo_url {
            return Ok(ChartRef::RepoUrl {
                url: url.to_string(),
                name: reference.to_string(),
            });
        }
        match reference.split_once('/') {
            Some((repo, name)) if !repo.is_empty() && !name.is_empty() => Ok(ChartRef::Named {
                repo: repo.to_string(),
                name: name.to_string(),
            }),
            _ => Err(SourceError::msg(format!(
                "non-absolute URLs should be in form of repo_name/path_to_chart, got: {reference}"
            ))),
        }
    }
}

/// How to reach a repository or registry (Helm's flags of the same names).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--version`: exact version or Masterminds constraint; empty: newest stable.
    pub version: String,
    /// `--username`.
    pub username: Option<String>,
    /// `--password`.
    pub password: Option<String>,
    /// `--ca-file`: PEM bundle trusted in addition to the system roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// `--cert-file` (client certificate, PEM).
    pub cert_file: Option<std::path::PathBuf>,
    /// `--key-file` (client key, PEM).
    pub key_file: Option<std::path::PathBuf>,
    /// `--insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// `--plain-http` (OCI only).
    pub plain_http: bool,
    /// `--pass-credentials`: send credentials to chart URLs on another host.
    pub pass_credentials: bool,
}

/// A chart archive fetched and checked.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Chart name.
    pub name: String,
    /// Chart version (with `+` restored for OCI tags).
    pub version: String,
    /// The `.tgz` bytes.
    pub archive: Vec<u8>,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// For OCI: the manifest digest (`sha256:<hex>`), which Helm prints as `Digest:`.
    pub manifest_digest: Option<String>,
    /// Where it came from (the chart URL, or the OCI reference with its tag).
    pub origin: String,
}

/// Why a chart could not be fetched, pushed or a repository not used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A message in Helm's words.
    #[error("{0}")]
    Msg(String),
    /// An HTTP request failed before a response arrived.
    #[error("{context}")]
    Http {
        /// What was being fetched, in Helm's words.
        context: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// A registry operation failed.
    #[error("{context}")]
    Oci {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The downloaded bytes are not what the index or manifest promised.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    Digest {
        /// The chart URL or reference.
        what: String,
        /// The promised digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The archive is not a valid chart.
    #[error("{origin}")]
    Archive {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        #[source]
        source: crate::chart::ChartError,
    },
}

impl SourceError {
    pub(crate) fn msg(m: impl Into<String>) -> SourceError {
        SourceError::Msg(m.into())
    }
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Fetch the chart `reference` names, resolving repositories through Helm's configuration.
pub fn fetch(reference: &ChartRef, opts: &Options) -> Result<Fetched, SourceError> {
    match reference {
        ChartRef::Oci(r) => oci::pull(r, opts),
        ChartRef::RepoUrl { url, name } => http::fetch_chart(url, name, opts),
        ChartRef::Named { repo, name } => {
            let env = helm_env::HelmEnv::from_env();
            let entry = env.repository(repo)?;
            let merged = entry.merge_into(opts);
            // Like Helm: `repo/name` reads the index cached by `repo add` / `repo update`.
            let cached = env.cached_index(repo);
            let data = std::fs::read(&cached).map_err(|e| {
                SourceError::msg(format!(
                    "no cached repo found. (try 'chartgen repo update'): open {}: {e}",
                    cached.display()
                ))
            })?;
            let index = http::parse_index(&data, &cached.display().to_string())?;
            http::fetch_from_index(&index, &entry.url, name, &merged)
        }
    }
}

/// Check an archive is a loadable chart; return its name and version.
pub(crate) fn check_archive(archive: &[u8], origin: &str) -> Result<(String, String), SourceError> {
    let chart = crate::chart::load_archive(archive).map_err(|source| SourceError::Archive {
        origin: origin.to_string(),
        source,
    })?;
    Ok((chart.metadata.name.clone(), chart.metadata.version.clone()))
}

/// reqwest is built without a bundled crypto provider: make ring the process default (as
/// the rest of the workspace uses) before any client is built.
pub(crate) fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Mozilla's root certificates (DER, compiled in by webpki-root-certs) when the system has no
/// CA certificates at all, as in a scratch image like the runner's, where otherwise no client
/// could even be built ("No CA certificates were loaded from the system"); empty where the
/// system has a trust store, which then alone decides.
pub(crate) fn fallback_roots() -> &'static [&'static [u8]] {
    static ROOTS: std::sync::OnceLock<Vec<&'static [u8]>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        if rustls_native_certs::load_native_certs().certs.is_empty() {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| c.as_ref())
                .collect()
        } else {
            Vec::new()
        }
    })
}

/// Run `fut` to completion on a fresh single-threaded runtime.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, SourceError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceError::msg(format!("cannot start the network runtime: {e}")))?;
    Ok(rt.block_on(fut))
}
