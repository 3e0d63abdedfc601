//! Time series of a load run: per interval (default 1 s, by intended send time) a latency
//! histogram and the status codes, beside the whole-run measurements, in bounded memory: at
//! most [`MAX_INTERVALS`] intervals are kept; when a run outlasts them, neighbouring intervals
//! are merged pairwise and the interval doubles, so a long run keeps its whole span at a
//! coarser step.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Default interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Most intervals kept.
pub const MAX_INTERVALS: usize = 128;

/// One interval: its latencies (2 significant digits, microseconds) and status codes.
#[derive(Debug, Clone)]
pub struct Slot {
    hist: Option<Histogram<u64>>,
    /// `(code, count)`, few distinct codes; `-1` is a transport failure or timeout.
    codes: Vec<(i32, u64)>,
}

impl Slot {
    fn new() -> Self {
        Slot {
            hist: None,
            codes: Vec::new(),
        }
    }

    fn record(&mut self, latency: Duration, code: i32) {
        let us = (latency.as_micros().min(u128::from(u64::MAX)) as u64).max(1);
        let h = self.hist.get_or_insert_with(|| {
            let mut h =
                Histogram::<u64>::new(2).expect("2 significant digits is a valid precision");
            h.auto(true);
            h
        });
        // auto-resize makes recording infallible for any u64 value
        let _ = h.record(us);
        match self.codes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => self.codes.push((code, 1)),
        }
    }

    fn merge(&mut self, other: &Slot) {
        if let Some(o) = &other.hist {
            match &mut self.hist {
                Some(h) => {
                    let _ = h.add(o);
                }
                None => self.hist = Some(o.clone()),
            }
        }
        for &(code, n) in &other.codes {
            match self.codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, m)) => *m += n,
                None => self.codes.push((code, n)),
            }
        }
    }

    /// Requests sent in the interval.
    pub fn count(&self) -> u64 {
        self.codes.iter().map(|(_, n)| n).sum()
    }

    /// The `p`-th percentile latency in msec (`None` when empty).
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let h = self.hist.as_ref().filter(|h| !h.is_empty())?;
        let v = h.value_at_quantile((p / 100.0).clamp(0.0, 1.0));
        Some(h.median_equivalent(v) as f64 / 1000.0)
    }

    /// Requests whose code satisfies `is_error`.
    pub fn errors(&self, is_error: &dyn Fn(i32) -> bool) -> u64 {
        self.codes
            .iter()
            .filter(|(c, _)| is_error(*c))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The intervals of one run (or of one thread of it), from the run's start.
#[derive(Debug, Clone)]
pub struct Series {
    width: Duration,
    slots: Vec<Slot>,
}

impl Default for Series {
    fn default() -> Self {
        Series::new(DEFAULT_INTERVAL)
    }
}

impl Series {
    /// Empty, with intervals of `width` (at least 1 ms).
    pub fn new(width: Duration) -> Self {
        Series {
            width: width.max(Duration::from_millis(1)),
            slots: Vec::new(),
        }
    }

    /// The current interval width.
    pub fn width(&self) -> Duration {
        self.width
    }

    /// The intervals, the first starting at the run's start (empty ones included).
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Record one request intended `at` after the start, with its latency and code.
    #[inline]
    pub fn record(&mut self, at: Duration, latency: Duration, code: i32) {
        // u64 nanoseconds (584 years) keep the division cheap on the hot path.
        let at_ns = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        let width_ns = u64::try_from(self.width.as_nanos()).unwrap_or(u64::MAX);
        let mut i = usize::try_from(at_ns / width_ns).unwrap_or(usize::MAX);
        while i >= MAX_INTERVALS {
            self.coarsen();
            i /= 2;
        }
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, Slot::new);
        }
        self.slots[i].record(latency, code);
    }

    /// Merge neighbouring intervals pairwise and double the width.
    fn coarsen(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.merge(&b);
            }
            self.slots.push(a);
        }
        self.width *= 2;
    }

    /// Add `other`'s intervals (from the same start); the finer of the two is coarsened first.
    pub fn merge(&mut self, other: &Series) {
        let mut other = other.clone();
        while other.width < self.width {
            other.coarsen();
        }
        while self.width < other.width {
            self.coarsen();
        }
        if self.slots.len() < other.slots.len() {
            self.slots.resize_with(other.slots.len(), Slot::new);
        }
        for (a, b) in self.slots.iter_mut().zip(&other.slots) {
            a.merge(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Requests land in the interval of their send time, with their latency and code.
    #[test]
    fn intervals() {
        let mut s = Series::new(ms(1000));
        s.record(ms(10), ms(5), 200);
        s.record(ms(990), ms(7), 500);
        s.record(ms(2500), ms(9), 200);
        assert_eq!(s.slots().len(), 3);
        assert_eq!(s.slots()[0].count(), 2);
        assert_eq!(s.slots()[1].count(), 0);
        assert_eq!(s.slots()[0].errors(&|c| c >= 500), 1);
        // Two significant digits: within 1 %.
        let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() <= 0.01 * want);
        assert!(near(s.slots()[0].percentile_ms(100.0), 7.0));
        assert!(near(s.slots()[2].percentile_ms(50.0), 9.0));
    }

    /// Past the cap, intervals merge pairwise and the width doubles; nothing is lost.
    #[test]
    fn bounded() {
        let mut s = Series::new(ms(10));
        for i in 0..1000u64 {
            s.record(ms(i * 10), ms(1), 200);
        }
        assert!(s.slots().len() <= MAX_INTERVALS);
        assert_eq!(s.width(), ms(80));
        assert_eq!(s.slots().iter().map(Slot::count).sum::<u64>(), 1000);
        assert_eq!(s.slots()[0].count(), 8);
    }

    /// Merging series of different widths coarsens the finer one.
    #[test]
    fn merge_widths() {
        let mut a = Series::new(ms(10));
        let mut b = Series::new(ms(10));
        for i in 0..200u64 {
            a.record(ms(i * 10), ms(1), 200);
        }
        b.record(ms(15), ms(1), -1);
        a.merge(&b);
        assert_eq!(a.width(), ms(20));
        assert_eq!(a.slots()[0].count(), 3);
        assert_eq!(a.slots()[0].errors(&|c| c == -1), 1);
    }
}
