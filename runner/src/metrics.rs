//! Latency recording in constant memory: HDR histograms (3 significant digits) plus exact
//! count/sum/sum-of-squares/min/max, mergeable across workers, exported in Iter8's units (msec)
//! and in Iter8's (Fortio's) histogram bucket layout.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::experiment::HistBucket;

/// Fortio's bucket upper bounds in milliseconds (resolution 1 ms), which Iter8 v0.13 exports as
/// `http/latency` buckets; values above the last bound go into one bucket ending at the max.
pub const FORTIO_BUCKETS_MS: &[f64] = &[
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0, 16.0, 18.0, 20.0,
    25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 120.0, 140.0, 160.0, 180.0,
    200.0, 250.0, 300.0, 350.0, 400.0, 450.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 2000.0,
    3000.0, 4000.0, 5000.0, 7500.0, 10000.0, 20000.0, 30000.0, 40000.0, 50000.0, 75000.0, 100000.0,
];

/// Latency distribution of one worker, endpoint or run. Values are recorded in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    count: u64,
    sum_ns: f64,
    sum_sq_ns: f64,
    min_ns: u64,
    max_ns: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// Empty recorder (auto-resizing histogram, 3 significant digits).
    pub fn new() -> Self {
        let mut hist = Histogram::<u64>::new(3).expect("3 significant digits is a valid precision");
        hist.auto(true);
        LatencyRecorder {
            hist,
            count: 0,
            sum_ns: 0.0,
            sum_sq_ns: 0.0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// Record one latency.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        let us = (ns / 1000).max(1);
        // auto-resize makes recording infallible for any u64 value
        let _ = self.hist.record(us);
        self.count += 1;
        let f = ns as f64;
        self.sum_ns += f;
        self.sum_sq_ns += f * f;
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Add all of `other`'s observations.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        let _ = self.hist.add(&other.hist);
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.sum_sq_ns += other.sum_sq_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean in msec (`None` when empty).
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns / self.count as f64 / 1e6)
    }

    /// Population standard deviation in msec (as Fortio computes it).
    pub fn stddev_ms(&self) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as f64;
        let mean = self.sum_ns / n;
        let var = (self.sum_sq_ns / n - mean * mean).max(0.0);
        Some(var.sqrt() / 1e6)
    }

    /// Minimum in msec.
    pub fn min_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.min_ns as f64 / 1e6)
    }

    /// Maximum in msec.
    pub fn max_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.max_ns as f64 / 1e6)
    }

    /// The `p`-th percentile (0 < p ≤ 100) in msec, within 0.1%, clamped to [min, max].
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = (p / 100.0).clamp(0.0, 1.0);
        let v = self.hist.value_at_quantile(q);
        let us = self.hist.median_equivalent(v) as f64;
        let ms = us / 1000.0;
        let (lo, hi) = (self.min_ns as f64 / 1e6, self.max_ns as f64 / 1e6);
        Some(ms.clamp(lo, hi))
    }

    /// Buckets in Iter8's `http/latency` layout (msec): Fortio's bounds, empty buckets left out,
    /// the first bucket starting at the minimum and the last ending at the maximum.
    pub fn fortio_buckets(&self) -> Vec<HistBucket> {
        if self.count == 0 {
            return Vec::new();
        }
        let n = FORTIO_BUCKETS_MS.len();
        let mut counts = vec![0u64; n + 1];
        for it in self.hist.iter_recorded() {
            let ms = self.hist.median_equivalent(it.value_iterated_to()) as f64 / 1000.0;
            let idx = FORTIO_BUCKETS_MS.iter().position(|&b| ms <= b).unwrap_or(n);
            counts[idx] += it.count_at_value();
        }
        let mut out: Vec<HistBucket> = Vec::new();
        let mut prev = FORTIO_BUCKETS_MS[0];
        for (i, &c) in counts.iter().enumerate() {
            let end = if i < n {
                FORTIO_BUCKETS_MS[i]
            } else {
                f64::NAN
            };
            if c > 0 {
                let lower = if out.is_empty() {
                    self.min_ns as f64 / 1e6
                } else {
                    prev
                };
                let upper = if i < n { end } else { self.max_ns as f64 / 1e6 };
                out.push(HistBucket {
                    lower,
                    upper,
                    count: c,
                });
            }
            if i < n {
                prev = end;
            }
        }
        if let Some(last) = out.last_mut() {
            last.upper = self.max_ns as f64 / 1e6;
        }
        out
    }
}

/// Counts of responses by status code; code `-1` means the request never got an HTTP status
/// (connect/TLS/IO failure or timeout).
#[derive(Debug, Clone)]
pub struct StatusCounts {
    codes: Vec<u64>,
    failed: u64,
}

impl Default for StatusCounts {
    fn default() -> Self {
        StatusCounts {
            codes: vec![0; 1000],
            failed: 0,
        }
    }
}

impl StatusCounts {
    /// Count one response with `code` (`-1` for a transport failure).
    #[inline]
    pub fn add(&mut self, code: i32) {
        if (0..1000).contains(&code) {
            self.codes[code as usize] += 1;
        } else {
            self.failed += 1;
        }
    }

    /// Merge another set of counts.
    pub fn merge(&mut self, other: &StatusCounts) {
        for (a, b) in self.codes.iter_mut().zip(&other.codes) {
            *a += b;
        }
        self.failed += other.failed;
    }

    /// Non-zero `(code, count)` pairs, `-1` first.
    pub fn iter(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        std::iter::once((-1, self.failed))
            .chain(self.codes.iter().enumerate().map(|(c, &n)| (c as i32, n)))
            .filter(|&(_, n)| n > 0)
    }

    /// Total responses.
    pub fn total(&self) -> u64 {
        self.failed + self.codes.iter().sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean, extremes, percentiles and Fortio-layout buckets of a known distribution.
    #[test]
    fn stats_and_buckets() {
        let mut r = LatencyRecorder::new();
        for ms in 1..=100u64 {
            r.record(Duration::from_micros(ms * 1000 - 500));
        }
        assert_eq!(r.count(), 100);
        let mean = r.mean_ms().expect("non-empty");
        assert!((mean - 50.0).abs() < 1e-9, "{mean}");
        assert_eq!(r.min_ms(), Some(0.5));
        assert_eq!(r.max_ms(), Some(99.5));
        let p50 = r.percentile_ms(50.0).expect("non-empty");
        assert!((p50 - 49.5).abs() < 0.1, "{p50}");
        let b = r.fortio_buckets();
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 100);
        assert_eq!((b[0].lower, b[0].upper, b[0].count), (0.5, 1.0, 1));
        assert_eq!((b[1].lower, b[1].upper, b[1].count), (1.0, 2.0, 1));
        let last = b.last().expect("buckets");
        assert_eq!((last.lower, last.upper, last.count), (90.0, 99.5, 10));
    }

    /// Merging two recorders equals recording everything in one.
    #[test]
    fn merge() {
        let mut a = LatencyRecorder::new();
        let mut b = LatencyRecorder::new();
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(3));
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.mean_ms(), Some(2.0));
        assert_eq!(a.stddev_ms(), Some(1.0));
    }
}
