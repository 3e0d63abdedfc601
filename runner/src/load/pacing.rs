//! Open-model pacing: when each request is meant to be sent, and where latency is measured from.
//!
//! The aggregate rate `qps` is spread over `c` connections: request `i` of connection `k` is
//! intended at `start + (i·c + k) / qps`, so the merged stream is evenly spaced. A connection
//! that falls behind (its previous response came back after the next intended time) sends at
//! once and catches up, as wrk2 does, and the latency of that request is measured from its
//! intended time: the wait caused by the slow system is counted (coordinated-omission
//! correction). A connection that was idle and only woke up late because of timer granularity
//! (tokio timers tick every millisecond) is measured from the actual send, so the correction
//! never adds the generator's own timer slack.

use std::time::{Duration, Instant};

/// Rate setting of a load run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Open model at this aggregate rate (requests per second).
    Rate(f64),
    /// Closed loop at full speed: each connection sends as soon as the previous response ends.
    Max,
}

impl Pace {
    /// Mapping of a `qps` value: `0` or negative means full speed (closed loop), as on Fortio's
    /// command line. (Iter8 v0.13 called Fortio as a library, where `0` meant 8 requests/sec;
    /// an unset `qps` still defaults to 8.)
    pub fn from_qps(qps: f64) -> Pace {
        if qps <= 0.0 || qps.is_infinite() || qps.is_nan() {
            Pace::Max
        } else {
            Pace::Rate(qps)
        }
    }
}

/// Schedule of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    start: Instant,
    interval_ns: f64,
    connections: u64,
    index: u64,
}

impl Schedule {
    /// Connection `index` of `connections`, sharing `qps` from `start`.
    pub fn new(start: Instant, qps: f64, connections: usize, index: usize) -> Self {
        Schedule {
            start,
            interval_ns: 1e9 / qps,
            connections: connections.max(1) as u64,
            index: index as u64,
        }
    }

    /// Offset from the start of this connection's `i`-th request.
    pub fn offset(&self, i: u64) -> Duration {
        let slot = i * self.connections + self.index;
        Duration::from_nanos((slot as f64 * self.interval_ns) as u64)
    }

    /// Intended send time of this connection's `i`-th request.
    pub fn intended(&self, i: u64) -> Instant {
        self.start + self.offset(i)
    }
}

/// Where the corrected latency of a request starts. When the connection was still busy with
/// the previous request at the intended time, the wait counts: from the intended time, or from
/// the previous send if the generator itself sent that one late (past this intended time), so
/// the generator's own lateness is not blamed on the target. Otherwise from the actual send.
#[inline]
pub fn corrected_start(
    intended: Instant,
    prev_sent: Instant,
    prev_done: Instant,
    sent: Instant,
) -> Instant {
    if prev_done > intended {
        intended.max(prev_sent).min(sent)
    } else {
        sent
    }
}

/// Split an exact total over `connections` (the first ones get one more).
pub fn split_requests(total: u64, connections: usize) -> Vec<u64> {
    let c = connections.max(1) as u64;
    (0..c)
        .map(|k| total / c + u64::from(k < total % c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots of all connections interleave into one evenly spaced stream.
    #[test]
    fn schedule_interleaves() {
        let t0 = Instant::now();
        let a = Schedule::new(t0, 100.0, 4, 0);
        let b = Schedule::new(t0, 100.0, 4, 3);
        assert_eq!(a.offset(0), Duration::ZERO);
        assert_eq!(b.offset(0), Duration::from_millis(30));
        assert_eq!(a.offset(1), Duration::from_millis(40));
        assert_eq!(b.offset(2), Duration::from_millis(110));
    }

    /// Exact totals split with remainders going to the first connections.
    #[test]
    fn split() {
        assert_eq!(split_requests(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(split_requests(3, 4), vec![1, 1, 1, 0]);
        assert_eq!(split_requests(100, 1), vec![100]);
    }

    /// Iter8's qps conventions.
    #[test]
    fn qps_mapping() {
        assert_eq!(Pace::from_qps(0.0), Pace::Max);
        assert_eq!(Pace::from_qps(-1.0), Pace::Max);
        assert_eq!(Pace::from_qps(50.0), Pace::Rate(50.0));
    }

    /// Busy connections are measured from the intended time, idle ones from the send.
    #[test]
    fn correction() {
        let t0 = Instant::now();
        let intended = t0 + Duration::from_millis(10);
        let late_done = t0 + Duration::from_millis(500);
        let sent = t0 + Duration::from_millis(501);
        let prev_sent = t0 + Duration::from_millis(1);
        assert_eq!(
            corrected_start(intended, prev_sent, late_done, sent),
            intended
        );
        // The previous request was itself sent late (after this one's intended time).
        let prev_sent_late = t0 + Duration::from_millis(12);
        let done = t0 + Duration::from_millis(13);
        let sent2 = t0 + Duration::from_millis(13);
        assert_eq!(
            corrected_start(intended, prev_sent_late, done, sent2),
            prev_sent_late
        );
        let early_done = t0 + Duration::from_millis(5);
        let sent = t0 + Duration::from_millis(11);
        assert_eq!(corrected_start(intended, prev_sent, early_done, sent), sent);
    }
}
