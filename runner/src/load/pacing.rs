//! Open-model pacing: when each request is meant to be sent, and where its latency is
//! measured from.
//!
//! The aggregate rate `qps` is spread over `c` connections: request `i` of connection `k` is
//! intended at `start + (i·c + k) / qps`, so the merged stream is evenly spaced and the timers
//! never drift (every send time is computed from the start, not from the previous send). A
//! connection that falls behind sends at once and catches up, as wrk2 does.
//!
//! Latency ([`Chain`]) is counted from the intended send time whenever the send was delayed by
//! the target (the connection was still waiting for the previous response): that wait is the
//! target's lateness (coordinated-omission correction). A send delayed by the generator itself
//! (a late timer or a starved thread, while the connection was idle) is the generator's
//! lateness: it is recorded on its own (generator lag) and is neither added to nor silently
//! taken from the target's latency. The two are told apart by replaying each connection with
//! a perfect generator: request `i` would have waited `q_i = max(0, d'_{i-1} - t_i)` for the
//! connection, where `d'` is when the previous request would have finished, and its corrected
//! latency is `q_i` plus its measured service time (Lindley's recursion of a queue).

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
        Duration::from_nanos((slot as f64 * self.interval_ns).round() as u64)
    }

    /// Intended send time of this connection's `i`-th request.
    pub fn intended(&self, i: u64) -> Instant {
        self.start + self.offset(i)
    }

    /// How many of this connection's requests are intended before `t`.
    pub fn slots_before(&self, t: Instant) -> u64 {
        let span = t.saturating_duration_since(self.start).as_nanos() as f64;
        let slots = span / self.interval_ns;
        let c = self.connections as f64;
        // First guess from the arithmetic, then settled exactly against `intended`.
        let mut n = ((slots - self.index as f64) / c).ceil().max(0.0) as u64;
        while n > 0 && self.intended(n - 1) >= t {
            n -= 1;
        }
        while self.intended(n) < t {
            n += 1;
        }
        n
    }
}

/// What the accounting of one request gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Latency from the intended send time, generator lag excluded: the wait for the
    /// connection (as a perfect generator would have seen it) plus the service time.
    pub corrected: Duration,
    /// The part of `corrected` spent waiting for the connection (the target's queue).
    pub queue_wait: Duration,
    /// How late the generator sent, beyond what the connection forced: the time from when the
    /// request could have gone (intended time, or the previous response if later) to the send.
    pub lag: Duration,
}

/// Coordinated-omission accounting of one connection's requests, in order.
#[derive(Debug, Clone, Copy)]
pub struct Chain {
    /// When the previous request actually finished.
    prev_done: Instant,
    /// When the previous request would have finished with a generator that is never late.
    ideal_done: Instant,
}

impl Chain {
    /// A connection that is idle at `start`.
    pub fn new(start: Instant) -> Self {
        Chain {
            prev_done: start,
            ideal_done: start,
        }
    }

    /// When the connection became free (the previous response ended).
    pub fn busy_until(&self) -> Instant {
        self.prev_done
    }

    /// Account the next request: intended at `intended`, sent at `sent`, its response complete
    /// at `done`.
    pub fn record(&mut self, intended: Instant, sent: Instant, done: Instant) -> Timing {
        let service = done.saturating_duration_since(sent);
        let queue_wait = self.ideal_done.saturating_duration_since(intended);
        let lag = sent.saturating_duration_since(intended.max(self.prev_done));
        let corrected = queue_wait + service;
        self.ideal_done = intended + corrected;
        self.prev_done = done;
        Timing {
            corrected,
            queue_wait,
            lag,
        }
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

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A target slower than the schedule: each request waits for the previous one, and the
    /// wait grows by the difference every request (the queue is not reset by a late send).
    #[test]
    fn queue_grows_when_the_target_is_slower_than_the_rate() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 25.0, 1, 0); // every 40 ms
        let mut chain = Chain::new(t0);
        let mut sent = t0;
        for i in 0..10u64 {
            let intended = s.intended(i);
            sent = sent.max(intended).max(chain.busy_until());
            let done = sent + ms(50);
            let t = chain.record(intended, sent, done);
            assert_eq!(t.corrected, ms(50 + 10 * i), "request {i}");
            assert_eq!(t.queue_wait, ms(10 * i));
            assert_eq!(t.lag, Duration::ZERO);
        }
    }

    /// A late wake-up of the generator on an idle connection is its own lag, not the
    /// target's latency, and it does not leak into the next requests' queue waits.
    #[test]
    fn generator_lag_is_not_blamed_on_the_target() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 100.0, 1, 0); // every 10 ms
        let mut chain = Chain::new(t0);
        // Request 0 is sent 100 ms late (the generator stalled); the target answers in 20 ms.
        let a = chain.record(s.intended(0), t0 + ms(100), t0 + ms(120));
        assert_eq!(a.lag, ms(100));
        assert_eq!(a.corrected, ms(20));
        // Request 1 (intended at 10 ms) goes right after: the connection was busy, but only
        // because of the generator's stall; a perfect generator would have waited 10 ms.
        let b = chain.record(s.intended(1), t0 + ms(120), t0 + ms(140));
        assert_eq!(b.lag, Duration::ZERO);
        assert_eq!(b.queue_wait, ms(10));
        assert_eq!(b.corrected, ms(30));
        // A target stall (one slow response) is the target's: the next request's wait counts.
        let mut chain = Chain::new(t0);
        let c = chain.record(s.intended(0), t0, t0 + ms(1000));
        assert_eq!(c.corrected, ms(1000));
        let d = chain.record(s.intended(1), t0 + ms(1000), t0 + ms(1005));
        assert_eq!(d.queue_wait, ms(990));
        assert_eq!(d.corrected, ms(995));
        assert_eq!(d.lag, Duration::ZERO);
    }

    /// An idle connection that is sent on time measures the service time alone.
    #[test]
    fn idle_connection_measures_service_time() {
        let t0 = Instant::now();
        let mut chain = Chain::new(t0);
        let t = chain.record(t0 + ms(10), t0 + ms(11), t0 + ms(16));
        assert_eq!(t.corrected, ms(5));
        assert_eq!(t.lag, ms(1));
        assert_eq!(t.queue_wait, Duration::ZERO);
    }

    /// The number of slots before a time, exactly at the boundaries.
    #[test]
    fn slots_before_counts_exactly() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 200.0, 8, 3); // slots at 15, 55, 95, ... ms
        assert_eq!(s.slots_before(t0), 0);
        assert_eq!(s.slots_before(t0 + ms(15)), 0);
        assert_eq!(s.slots_before(t0 + Duration::from_micros(15_001)), 1);
        assert_eq!(s.slots_before(t0 + ms(5000)), 125);
        let a = Schedule::new(t0, 3.0, 1, 0);
        assert_eq!(a.slots_before(t0 + ms(1000)), 3);
        assert_eq!(a.slots_before(t0 + ms(1001)), 4);
    }
}
