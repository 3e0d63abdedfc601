//! The runner image built by `tools/build-image.sh`, inspected with the real `skopeo`: what
//! the image declares (user, entrypoint, labels), what its one layer holds, its size, and that
//! building it twice gives the same digest.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The image's compressed size limit (bytes).
const MAX_COMPRESSED: u64 = 20 * 1000 * 1000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs tools/build-image.sh --out <out> and returns the layout path it prints.
fn build(out: &Path) -> PathBuf {
    let res = Command::new("bash")
        .arg(repo().join("tools/build-image.sh"))
        .arg("--out")
        .arg(out)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run tools/build-image.sh");
    assert!(
        res.status.success(),
        "tools/build-image.sh failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let printed = String::from_utf8_lossy(&res.stdout).trim().to_string();
    PathBuf::from(printed)
}

fn skopeo_json(args: &[&str]) -> Value {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("run skopeo (Debian package skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("skopeo prints JSON")
}

fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The image runs `iter8` as a non-root numeric user, carries the OCI source/version/revision
/// labels, holds exactly the binary and two directories (no shell), stays under 20 MB
/// compressed, and a second build of the same commit has the same manifest digest.
#[test]
fn runner_image_is_minimal_labelled_and_reproducible() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = build(&tmp.path().join("a"));
    let second = build(&tmp.path().join("b"));
    assert_eq!(first, tmp.path().join("a"));
    let a = format!("oci:{}", first.display());
    let b = format!("oci:{}", second.display());

    // Reproducible: the same commit gives the same digest.
    let ia = skopeo_json(&["inspect", &a]);
    let ib = skopeo_json(&["inspect", &b]);
    assert_eq!(ia["Digest"], ib["Digest"], "two builds differ");
    let digest = ia["Digest"].as_str().expect("Digest");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    // User, entrypoint, environment, labels.
    let cfg = skopeo_json(&["inspect", "--config", &a]);
    let c = &cfg["config"];
    let user = c["User"].as_str().expect("User");
    let uid: u32 = user
        .split(':')
        .next()
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("User {user:?} is not numeric"));
    assert_ne!(uid, 0, "the image runs as root");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/local/bin/iter8"]));
    assert!(
        c["Env"]
            .as_array()
            .expect("Env")
            .iter()
            .any(|e| e == "PATH=/usr/local/bin"),
        "the chart's `command: [iter8, ...]` needs iter8 on PATH"
    );
    let labels = &c["Labels"];
    let head = git(&["rev-parse", "HEAD"]);
    let revision = labels["org.opencontainers.image.revision"]
        .as_str()
        .expect("revision label");
    assert!(revision.starts_with(&head), "{revision} vs HEAD {head}");
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
    let version = cargo
        .lines()
        .skip_while(|l| *l != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = "))
        .expect("workspace version")
        .trim_matches('"');
    assert_eq!(labels["org.opencontainers.image.version"], version);
    assert!(
        labels["org.opencontainers.image.source"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://")),
        "{labels}"
    );
    // The image's time is the commit's, not the build's.
    let commit_time: i64 = git(&["log", "-1", "--format=%ct"]).parse().expect("ct");
    let created = cfg["created"].as_str().expect("created");
    let expected = chrono::DateTime::from_timestamp(commit_time, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(created, expected);

    // One layer, under the size limit; its entries are the binary and its directories only.
    let manifest = skopeo_json(&["inspect", "--raw", &a]);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    let size = layers[0]["size"].as_u64().expect("size");
    assert!(size <= MAX_COMPRESSED, "layer is {size} bytes compressed");
    let layer_digest = layers[0]["digest"].as_str().expect("digest");
    let blob = first
        .join("blobs/sha256")
        .join(layer_digest.trim_start_matches("sha256:"));
    let gz = std::fs::File::open(&blob).expect("layer blob");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut names = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let h = entry.header();
        let name = entry.path().expect("path").display().to_string();
        assert_eq!(
            h.mtime().expect("mtime") as i64,
            commit_time,
            "{name}: mtime"
        );
        if name == "usr/local/bin/iter8" {
            assert_eq!(h.mode().expect("mode") & 0o7777, 0o755);
            assert_eq!((h.uid().expect("uid"), h.gid().expect("gid")), (0, 0));
            let mut elf = [0u8; 4];
            entry.read_exact(&mut elf).expect("read binary");
            assert_eq!(&elf, b"\x7fELF");
        }
        names.push(name);
    }
    assert_eq!(
        names,
        [
            "home/",
            "home/iter8/",
            "tmp/",
            "usr/",
            "usr/local/",
            "usr/local/bin/",
            "usr/local/bin/iter8"
        ]
    );
}
