//! The chart repository in `hub/`: it holds exactly what packaging `charts/` gives, its
//! index lists every archive with the right digest, real Helm installs from it over HTTP,
//! and `chartgen package` / `chartgen repo index` handle bad input cleanly.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use chartgen::Value;
use chartgen::chart::package::{PackageOptions, package_dir};
use chartgen::render::{self, Options};
use sha2::{Digest, Sha256};

const REBUILD: &str =
    "hint: run tools/build-hub.sh (and bump the chart's version if it was released)";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn chart_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("charts"))
        .expect("charts/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Chart.yaml").exists())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no charts in charts/");
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn http_values() -> Vec<String> {
    vec![
        "tasks={http,assess}".into(),
        "http.url=http://httpbin.default/get".into(),
        "assess.SLOs.upper.http/error-count=0".into(),
        "runner=job".into(),
    ]
}

/// Renders as Helm v4.1.4 (`.tools/bin/helm`, the Helm these tests run beside).
fn render_with(chart: &chartgen::chart::Chart) -> String {
    let opts = Options {
        release_name: "hub".into(),
        set: http_values(),
        profile: chartgen::profile::Profile::find("4.1").expect("a profile"),
        ..Options::default()
    };
    mask_start_time(&render::template(chart, &opts).expect("render"))
}

/// The experiment's `startTime` is the render time; everything else must be equal.
fn mask_start_time(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.trim_start().starts_with("startTime:") {
                "startTime: <masked>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every chart in charts/ is in hub/ at its version, with the same files a fresh package has.
#[test]
fn hub_holds_every_chart_as_packaged() {
    for dir in chart_dirs() {
        let fresh = package_dir(&dir, &PackageOptions::default()).expect("package");
        let path = root().join("hub").join(&fresh.file_name);
        let stored = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{} missing ({e})\n{REBUILD}", path.display()));
        let want = chartgen::chart::archive_files(&fresh.bytes).expect("unpack fresh");
        let got = chartgen::chart::archive_files(&stored).expect("unpack hub");
        assert!(
            want == got,
            "{} differs from {}\n{REBUILD}",
            path.display(),
            dir.display()
        );
    }
}

/// hub/index.yaml lists every archive in hub/ once, with its sha256, name, version and URL.
#[test]
fn index_lists_every_archive() {
    let hub = root().join("hub");
    let text = std::fs::read_to_string(hub.join("index.yaml")).expect("hub/index.yaml");
    let index = chartgen::yaml::parse_values(&text).expect("index parses");
    let Value::Map(top) = index else {
        panic!("index is not a map")
    };
    let top = top.borrow();
    assert_eq!(top.get("apiVersion").and_then(Value::as_str), Some("v1"));
    let Some(Value::Map(entries)) = top.get("entries") else {
        panic!("no entries")
    };
    let entries = entries.borrow();
    let mut archives = 0;
    for e in std::fs::read_dir(&hub).expect("hub/") {
        let p = e.expect("entry").path();
        if p.extension().and_then(|x| x.to_str()) != Some("tgz") {
            continue;
        }
        archives += 1;
        let raw = std::fs::read(&p).expect("read archive");
        let chart = chartgen::chart::load_archive(&raw).expect("archive loads");
        let file = p.file_name().and_then(|f| f.to_str()).expect("name");
        let Some(Value::List(versions)) = entries.get(chart.name()) else {
            panic!("{file}: no index entry for {}\n{REBUILD}", chart.name())
        };
        let matching: Vec<_> = versions
            .items
            .iter()
            .filter_map(|v| match v {
                Value::Map(m) => Some(m.borrow().clone()),
                _ => None,
            })
            .filter(|m| m.get("version").and_then(Value::as_str) == Some(&chart.metadata.version))
            .collect();
        assert_eq!(matching.len(), 1, "{file}: one entry per version");
        let m = &matching[0];
        assert_eq!(
            m.get("digest").and_then(Value::as_str),
            Some(hex(&Sha256::digest(&raw)).as_str()),
            "{file}: digest\n{REBUILD}"
        );
        let urls = match m.get("urls") {
            Some(Value::List(l)) => l
                .items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(urls, [file.to_string()], "{file}: urls");
    }
    assert!(archives > 0, "hub/ has no archives");
}

/// Rendering a hub archive gives the same manifests as rendering the chart directory.
#[test]
fn hub_archives_render_like_the_charts() {
    for dir in chart_dirs() {
        let from_dir = chartgen::chart::load(&dir).expect("load dir");
        let file = format!("{}-{}.tgz", from_dir.name(), from_dir.metadata.version);
        let from_hub = chartgen::chart::load(&root().join("hub").join(&file)).expect("load hub");
        let a = render_with(&from_dir);
        assert!(a.contains("kind: "), "renders manifests: {a}");
        assert_eq!(a, render_with(&from_hub), "{file}");
    }
}

/// Serve `dir` over HTTP on 127.0.0.1:0 (GET only, files only) until the process ends.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let name = path.trim_start_matches('/');
            let body = if name.is_empty() || name.contains("..") {
                None
            } else {
                std::fs::read(dir.join(name)).ok()
            };
            let resp = match &body {
                Some(b) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = stream.write_all(resp.as_bytes());
            if let Some(b) = body {
                let _ = stream.write_all(&b);
            }
        }
    });
    format!("http://{addr}")
}

/// Real Helm v4 adds hub/ as a repository over HTTP and renders `hub/iter8` exactly as
/// chartgen renders charts/iter8.
#[test]
fn real_helm_installs_from_the_hub() {
    let helm = root().join(".tools/bin/helm");
    assert!(
        helm.exists(),
        "{} missing\nhint: run tools/fetch-helm.sh",
        helm.display()
    );
    let url = serve(root().join("hub"));
    let home = tempfile::tempdir().expect("tmp");
    let run = |args: &[&str]| {
        let out = Command::new(&helm)
            .args(args)
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .output()
            .expect("run helm");
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    run(&["repo", "add", "hub", &url]);
    let search = run(&["search", "repo", "hub/iter8", "-o", "json"]);
    assert!(search.contains("\"name\":\"hub/iter8\""), "{search}");
    let mut args = vec!["template", "hub", "hub/iter8"];
    let sets = http_values();
    for s in &sets {
        args.push("--set");
        args.push(s);
    }
    let helm_out = mask_start_time(&run(&args));
    let ours = render_with(&chartgen::chart::load(&root().join("charts/iter8")).expect("load"));
    assert_eq!(helm_out, ours);
}

fn chartgen(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chartgen"))
        .args(args)
        .output()
        .expect("run chartgen");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A missing chart, a bad version or a missing destination: one Error line, exit 1, and
/// nothing written.
#[test]
fn package_bad_input() {
    let dest = tempfile::tempdir().expect("tmp");
    let d = dest.path().to_str().expect("utf8");
    let (rc, _, err) = chartgen(&["package", "/nonexistent/chart", "-d", d]);
    assert_eq!(rc, 1);
    assert_eq!(
        err,
        "Error: stat /nonexistent/chart: no such file or directory\n"
    );
    let chart = root().join("charts/iter8");
    let c = chart.to_str().expect("utf8");
    let (rc, _, err) = chartgen(&["package", c, "-d", d, "--version", "1.x"]);
    assert_eq!(rc, 1);
    assert_eq!(
        err,
        "Error: validation: chart.metadata.version \"1.x\" is invalid\n"
    );
    let (rc, _, err) = chartgen(&["package", c, "-d", "/nonexistent/dest"]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("Error: failed to save: /nonexistent/dest"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dest.path()).expect("dest").count(), 0);
}

/// `chartgen package` then `chartgen repo index` build a repository; a file that is not a
/// chart is skipped with a warning; --merge keeps other versions and unchanged `created`.
#[test]
fn package_and_index_round_trip() {
    let dest = tempfile::tempdir().expect("tmp");
    let d = dest.path().to_str().expect("utf8");
    let c = root().join("charts/iter8");
    let c = c.to_str().expect("utf8");
    let (rc, out, err) = chartgen(&["package", c, "-d", d, "--version", "9.9.9"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        out,
        format!("Successfully packaged chart and saved it to: {d}/iter8-9.9.9.tgz\n")
    );
    std::fs::write(dest.path().join("junk.tgz"), b"not gzip").expect("write junk");
    let (rc, _, err) = chartgen(&["repo", "index", d]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("warning: skipping junk.tgz"), "{err}");
    let first = std::fs::read_to_string(dest.path().join("index.yaml")).expect("index");
    assert!(first.contains("version: 9.9.9"), "{first}");
    assert!(!first.contains("junk"), "{first}");

    // A second run merging the first: the old 9.9.9 entry keeps its created time, and an
    // entry only in the merged index stays.
    let merged = first.replace("entries:\n", "entries:\n  other:\n  - name: other\n    version: 1.0.0\n    urls:\n    - https://elsewhere/other-1.0.0.tgz\n");
    let merge_file = dest.path().join("old.yaml");
    std::fs::write(&merge_file, &merged).expect("write old");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (rc, _, err) = chartgen(&[
        "repo",
        "index",
        d,
        "--merge",
        merge_file.to_str().expect("utf8"),
    ]);
    assert_eq!(rc, 0, "{err}");
    let second = std::fs::read_to_string(dest.path().join("index.yaml")).expect("index");
    let created = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("created:"))
            .map(str::to_string)
    };
    assert_eq!(created(&first), created(&second));
    assert!(
        second.contains("https://elsewhere/other-1.0.0.tgz"),
        "{second}"
    );
}
