//! Build script of the `iter8` binary: embeds `charts/iter8` and records the git commit.
//!
//! Generates `$OUT_DIR/embedded_chart.rs` with `CHART_FILES: &[(&str, &[u8])]`, one entry per file
//! of `charts/iter8` (paths relative to the chart root, `/`-separated, sorted). When the chart
//! directory is absent the list is empty and `iter8 launch` says so at run time.

use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let chart = root.join("charts").join("iter8");
    println!("cargo:rerun-if-changed=charts");
    println!("cargo:rerun-if-changed=build.rs");

    let mut files = Vec::new();
    if chart.is_dir() {
        collect(&chart, &chart, &mut files);
    }
    files.sort();
    let mut out =
        String::from("/// Files of the embedded `charts/iter8`, relative to the chart root.\n");
    out.push_str("pub static CHART_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        out.push_str(&format!("    ({rel:?}, include_bytes!({abs:?})),\n"));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("embedded_chart.rs"), out).expect("write embedded_chart.rs");

    // Git commit for `iter8 version`; empty outside a git checkout.
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=ITER8_GIT_COMMIT={commit}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=ITER8_RUSTC_VERSION={rustc_version}");
    if root.join(".git/HEAD").is_file() {
        // Rebuild when HEAD moves (worktrees have a .git file instead and keep the old commit).
        println!("cargo:rerun-if-changed=.git/HEAD");
    }
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out);
        } else if path.is_file() {
            let rel = path
                .strip_prefix(base)
                .expect("walked path is under the chart root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path.to_string_lossy().into_owned()));
        }
    }
}
