//! One connection's request loop, whatever carries the bytes: keeps the open-model schedule (or
//! runs closed-loop), stops on the request quota or the deadline, and records latencies (from
//! the actual send and, when paced, coordinated-omission corrected: see [`Chain`]), the
//! generator's own lag, the requests still queued at the deadline, and status codes. The
//! epoll path (`http.rs`), the io_uring path (`uring.rs`) and gRPC (`grpc/`) all run it, and
//! merge their connections' measurements into one [`LoadReport`] with [`report`].

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Instant;

use std::time::Duration;

use crate::load::http::Protocol;
use crate::load::pacing::{Chain, Pace, Schedule};
use crate::load::series::Series;
use crate::load::{IoPath, LoadError, LoadProgress, LoadReport, Stop};
use crate::metrics::{LatencyRecorder, StatusCounts};

/// Requests counted locally before they are added to the shared progress counter.
const DONE_BATCH: u64 = 64;

/// What the run's progress line shows while load runs, shared by its threads: requests done
/// (also reached through `Deref`, as the plain counter it extends), failures so far, and the
/// p99 of the last finished interval of whichever thread finished one last.
#[derive(Debug, Default)]
pub(crate) struct Live {
    done: AtomicU64,
    failed: AtomicU64,
    /// Microseconds; 0 until an interval finished.
    p99_us: AtomicU64,
}

impl std::ops::Deref for Live {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.done
    }
}

impl Live {
    /// Failures so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The latest finished interval's p99 (msec).
    pub fn p99_ms(&self) -> Option<f64> {
        let us = self.p99_us.load(Ordering::Relaxed);
        (us > 0).then(|| us as f64 / 1000.0)
    }
}

/// What a connection does per request; implemented by each I/O path.
pub(crate) trait Fetch {
    /// One request sent at `sent` (connecting or reconnecting as needed, within the
    /// per-request timeout counted from `sent`): the status code, or `-1` for a transport
    /// failure or timeout.
    async fn fetch(&mut self, sent: Instant) -> i32;
    /// Wait until `t` (open model).
    async fn sleep_until(&mut self, t: Instant);
    /// Whether a call that ended with `code` succeeded, for the success-only latency; protocols
    /// that do not keep one (HTTP) leave it empty.
    fn succeeded(&self, _code: i32) -> bool {
        false
    }
    /// Whether a call that ended with `code` counts as failed in the live progress line (the
    /// task applies its own error rule to the results): HTTP's default, a transport failure
    /// or a status of 400 or more.
    fn failed_live(&self, code: i32) -> bool {
        !(0..400).contains(&code)
    }
}

/// When one connection's loop starts and stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Load start, shared by all connections.
    pub start: Instant,
    /// Duration mode: no request is sent at or after this time.
    pub deadline: Option<Instant>,
    /// Open model: this connection's send times.
    pub schedule: Option<Schedule>,
    /// Count mode: this connection's share of the requests.
    pub quota: Option<u64>,
}

/// What one connection measured.
pub(crate) struct WorkerOut {
    pub corrected: LatencyRecorder,
    pub uncorrected: LatencyRecorder,
    /// Latency (as `corrected` when paced, else as `uncorrected`) of the calls that succeeded.
    pub succeeded: LatencyRecorder,
    /// Paced runs: how late the generator sent each request (see [`Chain`]).
    pub lag: LatencyRecorder,
    pub codes: StatusCounts,
    pub last_send: Option<Instant>,
    pub last_done: Option<Instant>,
    /// Requests intended before the deadline that could not be sent because the connection was
    /// still busy with the target.
    pub queued_at_end: u64,
    /// The longest wait for the connection, of sent requests and of those still queued at the
    /// deadline (counted up to the deadline).
    pub queue_wait_max: Duration,
    /// Per-interval latencies and codes (by intended send time).
    pub series: Series,
}

impl WorkerOut {
    pub fn new() -> Self {
        WorkerOut {
            corrected: LatencyRecorder::new(),
            uncorrected: LatencyRecorder::new(),
            succeeded: LatencyRecorder::new(),
            lag: LatencyRecorder::new(),
            codes: StatusCounts::default(),
            last_send: None,
            last_done: None,
            queued_at_end: 0,
            queue_wait_max: Duration::ZERO,
            series: Series::default(),
        }
    }
}

/// Run the request loop of one connection; `done` counts completed requests for progress
/// reports (updated in batches, exact when the loop returns). The connection's measurements
/// alone; see [`measure_into`] for a tally shared by the connections of one thread.
pub(crate) async fn measure<F: Fetch>(f: &mut F, plan: &Plan, done: &Live) -> WorkerOut {
    let out = RefCell::new(WorkerOut::new());
    measure_into(f, plan, done, &out).await;
    out.into_inner()
}

/// [`measure`], adding the connection's measurements to `out`, which the other connections of
/// the same thread share: one set of histograms per thread instead of per connection (less
/// memory per connection, fewer cache misses per request), merged exactly as per-connection
/// ones would be. `out` is borrowed only between awaits.
pub(crate) async fn measure_into<F: Fetch>(
    f: &mut F,
    plan: &Plan,
    done: &Live,
    out: &RefCell<WorkerOut>,
) {
    let mut chain = Chain::new(plan.start);
    let mut prev_sent = plan.start;
    let mut last_end: Option<Instant> = None;
    let mut i: u64 = 0;
    let mut unreported: u64 = 0;
    loop {
        if let Some(q) = plan.quota
            && i >= q
        {
            break;
        }
        let (intended, sent) = match &plan.schedule {
            Some(s) => {
                let t = s.intended(i);
                if plan.deadline.is_some_and(|d| t >= d) {
                    break;
                }
                // When the previous response came back after `t` the connection is late
                // already: send at once without another clock read.
                let busy = chain.busy_until() > t;
                if !busy && Instant::now() < t {
                    f.sleep_until(t).await;
                }
                let now = Instant::now();
                if busy && let Some(d) = plan.deadline.filter(|d| now >= *d) {
                    // The target held the connection past the end: what is left is queued.
                    let mut left = s.slots_before(d).saturating_sub(i);
                    if let Some(q) = plan.quota {
                        left = left.min(q - i);
                    }
                    let mut o = out.borrow_mut();
                    o.queued_at_end += left;
                    o.queue_wait_max = o.queue_wait_max.max(d - t);
                    break;
                }
                (t, now)
            }
            None => {
                // Closed loop: the next request goes out right after the previous response, so
                // that response's end is its send time (one clock read per request, not two).
                let now = last_end.unwrap_or_else(Instant::now);
                if plan.deadline.is_some_and(|d| now >= d) {
                    break;
                }
                (now, now)
            }
        };
        let code = f.fetch(sent).await;
        let end = Instant::now();
        last_end = Some(end);
        let ok = f.succeeded(code);
        {
            let mut o = out.borrow_mut();
            o.uncorrected.record(end - sent);
            // The latency the series and the success histogram see: corrected when paced.
            let latency = if plan.schedule.is_some() {
                let timing = chain.record(intended, sent, end);
                o.corrected.record(timing.corrected);
                o.lag.record(timing.lag);
                o.queue_wait_max = o.queue_wait_max.max(timing.queue_wait);
                timing.corrected
            } else {
                end - sent
            };
            if ok {
                o.succeeded.record(latency);
            }
            o.codes.add(code);
            let intervals = o.series.slots().len();
            o.series.record(intended - plan.start, latency, code);
            if o.series.slots().len() > intervals
                && let Some(p99) = intervals
                    .checked_sub(1)
                    .and_then(|i| o.series.slots()[i].percentile_ms(99.0))
            {
                done.p99_us.store((p99 * 1000.0) as u64, Ordering::Relaxed);
            }
        }
        if f.failed_live(code) {
            done.failed.fetch_add(1, Ordering::Relaxed);
        }
        prev_sent = sent;
        i += 1;
        unreported += 1;
        if unreported == DONE_BATCH {
            done.fetch_add(unreported, Ordering::Relaxed);
            unreported = 0;
        }
    }
    done.fetch_add(unreported, Ordering::Relaxed);
    let mut o = out.borrow_mut();
    if i > 0 {
        o.last_send = o.last_send.max(Some(prev_sent));
    }
    o.last_done = o.last_done.max(Some(last_end.unwrap_or(plan.start)));
}

/// A connection's per-request timeout timer, armed once and kept between requests (see
/// [`within`]): implemented by the timers of tokio (epoll and TLS paths) and monoio (io_uring).
pub(crate) trait Timer: Future<Output = ()> {
    /// Move the timer to fire at `t`.
    fn reset_to(self: Pin<&mut Self>, t: Instant);
}

impl Timer for tokio::time::Sleep {
    fn reset_to(self: Pin<&mut Self>, t: Instant) {
        self.reset(t.into());
    }
}

#[cfg(target_os = "linux")]
impl Timer for monoio::time::Sleep {
    fn reset_to(self: Pin<&mut Self>, t: Instant) {
        self.reset(monoio::time::Instant::from_std(t));
    }
}

/// `work`, cut short at `deadline` (then `None`), timed by a connection's `timer`.
///
/// The timer stays in its runtime's timer wheel between requests at a deadline no later than
/// the current one (send times only grow); when it fires early it is moved to the current
/// deadline. So a request costs no timer insertion and removal (a fresh timeout per request
/// did both), and the timeout is kept exactly. `work` stays where it is created (no copy of
/// its state into a wrapper).
pub(crate) async fn within<T: Timer + ?Sized, F: Future>(
    work: F,
    mut timer: Pin<&mut T>,
    deadline: Instant,
) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Poll::Ready(None);
            }
            timer.as_mut().reset_to(deadline);
        }
        Poll::Pending
    })
    .await
}

/// Wait until every worker of the run is ready, then return the run's start time (taken once,
/// by the last worker to arrive, and seen by all).
pub(crate) async fn start_together(
    barrier: &tokio::sync::Barrier,
    start: &OnceLock<Instant>,
) -> Instant {
    if barrier.wait().await.is_leader() {
        let _ = start.set(Instant::now());
    }
    barrier.wait().await;
    *start.get().expect("the barrier leader set the start time")
}

/// Start one OS thread per entry of `jobs`, named `{name}-{t}`, each running `body(job)`; the
/// load threads of every path (HTTP on tokio or io_uring, gRPC) are started here.
pub(crate) fn spawn_threads<J, T>(
    name: &str,
    jobs: Vec<J>,
    body: impl Fn(J) -> T + Send + Clone + 'static,
) -> Result<Vec<std::thread::JoinHandle<T>>, LoadError>
where
    J: Send + 'static,
    T: Send + 'static,
{
    let mut handles = Vec::with_capacity(jobs.len());
    for (t, job) in jobs.into_iter().enumerate() {
        let body = body.clone();
        let h = std::thread::Builder::new()
            .name(format!("{name}-{t}"))
            .spawn(move || body(job))
            .map_err(LoadError::Runtime)?;
        handles.push(h);
    }
    Ok(handles)
}

/// [`spawn_threads`] where each thread runs a current-thread tokio runtime (no work stealing,
/// no cross-thread wake-ups on the hot path) with a [`tokio::task::LocalSet`], so the tasks a
/// thread spawns may share per-thread state without being `Send`. `body(job)` is created and
/// run to completion on its thread.
pub(crate) fn spawn_runtime_threads<J, F, Fut>(
    name: &str,
    jobs: Vec<J>,
    body: F,
) -> Result<Vec<std::thread::JoinHandle<Fut::Output>>, LoadError>
where
    J: Send + 'static,
    F: Fn(J) -> Fut + Send + Clone + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let mut with_rt = Vec::with_capacity(jobs.len());
    for job in jobs {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LoadError::Runtime)?;
        with_rt.push((job, rt));
    }
    spawn_threads(name, with_rt, move |(job, rt)| {
        tokio::task::LocalSet::new().block_on(&rt, body(job))
    })
}

/// Call `on_progress` about every 100 ms (once the load has started) until every thread in
/// `threads` has finished.
pub(crate) fn watch<T>(
    threads: &[std::thread::JoinHandle<T>],
    start: &OnceLock<Instant>,
    done: &Live,
    stop: Stop,
    on_progress: &mut dyn FnMut(LoadProgress),
) {
    let (total, duration) = stop_parts(stop);
    while !threads.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(start) = start.get() {
            on_progress(LoadProgress {
                done: done.load(Ordering::Relaxed),
                total,
                elapsed: start.elapsed(),
                duration,
                failed: done.failed(),
                p99_ms: done.p99_ms(),
            });
        }
    }
}

/// The request total (count mode) and the planned duration (duration mode) of `stop`.
fn stop_parts(stop: Stop) -> (Option<u64>, Option<Duration>) {
    match stop {
        Stop::Requests(n) => (Some(n), None),
        Stop::Duration(d) => (None, Some(d)),
    }
}

/// Merge the measurements of all connections of a run that started at `start` into its report,
/// and report the final progress.
pub(crate) fn report(
    outs: &[WorkerOut],
    start: Instant,
    pace: Pace,
    stop: Stop,
    io: IoPath,
    protocol: Protocol,
    on_progress: &mut dyn FnMut(LoadProgress),
) -> LoadReport {
    let mut corrected = LatencyRecorder::new();
    let mut uncorrected = LatencyRecorder::new();
    let mut succeeded = LatencyRecorder::new();
    let mut generator_lag = LatencyRecorder::new();
    let mut codes = StatusCounts::default();
    let mut last_send = start;
    let mut last_done = start;
    let mut queued_at_end = 0;
    let mut queue_wait_max = Duration::ZERO;
    let mut series = Series::default();
    let paced = matches!(pace, Pace::Rate(_));
    for o in outs {
        // Closed loop: latency from the intended time is the service time (recorded once).
        corrected.merge(if paced { &o.corrected } else { &o.uncorrected });
        uncorrected.merge(&o.uncorrected);
        succeeded.merge(&o.succeeded);
        generator_lag.merge(&o.lag);
        codes.merge(&o.codes);
        last_send = last_send.max(o.last_send.unwrap_or(start));
        last_done = last_done.max(o.last_done.unwrap_or(start));
        queued_at_end += o.queued_at_end;
        queue_wait_max = queue_wait_max.max(o.queue_wait_max);
        series.merge(&o.series);
    }
    let n = corrected.count();
    let elapsed = last_done - start;
    let (requested_qps, achieved_qps) = match pace {
        Pace::Rate(q) => {
            let achieved = match stop {
                Stop::Duration(d) if !d.is_zero() => n as f64 / d.as_secs_f64(),
                _ => {
                    let span = (last_send - start).as_secs_f64();
                    if n > 1 && span > 0.0 {
                        (n - 1) as f64 / span
                    } else {
                        q
                    }
                }
            };
            (Some(q), achieved)
        }
        Pace::Max => {
            let secs = elapsed.as_secs_f64();
            (None, if secs > 0.0 { n as f64 / secs } else { 0.0 })
        }
    };
    let (total, duration) = stop_parts(stop);
    let last = series.slots().iter().rev().find(|s| s.count() > 0);
    on_progress(LoadProgress {
        done: n,
        total,
        elapsed,
        duration,
        failed: codes
            .iter()
            .filter(|(c, _)| !(0..400).contains(c))
            .map(|(_, k)| k)
            .sum(),
        p99_ms: last.and_then(|s| s.percentile_ms(99.0)),
    });
    LoadReport {
        corrected,
        uncorrected,
        succeeded,
        generator_lag,
        queued_at_end,
        queue_wait_max,
        series,
        codes,
        elapsed,
        requested_qps,
        achieved_qps,
        io,
        protocol,
        io_note: None,
    }
}
