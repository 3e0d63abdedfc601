//! The `iter8` command line: glue between chartgen and runner; the only place that prints.
//!
//! Local (file-based) experiments as in Iter8 v0.13.0: `launch` renders the experiment chart
//! into `experiment.yaml` and runs it, `run` runs an existing `experiment.yaml`, `assert` checks
//! conditions on the result, `report` prints a text, HTML or JSON report. `target` serves a sample
//! HTTP app to test against; `completion` prints a shell's completion script. `k launch|delete`
//! install, upgrade and uninstall the experiment chart as a Helm-compatible release; `k run|assert|report` work on the experiment stored in
//! its Secret (the runner Job of the experiment chart runs `iter8 k run`); `k log` prints the
//! runner pods' logs. Logs go to stderr in Iter8's format; reports go to stdout; errors
//! print one `Error: ...` line and exit 1.

mod cmd;
mod log;

use std::process::ExitCode;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Kubernetes release optimizer
#[derive(Parser, Debug)]
#[command(
    name = "iter8",
    about = "Kubernetes release optimizer",
    long_about = "Iter8 is the Kubernetes release optimizer built for DevOps, MLOps, SRE and data \
                  science teams. Iter8 makes it easy to ensure that Kubernetes apps and ML models \
                  perform well and maximize business value.",
    disable_version_flag = true
)]
pub struct Cli {
    /// trace, debug, info, warning, error, fatal, panic
    #[arg(short = 'l', long = "loglevel", global = true, default_value = "info")]
    loglevel: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Launch an experiment in the local environment
    #[command(
        long_about = "Launch an experiment in the local environment: render the experiment \
chart into <runDir>/experiment.yaml and run it.

    iter8 launch --set \"tasks={http,assess}\" \\
      --set http.url=http://127.0.0.1:8080/echo \\
      --set assess.SLOs.upper.http/latency-mean=50

Use --dry to only write experiment.yaml. Values are set as in Helm (--set, --set-string, \
--set-file, -f)."
    )]
    Launch(LaunchArgs),
    /// Run an experiment (reads and updates experiment.yaml)
    Run(RunArgs),
    /// Assert if experiment result satisfies conditions
    #[command(
        long_about = "Assert if the result of an experiment satisfies the specified \
conditions. If all conditions are satisfied, the command exits with code 0. Else, it exits \
with code 1 and logs one line per failing clause.

    iter8 assert -c completed -c nofailure -c slos
    # same as iter8 assert -c completed,nofailure,slos

    iter8 assert -c completed,nofailure,slos --timeout 30s"
    )]
    Assert(AssertArgs),
    /// Generate experiment report
    #[command(long_about = "Generate a text, HTML or JSON report of an experiment.

    iter8 report
    iter8 report -o html > report.html   # one self-contained page
    iter8 report -o json | jq '.failingSLOs'   # for scripts: schemas/report.v1.schema.json")]
    Report(ReportArgs),
    /// Print build info
    Version(VersionArgs),
    /// Serve the sample HTTP target (echo, delay, error injection, /healthz)
    Target(TargetArgs),
    /// Work with Kubernetes experiments
    #[command(subcommand)]
    K(KCommand),
    /// Generate the autocompletion script for a shell
    #[command(
        long_about = "Generate the autocompletion script for iter8 for the given shell \
(bash, zsh, fish or powershell) on stdout.

    source <(iter8 completion bash)                 # this shell
    iter8 completion bash > /etc/bash_completion.d/iter8
    iter8 completion zsh > \"${fpath[1]}/_iter8\"
    iter8 completion fish > ~/.config/fish/completions/iter8.fish"
    )]
    Completion(CompletionArgs),
    /// Run the AutoX controller: relaunch experiments when a new app version is deployed
    #[command(
        long_about = "Run the AutoX controller. The CONFIG environment variable names \
its configuration (Iter8 v0.13's format: spec groups of a trigger object and release specs). \
When a trigger's app.kubernetes.io/version label is set or changes, each release spec's \
experiment is launched again (as an Argo CD Application, or directly as a Helm-compatible \
release with --mode direct); when the label or the trigger goes, the experiment is deleted."
    )]
    Autox(AutoxArgs),
    /// Start the Iter8 A/B/n service
    #[command(
        long_about = "Run the Iter8 A/B/n service: the gRPC service main.ABN (Lookup, \
WriteMetric, GetApplicationData) for the applications of the WATCHER_CONFIG file. Users are \
assigned to tracks by rendezvous hashing (stable across restarts); metric writes are \
acknowledged once persisted in Secret <app>-metrics.

    WATCHER_CONFIG=/config/abn-config.yaml iter8 abn --port 50051"
    )]
    Abn(AbnArgs),
}

#[derive(Args, Debug)]
pub struct AbnArgs {
    /// service port (0: any free port, printed when listening)
    #[arg(long = "port", default_value_t = 50051)]
    pub port: u16,
    /// address to listen on
    #[arg(long = "address", default_value = "0.0.0.0")]
    pub address: String,
    /// group-commit window of metric writes (Go duration, at most 1s)
    #[arg(long = "flush-interval", default_value = "100ms")]
    pub flush_interval: String,
    /// path to the kubeconfig file
    #[arg(long = "kubeconfig")]
    pub kubeconfig: Option<String>,
    /// name of the kubeconfig context to use
    #[arg(long = "kube-context")]
    pub kube_context: Option<String>,
}

#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// the shell: bash, zsh, fish or powershell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Subcommand, Debug)]
enum KCommand {
    /// Launch an experiment in Kubernetes (install or upgrade the experiment group's release)
    #[command(
        long_about = "Launch an experiment in Kubernetes: render the experiment chart \
as Helm release <group> (revision = previous + 1) and apply it; the release is Helm-compatible \
(helm list, helm get, helm uninstall work on it).

    iter8 k launch -g hello --set \"tasks={http,assess}\" \\
      --set http.url=http://httpbin.default/get \\
      --set assess.SLOs.upper.http/latency-mean=50 --set runner=job

Use --dry to only write the Kubernetes manifest into manifest.yaml."
    )]
    Launch(Box<KLaunchArgs>),
    /// Delete an experiment group (uninstall its release and everything it created)
    Delete(KDeleteArgs),
    /// Fetch logs of the experiment group's runner pods
    Log(KLogArgs),
    /// Run the experiment stored in Secret <group> (the command of the runner Job)
    #[command(hide = true)]
    Run(KRunArgs),
    /// Assert if experiment result satisfies conditions
    Assert(KAssertArgs),
    /// Generate experiment report
    Report(KReportArgs),
}

/// Where the experiment lives in the cluster.
#[derive(Args, Debug, Clone)]
pub struct KubeArgs {
    /// name of the experiment group
    #[arg(short = 'g', long = "group", default_value = "default")]
    pub group: String,
    /// namespace scope for this request
    #[arg(short = 'n', long = "namespace")]
    pub namespace: Option<String>,
    /// path to the kubeconfig file
    #[arg(long = "kubeconfig")]
    pub kubeconfig: Option<String>,
    /// name of the kubeconfig context to use
    #[arg(long = "kube-context")]
    pub kube_context: Option<String>,
}

#[derive(Args, Debug)]
pub struct KLaunchArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// simulate an experiment launch; outputs manifest.yaml file
    #[arg(long = "dry", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub dry: bool,
    /// experiment chart: a local path (directory or .tgz), oci://host/path/name[:tag][@digest], or a chart name in --repo; default: the iter8 chart built into this binary
    #[arg(short = 'c', long = "chartName")]
    pub chart_name: Option<String>,
    /// accepted for compatibility with Iter8 v0.13; requires --chartName
    #[arg(long = "localChart", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub local_chart: bool,
    #[command(flatten)]
    pub remote: RemoteChartArgs,
    #[command(flatten)]
    pub values: ValueArgs,
    /// time to wait for each chart hook (e.g. a hook Job) to be ready, as Helm's --timeout
    #[arg(long = "timeout", default_value = "5m0s")]
    pub timeout: String,
}

#[derive(Args, Debug)]
pub struct KDeleteArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// time to wait for each pre-delete/post-delete hook to be ready, as Helm's --timeout
    #[arg(long = "timeout", default_value = "5m0s")]
    pub timeout: String,
}

#[derive(Args, Debug)]
pub struct KLogArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
}

#[derive(Args, Debug)]
pub struct KRunArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// reuse experiment result; useful for experiments with multiple loops
    #[arg(long = "reuseResult", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub reuse_result: bool,
    /// start from the experiment in this file instead of the one stored in Secret <group>,
    /// writing it there first (the iter8 chart mounts its rendered experiment here when
    /// argocd=true, so that a values change reaches a Secret Argo CD leaves alone)
    #[arg(long = "spec", value_name = "FILE")]
    pub spec: Option<std::path::PathBuf>,
    /// how long to keep retrying Kubernetes API calls that fail for a passing reason
    /// (connection refused or reset, 429, 5xx) before giving up (e.g., 2m; 0s: no retries)
    #[arg(long = "apiRetryTimeout", default_value = "2m")]
    pub api_retry_timeout: String,
}

#[derive(Args, Debug)]
pub struct KAssertArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// completed | nofailure | slos; can specify multiple or separate conditions with commas;
    #[arg(short = 'c', long = "condition", value_delimiter = ',', action = ArgAction::Append, required = true)]
    pub conditions: Vec<String>,
    /// timeout duration (e.g., 5s)
    #[arg(long = "timeout", default_value = "0s")]
    pub timeout: String,
}

#[derive(Args, Debug)]
pub struct KReportArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// text | html | json (json: the shape of schemas/report.v1.schema.json)
    #[arg(short = 'o', long = "outputFormat", default_value = "text")]
    pub output_format: String,
}

/// Helm-style value flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ValueArgs {
    /// specify values in a YAML file (can specify multiple)
    #[arg(short = 'f', long = "values", value_delimiter = ',', action = ArgAction::Append)]
    pub values: Vec<String>,
    /// set values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)
    #[arg(long = "set", action = ArgAction::Append)]
    pub set: Vec<String>,
    /// set STRING values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)
    #[arg(long = "set-string", action = ArgAction::Append)]
    pub set_string: Vec<String>,
    /// set values from respective files specified via the command line (can specify multiple or separate values with commas: key1=path1,key2=path2)
    #[arg(long = "set-file", action = ArgAction::Append)]
    pub set_file: Vec<String>,
}

/// Where `-c` finds a chart that is not a local path: an `oci://` reference, or a chart name
/// in a chart repository (`--repo`, default our hub at `0.13.x`) at `--version`.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteChartArgs {
    /// chart repository URL where -c names a chart (default: our hub or $ITER8_HUB, with version 0.13.x)
    #[arg(long = "repo")]
    pub repo: Option<String>,
    /// chart version or range (e.g. 0.13.8, ~0.13); default: the newest (0.13.x in the default repo)
    #[arg(long = "version")]
    pub version: Option<String>,
    /// use plain HTTP to reach an OCI registry
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// verify the repository's or registry's certificate with this CA bundle
    #[arg(long = "ca-file")]
    pub ca_file: Option<String>,
    /// skip TLS certificate checks of the repository or registry
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// repository or registry user name (else Helm's and Docker's stored credentials)
    #[arg(long = "username")]
    pub username: Option<String>,
    /// repository or registry password
    #[arg(long = "password")]
    pub password: Option<String>,
}

#[derive(Args, Debug)]
pub struct LaunchArgs {
    /// simulate an experiment launch; outputs experiment.yaml file
    #[arg(long = "dry", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub dry: bool,
    /// experiment chart: a local path (directory or .tgz), oci://host/path/name[:tag][@digest], or a chart name in --repo; default: the iter8 chart built into this binary
    #[arg(short = 'c', long = "chartName")]
    pub chart_name: Option<String>,
    /// accepted for compatibility with Iter8 v0.13.0; requires --chartName
    #[arg(long = "localChart", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub local_chart: bool,
    #[command(flatten)]
    pub remote: RemoteChartArgs,
    /// directory where experiment is run; contains experiment.yaml
    #[arg(long = "runDir", default_value = ".")]
    pub run_dir: String,
    #[command(flatten)]
    pub values: ValueArgs,
    /// do not show a progress bar while load runs
    #[arg(long = "noProgress")]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// directory where experiment is run; contains experiment.yaml
    #[arg(long = "runDir", default_value = ".")]
    pub run_dir: String,
    /// reuse experiment result; useful for experiments with multiple loops
    #[arg(long = "reuseResult", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub reuse_result: bool,
    /// do not show a progress bar while load runs
    #[arg(long = "noProgress")]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
pub struct AssertArgs {
    /// completed | nofailure | slos; can specify multiple or separate conditions with commas;
    #[arg(short = 'c', long = "condition", value_delimiter = ',', action = ArgAction::Append, required = true)]
    pub conditions: Vec<String>,
    /// timeout duration (e.g., 5s)
    #[arg(long = "timeout", default_value = "0s")]
    pub timeout: String,
    /// directory where experiment is run; contains experiment.yaml
    #[arg(long = "runDir", default_value = ".")]
    pub run_dir: String,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// text | html | json (json: the shape of schemas/report.v1.schema.json)
    #[arg(short = 'o', long = "outputFormat", default_value = "text")]
    pub output_format: String,
    /// directory where experiment is run; contains experiment.yaml
    #[arg(long = "runDir", default_value = ".")]
    pub run_dir: String,
}

#[derive(Args, Debug)]
pub struct AutoxArgs {
    /// argocd (an Argo CD Application per spec, as Iter8 v0.13) or direct (install releases)
    #[arg(long = "mode", default_value = "argocd")]
    pub mode: String,
    /// chart repository of the release specs' charts (HTTP URL, or oci:// in argocd mode)
    #[arg(long = "repo", default_value = iter8_controllers::autox::argocd::DEFAULT_REPO_URL)]
    pub repo: String,
    /// use plain HTTP to reach an OCI registry (direct mode)
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// verify the repository's certificate with this CA bundle (direct mode)
    #[arg(long = "ca-file")]
    pub ca_file: Option<String>,
    /// skip TLS certificate checks of the repository (direct mode)
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// namespace of Argo CD Applications and the groups' owner Secrets (argocd mode)
    #[arg(long = "argocd-namespace", default_value = "argocd")]
    pub argocd_namespace: String,
    /// address of /healthz and /readyz ("off": none)
    #[arg(long = "health-addr", default_value = "0.0.0.0:8081")]
    pub health_addr: String,
    /// elect a leader with a Lease so that only one replica acts
    #[arg(long = "leader-elect", num_args = 0..=1, default_missing_value = "true", default_value = "true", action = ArgAction::Set)]
    pub leader_elect: bool,
    /// name of the Lease
    #[arg(long = "lease-name", default_value = "iter8-autox")]
    pub lease_name: String,
    /// namespace of the Lease (default: $POD_NAMESPACE, else the kubeconfig's namespace)
    #[arg(long = "lease-namespace")]
    pub lease_namespace: Option<String>,
    /// seconds a leader's claim lasts without renewal
    #[arg(long = "lease-duration", default_value_t = 15)]
    pub lease_duration: u64,
    /// this replica's identity in the Lease (default: $HOSTNAME, the pod name)
    #[arg(long = "identity")]
    pub identity: Option<String>,
    /// path to the kubeconfig file
    #[arg(long = "kubeconfig")]
    pub kubeconfig: Option<String>,
    /// name of the kubeconfig context to use
    #[arg(long = "kube-context")]
    pub kube_context: Option<String>,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// print abbreviated version info
    #[arg(long = "short", num_args = 0..=1, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub short: bool,
}

#[derive(Args, Debug)]
pub struct TargetArgs {
    /// port to listen on (0 picks a free port; the bound address is printed)
    #[arg(short = 'p', long = "port", default_value_t = 8080)]
    pub port: u16,
    /// address to listen on
    #[arg(long = "host", default_value = "127.0.0.1")]
    pub host: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cmd::report_clap_error(e),
    };
    match log::Level::parse(&cli.loglevel) {
        Ok(level) => log::set_level(level),
        Err(e) => {
            log::error(&e);
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match cli.command {
        Command::Launch(a) => cmd::launch::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Assert(a) => cmd::assert::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Version(a) => cmd::version::run(a),
        Command::Target(a) => cmd::target::run(a),
        Command::Completion(a) => cmd::completion::run(a),
        Command::K(KCommand::Launch(a)) => cmd::k::launch(*a),
        Command::K(KCommand::Delete(a)) => cmd::k::delete(a),
        Command::K(KCommand::Log(a)) => cmd::k::log(a),
        Command::K(KCommand::Run(a)) => cmd::k::run(a),
        Command::K(KCommand::Assert(a)) => cmd::k::assert(a),
        Command::K(KCommand::Report(a)) => cmd::k::report(a),
        Command::Autox(a) => cmd::autox::run(a),
        Command::Abn(a) => cmd::abn::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", cmd::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
