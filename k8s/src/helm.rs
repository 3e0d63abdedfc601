//! Helm's install, upgrade and uninstall actions on a rendered release, with release records
//! that real Helm reads and writes ([`crate::release`]).
//!
//! Install: check every object (served kind, server-side dry run, ownership), record revision 1
//! as `pending-install` (with the chart's hooks), run the `pre-install` hooks, apply, run the
//! `post-install` hooks, record `deployed`. Upgrade: the same with revision `last + 1` as
//! `pending-upgrade` and the `pre-upgrade`/`post-upgrade` hooks, deleting the objects the new
//! manifest no longer has before the post hooks, then mark the revision it started from (the
//! last deployed one, else the last one, even a failed one) `superseded`, as Helm's
//! `releasingUpgrade` does. A failed hook fails the new revision (Helm's texts: `failed
//! pre-install: ...`, `pre-upgrade hooks failed: ...`) and leaves the one it started from as it
//! was (a failed upgrade keeps the previous revision `deployed`). Uninstall: mark
//! the last revision `uninstalling`, run its `pre-delete` hooks, delete its objects in reverse
//! order, run its `post-delete` hooks, delete every record (no history kept). Hook resources
//! are not part of the release: they stay unless a delete policy removes them (as in Helm).

use kube::Client;
use serde_json::Value;

use std::time::Duration;

use crate::apply::{Applier, ApplyError, ObjectRef, parse_manifest, removed_objects};
use crate::hooks::{self, Hook, HookError};
use crate::release::{Info, Release, ReleaseError, ReleaseStore, Status, go_time};

/// Why a Helm action failed.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("release: not found")]
    NotFound { name: String },
    #[error(
        "another operation (install/upgrade/rollback) is in progress (release {name} v{version} is {status})"
    )]
    Pending {
        name: String,
        version: i64,
        status: &'static str,
    },
    #[error("stored manifest of release {name} v{version} is not readable")]
    StoredManifest {
        name: String,
        version: i64,
        #[source]
        source: ApplyError,
    },
    #[error("{verb} {name:?} failed")]
    Failed {
        verb: &'static str,
        name: String,
        #[source]
        source: ApplyError,
    },
    #[error("{verb} {name:?} failed: {}", hook_failure(event))]
    Hook {
        verb: &'static str,
        name: String,
        event: &'static str,
        #[source]
        source: HookError,
    },
}

/// How Helm words the failure of an event's hooks: `pre-upgrade hooks failed` for upgrades,
/// `failed pre-install` (and the like) otherwise.
pub fn hook_failure(event: &str) -> String {
    if event.ends_with("-upgrade") {
        format!("{event} hooks failed")
    } else {
        format!("failed {event}")
    }
}

/// What a chart rendered for one release: the parts of its record.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The chart object of the record ([`crate::release::chart_json`]).
    pub chart: Value,
    /// The user-supplied values.
    pub config: Value,
    /// The manifest (`---\n# Source: ...` documents in install order).
    pub manifest: String,
    /// Rendered NOTES.txt, if any.
    pub notes: String,
    /// The chart's hooks ([`Hook::from_rendered`]), in the chart's kind order.
    pub hooks: Vec<Hook>,
}

/// The revision an install or upgrade will create, and whether it is an upgrade.
pub fn next_revision(history: &[Release]) -> (i64, bool) {
    match history.last() {
        Some(last) => (last.version + 1, true),
        None => (1, false),
    }
}

/// The revision an upgrade starts from: the last deployed one, else the last one.
pub fn current(history: &[Release]) -> Option<&Release> {
    history
        .iter()
        .rev()
        .find(|r| r.info.status == Status::Deployed)
        .or_else(|| history.last())
}

/// Where the logs of hooks with an output log policy go ([`hooks::OutputSink`]), shared.
pub type HookOutput = std::sync::Arc<dyn Fn(hooks::HookLog) + Send + Sync>;

/// Helm actions in one namespace.
pub struct Helm {
    client: Client,
    namespace: String,
    store: ReleaseStore,
    hook_output: Option<HookOutput>,
}

fn refs(objects: &[Value]) -> Result<Vec<ObjectRef>, ApplyError> {
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| ObjectRef::of(o, i + 1))
        .collect()
}

impl Helm {
    /// Actions on releases in `namespace`.
    pub fn new(client: Client, namespace: &str) -> Helm {
        Helm {
            store: ReleaseStore::new(client.clone(), namespace),
            client,
            namespace: namespace.to_string(),
            hook_output: None,
        }
    }

    /// The same, handing the logs of hooks with an output log policy to `output` (without
    /// it they are not read).
    pub fn with_hook_output(mut self, output: HookOutput) -> Helm {
        self.hook_output = Some(output);
        self
    }

    /// The client in use.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The namespace in use.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every revision of release `name`, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, HelmError> {
        Ok(self.store.history(name).await?)
    }

    /// Install release `name` (no `history`) or upgrade it to a new revision; each hook may
    /// take `timeout` to be ready.
    pub async fn install_or_upgrade(
        &self,
        name: &str,
        history: &[Release],
        rendered: Rendered,
        timeout: Duration,
    ) -> Result<Release, HelmError> {
        if let Some(last) = history.last()
            && last.info.status.is_pending()
        {
            return Err(HelmError::Pending {
                name: name.to_string(),
                version: last.version,
                status: last.info.status.as_str(),
            });
        }
        let (version, upgrade) = next_revision(history);
        let objects = parse_manifest(&rendered.manifest)?;
        let new_refs = refs(&objects)?;
        let previous = current(history).cloned();
        let old_refs = match &previous {
            Some(p) => parse_manifest(&p.manifest)
                .and_then(|o| refs(&o))
                .map_err(|source| HelmError::StoredManifest {
                    name: name.to_string(),
                    version: p.version,
                    source,
                })?,
            None => Vec::new(),
        };

        let mut applier = Applier::new(self.client.clone(), name, &self.namespace);
        applier.check(&objects, &old_refs).await?;

        let now = go_time(chrono::Utc::now());
        let first_deployed = previous
            .as_ref()
            .and_then(|p| p.info.first_deployed.clone())
            .unwrap_or_else(|| now.clone());
        let mut extra = serde_json::Map::new();
        extra.insert("apply_method".into(), Value::from("ssa"));
        let mut config = rendered.config;
        crate::release::normalize_numbers(&mut config);
        let mut rel = Release {
            name: name.to_string(),
            info: Info {
                first_deployed: Some(first_deployed),
                last_deployed: Some(now),
                deleted: None,
                description: if upgrade {
                    "Preparing upgrade".into()
                } else {
                    "Initial install underway".into()
                },
                status: if upgrade {
                    Status::PendingUpgrade
                } else {
                    Status::PendingInstall
                },
                notes: rendered.notes,
                extra: serde_json::Map::new(),
            },
            chart: rendered.chart,
            config,
            manifest: rendered.manifest,
            hooks: hooks::to_record(&rendered.hooks),
            version,
            namespace: self.namespace.clone(),
            extra,
        };
        self.store.create(&rel).await?;

        let verb = if upgrade { "upgrade" } else { "install" };
        let (pre, post) = if upgrade {
            ("pre-upgrade", "post-upgrade")
        } else {
            ("pre-install", "post-install")
        };
        let mut hook_list = rendered.hooks;
        let ran = self
            .run_hooks(&mut applier, &rel, &mut hook_list, pre, timeout)
            .await;
        if let Err(source) = ran {
            return Err(self.fail(&mut rel, &hook_list, verb, pre, source).await);
        }
        rel.hooks = hooks::to_record(&hook_list);
        let applied = async {
            applier.apply(&objects).await?;
            if upgrade {
                applier
                    .delete(&removed_objects(&old_refs, &new_refs, &self.namespace))
                    .await?;
            }
            Ok::<(), ApplyError>(())
        }
        .await;
        if let Err(source) = applied {
            rel.info.status = Status::Failed;
            rel.info.description = if upgrade {
                format!("Upgrade {name:?} failed: {source}")
            } else {
                format!("Release {name:?} failed: {source}")
            };
            self.store.update(&rel).await?;
            return Err(HelmError::Failed {
                verb,
                name: name.to_string(),
                source,
            });
        }
        let ran = self
            .run_hooks(&mut applier, &rel, &mut hook_list, post, timeout)
            .await;
        if let Err(source) = ran {
            return Err(self.fail(&mut rel, &hook_list, verb, post, source).await);
        }
        rel.hooks = hooks::to_record(&hook_list);
        if let Some(mut p) = previous {
            p.info.status = Status::Superseded;
            self.store.update(&p).await?;
        }
        rel.info.status = Status::Deployed;
        rel.info.description = if upgrade {
            "Upgrade complete".into()
        } else {
            "Install complete".into()
        };
        self.store.update(&rel).await?;
        Ok(rel)
    }

    /// Runs the hooks of `event`, recording `rel` with the hooks' state as each starts.
    async fn run_hooks(
        &self,
        applier: &mut Applier,
        rel: &Release,
        hook_list: &mut [Hook],
        event: &str,
        timeout: Duration,
    ) -> Result<(), HookError> {
        let store = &self.store;
        let output = self.hook_output.as_deref();
        hooks::run_event(applier, hook_list, event, timeout, output, |state| {
            let mut r = rel.clone();
            r.hooks = hooks::to_record(&state);
            async move { store.update(&r).await.map_err(HookError::Record) }
        })
        .await
    }

    /// Records `rel` as failed by a hook of `event` (Helm's description) and returns the error.
    async fn fail(
        &self,
        rel: &mut Release,
        hook_list: &[Hook],
        verb: &'static str,
        event: &'static str,
        source: HookError,
    ) -> HelmError {
        rel.hooks = hooks::to_record(hook_list);
        rel.info.status = Status::Failed;
        let what = if verb == "upgrade" {
            "Upgrade"
        } else {
            "Release"
        };
        rel.info.description = format!(
            "{what} {:?} failed: {}: {}",
            rel.name,
            hook_failure(event),
            runner::task::error_chain(&source)
        );
        if let Err(e) = self.store.update(rel).await {
            return e.into();
        }
        HelmError::Hook {
            verb,
            name: rel.name.clone(),
            event,
            source,
        }
    }

    /// Uninstall release `name`: run its `pre-delete` hooks, delete its objects, run its
    /// `post-delete` hooks, delete every record. Returns what was deleted (objects of the last
    /// revision's manifest).
    pub async fn uninstall(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<ObjectRef>, HelmError> {
        let history = self.store.history(name).await?;
        let Some(mut last) = history.last().cloned() else {
            return Err(HelmError::NotFound {
                name: name.to_string(),
            });
        };
        let objects = parse_manifest(&last.manifest)
            .and_then(|o| refs(&o))
            .map_err(|source| HelmError::StoredManifest {
                name: name.to_string(),
                version: last.version,
                source,
            })?;
        last.info.status = Status::Uninstalling;
        last.info.deleted = Some(go_time(chrono::Utc::now()));
        last.info.description = "Deletion in progress (or silently failed)".into();
        self.store.update(&last).await?;
        let mut reversed = objects.clone();
        reversed.reverse();
        let mut applier = Applier::new(self.client.clone(), name, &self.namespace);
        let mut hook_list = hooks::from_record(last.hooks.as_ref());
        for event in ["pre-delete", "post-delete"] {
            if event == "post-delete" {
                applier.delete(&reversed).await?;
            }
            self.run_hooks(&mut applier, &last, &mut hook_list, event, timeout)
                .await
                .map_err(|source| HelmError::Hook {
                    verb: "uninstall",
                    name: name.to_string(),
                    event,
                    source,
                })?;
            last.hooks = hooks::to_record(&hook_list);
        }
        for r in &history {
            self.store.delete(name, r.version).await?;
        }
        Ok(reversed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(version: i64, status: &str) -> Release {
        serde_json::from_value(serde_json::json!({
            "name": "g", "version": version, "namespace": "ns",
            "info": {"status": status}
        }))
        .expect("release")
    }

    /// No history: install revision 1; else upgrade to last + 1, starting from the last
    /// deployed revision even when a later one failed.
    #[test]
    fn revision_and_current() {
        assert_eq!(next_revision(&[]), (1, false));
        let h = vec![rel(1, "superseded"), rel(2, "deployed"), rel(3, "failed")];
        assert_eq!(next_revision(&h), (4, true));
        assert_eq!(current(&h).map(|r| r.version), Some(2));
        let failed_only = vec![rel(1, "failed")];
        assert_eq!(current(&failed_only).map(|r| r.version), Some(1));
    }

    /// Helm's wording of a failed event: upgrades say `<event> hooks failed`, the rest
    /// `failed <event>`.
    #[test]
    fn hook_failure_texts() {
        assert_eq!(hook_failure("pre-install"), "failed pre-install");
        assert_eq!(hook_failure("post-install"), "failed post-install");
        assert_eq!(hook_failure("pre-upgrade"), "pre-upgrade hooks failed");
        assert_eq!(hook_failure("post-upgrade"), "post-upgrade hooks failed");
        assert_eq!(hook_failure("pre-delete"), "failed pre-delete");
    }
}
