//! The experiment stored in a Kubernetes Secret (Iter8 v0.13 §7): Secret `<group>` in the
//! experiment's namespace, key `experiment.yaml`. This is how the runner inside a Job reads
//! its experiment and writes results, and how `iter8 k assert` and `iter8 k report` read them.
//!
//! Unlike Iter8 v0.13, a write keeps the Secret's other metadata (Helm's ownership labels and
//! annotations) and other keys: it updates the object it last read, with its resourceVersion,
//! and re-reads and retries on a conflict. A call that fails for a passing reason (the API
//! server restarting, a refused connection, 429/5xx) is retried with backoff within the
//! [`RetryPolicy`]'s time budget, each retry reported to the caller's hook. A write replaces
//! the whole document in one request, so a reader sees the previous result or the new one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use runner::driver::{Driver, DriverError};
use runner::experiment::Experiment;

use crate::retry::{Backoff, RetryHook, RetryNotice, RetryPolicy, transient};

/// The Secret key holding the experiment.
pub const EXPERIMENT_KEY: &str = "experiment.yaml";
/// The annotation naming the experiment group.
pub const GROUP_ANNOTATION: &str = "iter8.tools/group";
/// The annotation each write sets to the experiment's [`verdict`], so that tools that cannot
/// read the YAML (Argo CD's health checks, `kubectl get -o jsonpath`) see the outcome.
pub const VERDICT_ANNOTATION: &str = "iter8.tools/verdict";

/// The outcome of an experiment as one word: `running` until every task completed,
/// `failed` once a task failed, then `passed` when every version satisfies every SLO and
/// `slos-violated` when one does not (`iter8 k assert -c completed,nofailure,slos` in one word).
pub fn verdict(exp: &Experiment) -> &'static str {
    if exp.result.is_some() && !exp.no_failure() {
        "failed"
    } else if !exp.completed() {
        "running"
    } else if exp.slos() {
        "passed"
    } else {
        "slos-violated"
    }
}

/// Where to find the cluster (the `iter8 k` connection flags).
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// kubeconfig file (`--kubeconfig`); else `KUBECONFIG`, `~/.kube/config` or in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (`--kube-context`).
    pub context: Option<String>,
    /// Namespace (`-n`); else the context's namespace, else `default`.
    pub namespace: Option<String>,
}

/// Why the cluster could not be reached or the experiment not read or written.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No usable cluster configuration.
    #[error("unable to load Kubernetes configuration: {0}")]
    Config(String),
    /// The client could not be built.
    #[error("unable to create Kubernetes client: {0}")]
    Client(String),
    /// The async runtime could not start.
    #[error("unable to start the Kubernetes client runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// An experiment in Secret `<group>` of `namespace`.
pub struct SecretDriver {
    rt: tokio::runtime::Runtime,
    api: Api<Secret>,
    namespace: String,
    group: String,
    /// The object last read, updated in place on write.
    last: Option<Secret>,
    /// How often a 403 on read is retried (RBAC takes a moment to propagate after install).
    forbidden_retries: u32,
    retry_pause: Duration,
    /// Retries of transient failures (connection, 429, 5xx).
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
}

impl SecretDriver {
    /// Connect to the cluster and address Secret `group`.
    pub fn connect(opts: &KubeOptions, group: &str) -> Result<SecretDriver, KubeError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(KubeError::Runtime)?;
        let (client, namespace) = rt.block_on(connect_client(opts))?;
        Ok(SecretDriver {
            api: Api::namespaced(client, &namespace),
            rt,
            namespace,
            group: group.to_string(),
            last: None,
            forbidden_retries: 60,
            retry_pause: Duration::from_secs(1),
            policy: RetryPolicy::default(),
            on_retry: None,
        })
    }

    /// Retry transient failures (connection errors, 429, 5xx) within `policy`, calling
    /// `on_retry` before each retry.
    pub fn with_retries(mut self, policy: RetryPolicy, on_retry: RetryHook) -> Self {
        self.policy = policy;
        self.on_retry = Some(on_retry);
        self
    }

    /// Change how often (and how far apart) a forbidden read is retried.
    pub fn with_forbidden_retries(mut self, retries: u32, pause: Duration) -> Self {
        self.forbidden_retries = retries;
        self.retry_pause = pause;
        self
    }

    /// The namespace in use.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn get(&mut self) -> Result<Secret, DriverError> {
        let action = format!(
            "unable to get secret {} in namespace {}",
            self.group, self.namespace
        );
        let mut forbidden = 0;
        loop {
            let api = self.api.clone();
            let group = self.group.clone();
            match self.call(&action, || {
                let (api, group) = (api.clone(), group.clone());
                async move { api.get(&group).await }
            }) {
                Ok(s) => return Ok(s),
                Err(kube::Error::Api(status))
                    if status.code == 403 && forbidden < self.forbidden_retries =>
                {
                    forbidden += 1;
                    std::thread::sleep(self.retry_pause);
                }
                Err(e) => return Err(other(action, e)),
            }
        }
    }

    /// Runs `request` until it succeeds, fails for good, or the retry budget is spent.
    fn call<T, F, Fut>(&self, action: &str, request: F) -> Result<T, kube::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut backoff = Backoff::new(self.policy);
        let mut first_failure = None;
        loop {
            let attempt = self
                .rt
                .block_on(async {
                    tokio::time::timeout(self.policy.attempt_timeout, request()).await
                })
                .unwrap_or_else(|_| {
                    Err(kube::Error::Service(
                        format!("no answer within {:?}", self.policy.attempt_timeout).into(),
                    ))
                });
            let err = match attempt {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) => e,
                Err(e) => return Err(e),
            };
            let since = *first_failure.get_or_insert_with(std::time::Instant::now);
            let Some(pause) = backoff.next_pause(since.elapsed()) else {
                return Err(err);
            };
            if let Some(hook) = &self.on_retry {
                hook(&RetryNotice {
                    action,
                    error: &runner::task::error_chain(&err),
                    retry: backoff.retries(),
                    pause,
                    budget: self.policy.budget,
                });
            }
            std::thread::sleep(pause);
        }
    }
}

fn other(message: String, e: impl std::error::Error + Send + Sync + 'static) -> DriverError {
    DriverError::Other {
        message,
        source: Some(Box::new(e)),
    }
}

/// A client for the cluster `opts` names, and the namespace to use (`opts.namespace`, else
/// the configuration's). Call inside the runtime that will drive the client.
pub async fn connect_client(opts: &KubeOptions) -> Result<(Client, String), KubeError> {
    let config = load_config(opts).await?;
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| KubeError::Client(e.to_string()))?;
    Ok((client, namespace))
}

async fn load_config(opts: &KubeOptions) -> Result<Config, KubeError> {
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(kc, &kc_opts)
                .await
                .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))
        }
        None if opts.context.is_some() => Config::from_kubeconfig(&kc_opts)
            .await
            .map_err(|e| KubeError::Config(e.to_string())),
        None => Config::infer()
            .await
            .map_err(|e| KubeError::Config(e.to_string())),
    }
}

impl Driver for SecretDriver {
    fn read(&mut self) -> Result<Experiment, DriverError> {
        let secret = self.get()?;
        let location = format!("secret {}/{}", self.namespace, self.group);
        let text = secret
            .data
            .as_ref()
            .and_then(|d| d.get(EXPERIMENT_KEY))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .ok_or_else(|| DriverError::Other {
                message: format!(
                    "unable to extract experiment; spec secret {location} has no {EXPERIMENT_KEY} field"
                ),
                source: None,
            })?;
        let exp = Experiment::from_yaml(&text)
            .map_err(|source| DriverError::Experiment { location, source })?;
        self.last = Some(secret);
        Ok(exp)
    }

    fn write(&mut self, exp: &Experiment) -> Result<(), DriverError> {
        let text = exp.to_yaml().map_err(|source| DriverError::Experiment {
            location: format!("secret {}/{}", self.namespace, self.group),
            source,
        })?;
        let mut conflicts = 0;
        loop {
            let mut secret = match self.last.take() {
                Some(s) => s,
                None => self.get()?,
            };
            secret.data.get_or_insert_with(BTreeMap::new).insert(
                EXPERIMENT_KEY.to_string(),
                ByteString(text.clone().into_bytes()),
            );
            secret.string_data = None;
            let annotations = secret
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new);
            annotations.insert(GROUP_ANNOTATION.to_string(), self.group.clone());
            annotations.insert(VERDICT_ANNOTATION.to_string(), verdict(exp).to_string());
            let action = format!(
                "unable to update secret {} in namespace {}",
                self.group, self.namespace
            );
            let api = self.api.clone();
            let group = self.group.clone();
            let replaced = self.call(&action, || {
                let (api, group, secret) = (api.clone(), group.clone(), secret.clone());
                async move { api.replace(&group, &PostParams::default(), &secret).await }
            });
            match replaced {
                Ok(updated) => {
                    self.last = Some(updated);
                    return Ok(());
                }
                Err(kube::Error::Api(status)) if status.code == 409 && conflicts < 5 => {
                    conflicts += 1;
                }
                Err(e) => return Err(other(action, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(result: &str) -> Experiment {
        let text = format!("spec:\n- task: assess\n  with: {{}}\n{result}");
        Experiment::from_yaml(&text).expect("test experiment")
    }

    /// The verdict word for each state of the result: none yet, a task still to run, a failed
    /// task, SLOs satisfied, an SLO violated.
    #[test]
    fn verdict_words() {
        assert_eq!(verdict(&exp("")), "running");
        assert_eq!(
            verdict(&exp("result:\n  numCompletedTasks: 0\n  failure: false\n")),
            "running"
        );
        assert_eq!(
            verdict(&exp("result:\n  numCompletedTasks: 0\n  failure: true\n")),
            "failed"
        );
        let insights = |ok: bool| {
            format!(
                "result:\n  numCompletedTasks: 1\n  failure: false\n  insights:\n    numVersions: 1\n    SLOs: {{upper: [{{metric: m, limit: 1}}]}}\n    SLOsSatisfied: {{upper: [[{ok}]]}}\n"
            )
        };
        assert_eq!(verdict(&exp(&insights(true))), "passed");
        assert_eq!(verdict(&exp(&insights(false))), "slos-violated");
    }
}
