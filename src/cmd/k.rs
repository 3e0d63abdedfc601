//! `iter8 k`: experiments stored in Kubernetes. The experiment chart installs Secret
//! `<group>` (key `experiment.yaml`) and a Job or CronJob whose pod runs `iter8 k run`; that
//! reads the experiment from the Secret and writes results back after every step.
//! `iter8 k assert` and `iter8 k report` read the same Secret.

use iter8_k8s::{KubeOptions, SecretDriver};
use runner::Driver;

use crate::{KAssertArgs, KReportArgs, KRunArgs, KubeArgs};

fn kube_options(k: &KubeArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: k.kubeconfig.clone().map(Into::into),
        context: k.kube_context.clone(),
        namespace: k.namespace.clone(),
    }
}

fn connect(k: &KubeArgs) -> anyhow::Result<SecretDriver> {
    SecretDriver::connect(&kube_options(k), &k.group).map_err(|e| {
        crate::log::error(&e.to_string());
        anyhow::anyhow!("{e} (hint: pass --kubeconfig or set KUBECONFIG)")
    })
}

fn read(driver: &mut SecretDriver) -> anyhow::Result<runner::Experiment> {
    driver.read().map_err(|e| {
        let chain = runner::task::error_chain(&e);
        crate::log::error_trace("unable to read experiment", &chain);
        anyhow::anyhow!(chain)
    })
}

/// `iter8 k run`: run the experiment in Secret `<group>` (the runner Job's command).
pub fn run(args: KRunArgs) -> anyhow::Result<()> {
    let mut driver = connect(&args.kube)?;
    // Read first so a missing or malformed Secret is reported before anything is written.
    read(&mut driver)?;
    // `ready` tasks default to the configuration's namespace, not --namespace (Iter8 v0.13).
    let ready = KubeOptions {
        namespace: None,
        ..kube_options(&args.kube)
    };
    super::run::execute_with(&mut driver, args.reuse_result, false, &ready)
}

/// `iter8 k assert`: check conditions on the result in Secret `<group>`.
pub fn assert(args: KAssertArgs) -> anyhow::Result<()> {
    let mut driver = connect(&args.kube)?;
    super::assert::check(&args.conditions, &args.timeout, &mut || read(&mut driver))
}

/// `iter8 k report`: report of the experiment in Secret `<group>`.
pub fn report(args: KReportArgs) -> anyhow::Result<()> {
    let mut driver = connect(&args.kube)?;
    super::report::print(&args.output_format, &mut || read(&mut driver))
}
