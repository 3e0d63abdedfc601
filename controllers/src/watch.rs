//! A watch on one named object of any group/version/resource that survives API server
//! restarts: list once (a relist on start), then watch from the last resourceVersion seen
//! (events and bookmarks), resume from it after any interruption, and relist only when the
//! API server says that version is gone (410). Every change is a notification; the
//! controller reads the object live, so notifications carry no object.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{ApiResource, DynamicObject, ListParams, WatchEvent, WatchParams};
use kube::{Api, Client};
use tokio::sync::mpsc::UnboundedSender;

use crate::Reporter;

/// Where to start the next watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// List first (start, or the version expired).
    Relist,
    /// Watch from this resourceVersion.
    From(String),
}

/// After a watch ended with API status `code` (None: a transport error or a clean end),
/// resume from the last version seen unless the server said it is gone (410 Gone) or none
/// was seen.
pub fn resume_after(code: Option<u16>, last: Option<&str>) -> Resume {
    match (code, last) {
        (Some(410), _) | (_, None) => Resume::Relist,
        (_, Some(v)) => Resume::From(v.to_string()),
    }
}

/// The API resource of a group/version/plural (the kind is not needed to list or watch).
pub fn api_resource(group: &str, version: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        },
        kind: String::new(),
        plural: plural.to_string(),
    }
}

/// One watched object.
#[derive(Debug, Clone)]
pub struct Watched {
    pub resource: ApiResource,
    pub namespace: String,
    pub name: String,
    /// What to send on each change (e.g. the group name).
    pub key: String,
}

impl Watched {
    fn describe(&self) -> String {
        let gr = if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        };
        format!("{gr} {}/{}", self.namespace, self.name)
    }
}

/// Watch `w` until the task is dropped: `changed` gets `w.key` after each (re)list and each
/// event; `synced` gets it once after the first successful list.
pub async fn run(
    client: Client,
    w: Watched,
    changed: UnboundedSender<String>,
    synced: UnboundedSender<String>,
    reporter: Arc<dyn Reporter>,
) {
    let api: Api<DynamicObject> = Api::namespaced_with(client, &w.namespace, &w.resource);
    let fields = format!("metadata.name={}", w.name);
    let what = w.describe();
    let mut resume = Resume::Relist;
    let mut first = true;
    let mut failures: u32 = 0;
    loop {
        if resume == Resume::Relist {
            match api.list(&ListParams::default().fields(&fields)).await {
                Ok(list) => {
                    let rv = list.metadata.resource_version.unwrap_or_default();
                    reporter.info(&format!("listed {what} at resourceVersion {rv}"));
                    resume = Resume::From(rv);
                    failures = 0;
                    let _ = changed.send(w.key.clone());
                    if first {
                        first = false;
                        let _ = synced.send(w.key.clone());
                    }
                }
                Err(e) => {
                    failures += 1;
                    reporter.warn(&format!("unable to list {what}: {e}; retrying"));
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
        }
        let Resume::From(rv) = resume.clone() else {
            continue;
        };
        let params = WatchParams::default().fields(&fields).timeout(290);
        let mut code = None;
        let mut last = Some(rv.clone());
        match api.watch(&params, &rv).await {
            Err(e) => {
                failures += 1;
                reporter.warn(&format!(
                    "unable to watch {what} from resourceVersion {rv}: {e}; retrying"
                ));
            }
            Ok(stream) => {
                futures_util::pin_mut!(stream);
                while let Some(ev) = stream.next().await {
                    match ev {
                        Ok(
                            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o),
                        ) => {
                            failures = 0;
                            if let Some(v) = o.metadata.resource_version {
                                last = Some(v);
                            }
                            let _ = changed.send(w.key.clone());
                        }
                        Ok(WatchEvent::Bookmark(b)) => {
                            last = Some(b.metadata.resource_version);
                        }
                        Ok(WatchEvent::Error(s)) => {
                            code = Some(s.code);
                            reporter.warn(&format!(
                                "watch of {what} ended: {} ({})",
                                s.message, s.code
                            ));
                            break;
                        }
                        Err(e) => {
                            failures += 1;
                            reporter.warn(&format!("watch of {what} interrupted: {e}"));
                            break;
                        }
                    }
                }
            }
        }
        resume = resume_after(code, last.as_deref());
        match &resume {
            Resume::From(v) if failures > 0 => {
                reporter.info(&format!(
                    "resuming watch of {what} from resourceVersion {v}"
                ));
                tokio::time::sleep(backoff(failures)).await;
            }
            Resume::From(_) => {}
            Resume::Relist => {
                reporter.info(&format!("resourceVersion expired; relisting {what}"));
            }
        }
    }
}

/// 0.5 s doubling up to 8 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64 << failures.saturating_sub(1).min(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watch resumes from the last version seen after a transport error or a clean end,
    /// and relists only on 410 Gone or when no version was ever seen.
    #[test]
    fn resume_rules() {
        assert_eq!(resume_after(None, Some("42")), Resume::From("42".into()));
        assert_eq!(
            resume_after(Some(500), Some("42")),
            Resume::From("42".into())
        );
        assert_eq!(resume_after(Some(410), Some("42")), Resume::Relist);
        assert_eq!(resume_after(None, None), Resume::Relist);
    }

    /// Core resources have a bare version as apiVersion; others group/version.
    #[test]
    fn resources() {
        assert_eq!(api_resource("", "v1", "services").api_version, "v1");
        assert_eq!(
            api_resource("apps", "v1", "deployments").api_version,
            "apps/v1"
        );
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(9), Duration::from_secs(8));
    }
}
