//! The applications' data in memory (tracks, versions, per-version summary metrics) and its
//! persistence in Secret `<name>-metrics` (key `application.yaml`, Iter8 v0.13's shape) in the
//! application's namespace.
//!
//! Durability (beyond v0.13, which wrote at most every 60 s and lost the rest on a crash):
//! writes are group-committed. A `WriteMetric` is applied in memory, then waits until a flush
//! that includes it has replaced the Secret, and only then is acknowledged. One flusher per
//! application updates the Secret at most once per window (`flush_interval`, default 100 ms,
//! at most 1 s): a write after a quiet spell is flushed at once, and under load the writes of a
//! window share one update. So an acknowledged write survives any crash, and a hard kill loses
//! only writes not yet acknowledged: those of the current window, at most the last second.
//! On SIGTERM the service stops taking calls and flushes what is pending before it exits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use runner::abn::{self, AppData};
use tokio::sync::{Notify, watch};

/// Data key of the Secret.
pub const SECRET_KEY: &str = "application.yaml";
/// Suffix of the Secret's name.
pub const SECRET_SUFFIX: &str = "-metrics";
/// Largest application data written (a Secret holds at most 1 MiB); beyond it, versions no
/// track uses are dropped first (as v0.13 does).
pub const MAX_DATA_BYTES: usize = 750_000;
/// How long a `WriteMetric` waits for its flush before it fails.
pub const PERSIST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a call did wrong or what failed; the messages are Iter8 v0.13's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AbnError {
    #[error("no user session provided")]
    NoUser,
    #[error("application {0} not found")]
    NotFound(String),
    #[error("{0} not in memory")]
    NotInMemory(String),
    #[error("track not mapped to version")]
    NoTrack,
    #[error("{0}")]
    BadValue(String),
    #[error("unable to persist application {app}: {message}")]
    Persist { app: String, message: String },
}

/// How far an application's writes have been persisted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Persisted {
    /// Every write numbered up to this one is in the Secret.
    pub seq: u64,
    /// The last failed flush: (the writes it held up to, the error).
    pub error: Option<(u64, String)>,
}

struct State {
    data: AppData,
    /// Number of changes applied in memory.
    applied: u64,
}

/// One application.
pub struct App {
    key: String,
    state: Mutex<State>,
    wake: Notify,
    persisted: watch::Sender<Persisted>,
}

impl App {
    fn new(key: &str, data: AppData) -> App {
        App {
            key: key.to_string(),
            state: Mutex::new(State { data, applied: 0 }),
            wake: Notify::new(),
            persisted: watch::Sender::new(Persisted::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The application key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// A copy of the data.
    pub fn data(&self) -> AppData {
        self.lock().data.clone()
    }

    /// The track for `user` (empty when there is none).
    pub fn lookup(&self, user: &str) -> Result<String, AbnError> {
        if user.is_empty() {
            return Err(AbnError::NoUser);
        }
        let st = self.lock();
        Ok(super::hash::choose(&st.data.tracks, user)
            .unwrap_or_default()
            .to_string())
    }

    /// Add `value` to `metric` of the version `user` is routed to; returns the change number to
    /// wait for with [`App::persisted`].
    pub fn write_metric(&self, user: &str, metric: &str, value: &str) -> Result<u64, AbnError> {
        if user.is_empty() {
            return Err(AbnError::NoUser);
        }
        let mut st = self.lock();
        let track = super::hash::choose(&st.data.tracks, user).unwrap_or_default();
        let version = st
            .data
            .tracks
            .get(track)
            .cloned()
            .ok_or(AbnError::NoTrack)?;
        let v = abn::parse_metric_value(value).map_err(AbnError::BadValue)?;
        let summary = st
            .data
            .versions
            .entry(version)
            .or_default()
            .metrics
            .entry(metric.to_string())
            .or_insert_with(abn::empty_summary);
        abn::add_to_summary(summary, v);
        st.applied += 1;
        let seq = st.applied;
        drop(st);
        self.wake.notify_one();
        Ok(seq)
    }

    /// Replace the live tracks (creating entries for new versions); true if they changed.
    pub fn set_tracks(&self, tracks: BTreeMap<String, String>) -> bool {
        let mut st = self.lock();
        if st.data.tracks == tracks {
            return false;
        }
        for v in tracks.values() {
            st.data.versions.entry(v.clone()).or_default();
        }
        st.data.tracks = tracks;
        st.applied += 1;
        drop(st);
        self.wake.notify_one();
        true
    }

    /// Wait until change `seq` is in the Secret (or its flush failed, or [`PERSIST_TIMEOUT`]).
    pub async fn persisted(&self, seq: u64) -> Result<(), AbnError> {
        let mut rx = self.persisted.subscribe();
        let wait = async {
            loop {
                {
                    let p = rx.borrow_and_update();
                    if p.seq >= seq {
                        return Ok(());
                    }
                    if let Some((upto, message)) = &p.error
                        && *upto >= seq
                    {
                        return Err(AbnError::Persist {
                            app: self.key.clone(),
                            message: message.clone(),
                        });
                    }
                }
                if rx.changed().await.is_err() {
                    return Err(AbnError::Persist {
                        app: self.key.clone(),
                        message: "the service is stopping".into(),
                    });
                }
            }
        };
        match tokio::time::timeout(PERSIST_TIMEOUT, wait).await {
            Ok(r) => r,
            Err(_) => Err(AbnError::Persist {
                app: self.key.clone(),
                message: format!("not written within {PERSIST_TIMEOUT:?}"),
            }),
        }
    }

    /// Changes applied and changes persisted.
    pub fn progress(&self) -> (u64, u64) {
        (self.lock().applied, self.persisted.borrow().seq)
    }

    /// Write the data if anything changed since the last flush; returns whether it wrote.
    pub async fn flush(&self, secret: &mut SecretWriter) -> Result<bool, String> {
        let (data, seq) = {
            let st = self.lock();
            (st.data.clone(), st.applied)
        };
        if seq <= self.persisted.borrow().seq {
            return Ok(false);
        }
        match secret.write(&encode(&data)?).await {
            Ok(()) => {
                self.persisted.send_modify(|p| {
                    p.seq = p.seq.max(seq);
                    p.error = None;
                });
                Ok(true)
            }
            Err(e) => {
                self.persisted
                    .send_modify(|p| p.error = Some((seq, e.clone())));
                Err(e)
            }
        }
    }

    /// Flush after a change, at most once per `interval` (a write after a quiet spell is
    /// flushed at once; under load the writes of one interval share one update), until `stop`
    /// resolves; then one last flush.
    pub async fn flush_loop(
        self: Arc<Self>,
        mut secret: SecretWriter,
        interval: Duration,
        reporter: Arc<dyn crate::Reporter>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = self.flush(&mut secret).await {
                reporter.warn(&format!("unable to persist application {}: {e}", self.key));
                tokio::time::sleep(interval.max(Duration::from_millis(200))).await;
                self.wake.notify_one();
            }
            tokio::time::sleep(interval).await;
        }
        for _ in 0..3 {
            match self.flush(&mut secret).await {
                Ok(_) => return,
                Err(e) => {
                    reporter.warn(&format!(
                        "unable to persist application {} on shutdown: {e}",
                        self.key
                    ));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

/// The data as the Secret holds it (YAML); versions no track uses are dropped when it would
/// be larger than [`MAX_DATA_BYTES`].
pub fn encode(data: &AppData) -> Result<String, String> {
    let text = serde_yaml_ng::to_string(data).map_err(|e| e.to_string())?;
    if text.len() <= MAX_DATA_BYTES {
        return Ok(text);
    }
    let mut smaller = data.clone();
    let live: Vec<String> = smaller.tracks.values().cloned().collect();
    smaller.versions.retain(|v, _| live.contains(v));
    let text = serde_yaml_ng::to_string(&smaller).map_err(|e| e.to_string())?;
    if text.len() > MAX_DATA_BYTES {
        return Err("application data too large".into());
    }
    Ok(text)
}

/// Read the Secret's `application.yaml`.
pub fn decode(text: &str) -> Result<AppData, serde_yaml_ng::Error> {
    serde_yaml_ng::from_str::<Option<AppData>>(text).map(Option::unwrap_or_default)
}

/// Writes one application's Secret with get + update (what the chart's Role grants), keeping
/// the last copy so that a flush is one update unless another writer got in between.
pub struct SecretWriter {
    api: Api<Secret>,
    name: String,
    last: Option<Secret>,
}

impl SecretWriter {
    /// The writer of `<name>-metrics` in the namespace of `api`.
    pub fn new(api: Api<Secret>, app_name: &str) -> SecretWriter {
        SecretWriter {
            api,
            name: format!("{app_name}{SECRET_SUFFIX}"),
            last: None,
        }
    }

    /// Read the stored data: `None` when the Secret or its key is missing.
    pub async fn read(&mut self) -> Result<Option<AppData>, String> {
        let s = match self.api.get_opt(&self.name).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("unable to get secret {}: {e}", self.name)),
        };
        let text = s
            .data
            .as_ref()
            .and_then(|d| d.get(SECRET_KEY))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned());
        self.last = Some(s);
        match text {
            None => Ok(None),
            Some(t) => decode(&t)
                .map(Some)
                .map_err(|e| format!("secret {} key {SECRET_KEY}: {e}", self.name)),
        }
    }

    /// Replace the data key with `text`.
    pub async fn write(&mut self, text: &str) -> Result<(), String> {
        for _ in 0..3 {
            let mut s = match self.last.take() {
                Some(s) => s,
                None => match self.api.get_opt(&self.name).await {
                    Ok(Some(s)) => s,
                    Ok(None) => {
                        return Err(format!(
                            "secret {} does not exist; no metrics can be recorded",
                            self.name
                        ));
                    }
                    Err(e) => return Err(format!("unable to get secret {}: {e}", self.name)),
                },
            };
            s.data
                .get_or_insert_with(BTreeMap::new)
                .insert(SECRET_KEY.into(), ByteString(text.as_bytes().to_vec()));
            s.string_data = None;
            match self.api.replace(&self.name, &Default::default(), &s).await {
                Ok(updated) => {
                    self.last = Some(updated);
                    return Ok(());
                }
                Err(kube::Error::Api(ae)) if ae.code == 409 => continue,
                Err(e) => return Err(format!("unable to update secret {}: {e}", self.name)),
            }
        }
        Err(format!(
            "unable to update secret {}: kept conflicting with other writers",
            self.name
        ))
    }
}

/// All configured applications.
#[derive(Default)]
pub struct Store {
    apps: BTreeMap<String, Arc<App>>,
}

impl Store {
    /// Add an application with its stored data.
    pub fn insert(&mut self, key: &str, mut data: AppData) -> Arc<App> {
        data.name = key.to_string();
        let app = Arc::new(App::new(key, data));
        self.apps.insert(key.to_string(), app.clone());
        app
    }

    /// The application named `name` (a bare name is in namespace `default`).
    pub fn get(&self, name: &str) -> Option<&Arc<App>> {
        match self.apps.get(name) {
            Some(a) => Some(a),
            None if !name.contains('/') => self.apps.get(&format!("default/{name}")),
            None => None,
        }
    }

    /// Every application.
    pub fn apps(&self) -> impl Iterator<Item = &Arc<App>> {
        self.apps.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let mut data = AppData::default();
        data.tracks.insert("backend".into(), "v1".into());
        App::new("ns/backend", data)
    }

    /// Lookups and writes refuse a missing user and a value that is not a number with v0.13's
    /// messages; a write adds to the summary of the user's version and is numbered.
    #[test]
    fn calls() {
        let a = app();
        assert_eq!(a.lookup(""), Err(AbnError::NoUser));
        assert_eq!(a.lookup("u1").as_deref(), Ok("backend"));
        assert_eq!(
            a.write_metric("u1", "sales", "x")
                .map_err(|e| e.to_string()),
            Err("strconv.ParseFloat: parsing \"x\": invalid syntax".to_string())
        );
        assert_eq!(a.write_metric("u1", "sales", "2"), Ok(1));
        assert_eq!(a.write_metric("u2", "sales", "4"), Ok(2));
        assert_eq!(
            a.data().versions["v1"].metrics["sales"],
            [2.0, 6.0, 2.0, 4.0, 20.0]
        );
        assert!(a.set_tracks(BTreeMap::new()));
        assert_eq!(a.lookup("u1").as_deref(), Ok(""));
        assert_eq!(a.write_metric("u1", "sales", "2"), Err(AbnError::NoTrack));
    }

    /// The YAML the Secret holds reads back to the same data; oversized data drops versions
    /// no track uses.
    #[test]
    fn encoding() {
        let a = app();
        a.write_metric("u", "sales", "1.5").expect("write");
        let d = a.data();
        assert_eq!(decode(&encode(&d).expect("encode")).expect("decode"), d);
        let mut big = d.clone();
        for i in 0..20_000 {
            big.versions
                .entry(format!("old-{i}"))
                .or_default()
                .metrics
                .insert("sales".into(), [1.0, 2.0, 3.0, 4.0, 5.0]);
        }
        let text = encode(&big).expect("fits after dropping");
        assert_eq!(decode(&text).expect("decode").versions.len(), 1);
        assert!(decode("").expect("empty").tracks.is_empty());
    }
}
