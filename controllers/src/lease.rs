//! Leader election with a `coordination.k8s.io/v1` Lease: one replica holds it and renews it;
//! the others follow until it expires. The step to take is a pure function ([`step`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::PostParams;

use crate::Reporter;

/// What to do with the Lease at this moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No Lease yet: create it holding it.
    Create,
    /// We hold it: renew it.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it over.
    Acquire,
    /// Another replica holds it.
    Follow(String),
}

/// The step for replica `me` given the Lease's current state at `now`.
pub fn step(lease: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Step {
    let Some(spec) = lease else {
        return Step::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == me {
        return Step::Renew;
    }
    if holder.is_empty() {
        return Step::Acquire;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let last = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    match last {
        Some(t) if t + SignedDuration::from_secs(duration) > now => {
            Step::Follow(holder.to_string())
        }
        _ => Step::Acquire,
    }
}

/// Lease settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a holder's claim lasts without renewal.
    pub duration: Duration,
    /// How often to renew or retry.
    pub retry: Duration,
}

/// Keep trying to hold the Lease; `leader` is true exactly while this replica holds it.
/// Runs until the task is dropped.
pub async fn run(
    client: kube::Client,
    s: Settings,
    leader: Arc<AtomicBool>,
    notify: tokio::sync::mpsc::UnboundedSender<()>,
    reporter: Arc<dyn Reporter>,
) {
    let api: Api<Lease> = Api::namespaced(client, &s.namespace);
    let mut last_holder = String::new();
    loop {
        let result = attempt(&api, &s).await;
        let was = leader.load(Ordering::SeqCst);
        let now = match result {
            Ok(Step::Follow(holder)) => {
                if holder != last_holder {
                    reporter.info(&format!(
                        "lease {}/{} is held by {holder}; following",
                        s.namespace, s.name
                    ));
                    last_holder = holder;
                }
                false
            }
            Ok(_) => true,
            Err(e) => {
                if was {
                    reporter.warn(&format!("lost lease {}/{}: {e}", s.namespace, s.name));
                }
                false
            }
        };
        leader.store(now, Ordering::SeqCst);
        if now && !was {
            reporter.info(&format!(
                "acquired lease {}/{} as {}; acting as leader",
                s.namespace, s.name, s.identity
            ));
            last_holder = s.identity.clone();
            let _ = notify.send(());
        }
        tokio::time::sleep(s.retry).await;
    }
}

async fn attempt(api: &Api<Lease>, s: &Settings) -> Result<Step, kube::Error> {
    let current = match api.get(&s.name).await {
        Ok(l) => Some(l),
        Err(kube::Error::Api(e)) if e.code == 404 => None,
        Err(e) => return Err(e),
    };
    let now = Timestamp::now();
    let st = step(
        current.as_ref().and_then(|l| l.spec.as_ref()),
        &s.identity,
        now,
    );
    let duration = i32::try_from(s.duration.as_secs()).unwrap_or(i32::MAX);
    match (&st, current) {
        (Step::Create, _) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(s.name.clone()),
                    namespace: Some(s.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(s.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            api.create(&PostParams::default(), &lease).await?;
        }
        (Step::Renew | Step::Acquire, Some(mut lease)) => {
            // The resourceVersion read above makes a concurrent change a conflict (409).
            let spec = lease.spec.get_or_insert_with(Default::default);
            if st == Step::Acquire {
                spec.holder_identity = Some(s.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.lease_duration_seconds = Some(duration);
            spec.renew_time = Some(MicroTime(now));
            api.replace(&s.name, &PostParams::default(), &lease).await?;
        }
        _ => {}
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_secs_ago: i64, duration: i32, now: Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(now - SignedDuration::from_secs(renewed_secs_ago))),
            ..Default::default()
        }
    }

    /// No Lease: create; ours: renew; another holder within its duration: follow; expired or
    /// empty holder: take over.
    #[test]
    fn steps() {
        let now = Timestamp::from_second(1_800_000_000).expect("timestamp");
        assert_eq!(step(None, "a", now), Step::Create);
        assert_eq!(step(Some(&spec("a", 100, 15, now)), "a", now), Step::Renew);
        assert_eq!(
            step(Some(&spec("b", 5, 15, now)), "a", now),
            Step::Follow("b".into())
        );
        assert_eq!(step(Some(&spec("b", 16, 15, now)), "a", now), Step::Acquire);
        assert_eq!(step(Some(&spec("", 1, 15, now)), "a", now), Step::Acquire);
        let never_renewed = LeaseSpec {
            holder_identity: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(step(Some(&never_renewed), "a", now), Step::Acquire);
    }
}
