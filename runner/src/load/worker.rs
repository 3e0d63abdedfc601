//! One connection's request loop, whatever carries the bytes: keeps the open-model schedule (or
//! runs closed-loop), stops on the request quota or the deadline, and records latencies (from
//! the actual send and, when paced, coordinated-omission corrected: see [`Chain`]), the
//! generator's own lag, the requests still queued at the deadline, and status codes. The
//! epoll path (`http.rs`) and the io_uring path (`uring.rs`) both run it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::time::Duration;

use crate::load::pacing::{Chain, Schedule};
use crate::metrics::{LatencyRecorder, StatusCounts};

/// Requests counted locally before they are added to the shared progress counter.
const DONE_BATCH: u64 = 64;

/// What a connection does per request; implemented by each I/O path.
pub(crate) trait Fetch {
    /// One request sent at `sent` (connecting or reconnecting as needed, within the
    /// per-request timeout counted from `sent`): the status code, or `-1` for a transport
    /// failure or timeout.
    async fn fetch(&mut self, sent: Instant) -> i32;
    /// Wait until `t` (open model).
    async fn sleep_until(&mut self, t: Instant);
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
}

impl WorkerOut {
    pub fn new() -> Self {
        WorkerOut {
            corrected: LatencyRecorder::new(),
            uncorrected: LatencyRecorder::new(),
            lag: LatencyRecorder::new(),
            codes: StatusCounts::default(),
            last_send: None,
            last_done: None,
            queued_at_end: 0,
            queue_wait_max: Duration::ZERO,
        }
    }
}

/// Run the request loop of one connection; `done` counts completed requests for progress
/// reports (updated in batches, exact when the loop returns).
pub(crate) async fn measure<F: Fetch>(f: &mut F, plan: &Plan, done: &AtomicU64) -> WorkerOut {
    let mut out = WorkerOut::new();
    let mut chain = Chain::new(plan.start);
    let mut prev_sent = plan.start;
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
                    out.queued_at_end = left;
                    out.queue_wait_max = out.queue_wait_max.max(d - t);
                    break;
                }
                (t, now)
            }
            None => {
                let now = Instant::now();
                if plan.deadline.is_some_and(|d| now >= d) {
                    break;
                }
                (now, now)
            }
        };
        let code = f.fetch(sent).await;
        let end = Instant::now();
        out.uncorrected.record(end - sent);
        if plan.schedule.is_some() {
            let timing = chain.record(intended, sent, end);
            out.corrected.record(timing.corrected);
            out.lag.record(timing.lag);
            out.queue_wait_max = out.queue_wait_max.max(timing.queue_wait);
        } else {
            chain.record(intended, sent, end);
        }
        out.codes.add(code);
        prev_sent = sent;
        i += 1;
        unreported += 1;
        if unreported == DONE_BATCH {
            done.fetch_add(unreported, Ordering::Relaxed);
            unreported = 0;
        }
    }
    done.fetch_add(unreported, Ordering::Relaxed);
    if i > 0 {
        out.last_send = Some(prev_sent);
    }
    out.last_done = Some(chain.busy_until());
    out
}
