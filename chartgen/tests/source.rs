//! Charts from registries and repositories against real components on loopback: Debian's
//! `docker-registry` (distribution) with TLS from a test CA and htpasswd auth, and with
//! plain HTTP; nginx serving chart repositories (plain, and TLS with basic auth); real Helm
//! v4 and v3 on the other side of every exchange.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};
use testsupport::chart_servers::{Nginx, PASS, Registry, USER};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn tool(name: &str) -> PathBuf {
    let p = root().join(".tools/bin").join(name);
    assert!(
        p.exists(),
        "{} missing\nhint: run tools/fetch-helm.sh",
        p.display()
    );
    p
}

fn sha256(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    format!(
        "sha256:{}",
        d.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Helm's and chartgen's configuration and cache, private to one test.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().expect("tmp"))
    }

    fn cmd(&self, program: &Path) -> Command {
        let h = self.0.path();
        let mut c = Command::new(program);
        c.env("HOME", h)
            .env("HELM_CONFIG_HOME", h.join("config"))
            .env("HELM_CACHE_HOME", h.join("cache"))
            .env("HELM_DATA_HOME", h.join("data"))
            .env("DOCKER_CONFIG", h.join("docker"))
            .env_remove("HELM_REGISTRY_CONFIG")
            .env_remove("HELM_REPOSITORY_CONFIG")
            .env_remove("HELM_REPOSITORY_CACHE")
            .current_dir(h);
        c
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn chartgen_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chartgen"))
}

fn run(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().expect("run")
}

fn ok(c: Command) -> String {
    let dbg = format!("{c:?}");
    let out = run(c);
    assert!(
        out.status.success(),
        "{dbg} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a command expected to fail; return its stderr.
fn fails(c: Command) -> String {
    let dbg = format!("{c:?}");
    let out = run(c);
    assert!(!out.status.success(), "{dbg} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn args(c: &mut Command, list: &[&str]) {
    c.args(list);
}

/// The iter8 chart packaged at `version` (with `chartgen package`), in `dir`.
fn package(dir: &Path, version: &str) -> PathBuf {
    let mut c = Command::new(chartgen_bin());
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c.args(["package", "--version", version, "-d"])
        .arg(dir)
        .arg(root().join("charts/iter8"));
    ok(c);
    let p = dir.join(format!("iter8-{version}.tgz"));
    assert!(p.exists(), "{} not written", p.display());
    p
}

fn digest_line(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("no Digest: line in {out:?}"))
        .trim()
        .to_string()
}

const SETS: [&str; 4] = [
    "--set",
    "tasks={http,assess}",
    "--set",
    "http.url=http://x/get,assess.SLOs.upper.http/error-count=0",
];

fn mask_start_time(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("startTime"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn login(home: &Home, program: &Path, reg: &Registry, password: &str) -> Command {
    let mut c = home.cmd(program);
    c.args(["registry", "login", &reg.host, "-u", USER, "-p", password]);
    reg.reach(&mut c, program);
    c
}

/// Helm v4 pushes to a TLS registry with htpasswd auth (and Helm v3 to a plain one);
/// chartgen, using the credentials Helm stored, pulls the same bytes, reports the same
/// manifest digest, and renders what `helm template` renders from the registry.
#[test]
fn helm_pushes_chartgen_pulls_and_renders() {
    let secure = Registry::secure();
    let plain = Registry::plain();
    let home = Home::new();
    let work = tempfile::tempdir().expect("tmp");
    for (helm, version, reg) in [
        (tool("helm"), "0.1.0", &secure),
        (tool("helm3"), "0.1.1", &plain),
    ] {
        let tgz = package(work.path(), version);
        if reg.tls.is_some() {
            ok(login(&home, &helm, reg, PASS));
        }
        let mut c = home.cmd(&helm);
        c.arg("push")
            .arg(&tgz)
            .arg(format!("oci://{}/charts", reg.host));
        reg.reach(&mut c, &helm);
        let pushed = ok_any(c);
        let helm_digest = digest_line(&pushed);

        let dest = work.path().join(format!("pulled-{version}"));
        std::fs::create_dir(&dest).expect("mkdir");
        let mut c = home.cmd(&chartgen_bin());
        c.args([
            "pull",
            &format!("oci://{}/charts/iter8", reg.host),
            "--version",
            version,
            "-d",
        ])
        .arg(&dest);
        c.args(reg.flags());
        let out = ok(c);
        assert_eq!(digest_line(&out), helm_digest, "manifest digest");
        let ours = std::fs::read(dest.join(format!("iter8-{version}.tgz"))).expect("pulled");
        let theirs = std::fs::read(&tgz).expect("tgz");
        assert_eq!(sha256(&ours), sha256(&theirs), "archive bytes");
    }
    // Render straight from the registry, as `helm template` does.
    let reg = &secure;
    let reference = format!("oci://{}/charts/iter8", reg.host);
    let mut c = home.cmd(&tool("helm"));
    c.args(["template", "rel", &reference, "--version", "0.1.0"]);
    c.args(reg.flags());
    c.args(SETS);
    let theirs = ok(c);
    let mut c = home.cmd(&chartgen_bin());
    // As the Helm beside it (v4.1.4).
    c.args([
        "template",
        "--helm-version",
        "4.1",
        "rel",
        &reference,
        "--version",
        "0.1.0",
    ]);
    c.args(reg.flags());
    c.args(SETS);
    let ours = ok(c);
    assert!(
        ours.contains("kind: Job") || ours.contains("kind: "),
        "{ours}"
    );
    assert_eq!(mask_start_time(&ours), mask_start_time(&theirs));
}

/// Helm prints push results on stderr (v4) or stdout (v3): return both.
fn ok_any(c: Command) -> String {
    let dbg = format!("{c:?}");
    let out = run(c);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{dbg} failed:\n{text}");
    text
}

/// chartgen logs in and pushes to a TLS registry with htpasswd auth (and to a plain one);
/// Helm v4 (from the TLS one) and v3 (from the plain one) pull the same bytes and see the
/// digest chartgen printed.
#[test]
fn chartgen_pushes_helm_pulls() {
    let reg = Registry::secure();
    let home = Home::new();
    let work = tempfile::tempdir().expect("tmp");
    let tgz = package(work.path(), "0.2.0");
    ok(login(&home, &chartgen_bin(), &reg, PASS));
    let plain = Registry::plain();
    let mut ours = String::new();
    for r in [&reg, &plain] {
        let mut c = home.cmd(&chartgen_bin());
        c.arg("push")
            .arg(&tgz)
            .arg(format!("oci://{}/hub", r.host))
            .args(r.flags());
        let out = ok(c);
        assert!(
            out.starts_with(&format!("Pushed: {}/hub/iter8:0.2.0\n", r.host)),
            "{out}"
        );
        // The same archive makes the same manifest, whichever registry holds it.
        assert!(ours.is_empty() || ours == digest_line(&out), "{out}");
        ours = digest_line(&out);
    }
    for (helm, reg) in [(tool("helm"), &reg), (tool("helm3"), &plain)] {
        let dest = tempfile::tempdir().expect("tmp");
        let mut c = home.cmd(&helm);
        c.args([
            "pull",
            &format!("oci://{}/hub/iter8", reg.host),
            "--version",
            "0.2.0",
            "-d",
        ])
        .arg(dest.path());
        reg.reach(&mut c, &helm);
        let text = ok_any(c);
        assert_eq!(digest_line(&text), ours, "{helm:?}");
        let got = std::fs::read(dest.path().join("iter8-0.2.0.tgz")).expect("pulled");
        assert_eq!(sha256(&got), sha256(&std::fs::read(&tgz).expect("tgz")));
    }
}

/// Ranges pick the newest matching tag, `+` versions travel as `_` tags and come back,
/// digests pin (and a wrong pin or a missing tag fails in one line, writing nothing).
#[test]
fn versions_ranges_plus_and_digests() {
    let reg = Registry::plain();
    let home = Home::new();
    let work = tempfile::tempdir().expect("tmp");
    let remote = format!("oci://{}/charts", reg.host);
    let mut digests = std::collections::BTreeMap::new();
    for v in ["0.1.0", "0.1.5", "0.2.0", "1.0.0+build.7"] {
        let tgz = package(work.path(), v);
        let mut c = home.cmd(&tool("helm"));
        c.arg("push").arg(&tgz).arg(&remote).arg("--plain-http");
        digests.insert(v, digest_line(&ok_any(c)));
    }
    let reference = format!("{remote}/iter8");
    let pull = |extra: &[&str]| {
        let dest = tempfile::tempdir().expect("tmp");
        let mut c = home.cmd(&chartgen_bin());
        c.args(["pull", "--plain-http", "-d"]).arg(dest.path());
        args(&mut c, extra);
        let out = run(c);
        let files: Vec<String> = std::fs::read_dir(dest.path())
            .expect("dest")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        (out, files)
    };
    let (out, files) = pull(&[&reference, "--version", "~0.1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files, vec!["iter8-0.1.5.tgz"]);
    assert_eq!(
        digest_line(&String::from_utf8_lossy(&out.stdout)),
        digests["0.1.5"]
    );

    let (out, files) = pull(&[&reference, "--version", "1.0.0+build.7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files, vec!["iter8-1.0.0+build.7.tgz"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/charts/iter8:1.0.0_build.7"), "{stdout}");

    // No version: the newest (a build-metadata version sorts as its release).
    let (out, files) = pull(&[&reference]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files, vec!["iter8-1.0.0+build.7.tgz"]);

    let pinned = format!("{reference}@{}", digests["0.2.0"]);
    let (out, files) = pull(&[&pinned]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files, vec!["iter8-0.2.0.tgz"]);

    // A tag that points elsewhere than the pin.
    let (out, files) = pull(&[&pinned, "--version", "0.1.0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        err.trim(),
        format!(
            "Error: chart reference digest mismatch: {} is not {}",
            digests["0.1.0"], digests["0.2.0"]
        )
    );
    assert!(files.is_empty());

    let (out, files) = pull(&[&reference, "--version", "9.9.9"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/charts/iter8:9.9.9"), "{err}");
    assert!(files.is_empty());

    let (out, _) = pull(&[&reference, "--version", "~3.0"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: could not locate a version matching provided version string ~3.0"
    );
}

/// A wrong password is refused by the registry: Helm and chartgen both fail to log in
/// and both report the registry's 401; nothing is stored.
#[test]
fn wrong_password() {
    let reg = Registry::secure();
    let home = Home::new();
    let theirs = fails(login(&home, &tool("helm"), &reg, "wrong"));
    let ours = fails(login(&home, &chartgen_bin(), &reg, "wrong"));
    assert!(
        theirs.contains(&format!("authenticating to \"{}\"", reg.host)),
        "{theirs}"
    );
    assert!(
        ours.starts_with(&format!("Error: authenticating to \"{}\"", reg.host)),
        "{ours}"
    );
    assert_eq!(ours.lines().count(), 1, "{ours}");
    // Helm v4 also prints a warning about --password; its error line is ours.
    assert_eq!(theirs.lines().last(), ours.lines().next(), "{theirs}");
    assert!(
        ours.contains("response status code 401: unauthorized"),
        "{ours}"
    );
    assert!(!home.path().join("config/registry/config.json").exists());
    // The right password works, and logout removes it.
    assert_eq!(
        ok(login(&home, &chartgen_bin(), &reg, PASS)),
        "Login Succeeded\n"
    );
    let mut c = home.cmd(&chartgen_bin());
    c.args(["registry", "logout", &reg.host]);
    assert_eq!(
        ok(c),
        format!("Removing login credentials for {}\n", reg.host)
    );
}

/// A copy of hub/ to serve (the test may add files next to it).
fn hub_copy(dir: &Path) -> PathBuf {
    let d = dir.join("hub");
    std::fs::create_dir_all(&d).expect("mkdir");
    for e in std::fs::read_dir(root().join("hub")).expect("hub") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), d.join(e.file_name())).expect("copy");
    }
    d
}

fn hub_version() -> String {
    let idx = std::fs::read_to_string(root().join("hub/index.yaml")).expect("index");
    let index = chartgen::source::http::parse_index(idx.as_bytes(), "hub").expect("parse");
    let entry = chartgen::source::http::find(&index, "iter8", "", "hub").expect("iter8");
    entry.version.clone()
}

/// An HTTP chart repository over TLS with basic auth (nginx): `repo add` writes Helm's
/// repositories.yaml and cache, from which both chartgen and real Helm render `hub/iter8`
/// identically; `pull --repo --untar` expands the chart; a wrong password gets Helm's exact
/// message from both.
#[test]
fn http_repository_with_tls_and_basic_auth() {
    let work = tempfile::tempdir().expect("tmp");
    let nginx = Nginx::start(&hub_copy(work.path()), true);
    let ca = nginx.tls.as_ref().expect("tls").ca.display().to_string();
    let home = Home::new();
    let auth = ["--username", USER, "--password", PASS, "--ca-file", &ca];

    let mut c = home.cmd(&chartgen_bin());
    c.args(["repo", "add", "hub", &nginx.url]).args(auth);
    assert_eq!(ok(c), "\"hub\" has been added to your repositories\n");
    let mut c = home.cmd(&chartgen_bin());
    c.args(["repo", "list"]);
    let list = ok(c);
    assert!(
        list.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("hub") && l.ends_with(&nginx.url)),
        "{list}"
    );

    let mut c = home.cmd(&tool("helm"));
    c.args(["template", "rel", "hub/iter8"]).args(SETS);
    let theirs = ok(c);
    let mut c = home.cmd(&chartgen_bin());
    c.args(["template", "--helm-version", "4.1", "rel", "hub/iter8"])
        .args(SETS);
    let ours = ok(c);
    assert!(ours.contains("kind: "), "{ours}");
    assert_eq!(mask_start_time(&ours), mask_start_time(&theirs));

    let dest = work.path().join("untar");
    let hub = hub_version();
    let range = format!("~{}", hub.rsplit_once('.').map_or(hub.as_str(), |(a, _)| a));
    let mut c = home.cmd(&chartgen_bin());
    c.args([
        "pull",
        "iter8",
        "--repo",
        &nginx.url,
        "--version",
        &range,
        "--untar",
        "-d",
    ])
    .arg(&dest)
    .args(auth);
    assert_eq!(ok(c), "");
    let chart_yaml = std::fs::read_to_string(dest.join("iter8/Chart.yaml")).expect("untarred");
    assert!(
        chart_yaml.contains(&format!("version: {}", hub_version())),
        "{chart_yaml}"
    );

    let wrong = ["--username", USER, "--password", "wrong", "--ca-file", &ca];
    let mut c = home.cmd(&tool("helm"));
    c.args(["repo", "add", "other", &nginx.url]).args(wrong);
    let theirs = fails(c);
    let mut c = home.cmd(&chartgen_bin());
    c.args(["repo", "add", "other", &nginx.url]).args(wrong);
    let ours = fails(c);
    assert_eq!(ours, theirs);
    assert!(ours.contains("401 Unauthorized"), "{ours}");

    let mut c = home.cmd(&chartgen_bin());
    c.args(["repo", "remove", "hub"]);
    assert_eq!(ok(c), "\"hub\" has been removed from your repositories\n");
    let mut c = home.cmd(&chartgen_bin());
    c.args(["repo", "list"]);
    assert_eq!(fails(c), "Error: no repositories to show\n");
}

/// A repository whose index lists absolute chart URLs (on another server) works as one
/// with relative URLs; a chart that is not in it is named in Helm's words.
#[test]
fn http_repository_absolute_urls() {
    let work = tempfile::tempdir().expect("tmp");
    let charts = Nginx::start(&hub_copy(work.path()), false);
    let idx_dir = work.path().join("abs");
    std::fs::create_dir(&idx_dir).expect("mkdir");
    let text = std::fs::read_to_string(root().join("hub/index.yaml")).expect("index");
    let v = hub_version();
    let text = text.replace(
        &format!("- iter8-{v}.tgz"),
        &format!("- {}/iter8-{v}.tgz", charts.url),
    );
    assert!(text.contains(&charts.url), "index rewritten");
    std::fs::write(idx_dir.join("index.yaml"), text).expect("write");
    let index_only = Nginx::start(&idx_dir, false);
    let home = Home::new();
    let dest = work.path().join("out");
    std::fs::create_dir(&dest).expect("mkdir");
    let mut c = home.cmd(&chartgen_bin());
    c.args(["pull", "iter8", "--repo", &index_only.url, "-d"])
        .arg(&dest);
    ok(c);
    let got = std::fs::read(dest.join(format!("iter8-{v}.tgz"))).expect("pulled");
    let want = std::fs::read(root().join(format!("hub/iter8-{v}.tgz"))).expect("hub");
    assert_eq!(sha256(&got), sha256(&want));
    let mut c = home.cmd(&chartgen_bin());
    c.args(["pull", "nope", "--repo", &index_only.url, "-d"])
        .arg(&dest);
    assert_eq!(
        fails(c),
        format!(
            "Error: chart \"nope\" not found in {} repository\n",
            index_only.url
        )
    );
}

/// A tar entry with raw bytes for its name (so hostile names can be written).
fn entry(name: &[u8], kind: tar::EntryType, link: &[u8], body: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    {
        let g = h.as_gnu_mut().expect("gnu");
        g.name[..name.len()].copy_from_slice(name);
        g.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(body.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn hostile_tgz(extra: Vec<u8>) -> Vec<u8> {
    use std::io::Write;
    let chart = b"apiVersion: v2\nname: evil\nversion: 0.1.0\n";
    let mut tar = entry(b"evil/Chart.yaml", tar::EntryType::Regular, b"", chart);
    tar.extend(extra);
    tar.extend([0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

/// Every hostile archive is refused with one clear line, and nothing lands in the
/// destination or next to it: `..`, absolute paths, symlinks, hard links, devices, a
/// decompression bomb, a digest that does not match the index, an index that is not YAML.
#[test]
fn hostile_archives_are_refused() {
    let work = tempfile::tempdir().expect("tmp");
    let repo = work.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    let reg = tar::EntryType::Regular;
    let bomb = vec![0u8; 6 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            entry(b"evil/../../escaped.txt", reg, b"", b"x"),
            "chart illegally references parent directory",
        ),
        (
            "absolute",
            entry(b"evil//tmp/escaped.txt", reg, b"", b"x"),
            "chart illegally contains absolute paths",
        ),
        (
            "symlink",
            entry(
                b"evil/templates/link.yaml",
                tar::EntryType::Symlink,
                b"/etc/passwd",
                b"",
            ),
            "is a link",
        ),
        (
            "hardlink",
            entry(
                b"evil/templates/hard.yaml",
                tar::EntryType::Link,
                b"/etc/passwd",
                b"",
            ),
            "is a link",
        ),
        (
            "device",
            entry(b"evil/templates/dev", tar::EntryType::Char, b"", b""),
            "is a device",
        ),
        (
            "bomb",
            entry(b"evil/templates/big.yaml", reg, b"", &bomb),
            "larger than the maximum file size",
        ),
    ];
    let mut index = String::from("apiVersion: v1\nentries:\n");
    for (i, (name, extra, _)) in cases.iter().enumerate() {
        let tgz = hostile_tgz(extra.clone());
        let file = format!("{name}.tgz");
        let digest = sha256(&tgz);
        std::fs::write(repo.join(&file), &tgz).expect("write");
        index.push_str(&format!(
            "  {name}:\n  - name: {name}\n    version: 0.1.{i}\n    digest: {}\n    urls: [{file}]\n",
            digest.trim_start_matches("sha256:")
        ));
    }
    // A good chart listed with someone else's digest.
    let good = package(work.path(), "0.3.0");
    std::fs::copy(&good, repo.join("good.tgz")).expect("copy");
    index.push_str(&format!(
        "  mismatch:\n  - name: iter8\n    version: 0.3.0\n    digest: {}\n    urls: [good.tgz]\n",
        "ab".repeat(32)
    ));
    std::fs::write(repo.join("index.yaml"), &index).expect("index");
    let server = Nginx::start(&repo, false);
    let home = Home::new();
    let mut expectations: Vec<(&str, &str)> =
        cases.iter().map(|(n, _, want)| (*n, *want)).collect();
    expectations.push(("mismatch", "digest mismatch for"));
    for (name, want) in expectations {
        let out_dir = work.path().join(format!("out-{name}"));
        let dest = out_dir.join("dest");
        std::fs::create_dir_all(&dest).expect("mkdir");
        for untar in [false, true] {
            let mut c = home.cmd(&chartgen_bin());
            c.args(["pull", name, "--repo", &server.url, "-d"])
                .arg(&dest);
            if untar {
                c.arg("--untar");
            }
            let err = fails(c);
            assert_eq!(err.lines().count(), 1, "{name}: {err}");
            assert!(
                err.starts_with("Error: ") && err.contains(want),
                "{name}: {err}"
            );
            let left: Vec<_> = walk(&out_dir);
            assert_eq!(left, vec![dest.clone()], "{name}: files left behind");
        }
    }
    assert!(!work.path().join("escaped.txt").exists());
    assert!(!Path::new("/tmp/escaped.txt").exists());

    // An index that is not YAML.
    let bad = work.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("index.yaml"), "\u{0}\u{1}PK binary: [unclosed\n").expect("write");
    let server = Nginx::start(&bad, false);
    let mut c = home.cmd(&chartgen_bin());
    c.args(["pull", "x", "--repo", &server.url]);
    let err = fails(c);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "Error: looks like \"{}\" is not a valid chart repository",
            server.url
        )),
        "{err}"
    );
}

/// Every path under `dir` (directories included), sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        out.push(p.clone());
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out.sort();
    out
}

/// Credentials in Docker's `config.json` (not Helm's) are used for a registry; without any,
/// the TLS registry refuses the pull with its 401 in one line.
#[test]
fn docker_config_credentials() {
    use base64::Engine;
    let reg = Registry::secure();
    let home = Home::new();
    let work = tempfile::tempdir().expect("tmp");
    let tgz = package(work.path(), "0.4.0");
    let mut c = home.cmd(&tool("helm"));
    c.args(["registry", "login", &reg.host, "-u", USER, "-p", PASS]);
    c.args(reg.flags());
    ok(c);
    let mut c = home.cmd(&tool("helm"));
    c.arg("push")
        .arg(&tgz)
        .arg(format!("oci://{}/charts", reg.host));
    c.args(reg.flags());
    ok_any(c);
    // Forget Helm's login; only Docker's config holds credentials now.
    std::fs::remove_file(home.path().join("config/registry/config.json")).expect("rm");
    let reference = format!("oci://{}/charts/iter8", reg.host);
    let pull = || {
        let mut c = home.cmd(&chartgen_bin());
        c.args(["pull", &reference, "--version", "0.4.0", "-d"])
            .arg(work.path().join("out"));
        c.args(reg.flags());
        c
    };
    std::fs::create_dir(work.path().join("out")).expect("mkdir");
    let err = fails(pull());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Not authorized"), "{err}");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    let docker = home.path().join("docker");
    std::fs::create_dir_all(&docker).expect("mkdir");
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .expect("write");
    ok(pull());
    assert!(work.path().join("out/iter8-0.4.0.tgz").exists());
}

/// What chartgen pushes, real Helm uses straight from the registry: Helm v4 renders it with
/// `helm template` and `helm install --dry-run=client`, by version and by the manifest digest
/// chartgen printed, exactly as chartgen renders the same reference; `helm pull` by digest
/// gets the pushed bytes; Helm v3.11 (Iter8 v0.13's Helm) renders it by version.
#[test]
fn helm_renders_and_installs_what_chartgen_pushes() {
    let reg = Registry::secure();
    let plain = Registry::plain();
    let home = Home::new();
    let work = tempfile::tempdir().expect("tmp");
    let version = hub_version();
    let tgz = package(work.path(), &version);
    let bytes = std::fs::read(&tgz).expect("tgz");
    ok(login(&home, &chartgen_bin(), &reg, PASS));
    let mut digest = String::new();
    for r in [&reg, &plain] {
        let mut c = home.cmd(&chartgen_bin());
        c.arg("push")
            .arg(&tgz)
            .arg(format!("oci://{}/charts", r.host))
            .args(r.flags());
        digest = digest_line(&ok(c));
    }
    let reference = format!("oci://{}/charts/iter8", reg.host);
    let pinned = format!("{reference}@{digest}");
    let mut c = home.cmd(&chartgen_bin());
    // Compared with `helm` below, which is Helm v4.1.4: render as that release does.
    c.args([
        "template",
        "--helm-version",
        "4.1",
        "rel",
        &reference,
        "--version",
        &version,
    ]);
    c.args(reg.flags()).args(SETS);
    let ours = mask_start_time(&ok(c));
    assert!(ours.contains("kind: Secret"), "{ours}");
    let mut c = home.cmd(&chartgen_bin());
    c.args(["template", "--helm-version", "4.1", "rel", &pinned]);
    c.args(reg.flags()).args(SETS);
    assert_eq!(mask_start_time(&ok(c)), ours, "chartgen by digest");

    let helm = tool("helm");
    for by in [
        vec![reference.as_str(), "--version", &version],
        vec![&pinned],
    ] {
        let mut c = home.cmd(&helm);
        c.args(["template", "rel"])
            .args(&by)
            .args(reg.flags())
            .args(SETS);
        assert_eq!(mask_start_time(&ok(c)), ours, "helm template {by:?}");
        let mut c = home.cmd(&helm);
        c.args(["install", "rel"])
            .args(&by)
            .args(["--dry-run=client", "-n", "default"])
            .args(reg.flags())
            .args(SETS);
        let installed = ok(c);
        assert!(installed.contains("STATUS: pending-install"), "{installed}");
        // The dry-run install prints the same manifest after its header.
        let manifest = installed
            .split_once("\nMANIFEST:\n")
            .map(|(_, m)| m)
            .unwrap_or_else(|| panic!("no MANIFEST: in {installed}"));
        assert_eq!(
            mask_start_time(manifest).trim_end(),
            mask_start_time(&ours).trim_end()
        );
    }
    let dest = work.path().join("by-digest");
    std::fs::create_dir(&dest).expect("mkdir");
    let mut c = home.cmd(&helm);
    c.args(["pull", &pinned, "-d"]).arg(&dest).args(reg.flags());
    assert_eq!(digest_line(&ok_any(c)), digest);
    let files: Vec<_> = std::fs::read_dir(&dest)
        .expect("dest")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let pulled = std::fs::read(dest.join(&files[0])).expect("pulled");
    assert_eq!(sha256(&pulled), sha256(&bytes), "{files:?}");

    // Helm v3.11 reaches only the plain registry (see Registry::reach).
    let mut c = home.cmd(&tool("helm3"));
    c.args([
        "template",
        "rel",
        &format!("oci://{}/charts/iter8", plain.host),
        "--version",
        &version,
    ])
    .args(SETS);
    assert_eq!(mask_start_time(&ok(c)), ours, "helm3 template");
}

/// A repository chartgen builds (`chartgen package` twice, `chartgen repo index`), served by
/// nginx: real Helm v4 and v3.11 `repo add` it and `helm pull` the exact archives by version
/// and by range, and `helm template` renders what chartgen renders from it.
#[test]
fn helm_pulls_from_a_repository_chartgen_indexed() {
    let work = tempfile::tempdir().expect("tmp");
    let repo = work.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    let old = package(&repo, "0.2.0");
    let new = package(&repo, "0.13.9");
    let mut c = Command::new(chartgen_bin());
    c.args(["repo", "index"]).arg(&repo);
    ok(c);
    let nginx = Nginx::start(&repo, false);
    for helm in [tool("helm"), tool("helm3")] {
        let home = Home::new();
        let mut c = home.cmd(&helm);
        c.args(["repo", "add", "ours", &nginx.url]);
        ok(c);
        for (version, tgz) in [("0.2.0", &old), ("~0.13", &new), ("", &new)] {
            let dest = tempfile::tempdir().expect("tmp");
            let mut c = home.cmd(&helm);
            c.args(["pull", "ours/iter8", "-d"]).arg(dest.path());
            if !version.is_empty() {
                c.args(["--version", version]);
            }
            ok(c);
            let name = tgz.file_name().expect("name");
            let got = std::fs::read(dest.path().join(name)).expect("helm pulled");
            assert_eq!(
                sha256(&got),
                sha256(&std::fs::read(tgz).expect("tgz")),
                "{helm:?} {version}"
            );
        }
        let mut c = home.cmd(&helm);
        c.args(["template", "rel", "ours/iter8"]).args(SETS);
        let theirs = ok(c);
        let mut c = home.cmd(&chartgen_bin());
        // The profile of the Helm release compared with (helm: v4.1.4, helm3: v3.11.1).
        let profile = if helm.ends_with("helm3") {
            "3.11"
        } else {
            "4.1"
        };
        c.args([
            "template",
            "--helm-version",
            profile,
            "rel",
            "iter8",
            "--repo",
            &nginx.url,
        ])
        .args(SETS);
        assert_eq!(
            mask_start_time(&ok(c)),
            mask_start_time(&theirs),
            "{helm:?}"
        );
    }
}
