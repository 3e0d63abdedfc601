//! Conformance corpora: `chartgen template --helm-version P` against goldens recorded from
//! the real Helm release of profile P (4.3, 4.1, 3.21, 3.11).
//!
//! Each profile's goldens live in `tests/conformance/profiles/<P>/` with `HELM_VERSION` (the
//! release that recorded them: it must be the one chartgen's profile P reproduces). Each case
//! folder (`cases/<corpus>/<name>/` or `micro/<name>/` under it) holds `cmd` (the
//! `helm template` arguments, one per line, paths relative to the repository root), `stdout`,
//! `stderr` and `rc`, all produced by `tests/conformance/regen.sh`. A case passes when
//! `chartgen template --helm-version P <cmd>`, run from the repository root:
//! * prints the same stdout bytes (lines `startTime: ...` masked on both sides),
//! * exits with the same code, and
//! * when the code is not 0, prints the same error text: everything from the first stderr line
//!   that starts with `Error: ` to the end, without Helm's closing hint
//!   `Use --debug flag to render out invalid YAML`, trailing whitespace trimmed. Lines before
//!   `Error: ` (warnings) are not compared.
//!
//! Cases listed in `tests/conformance/known-failures.txt` (`<P>/<corpus>/<name>` or
//! `<P>/micro/<name>`, one per line) are reported but do not fail the test.
//! `CONFORMANCE_FILTER=<substring>` runs only the cases whose id contains the substring.
//! chartgen runs with `TZ=UTC`, as Helm did when the goldens were recorded.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest time one `chartgen template` run may take before it counts as a failure.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("chartgen sits inside the workspace")
        .to_path_buf()
}

fn conformance_dir() -> PathBuf {
    repo_root().join("tests").join("conformance")
}

/// One recorded case.
struct Case {
    /// `<P>/<corpus>/<name>`, as written in known-failures.txt.
    id: String,
    dir: PathBuf,
    /// The `--helm-version` the goldens were recorded for.
    profile: String,
}

/// What one run printed.
struct Outcome {
    stdout: String,
    stderr: String,
    rc: i32,
}

fn read(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Case folders of a corpus, sorted by name.
fn cases(corpus_dir: &Path, profile: &str, corpus: &str) -> Vec<Case> {
    let filter = std::env::var("CONFORMANCE_FILTER").unwrap_or_default();
    let mut out: Vec<Case> = fs::read_dir(corpus_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", corpus_dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.join("cmd").is_file())
        .map(|dir| {
            let name = dir
                .file_name()
                .expect("case folder has a name")
                .to_string_lossy()
                .into_owned();
            Case {
                id: format!("{profile}/{corpus}/{name}"),
                dir,
                profile: profile.to_string(),
            }
        })
        .filter(|c| c.id.contains(&filter))
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn known_failures() -> BTreeSet<String> {
    let path = conformance_dir().join("known-failures.txt");
    let Ok(text) = fs::read_to_string(path) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Replaces the value of every `startTime:` line (the Iter8 chart writes `now` there).
fn mask_start_time(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let trimmed = body.trim_start();
        if trimmed.starts_with("startTime:") {
            let indent = &body[..body.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str("startTime: <masked>");
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The comparable part of an error report (see the module docs), or None without `Error: `.
fn error_text(stderr: &str) -> Option<String> {
    let start = if stderr.starts_with("Error: ") {
        0
    } else {
        stderr.find("\nError: ")? + 1
    };
    let text = stderr[start..].trim_end();
    let text = text
        .strip_suffix("Use --debug flag to render out invalid YAML")
        .unwrap_or(text);
    Some(text.trim_end().to_string())
}

/// Runs `chartgen template --helm-version <profile> <args>` from the repository root with a
/// timeout.
fn run_chartgen(profile: &str, args: &[String]) -> Outcome {
    let mut child = match Command::new(env!("CARGO_BIN_EXE_chartgen"))
        .arg("template")
        .args(["--helm-version", profile])
        .args(args)
        .current_dir(repo_root())
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                stderr: format!("cannot start chartgen: {e}"),
                rc: -1,
            };
        }
    };
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > CASE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => break None,
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let (rc, stderr) = match status {
        Some(s) => (
            s.code().unwrap_or(-1),
            String::from_utf8_lossy(&stderr).into_owned(),
        ),
        None => (-1, format!("timed out after {CASE_TIMEOUT:?}")),
    };
    Outcome {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr,
        rc,
    }
}

/// First difference between two texts, as a short report.
fn first_diff(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    let mut line = 1;
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (None, None) => return "texts differ only in line endings".to_string(),
            (x, y) => {
                return format!(
                    "line {line}:\n      helm:     {}\n      chartgen: {}",
                    x.map_or("<end>".to_string(), |s| format!("{s:?}")),
                    y.map_or("<end>".to_string(), |s| format!("{s:?}"))
                );
            }
        }
    }
}

/// Checks one case; Err carries the first difference.
fn check(case: &Case) -> Result<(), String> {
    let args: Vec<String> = read(&case.dir.join("cmd"))
        .lines()
        .map(str::to_string)
        .collect();
    let want_stdout = read(&case.dir.join("stdout"));
    let want_stderr = read(&case.dir.join("stderr"));
    let want_rc: i32 = read(&case.dir.join("rc"))
        .trim()
        .parse()
        .expect("rc holds an exit code");
    let got = run_chartgen(&case.profile, &args);
    let got_stdout = mask_start_time(&got.stdout);
    if got.rc != want_rc {
        let detail = error_text(&got.stderr).unwrap_or_else(|| got.stderr.trim().to_string());
        let want = error_text(&want_stderr).unwrap_or_default();
        return Err(format!(
            "exit code: helm {want_rc}, chartgen {}\n      helm error:     {}\n      chartgen error: {}",
            got.rc,
            first_line(&want),
            first_line(&detail)
        ));
    }
    if got_stdout != want_stdout {
        return Err(format!(
            "stdout differs at {}",
            first_diff(&want_stdout, &got_stdout)
        ));
    }
    if want_rc != 0 {
        let want = error_text(&want_stderr).unwrap_or_default();
        let have = error_text(&got.stderr).unwrap_or_default();
        if want != have {
            return Err(format!(
                "error text differs at {}",
                first_diff(&want, &have)
            ));
        }
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let short: String = line.chars().take(300).collect();
    format!("{short:?}")
}

/// Checks all cases on a few worker threads; results come back in case order.
fn check_all(all: &[Case]) -> Vec<Result<(), String>> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; all.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = all.get(i) else { break };
                    let outcome = check(case);
                    results
                        .lock()
                        .expect("no worker panics while holding the lock")[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("workers are done")
        .into_iter()
        .map(|r| r.expect("every case was checked"))
        .collect()
}

/// The goldens of a profile: their folder, after checking that the Helm which recorded them
/// (`HELM_VERSION`) is the release chartgen's profile reproduces.
fn profile_dir(profile: &str) -> PathBuf {
    let dir = conformance_dir().join("profiles").join(profile);
    let recorded = read(&dir.join("HELM_VERSION")).trim().to_string();
    let emulated = chartgen::profile::Profile::find(profile)
        .unwrap_or_else(|e| panic!("goldens in {}: {e}", dir.display()))
        .version;
    assert_eq!(
        recorded,
        emulated,
        "goldens in {} were recorded with Helm {recorded}, but chartgen --helm-version {profile} reproduces Helm {emulated}: regenerate them (tests/conformance/regen.sh {profile})",
        dir.display()
    );
    dir
}

/// The large corpus's charts come from Go modules (tests/conformance/fetch-large.sh, cached in
/// Go's module cache and linked from .tools/large-charts); fetched once per test process.
fn fetch_large_charts() {
    static FETCHED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FETCHED.get_or_init(|| {
        let script = conformance_dir().join("fetch-large.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed (it needs Go and the module proxy on first use): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Runs every case of a profile's corpus, prints the summary, and panics if a case outside
/// the known-failures list fails.
fn run_corpus(profile: &str, corpus: &str) {
    if corpus == "large" {
        fetch_large_charts();
    }
    let base = profile_dir(profile);
    let dir = if corpus == "micro" {
        base.join("micro")
    } else {
        base.join("cases").join(corpus)
    };
    let known = known_failures();
    let all = cases(&dir, profile, corpus);
    let corpus = format!("{profile}/{corpus}");
    let corpus = corpus.as_str();
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut known_failed = Vec::new();
    let mut known_passing = Vec::new();
    for (case, outcome) in all.iter().zip(check_all(&all)) {
        match outcome {
            Ok(()) => {
                passed += 1;
                if known.contains(&case.id) {
                    known_passing.push(case.id.clone());
                }
            }
            Err(diff) if known.contains(&case.id) => known_failed.push((case.id.clone(), diff)),
            Err(diff) => failed.push((case.id.clone(), diff)),
        }
    }
    println!(
        "conformance {corpus}: {passed} passed / {} failed / {} known failures, of {} cases",
        failed.len(),
        known_failed.len(),
        all.len()
    );
    for (id, diff) in &failed {
        println!("  FAIL {id}: {diff}");
    }
    for (id, diff) in &known_failed {
        println!("  known failure {id}: {diff}");
    }
    for id in &known_passing {
        println!("  passes now, remove from known-failures.txt: {id}");
    }
    assert!(
        !all.is_empty() || std::env::var("CONFORMANCE_FILTER").is_ok(),
        "corpus {corpus} has no cases under {}",
        dir.display()
    );
    assert!(
        failed.is_empty(),
        "conformance {corpus}: {} of {} cases differ from Helm (see the list above)",
        failed.len(),
        all.len()
    );
}

/// One test per profile and corpus: `iter8-v0.13` (the 20+ Iter8-era cases on the Iter8 v0.13
/// charts), `iter8` (our charts/iter8 with several value sets and failures), `charts`
/// (third-party charts), `micro` (one template-language, function, values or YAML rule each),
/// `large` (large real-world charts with subcharts and CRDs; Helm 4 profiles).
macro_rules! corpus_tests {
    ($($name:ident: $profile:literal, $corpus:literal;)*) => {$(
        /// The profile's corpus renders, or fails, exactly as that profile's Helm release does.
        #[test]
        fn $name() {
            run_corpus($profile, $corpus);
        }
    )*};
}

corpus_tests! {
    v4_3_iter8_v013: "4.3", "iter8-v0.13";
    v4_3_iter8_chart: "4.3", "iter8";
    v4_3_real_world_charts: "4.3", "charts";
    v4_3_micro: "4.3", "micro";
    v4_3_large_charts: "4.3", "large";
    v4_1_iter8_v013: "4.1", "iter8-v0.13";
    v4_1_iter8_chart: "4.1", "iter8";
    v4_1_real_world_charts: "4.1", "charts";
    v4_1_micro: "4.1", "micro";
    v4_1_large_charts: "4.1", "large";
    v3_21_iter8_v013: "3.21", "iter8-v0.13";
    v3_21_iter8_chart: "3.21", "iter8";
    v3_21_real_world_charts: "3.21", "charts";
    v3_21_micro: "3.21", "micro";
    v3_11_iter8_v013: "3.11", "iter8-v0.13";
    v3_11_iter8_chart: "3.11", "iter8";
    v3_11_real_world_charts: "3.11", "charts";
    v3_11_micro: "3.11", "micro";
}

/// Every profile chartgen has keeps goldens, and every golden set belongs to a profile.
#[test]
fn every_profile_has_goldens() {
    let mut on_disk: Vec<String> = fs::read_dir(conformance_dir().join("profiles"))
        .expect("tests/conformance/profiles exists")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut profiles: Vec<String> = chartgen::profile::Profile::ALL
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    profiles.sort();
    assert_eq!(on_disk, profiles);
    for p in &profiles {
        profile_dir(p);
    }
}

/// charts/iter8/values.schema.json is the byte-identical copy of its source in
/// values-schemas/ (regenerate with values-schemas/generate.sh).
#[test]
fn values_schema_copies_in_sync() {
    let root = repo_root();
    let mut checked = 0;
    for entry in fs::read_dir(root.join("values-schemas")).expect("values-schemas exists") {
        let src = entry.expect("directory entry").path();
        let Some(name) = src.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(chart) = name.strip_suffix(".schema.json") else {
            continue;
        };
        let copy = root.join("charts").join(chart).join("values.schema.json");
        assert_eq!(
            read(&src),
            read(&copy),
            "{} is out of date: run values-schemas/generate.sh",
            copy.display()
        );
        checked += 1;
    }
    assert!(checked >= 1, "no schema sources found in values-schemas/");
}

/// The error-text rule keeps the `Error:` block, drops warnings before it and Helm's hint.
#[test]
fn error_text_rule() {
    let stderr = "level=WARN msg=x\nError: execution error at (t/templates/t.yaml:1:3): boom\n\nUse --debug flag to render out invalid YAML\n";
    assert_eq!(
        error_text(stderr).as_deref(),
        Some("Error: execution error at (t/templates/t.yaml:1:3): boom")
    );
    assert_eq!(error_text("no error here"), None);
    assert_eq!(
        mask_start_time("a: 1\n  startTime: \"2026\"\nb: 2\n"),
        "a: 1\n  startTime: <masked>\nb: 2\n"
    );
}
