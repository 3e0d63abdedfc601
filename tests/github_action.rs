//! The GitHub Action (`action.yml`) in a real workflow run by nektos/act (built from its Go
//! module by tools/fetch-act.sh) on this host, no container engine: a job that runs an
//! experiment against the sample target on loopback passes when the SLOs hold, and fails,
//! naming the clause, when one does not; the outputs carry the verdict.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use runner::target::BackgroundTarget;
use support::*;

/// `.tools/bin/act`, built on first use.
fn act() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("tools/fetch-act.sh"))
        .output()
        .expect("run tools/fetch-act.sh");
    assert!(
        out.status.success(),
        "tools/fetch-act.sh: {}",
        texts(&out).1
    );
    PathBuf::from(texts(&out).0.trim())
}

/// A git repository holding the action (as `./iter8-action`) and a workflow that uses it with
/// `set` lines; act runs it on the host. Returns act's exit status and its output.
fn run_workflow(set: &[String]) -> (bool, String) {
    let repo = run_dir();
    let r = repo.path();
    let action_dir = r.join("iter8-action");
    std::fs::create_dir_all(&action_dir).expect("mkdir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"),
        action_dir.join("action.yml"),
    )
    .expect("copy action.yml");
    let set_block: String = set.iter().map(|l| format!("            {l}\n")).collect();
    let workflow = format!(
        "name: experiment\n\
         on: push\n\
         jobs:\n\
         \x20 experiment:\n\
         \x20   runs-on: ubuntu-latest\n\
         \x20   steps:\n\
         \x20     - uses: actions/checkout@v4\n\
         \x20     - id: iter8\n\
         \x20       uses: ./iter8-action\n\
         \x20       with:\n\
         \x20         iter8-binary: {bin}\n\
         \x20         fail-on-assert: \"false\"\n\
         \x20         set: |\n\
         {set_block}\
         \x20     - run: echo \"VERDICT=${{{{ steps.iter8.outputs.verdict }}}}\"\n\
         \x20     - if: steps.iter8.outputs.verdict != 'pass'\n\
         \x20       env:\n\
         \x20         FAILING: ${{{{ steps.iter8.outputs.failing }}}}\n\
         \x20       run: |\n\
         \x20         echo \"FAILING=$FAILING\"\n\
         \x20         exit 1\n",
        bin = env!("CARGO_BIN_EXE_iter8"),
    );
    let wf_dir = r.join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).expect("mkdir");
    std::fs::write(wf_dir.join("experiment.yml"), workflow).expect("write workflow");
    for args in [
        vec!["init", "-q"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "workflow",
        ],
    ] {
        let st = Command::new("git")
            .args(&args)
            .current_dir(r)
            .status()
            .expect("git");
        assert!(st.success(), "git {args:?}");
    }
    let home = run_dir();
    let out = Command::new(act())
        .args([
            "push",
            "-W",
            ".github/workflows/experiment.yml",
            // The job runs on this host: no container engine.
            "-P",
            "ubuntu-latest=-self-hosted",
            // Nothing listens beyond loopback: no cache server.
            "--no-cache-server",
            "--cache-server-addr",
            "127.0.0.1",
        ])
        .current_dir(r)
        .env("HOME", home.path())
        .env_remove("GITHUB_TOKEN")
        .output()
        .expect("run act");
    let (stdout, stderr) = texts(&out);
    (out.status.success(), format!("{stdout}\n{stderr}"))
}

/// The sample target, and the `set` lines of an HTTP experiment against it whose mean-latency
/// SLO is `limit` ms.
fn experiment(t: &BackgroundTarget, limit: &str) -> Vec<String> {
    vec![
        "tasks={http,assess}".to_string(),
        format!("http.url={}/echo", t.url()),
        "http.numRequests=20".to_string(),
        "assess.SLOs.upper.http/error-count=0".to_string(),
        format!("assess.SLOs.upper.http/latency-mean={limit}"),
    ]
}

/// SLOs that hold: the job passes, the verdict output is `pass` and the target saw the load.
#[test]
fn workflow_passes_when_the_slos_hold() {
    let t = BackgroundTarget::start("127.0.0.1:0".parse().expect("addr")).expect("target");
    let (ok, log) = run_workflow(&experiment(&t, "10000"));
    assert!(ok, "the job should pass:\n{log}");
    assert!(log.contains("VERDICT=pass"), "{log}");
    assert_eq!(t.requests("/echo"), 20);
}

/// An SLO that cannot hold: the job fails, and the failing clause is named in the action's
/// `failing` output and as an error annotation.
#[test]
fn workflow_fails_naming_the_clause() {
    let t = BackgroundTarget::start("127.0.0.1:0".parse().expect("addr")).expect("target");
    let (ok, log) = run_workflow(&experiment(&t, "0.000001"));
    assert!(!ok, "the job should fail:\n{log}");
    assert!(log.contains("VERDICT=fail"), "{log}");
    assert!(
        log.contains("FAILING=slos not satisfied: http/latency-mean (version 0)"),
        "{log}"
    );
    assert!(
        !log.contains("FAILING=slos not satisfied: http/error-count"),
        "only the failing clause: {log}"
    );
}
