//! The live view of `iter8 run` while load runs: on a pseudo-terminal (under `script`) one line
//! redrawn in place with the figures; when stderr is a pipe a plain log line every 5 s; nothing
//! with `--noProgress`; never on stdout.

mod support;

use std::process::{Command, Stdio};

use support::*;

/// An experiment of one paced http task of `duration` against the sample target.
fn experiment(dir: &std::path::Path, url: &str, duration: &str) {
    let exp = format!(
        "spec:\n- task: http\n  with:\n    url: {url}/echo\n    duration: {duration}\n    qps: 40\n\
         result: {{}}\n"
    );
    std::fs::write(dir.join("experiment.yaml"), exp).expect("write experiment");
}

/// Under `script` (stderr a pseudo-terminal) the line is redrawn in place (carriage returns)
/// and shows requests, achieved rate, failures and the p99 of the last second.
#[test]
fn live_line_on_a_terminal() {
    let target = runner::target::BackgroundTarget::start("127.0.0.1:0".parse().expect("addr"))
        .expect("start target");
    let dir = run_dir();
    experiment(dir.path(), &target.url(), "3s");
    let cmd = format!(
        "{} run --runDir {}",
        env!("CARGO_BIN_EXE_iter8"),
        dir.path().display()
    );
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env_remove("ITER8_LOG_TTY")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux)");
    let (tty, _) = texts(&out);
    assert!(out.status.success(), "{tty}");
    assert!(tty.contains("task 1: http"), "{tty:?}");
    assert!(tty.contains('\r'), "redrawn in place: {tty:?}");
    let line = tty
        .split(['\r', '\n'])
        .rfind(|l| l.contains(" failed, p99 "))
        .unwrap_or_else(|| panic!("a live line: {tty:?}"));
    assert!(
        line.contains(" requests, ") && line.contains("/s, "),
        "{line:?}"
    );
    assert!(
        !line.contains("p99 -"),
        "a p99 once a second finished: {line:?}"
    );
}

/// With stderr piped, a 7 s load logs one progress line (at 5 s) on stderr and nothing on
/// stdout; `--noProgress` logs none.
#[test]
fn log_lines_when_piped() {
    let target = runner::target::BackgroundTarget::start("127.0.0.1:0".parse().expect("addr"))
        .expect("start target");
    for (flags, lines) in [(&[][..], 1), (&["--noProgress"][..], 0)] {
        let dir = run_dir();
        experiment(dir.path(), &target.url(), "7s");
        let d = dir.path().display().to_string();
        let mut args = vec!["run", "--runDir", &d];
        args.extend(flags);
        let out = run_iter8(&args);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stdout, "", "nothing on stdout");
        assert!(!stderr.contains('\r'), "{stderr:?}");
        let progress: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("task 1: http: 5s of 7s: "))
            .collect();
        assert_eq!(progress.len(), lines, "{flags:?}: {stderr}");
        if let Some(l) = progress.first() {
            assert!(l.contains("level=info"), "{l}");
            assert!(
                l.contains(" requests, ") && l.contains(" failed, p99 "),
                "{l}"
            );
        }
    }
}
