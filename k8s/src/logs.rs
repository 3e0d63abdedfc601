//! Logs of an experiment group's runner pods (`iter8 k log`): the pods labelled
//! `iter8.tools/group=<group>`, in API list order, each pod's full log (default container).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};
use kube::{Api, Client};

/// The pod label naming the experiment group.
pub const GROUP_LABEL: &str = "iter8.tools/group";

/// Why logs could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("unable to get experiment pod(s) in namespace {namespace}")]
    Pods {
        namespace: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("error in opening log stream of pod {pod} in namespace {namespace}")]
    Log {
        pod: String,
        namespace: String,
        #[source]
        source: Box<kube::Error>,
    },
}

/// `(pod name, log)` of every pod of `group` in `namespace`, in list order.
pub async fn group_logs(
    client: Client,
    namespace: &str,
    group: &str,
) -> Result<Vec<(String, String)>, LogError> {
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("{GROUP_LABEL}={group}")))
        .await
        .map_err(|source| LogError::Pods {
            namespace: namespace.to_string(),
            source: Box::new(source),
        })?;
    let mut out = Vec::new();
    for p in list.items {
        let name = p.metadata.name.unwrap_or_default();
        let log = pods
            .logs(&name, &LogParams::default())
            .await
            .map_err(|source| LogError::Log {
                pod: name.clone(),
                namespace: namespace.to_string(),
                source: Box::new(source),
            })?;
        out.push((name, log));
    }
    Ok(out)
}

/// Join pod logs as Iter8 does: separated by `\n***\n`.
pub fn join_logs(logs: &[(String, String)]) -> String {
    logs.iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n***\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two pods' logs are joined with Iter8's separator; one pod's log is unchanged.
    #[test]
    fn joined_with_separator() {
        let logs = vec![
            ("a".to_string(), "x\n".to_string()),
            ("b".into(), "y".into()),
        ];
        assert_eq!(join_logs(&logs), "x\n\n***\ny");
        assert_eq!(join_logs(&logs[..1]), "x\n");
    }
}
