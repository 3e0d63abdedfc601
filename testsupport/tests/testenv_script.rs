//! Lifecycle tests of `tools/k8s-testenv/testenv.sh`: clear failures for a busy port or a
//! missing build, and no processes or ports left behind after a signal or a parent exit.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn script() -> PathBuf {
    testsupport::repo_root().join("tools/k8s-testenv/testenv.sh")
}

/// Waits for `child` to exit, killing it (and failing) after `limit`.
fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: a hang, not a clear failure");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// Whether any process's command line mentions `needle` (e.g. a state directory).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

fn port_of(kubeconfig: &Path) -> u16 {
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig readable");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .expect("server line");
    server.trim().parse().expect("port number")
}

/// Starts the script under `bash -c '… & echo $!; wait'` so the test can kill the parent.
/// Returns (parent shell, k8s-testenv pid, admin kubeconfig path).
fn start_under_shell(dir: &Path) -> (Child, u32, PathBuf) {
    let mut shell = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" start --dir "$1" & echo "$!"; wait"#)
        .arg(script())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bash runs");
    let mut lines = BufReader::new(shell.stdout.take().expect("piped stdout")).lines();
    let pid: u32 = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.trim().parse().ok())
        .expect("the shell prints the pid");
    let kubeconfig = lines
        .next()
        .and_then(Result::ok)
        .map(PathBuf::from)
        .expect("k8s-testenv prints the admin kubeconfig path when ready");
    (shell, pid, kubeconfig)
}

fn wait_gone(pid: u32, limit: Duration) {
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        // A zombie still has a /proc entry; it counts as gone.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "k8s-testenv (pid {pid}) still runs after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port that is already in use makes start fail at once with a message naming the port.
#[test]
fn busy_port_fails_clearly() {
    // Build first (cached) so the timing below covers only the start.
    let build = Command::new("bash").arg(script()).arg("build").output();
    assert!(build.is_ok_and(|o| o.status.success()), "build failed");
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let mut child = Command::new("bash")
        .arg(script())
        .args(["start", &format!("--port={port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let status = wait_within(&mut child, Duration::from_secs(30));
    let err = stderr_of(&mut child);
    assert!(!status.success());
    assert!(
        err.contains(&format!("cannot use port 127.0.0.1:{port}"))
            && err.contains("address already in use"),
        "{err}"
    );
}

/// With no cached build and building turned off, start fails at once and says how to build.
#[test]
fn missing_build_fails_clearly() {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new("bash")
        .arg(script())
        .arg("start")
        .env("ITER8_TESTENV_CACHE", cache.path())
        .env("ITER8_TESTENV_NO_BUILD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let status = wait_within(&mut child, Duration::from_secs(30));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1));
    assert!(
        err.contains("k8s-testenv is not built") && err.contains("testenv.sh build"),
        "{err}"
    );
}

/// When the process that started k8s-testenv dies, the control plane stops by itself: no
/// process mentions its state directory afterwards and its port is closed.
#[test]
fn parent_exit_stops_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut shell, pid, kubeconfig) = start_under_shell(dir.path());
    let port = port_of(&kubeconfig);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    let needle = dir.path().to_string_lossy().to_string();
    assert!(
        processes_mentioning(&needle).len() >= 3,
        "the parent shell, k8s-testenv and its controller manager run"
    );
    shell.kill().expect("kill the parent shell");
    let _ = shell.wait();
    wait_gone(pid, Duration::from_secs(30));
    let start = Instant::now();
    while !processes_mentioning(&needle).is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(processes_mentioning(&needle), Vec::<String>::new());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} closed"
    );
}

/// SIGTERM stops k8s-testenv with exit status 0 and frees its port.
#[test]
fn sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new("bash")
        .arg(script())
        .args(["start", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bash runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("read");
    let port = port_of(Path::new(line.trim()));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(kill.is_ok_and(|s| s.success()));
    let status = wait_within(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    let needle = dir.path().to_string_lossy().to_string();
    assert_eq!(processes_mentioning(&needle), Vec::<String>::new());
}

/// Waiting on a state directory whose starting process is gone fails at once, naming it.
#[test]
fn waiting_on_a_dead_start_fails_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gone = Command::new("true").spawn().expect("true runs");
    let _ = gone.wait();
    std::fs::write(dir.path().join("pid"), format!("{}\n", gone.id())).expect("write pid");
    let start = Instant::now();
    let err = testsupport::kube_env::wait_ready(dir.path()).expect_err("nothing is starting");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string().contains(&format!(
            "the process that was starting it ({}) is gone",
            gone.id()
        )),
        "{err}"
    );
}
