//! The `chartgen` command line for chart authors: `chartgen template [NAME] CHART` prints
//! exactly what `helm template` prints, with the same flags and error messages;
//! `chartgen package` and `chartgen repo index` build chart archives and repositories;
//! `chartgen pull|push|registry|repo add|update|list|remove` reach chart repositories and OCI
//! registries as Helm does;
//! `chartgen lint` examines charts as `helm lint` does.

mod author;
mod remote;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use chartgen::render::{self, Options};

#[derive(Parser)]
#[command(
    name = "chartgen",
    about = "A Helm-compatible chart renderer",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Locally render templates (like `helm template`).
    Template(Box<TemplateArgs>),
    /// Package a chart directory into a chart archive (like `helm package`).
    Package(author::PackageArgs),
    /// Chart repository tools.
    #[command(subcommand)]
    Repo(author::RepoCommand),
    /// Examine charts for possible issues (like `helm lint`).
    Lint(Box<author::LintArgs>),
    /// Download a chart from a repository or registry (like `helm pull`).
    Pull(Box<remote::PullArgs>),
    /// Push a chart archive to an OCI registry (like `helm push`).
    Push(Box<remote::PushArgs>),
    /// Login to or logout from an OCI registry (like `helm registry`).
    #[command(subcommand)]
    Registry(remote::RegistryCommand),
    /// Print the chartgen version.
    Version,
}

#[derive(Args)]
struct TemplateArgs {
    /// [NAME] CHART
    #[arg(num_args = 0..)]
    args: Vec<String>,
    #[command(flatten)]
    vals: author::ValueArgs,
    #[command(flatten)]
    source: remote::SourceArgs,
    /// Namespace scope for this request.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    namespace: String,
    /// Only show manifests rendered from the given templates.
    #[arg(short = 's', long = "show-only")]
    show_only: Vec<String>,
    /// Kubernetes version used for Capabilities.KubeVersion.
    #[arg(long = "kube-version")]
    kube_version: Option<String>,
    /// Kubernetes api versions used for Capabilities.APIVersions.
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    api_versions: Vec<String>,
    /// Set .Release.IsUpgrade instead of .Release.IsInstall.
    #[arg(long = "is-upgrade")]
    is_upgrade: bool,
    /// Include CRDs in the templated output.
    #[arg(long = "include-crds")]
    include_crds: bool,
    /// Skip tests from templated output.
    #[arg(long = "skip-tests")]
    skip_tests: bool,
    /// Prevent hooks from being printed.
    #[arg(long = "no-hooks")]
    no_hooks: bool,
    /// Disable JSON schema validation.
    #[arg(long = "skip-schema-validation")]
    skip_schema_validation: bool,
    /// The Helm release to reproduce: 4.3 (default), 4.1, 3.21 or 3.11.
    #[arg(long = "helm-version")]
    helm_version: Option<String>,
    /// Render as Helm v3.11 did (the same as --helm-version 3.11).
    #[arg(long = "helm3")]
    helm3: bool,
    /// Writes the executed templates to files in output-dir instead of stdout.
    #[arg(long = "output-dir")]
    output_dir: Option<PathBuf>,
    /// Use the release name in the output-dir path.
    #[arg(long = "release-name")]
    use_release_name: bool,
    /// On a render error, print what was rendered (like helm's --debug for invalid YAML).
    #[arg(long = "debug")]
    debug: bool,
    /// Specify template used to name the release.
    #[arg(long = "name-template")]
    name_template: Option<String>,
    /// Generate the name (and omit the NAME parameter).
    #[arg(short = 'g', long = "generate-name")]
    generate_name: bool,
}

/// A chart loading error as the profile's Helm words it: Helm 3 reads one document of
/// values.yaml, and says so in fewer words.
fn load_error(e: impl std::fmt::Display, profile: &chartgen::profile::Profile) -> String {
    let text = e.to_string();
    if profile.helm3() {
        text.replacen(
            "cannot load values.yaml: cannot unmarshal yaml document: ",
            "cannot load values.yaml: ",
            1,
        )
    } else {
        text
    }
}

/// Helm's LocateChart errors for a chart reference that is not a local path.
fn locate_chart(name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    if p.exists() {
        return Ok(p.to_path_buf());
    }
    if p.is_absolute() || name.starts_with('.') {
        return Err(format!(
            "path {} not found",
            chartgen::chart::strvals::go_quote(name)
        ));
    }
    match name.split_once('/') {
        None => Err(format!(
            "non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}"
        )),
        Some((repo, _)) => Err(format!("repo {repo} not found")),
    }
}

/// Helm's `--name-template`: a Go template (with Sprig) executed without data.
fn name_from_template(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let mut set = chartgen::template::TemplateSet::new();
    set.add("name-template", text).map_err(|e| e.to_string())?;
    let env = chartgen::template::ExecEnv::offline();
    set.execute("name-template", &chartgen::Value::Nil, &env)
        .map_err(|e| e.to_string())
}

fn run_template(a: TemplateArgs) -> Result<String, String> {
    if a.args.is_empty() {
        return Err("\"chartgen template\" requires at least 1 argument\n\nUsage:  chartgen template [NAME] [CHART] [flags]".into());
    }
    if a.args.len() > 2 {
        return Err(format!(
            "expected at most two arguments, unexpected arguments: {}",
            a.args[2..].join(", ")
        ));
    }
    let (name, chart_ref) = if a.args.len() == 2 {
        if a.generate_name {
            return Err("cannot set --generate-name and also specify a name".into());
        }
        if a.name_template.is_some() {
            return Err("cannot set --name-template and also specify a name".into());
        }
        (a.args[0].clone(), a.args[1].clone())
    } else if let Some(t) = &a.name_template {
        (name_from_template(t)?, a.args[0].clone())
    } else if a.generate_name {
        let base = Path::new(&a.args[0])
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .filter(|b| !b.is_empty() && b != ".")
            .unwrap_or_else(|| "chart".into());
        let base = base.split('.').next().unwrap_or("chart").to_string();
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        (format!("{base}-{secs}"), a.args[0].clone())
    } else {
        ("release-name".to_string(), a.args[0].clone())
    };
    let profile = author::helm_profile(a.helm_version.as_deref(), a.helm3)?;
    if !profile.set_literal && !a.vals.set_literal.is_empty() {
        // A flag this release does not have: cobra's words, before anything is read.
        return Err("unknown flag: --set-literal".into());
    }
    let opts = Options {
        release_name: name,
        namespace: a.namespace,
        kube_version: a.kube_version,
        api_versions: a.api_versions,
        show_only: a.show_only,
        is_upgrade: a.is_upgrade,
        include_crds: a.include_crds,
        skip_tests: a.skip_tests,
        no_hooks: a.no_hooks,
        skip_schema_validation: a.skip_schema_validation,
        profile,
        // The process exits right after printing.
        skip_free: true,
        ..a.vals.options()
    };
    if let Some(k) = &opts.kube_version {
        chartgen::chart::objects::KubeVersion::parse_for(k, profile)
            .map_err(|e| format!("invalid kube version '{k}': {e}"))?;
    }
    // Helm's LocateChart: oci:// and --repo are fetched, an existing path is read, and a
    // `repo/name` that is not a path names a chart in an added repository.
    let p = Path::new(&chart_ref);
    let fetched = if chart_ref.starts_with("oci://")
        || a.source.has_repo()
        || (!p.exists()
            && !p.is_absolute()
            && !chart_ref.starts_with('.')
            && chart_ref.contains('/'))
    {
        Some(a.source.fetch(&chart_ref)?)
    } else {
        locate_chart(&chart_ref)?;
        None
    };
    // Helm merges the user's values before loading the chart, so value errors come first.
    render::user_values(&opts).map_err(|e| e.to_string())?;
    let chart = match &fetched {
        Some(f) => chartgen::chart::load_archive(&f.archive).map_err(|e| load_error(e, profile))?,
        None => chartgen::chart::load(Path::new(&chart_ref)).map_err(|e| load_error(e, profile))?,
    };
    if let Some(dir) = &a.output_dir {
        let (files, warnings) = render::template_files(&chart, &opts).map_err(|e| e.to_string())?;
        for w in warnings {
            eprintln!("{w}");
        }
        let release_dir = a.use_release_name.then(|| dir.join(&opts.release_name));
        return write_output_dir(dir, release_dir.as_deref(), &files);
    }
    let result = render::template_with_warnings(&chart, &opts);
    std::mem::forget(chart);
    match result {
        Ok((out, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            Ok(out)
        }
        // Like Helm: with --debug, a partial release prints what was rendered, then the error
        // without the hint to use --debug.
        Err(e) if a.debug && e.partial => {
            println!("{}", e.manifest.trim());
            Err(e.message)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `helm template --output-dir`: each document goes to `<dir>/<source path>` (under
/// `<dir>/<release>` with `--release-name`, CRDs excepted), the first one of a file replacing
/// it and later ones appended (a hook also appends to a file left by an earlier run); one
/// `wrote <path>` line per document. Returns what Helm then prints: an empty line.
fn write_output_dir(
    dir: &Path,
    release_dir: Option<&Path>,
    files: &[render::OutputFile],
) -> Result<String, String> {
    use std::io::Write;
    let mut written = std::collections::HashSet::new();
    let mut out = std::io::stdout().lock();
    for f in files {
        let hook = f.kind == render::OutputKind::Hook;
        let base = match f.kind {
            render::OutputKind::Crd => dir,
            _ => release_dir.unwrap_or(dir),
        };
        let path = format!("{}/{}", base.display(), f.path);
        let append = written.contains(&path) || (hook && Path::new(&path).exists());
        if let Some(parent) = Path::new(&path).parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(!append)
            .append(append)
            .truncate(!append)
            .open(&path)
            .map_err(|e| format!("open {path}: {e}"))?;
        write!(file, "---\n# Source: {}\n{}\n", f.path, f.content)
            .map_err(|e| format!("write {path}: {e}"))?;
        written.insert(path.clone());
        writeln!(out, "wrote {path}").map_err(|e| e.to_string())?;
    }
    Ok("\n".to_string())
}

fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("chartgen {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Package(a) => report(author::run_package(a)),
        Command::Repo(c) => report(author::run_repo(c)),
        Command::Lint(a) => report(author::run_lint(*a)),
        Command::Pull(a) => report(remote::run_pull(*a)),
        Command::Push(a) => report(remote::run_push(*a)),
        Command::Registry(c) => report(remote::run_registry(c)),
        Command::Template(a) => match run_template(*a) {
            Ok(out) => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                if stdout
                    .write_all(out.as_bytes())
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    return ExitCode::FAILURE;
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
