//! Charts in OCI registries, as Helm stores them: a manifest whose config has Helm's config
//! media type and whose layers are the chart archive (and optionally its provenance).
//! Versions are tags (`+` stored as `_`), chosen by exact version or Masterminds range;
//! `@sha256:` pins the manifest. Credentials come from the flags, Helm's registry config or
//! Docker's config (with credential helpers); `--plain-http`, a custom CA and skip-verify
//! are honoured.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::helm_env::{Credentials, HelmEnv};
use super::{Fetched, Options, SourceError, block_on, check_archive, sha256_digest, version};

/// Helm's media type of the chart manifest's config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's media type of the chart archive layer.
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's media type of the provenance layer.
pub const PROV_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The chart layer media type of Helm's first OCI releases.
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Largest manifest or config accepted (Helm's charts are far below this).
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// An `oci://` reference taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host[:port]`.
    pub registry: String,
    /// Repository path (ends with the chart name).
    pub repository: String,
    /// Tag as written (with `+` mapped to `_`), if any.
    pub tag: Option<String>,
    /// `sha256:...`, if pinned.
    pub digest: Option<String>,
}

impl OciRef {
    /// Parse `oci://host/path/name[:tag][@sha256:hex]`.
    pub fn parse(reference: &str) -> Result<OciRef, SourceError> {
        let bad = |m: &str| SourceError::msg(format!("invalid reference {reference:?}: {m}"));
        let raw = reference.strip_prefix("oci://").unwrap_or(reference);
        let (rest, digest) = match raw.rsplit_once('@') {
            Some((r, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| bad("digest must be sha256:<hex>"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("digest must be sha256: and 64 hex digits"));
                }
                (r, Some(d.to_ascii_lowercase()))
            }
            None => (raw, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("missing repository"))?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(version::to_tag(t))),
            _ => (path, None),
        };
        if registry.is_empty() || repository.is_empty() || tag.as_deref() == Some("") {
            return Err(bad("expected oci://host/repository/name[:tag]"));
        }
        Ok(OciRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The chart name (last path element).
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    fn with_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.registry.clone(),
            self.repository.clone(),
            tag.to_string(),
        )
    }

    fn with_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.registry.clone(),
            self.repository.clone(),
            digest.to_string(),
        )
    }

    fn display(&self, tag: &str) -> String {
        format!("{}/{}:{tag}", self.registry, self.repository)
    }
}

fn client(opts: &Options) -> Result<Client, SourceError> {
    super::crypto();
    let mut cfg = ClientConfig {
        protocol: if opts.plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        accept_invalid_certificates: opts.insecure_skip_tls_verify,
        ..Default::default()
    };
    for der in super::fallback_roots() {
        cfg.extra_root_certificates
            .push(oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Der,
                data: der.to_vec(),
            });
    }
    if let Some(ca) = &opts.ca_file {
        let data = std::fs::read(ca).map_err(|e| SourceError::io(ca, e))?;
        cfg.extra_root_certificates
            .push(oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data,
            });
    }
    if opts.cert_file.is_some() {
        return Err(SourceError::msg(
            "--cert-file/--key-file are not supported for OCI registries yet",
        ));
    }
    Ok(Client::new(cfg))
}

fn auth_for(registry: &str, opts: &Options) -> Result<RegistryAuth, SourceError> {
    if let Some(u) = &opts.username {
        return Ok(RegistryAuth::Basic(
            u.clone(),
            opts.password.clone().unwrap_or_default(),
        ));
    }
    Ok(match HelmEnv::from_env().registry_credentials(registry)? {
        Some(Credentials { username, password }) => RegistryAuth::Basic(username, password),
        None => RegistryAuth::Anonymous,
    })
}

fn oci_err(
    context: String,
) -> impl FnOnce(oci_client::errors::OciDistributionError) -> SourceError {
    move |source| SourceError::Oci { context, source }
}

/// The semver tags of a repository, as versions (`_` read back as `+`), newest first.
pub fn tags(reference: &str, opts: &Options) -> Result<Vec<String>, SourceError> {
    let r = OciRef::parse(reference)?;
    let c = client(opts)?;
    let auth = auth_for(&r.registry, opts)?;
    block_on(list_versions(&c, &r, &auth))?
}

async fn list_versions(
    c: &Client,
    r: &OciRef,
    auth: &RegistryAuth,
) -> Result<Vec<String>, SourceError> {
    let image = r.with_tag("latest");
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    // The registry pages its answer; a bounded number of pages keeps a hostile registry from
    // looping us forever.
    for _ in 0..100 {
        let page = c
            .list_tags(&image, auth, Some(1000), last.as_deref())
            .await
            .map_err(oci_err(format!(
                "listing tags of {}/{}",
                r.registry, r.repository
            )))?;
        let n = page.tags.len();
        last = page.tags.last().cloned();
        out.extend(page.tags.iter().filter_map(|t| version::from_tag(t)));
        if n < 1000 {
            break;
        }
    }
    Ok(out)
}

/// Pull the chart `reference` names (at `opts.version`, if given).
pub fn pull(reference: &str, opts: &Options) -> Result<Fetched, SourceError> {
    let r = OciRef::parse(reference)?;
    let c = client(opts)?;
    let auth = auth_for(&r.registry, opts)?;
    block_on(pull_async(&c, &r, reference, &auth, opts))?
}

async fn pull_async(
    c: &Client,
    r: &OciRef,
    reference: &str,
    auth: &RegistryAuth,
    opts: &Options,
) -> Result<Fetched, SourceError> {
    let want_tag = if opts.version.is_empty() {
        r.tag.clone().map(|t| t.replace('_', "+"))
    } else {
        if let Some(t) = &r.tag
            && version::to_tag(&opts.version) != *t
        {
            return Err(SourceError::msg(format!(
                "chart reference and version mismatch: {} is not {}",
                opts.version,
                t.replace('_', "+")
            )));
        }
        Some(opts.version.clone())
    };
    // Which manifest: by digest, by exact version, or the newest tag matching a range.
    let (image, shown) = match (&r.digest, &want_tag) {
        (Some(d), Some(v)) => {
            // Like Helm: the tag, when it exists, must point at the pinned digest.
            let tagged = r.with_tag(&version::to_tag(v));
            if let Ok(found) = c.fetch_manifest_digest(&tagged, auth).await
                && found != *d
            {
                return Err(SourceError::msg(format!(
                    "chart reference digest mismatch: {found} is not {d}"
                )));
            }
            (
                r.with_digest(d),
                format!("{}@{d}", r.display(&version::to_tag(v))),
            )
        }
        (Some(d), None) => (
            r.with_digest(d),
            format!("{}/{}@{d}", r.registry, r.repository),
        ),
        (None, Some(v)) if version::is_exact(v) => {
            let tag = version::to_tag(v);
            (r.with_tag(&tag), r.display(&tag))
        }
        (None, want) => {
            let want = want.clone().unwrap_or_default();
            let versions = list_versions(c, r, auth).await?;
            if versions.is_empty() {
                return Err(SourceError::msg(format!(
                    "unable to locate any tags in provided repository: {reference}"
                )));
            }
            let v = version::select(&versions, &want)
                .ok()
                .flatten()
                .ok_or_else(|| {
                    SourceError::msg(format!(
                        "could not locate a version matching provided version string {want}"
                    ))
                })?;
            let tag = version::to_tag(&v);
            (r.with_tag(&tag), r.display(&tag))
        }
    };
    let (raw, manifest_digest) = c
        .pull_manifest_raw(&image, auth, &[MANIFEST_MEDIA_TYPE])
        .await
        .map_err(oci_err(format!("failed to pull {shown}")))?;
    // The manifest's own bytes decide its digest, whatever the registry claims.
    let actual = sha256_digest(&raw);
    let expected = r.digest.clone().unwrap_or(manifest_digest);
    if actual != expected {
        return Err(SourceError::Digest {
            what: shown,
            expected,
            actual,
        });
    }
    let layer = chart_layer(&raw, &shown)?;
    let mut archive = Vec::new();
    c.pull_blob(&image, &layer, &mut archive)
        .await
        .map_err(oci_err(format!(
            "unable to retrieve blob with digest {}",
            layer.digest
        )))?;
    let digest = sha256_digest(&archive);
    if digest != layer.digest {
        return Err(SourceError::Digest {
            what: shown,
            expected: layer.digest.clone(),
            actual: digest,
        });
    }
    let (name, version) = check_archive(&archive, &shown)?;
    Ok(Fetched {
        name,
        version,
        archive,
        digest,
        manifest_digest: Some(actual),
        origin: shown,
    })
}

/// The chart layer of a Helm chart manifest; any other shape is refused.
fn chart_layer(
    raw: &[u8],
    shown: &str,
) -> Result<oci_client::manifest::OciDescriptor, SourceError> {
    let bad = |m: String| SourceError::msg(format!("{shown}: {m}"));
    if raw.len() > MAX_MANIFEST {
        return Err(bad("manifest is larger than 4 MiB".into()));
    }
    let m: oci_client::manifest::OciImageManifest =
        serde_json::from_slice(raw).map_err(|e| bad(format!("invalid manifest: {e}")))?;
    if m.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(bad(format!(
            "could not load config with mediatype {CONFIG_MEDIA_TYPE} (manifest has {})",
            m.config.media_type
        )));
    }
    let mut chart = None;
    for l in &m.layers {
        match l.media_type.as_str() {
            CHART_LAYER_MEDIA_TYPE | LEGACY_CHART_LAYER_MEDIA_TYPE if chart.is_none() => {
                chart = Some(l.clone())
            }
            PROV_LAYER_MEDIA_TYPE => {}
            other => {
                return Err(bad(format!(
                    "manifest has a layer of unexpected media type {other}"
                )));
            }
        }
    }
    let layer = chart.ok_or_else(|| {
        bad(format!(
            "manifest does not contain a layer with mediatype {CHART_LAYER_MEDIA_TYPE}"
        ))
    })?;
    if layer.size < 0 || layer.size as u64 > crate::chart::MAX_CHART_SIZE {
        return Err(bad(format!(
            "chart layer size {} is out of range",
            layer.size
        )));
    }
    Ok(layer)
}

/// What a push produced.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `host/repo/name:tag`.
    pub reference: String,
    /// Manifest digest.
    pub digest: String,
}

/// Push a chart archive to `oci://host/path` as `<path>/<name>:<version>` (Helm's layout).
pub fn push(archive: &[u8], remote: &str, opts: &Options) -> Result<Pushed, SourceError> {
    if !remote.starts_with("oci://") {
        return Err(SourceError::msg(format!(
            "scheme prefix missing from remote (e.g. \"oci://\"): {remote}"
        )));
    }
    let chart = crate::chart::load_archive(archive).map_err(|source| SourceError::Archive {
        origin: "chart archive".into(),
        source,
    })?;
    let md = &chart.metadata;
    let base = remote.trim_end_matches('/');
    let probe = OciRef::parse(&format!("{base}/{}", md.name))?;
    if probe.tag.is_some() || probe.digest.is_some() {
        return Err(SourceError::msg(format!(
            "remote {remote} must not contain a tag or digest"
        )));
    }
    let config = crate::yaml::to_json(&md.to_json_value()).map_err(SourceError::msg)?;
    let mut ann = BTreeMap::new();
    ann.insert(
        "org.opencontainers.image.title".to_string(),
        md.name.clone(),
    );
    ann.insert(
        "org.opencontainers.image.version".to_string(),
        md.version.clone(),
    );
    if !md.description.is_empty() {
        ann.insert(
            "org.opencontainers.image.description".to_string(),
            md.description.clone(),
        );
    }
    let layers = vec![ImageLayer::new(
        archive.to_vec(),
        CHART_LAYER_MEDIA_TYPE.to_string(),
        None,
    )];
    let config = Config::new(config.into_bytes(), CONFIG_MEDIA_TYPE.to_string(), None);
    let manifest = oci_client::manifest::OciImageManifest::build(&layers, &config, Some(ann));
    let tag = version::to_tag(&md.version);
    let image = probe.with_tag(&tag);
    let shown = probe.display(&tag);
    let c = client(opts)?;
    let auth = auth_for(&probe.registry, opts)?;
    // The manifest is pushed as these exact bytes, so its digest is known here.
    let manifest_bytes =
        serde_json::to_vec(&manifest).map_err(|e| SourceError::msg(e.to_string()))?;
    let digest = sha256_digest(&manifest_bytes);
    block_on(async {
        c.auth(&image, &auth, RegistryOperation::Push)
            .await
            .map_err(oci_err(format!("authenticating to {:?}", probe.registry)))?;
        let push_err = || oci_err(format!("failed to push {shown}"));
        for (data, d) in [
            (layers[0].data.clone(), &manifest.layers[0].digest),
            (config.data.clone(), &manifest.config.digest),
        ] {
            c.push_blob(&image, data, d).await.map_err(push_err())?;
        }
        let ct = reqwest::header::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
        c.push_manifest_raw(&image, manifest_bytes, ct)
            .await
            .map_err(push_err())
    })??;
    Ok(Pushed {
        reference: shown,
        digest,
    })
}

/// Check credentials against a registry (`registry login`), then store them in Helm's
/// registry config. The registry's `/v2/` endpoint decides: a Basic challenge is answered
/// with the credentials, a Bearer challenge by fetching a token with them.
pub fn login(host: &str, creds: &Credentials, opts: &Options) -> Result<(), SourceError> {
    let scheme = if opts.plain_http { "http" } else { "https" };
    let url = format!("{scheme}://{host}/v2/");
    let http = super::http::client(opts)?;
    let oci = client(opts)?;
    let auth = RegistryAuth::Basic(creds.username.clone(), creds.password.clone());
    let image = Reference::with_tag(host.to_string(), "library/login".into(), "latest".into());
    let context = format!("authenticating to {host:?}");
    block_on(async {
        let fail = |e: reqwest::Error| SourceError::Http {
            context: context.clone(),
            source: e,
        };
        let first = http.get(&url).send().await.map_err(fail)?;
        if first.status().is_success() {
            return Ok(());
        }
        let challenge = first
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if challenge.starts_with("bearer") {
            return oci
                .auth(&image, &auth, RegistryOperation::Pull)
                .await
                .map(|_| ())
                .map_err(oci_err(context.clone()));
        }
        let resp = http
            .get(&url)
            .basic_auth(&creds.username, Some(&creds.password))
            .send()
            .await
            .map_err(fail)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        // The registry's own words, as Helm (oras) prints them: `code: message`.
        let body = resp.bytes().await.unwrap_or_default();
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?;
                let code = e.get("code")?.as_str()?.to_ascii_lowercase();
                let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                Some(format!("{code}: {message}"))
            })
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_ascii_lowercase());
        Err(SourceError::msg(format!(
            "{context}: GET {url:?}: response status code {}: {detail}",
            status.as_u16()
        )))
    })??;
    HelmEnv::from_env().store_registry_credentials(host, creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// References split into registry, repository, tag (with `+` as `_`) and digest.
    #[test]
    fn references() {
        let r = OciRef::parse("oci://127.0.0.1:5000/charts/iter8:1.0.0+b.1").expect("works");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/iter8");
        assert_eq!(r.tag.as_deref(), Some("1.0.0_b.1"));
        assert_eq!(r.name(), "iter8");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = OciRef::parse(&format!("oci://h/x/c@{d}")).expect("works");
        assert_eq!((r.tag, r.digest), (None, Some(d)));
        assert!(OciRef::parse("oci://h").is_err());
        assert!(OciRef::parse("oci://h/c@sha256:12").is_err());
    }

    /// A manifest whose layers are not Helm's media types is refused.
    #[test]
    fn foreign_manifests() {
        let m = |config: &str, layer: &str| {
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"{config}","digest":"sha256:{z}","size":2}},"layers":[{{"mediaType":"{layer}","digest":"sha256:{z}","size":3}}]}}"#,
                z = "0".repeat(64)
            )
        };
        assert!(chart_layer(m(CONFIG_MEDIA_TYPE, CHART_LAYER_MEDIA_TYPE).as_bytes(), "r").is_ok());
        let e = chart_layer(
            m(
                "application/vnd.oci.image.config.v1+json",
                CHART_LAYER_MEDIA_TYPE,
            )
            .as_bytes(),
            "r",
        );
        assert!(
            e.expect_err("fails")
                .to_string()
                .contains("could not load config")
        );
        let e = chart_layer(
            m(CONFIG_MEDIA_TYPE, "application/vnd.oci.image.layer.v1.tar").as_bytes(),
            "r",
        );
        assert!(
            e.expect_err("fails")
                .to_string()
                .contains("unexpected media type")
        );
    }
}
