//! Chart sources on the command line, with Helm's flags and messages: `chartgen pull`,
//! `chartgen push`, `chartgen registry login|logout`, `chartgen repo add|update|list|remove`,
//! and the `--repo`/`--version` flags `chartgen template` shares with `pull`.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use chartgen::source::helm_env::{Credentials, HelmEnv, RepoEntry, write_atomic};
use chartgen::source::{self, ChartRef, Fetched, Options};

/// How to reach a repository or registry.
#[derive(Args, Clone, Default)]
pub struct ConnArgs {
    /// Chart repository or registry username.
    #[arg(long = "username")]
    username: Option<String>,
    /// Chart repository or registry password.
    #[arg(long = "password")]
    password: Option<String>,
    /// Verify certificates of HTTPS-enabled servers using this CA bundle.
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// Identify HTTPS client using this SSL certificate file.
    #[arg(long = "cert-file")]
    cert_file: Option<PathBuf>,
    /// Identify HTTPS client using this SSL key file.
    #[arg(long = "key-file")]
    key_file: Option<PathBuf>,
    /// Skip tls certificate checks for the chart download.
    #[arg(long = "insecure-skip-tls-verify")]
    insecure_skip_tls_verify: bool,
    /// Use insecure HTTP connections for the chart download.
    #[arg(long = "plain-http")]
    plain_http: bool,
    /// Pass credentials to all domains.
    #[arg(long = "pass-credentials")]
    pass_credentials: bool,
}

impl ConnArgs {
    fn options(&self, version: &str) -> Options {
        Options {
            version: version.to_string(),
            username: self.username.clone(),
            password: self.password.clone(),
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            plain_http: self.plain_http,
            pass_credentials: self.pass_credentials,
        }
    }
}

/// Where a chart comes from when it is not a local path.
#[derive(Args, Clone, Default)]
pub struct SourceArgs {
    /// Chart repository url where to locate the requested chart.
    #[arg(long = "repo")]
    repo: Option<String>,
    /// Specify a version constraint for the chart version to use (exact version, range such
    /// as `~0.1`, or empty for the latest).
    #[arg(long = "version", default_value = "")]
    version: String,
    #[command(flatten)]
    conn: ConnArgs,
}

impl SourceArgs {
    /// Whether `--repo` was given.
    pub fn has_repo(&self) -> bool {
        self.repo.is_some()
    }

    /// Fetch `reference`.
    pub fn fetch(&self, reference: &str) -> Result<Fetched, String> {
        let r = ChartRef::parse(reference, self.repo.as_deref()).map_err(|e| e.to_string())?;
        source::fetch(&r, &self.conn.options(&self.version)).map_err(|e| chain(&e))
    }
}

/// An error with its causes, on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[derive(Args)]
pub struct PullArgs {
    /// Chart reference: repo/name, NAME with --repo, or oci://host/path/name[:tag][@digest].
    #[arg(required = true, value_name = "CHART")]
    charts: Vec<String>,
    #[command(flatten)]
    source: SourceArgs,
    /// If set to true, will untar the chart after downloading it.
    #[arg(long = "untar")]
    untar: bool,
    /// If untar is specified, this flag specifies the name of the directory into which the
    /// chart is expanded.
    #[arg(long = "untardir", default_value = ".")]
    untardir: PathBuf,
    /// Location to write the chart.
    #[arg(short = 'd', long = "destination", default_value = ".")]
    destination: PathBuf,
}

pub fn run_pull(a: PullArgs) -> Result<(), String> {
    for reference in &a.charts {
        let f = a.source.fetch(reference)?;
        if let Some(d) = &f.manifest_digest {
            println!("Pulled: {}", f.origin);
            println!("Digest: {d}");
        }
        if a.untar {
            let dir = if a.untardir == Path::new(".") {
                a.destination.clone()
            } else {
                a.destination.join(&a.untardir)
            };
            untar(&f, &dir)?;
        } else {
            let path = a.destination.join(format!("{}-{}.tgz", f.name, f.version));
            write_atomic(&path, &f.archive).map_err(|e| chain(&e))?;
        }
    }
    Ok(())
}

/// Expand a checked archive into `dir/<name>`, through a temporary directory renamed at the
/// end: nothing is written outside `dir/<name>`, and nothing half-written stays.
fn untar(f: &Fetched, dir: &Path) -> Result<(), String> {
    let target = dir.join(&f.name);
    if target.exists() {
        return Err(format!(
            "failed to untar: a file or directory with the name {} already exists",
            target.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let files = chartgen::chart::archive_files(&f.archive).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!(".{}.untar-{}", f.name, std::process::id()));
    let write = || -> std::io::Result<()> {
        for (rel, data) in &files {
            // archive_files refused absolute paths, `..` and links; check again at the sink.
            let p = Path::new(rel);
            if p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(std::io::Error::other(format!("illegal path {rel:?}")));
            }
            let out = tmp.join(p);
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&out, data)?;
        }
        std::fs::rename(&tmp, &target)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        format!("failed to untar into {}: {e}", target.display())
    })
}

#[derive(Args)]
pub struct PushArgs {
    /// The packaged chart (.tgz).
    #[arg(value_name = "CHART")]
    chart: PathBuf,
    /// oci://host/path (the chart lands at path/<name>:<version>).
    #[arg(value_name = "REMOTE")]
    remote: String,
    #[command(flatten)]
    conn: ConnArgs,
}

pub fn run_push(a: PushArgs) -> Result<(), String> {
    let data = std::fs::read(&a.chart).map_err(|e| format!("{}: {e}", a.chart.display()))?;
    let pushed = source::oci::push(&data, &a.remote, &a.conn.options("")).map_err(|e| chain(&e))?;
    println!("Pushed: {}", pushed.reference);
    println!("Digest: {}", pushed.digest);
    Ok(())
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Login to a registry.
    Login(LoginArgs),
    /// Logout from a registry.
    Logout {
        /// The registry host.
        host: String,
    },
}

#[derive(Args)]
pub struct LoginArgs {
    /// The registry host.
    host: String,
    /// Registry username.
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
    /// Registry password or identity token.
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// Read password or identity token from stdin.
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    /// Allow connections to TLS registry without certs.
    #[arg(long = "insecure")]
    insecure: bool,
    /// Verify certificates of HTTPS-enabled servers using this CA bundle.
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// Use insecure HTTP connections.
    #[arg(long = "plain-http")]
    plain_http: bool,
}

pub fn run_registry(c: RegistryCommand) -> Result<(), String> {
    match c {
        RegistryCommand::Login(a) => {
            let mut password = a.password.clone().unwrap_or_default();
            if a.password_stdin {
                if a.password.is_some() {
                    return Err("--password and --password-stdin are mutually exclusive".into());
                }
                std::io::stdin()
                    .read_to_string(&mut password)
                    .map_err(|e| format!("reading password from stdin: {e}"))?;
                password = password.trim_end_matches(['\n', '\r']).to_string();
            }
            let Some(username) = a.username.clone() else {
                return Err("username is required (-u/--username)".into());
            };
            let opts = Options {
                ca_file: a.ca_file.clone(),
                insecure_skip_tls_verify: a.insecure,
                plain_http: a.plain_http,
                ..Options::default()
            };
            source::oci::login(&a.host, &Credentials { username, password }, &opts)
                .map_err(|e| chain(&e))?;
            println!("Login Succeeded");
            Ok(())
        }
        RegistryCommand::Logout { host } => {
            let removed = HelmEnv::from_env()
                .remove_registry_credentials(&host)
                .map_err(|e| chain(&e))?;
            if !removed {
                return Err("not logged in".into());
            }
            println!("Removing login credentials for {host}");
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct RepoAddArgs {
    /// Repository name.
    name: String,
    /// Repository URL.
    url: String,
    /// Replace (overwrite) the repo if it already exists.
    #[arg(long = "force-update")]
    force_update: bool,
    #[command(flatten)]
    conn: ConnArgs,
}

fn fetch_index(env: &HelmEnv, r: &RepoEntry) -> Result<(), String> {
    let opts = r.merge_into(&Options::default());
    let data = source::http::download_index(&r.url, &opts).map_err(|e| chain(&e))?;
    let index = source::http::parse_index(&data, &r.url).map_err(|e| chain(&e))?;
    write_atomic(&env.cached_index(&r.name), &data).map_err(|e| chain(&e))?;
    let names: String = index.entries.keys().map(|k| format!("{k}\n")).collect();
    write_atomic(&env.cached_charts(&r.name), names.as_bytes()).map_err(|e| chain(&e))
}

pub fn run_repo_add(a: RepoAddArgs) -> Result<(), String> {
    let env = HelmEnv::from_env();
    let mut repos = env.repositories().map_err(|e| chain(&e))?;
    let s = |o: &Option<PathBuf>| {
        o.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let entry = RepoEntry {
        name: a.name.clone(),
        url: a.url.trim_end_matches('/').to_string(),
        username: a.conn.username.clone().unwrap_or_default(),
        password: a.conn.password.clone().unwrap_or_default(),
        cert_file: s(&a.conn.cert_file),
        key_file: s(&a.conn.key_file),
        ca_file: s(&a.conn.ca_file),
        insecure_skip_tls_verify: a.conn.insecure_skip_tls_verify,
        pass_credentials_all: a.conn.pass_credentials,
    };
    if let Some(old) = repos.iter().find(|r| r.name == a.name) {
        if *old == entry {
            println!(
                "{:?} already exists with the same configuration, skipping",
                a.name
            );
            return Ok(());
        }
        if !a.force_update {
            return Err(format!(
                "repository name ({}) already exists, please specify a different name",
                a.name
            ));
        }
    }
    fetch_index(&env, &entry)?;
    repos.retain(|r| r.name != a.name);
    repos.push(entry);
    env.save_repositories(&repos).map_err(|e| chain(&e))?;
    println!("{:?} has been added to your repositories", a.name);
    Ok(())
}

pub fn run_repo_update(names: Vec<String>) -> Result<(), String> {
    let env = HelmEnv::from_env();
    let repos = env.repositories().map_err(|e| chain(&e))?;
    if repos.is_empty() {
        return Err("no repositories found. You must add one before updating".into());
    }
    for n in &names {
        if !repos.iter().any(|r| &r.name == n) {
            return Err(format!(
                "no repositories found matching '{n}'.  Nothing will be updated"
            ));
        }
    }
    println!("Hang tight while we grab the latest from your chart repositories...");
    let mut failed = Vec::new();
    for r in repos
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
    {
        match fetch_index(&env, r) {
            Ok(()) => println!(
                "...Successfully got an update from the {:?} chart repository",
                r.name
            ),
            Err(e) => {
                println!(
                    "...Unable to get an update from the {:?} chart repository ({}):\n\t{e}",
                    r.name, r.url
                );
                failed.push(r.name.clone());
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!(
            "failed to update the following repositories: {failed:?}"
        ));
    }
    println!("Update Complete. ⎈Happy Helming!⎈");
    Ok(())
}

pub fn run_repo_list() -> Result<(), String> {
    let repos = HelmEnv::from_env().repositories().map_err(|e| chain(&e))?;
    if repos.is_empty() {
        return Err("no repositories to show".into());
    }
    let w = repos.iter().map(|r| r.name.len()).max().unwrap_or(0).max(4);
    println!("{:<w$}\tURL", "NAME");
    for r in &repos {
        println!("{:<w$}\t{}", r.name, r.url);
    }
    Ok(())
}

pub fn run_repo_remove(names: Vec<String>) -> Result<(), String> {
    let env = HelmEnv::from_env();
    let mut repos = env.repositories().map_err(|e| chain(&e))?;
    for n in &names {
        if !repos.iter().any(|r| &r.name == n) {
            return Err(format!("no repo named {n:?} found"));
        }
        repos.retain(|r| &r.name != n);
        env.save_repositories(&repos).map_err(|e| chain(&e))?;
        let _ = std::fs::remove_file(env.cached_index(n));
        let _ = std::fs::remove_file(env.cached_charts(n));
        println!("{n:?} has been removed from your repositories");
    }
    Ok(())
}
