//! The `chartgen` command line beside real Helm v4: `--debug` on a render error prints what
//! was rendered, as `helm template --debug` does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn helm() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/helm");
    assert!(
        p.exists(),
        "{} missing\nhint: run tools/fetch-helm.sh",
        p.display()
    );
    p
}

fn run(bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin).args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The documents of a `---`-separated stream, trimmed and sorted (Helm prints its debug
/// blob in Go map order, which is random).
fn docs(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split("---\n")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    v.sort();
    v
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().to_string()
}

fn chart(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// Invalid YAML in one template: without --debug the hint, with --debug every rendered file
/// on stdout and the error without the hint; exit 1 both ways, as Helm.
#[test]
fn debug_prints_rendered_files_on_yaml_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let c = tmp.path().join("dbg");
    chart(
        &c,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: dbg\nversion: 1.0.0\n"),
            (
                "templates/a.yaml",
                "kind: ConfigMap\nmetadata:\n  name: a\n",
            ),
            ("templates/b.yaml", "kind: ConfigMap\ndata:\n  x: [1\n"),
            ("templates/_h.tpl", "{{ define \"x\" }}y{{ end }}\n"),
            ("templates/empty.yaml", "\n"),
        ],
    );
    let c = c.to_str().expect("utf8");
    let ours = Path::new(env!("CARGO_BIN_EXE_chartgen"));
    for debug in [false, true] {
        let mut args = vec!["template", c];
        if debug {
            args.push("--debug");
        }
        let (hrc, hout, herr) = run(&helm(), &args);
        let (rc, out, err) = run(ours, &args);
        assert_eq!((rc, hrc), (1, 1));
        assert_eq!(docs(&out), docs(&hout), "debug={debug}");
        assert_eq!(last_line(&err), last_line(&herr), "debug={debug}");
        if debug {
            assert_eq!(docs(&out).len(), 2, "{out}");
            assert!(
                err.starts_with("Error: YAML parse error on dbg/templates/b.yaml"),
                "{err}"
            );
        } else {
            assert!(out.is_empty(), "{out}");
            assert_eq!(
                last_line(&err),
                "Use --debug flag to render out invalid YAML"
            );
        }
    }
}

/// A failing template with --debug: an empty line on stdout and the error, as Helm.
#[test]
fn debug_on_execution_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let c = tmp.path().join("boom");
    chart(
        &c,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: boom\nversion: 1.0.0\n"),
            ("templates/a.yaml", "{{ fail \"boom\" }}\n"),
        ],
    );
    let c = c.to_str().expect("utf8");
    let args = ["template", c, "--debug"];
    let (hrc, hout, herr) = run(&helm(), &args);
    let (rc, out, err) = run(Path::new(env!("CARGO_BIN_EXE_chartgen")), &args);
    assert_eq!((rc, out.as_str()), (hrc, hout.as_str()));
    assert_eq!(last_line(&err), last_line(&herr));
    assert_eq!(
        err,
        "Error: execution error at (boom/templates/a.yaml:1:3): boom\n"
    );
}
