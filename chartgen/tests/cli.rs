//! The `chartgen` command line beside real Helm v4: `--debug` on a render error prints what
//! was rendered, as `helm template --debug` does; `--output-dir` writes what Helm writes;
//! `--helm-version` refuses unknown versions.

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

/// An unknown `--helm-version` is refused with one line naming the supported ones, exit 1,
/// and nothing on stdout.
#[test]
fn unknown_helm_version_lists_the_supported_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    chart(
        dir.path(),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("templates/a.yaml", "a: 1\n"),
        ],
    );
    let c = dir.path().display().to_string();
    let ours = Path::new(env!("CARGO_BIN_EXE_chartgen"));
    let (rc, out, err) = run(ours, &["template", "--helm-version", "4.2", &c]);
    assert_eq!(rc, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "Error: --helm-version: unknown Helm version \"4.2\": supported are 4.3 (v4.3.2), 4.1 (v4.1.4), 3.21 (v3.21.4), 3.11 (v3.11.1)\n"
    );
    let (rc, _, _) = run(ours, &["template", "--helm-version", "v4.1.4", &c]);
    assert_eq!(rc, 0, "full version names are accepted");
}

/// `--output-dir` (with and without `--release-name`) writes the same files with the same
/// bytes as Helm v4.1.4, and prints the same `wrote <path>` lines.
#[test]
fn output_dir_writes_what_helm_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = dir.path().join("c");
    chart(
        &c,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("templates/a.yaml", "a: 1\n---\nb: 2\n"),
            ("templates/sub/c.yaml", "kind: ConfigMap\nc: 3\n"),
            (
                "templates/hook.yaml",
                "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            ("crds/crd.yaml", "kind: CustomResourceDefinition\n"),
        ],
    );
    let c = c.display().to_string();
    let ours = Path::new(env!("CARGO_BIN_EXE_chartgen"));
    for extra in [&[][..], &["--release-name"][..], &["--include-crds"][..]] {
        let (h_out, o_out) = (dir.path().join("helm-out"), dir.path().join("our-out"));
        let _ = std::fs::remove_dir_all(&h_out);
        let _ = std::fs::remove_dir_all(&o_out);
        let mut h_args = vec!["template", "rel", c.as_str(), "--output-dir"];
        let hs = h_out.display().to_string();
        h_args.push(&hs);
        h_args.extend_from_slice(extra);
        let mut o_args = vec![
            "template",
            "--helm-version",
            "4.1",
            "rel",
            c.as_str(),
            "--output-dir",
        ];
        let os = o_out.display().to_string();
        o_args.push(&os);
        o_args.extend_from_slice(extra);
        let (hrc, hstdout, herr) = run(&helm(), &h_args);
        let (orc, ostdout, oerr) = run(ours, &o_args);
        assert_eq!((hrc, orc), (0, 0), "helm: {herr}\nchartgen: {oerr}");
        assert_eq!(
            ostdout.replace(&os, "OUT"),
            hstdout.replace(&hs, "OUT"),
            "flags {extra:?}"
        );
        let files = |root: &Path| -> Vec<(String, String)> {
            let mut v = Vec::new();
            let mut stack = vec![root.to_path_buf()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).expect("readdir") {
                    let p = e.expect("entry").path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        let rel = p
                            .strip_prefix(root)
                            .expect("under root")
                            .display()
                            .to_string();
                        v.push((rel, std::fs::read_to_string(&p).expect("read")));
                    }
                }
            }
            v.sort();
            v
        };
        let written = files(&o_out);
        assert!(written.len() >= 3, "{written:?}");
        assert_eq!(written, files(&h_out), "flags {extra:?}");
    }
}
