//! The capacity search's decisions, as a pure function of the probes so far: exponential
//! growth from the start rate, halving downward when the first probes fail, bisection between
//! the highest passing and the lowest failing achieved rate, and a confirmation probe at the
//! chosen rate before a capacity is named.
//!
//! The bracket is rebuilt from the whole history on every call, so a probe that contradicts an
//! earlier one (a failure at or below a rate that passed, a pass at or above one that failed:
//! noise) drops the earlier verdict and the search narrows again around the newer one. A
//! capacity is named only when its rate passed twice (the probe and its confirmation) and a
//! failing rate lies within the tolerance above it.

/// The bounds and steps of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// First rate offered (requests/sec).
    pub start: f64,
    /// Lowest rate the downward search offers.
    pub min: f64,
    /// Highest rate the upward search offers.
    pub max: f64,
    /// Factor between consecutive rates of the growth (and downward) phase; above 1.
    pub growth: f64,
    /// Relative width of the final bracket: `(failing - passing) <= tolerance * failing`.
    pub tolerance: f64,
    /// Most probes run, confirmation included.
    pub max_probes: usize,
}

/// What one probe measured, as the search sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeResult {
    /// Rate offered (the open-model schedule).
    pub offered: f64,
    /// Rate achieved (requests sent per second of the probe).
    pub achieved: f64,
    /// Whether every SLO held.
    pub passed: bool,
    /// Whether the load generator fell behind its own schedule (its measurements say more
    /// about the generator than about the target).
    pub generator_late: bool,
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The capacity: the lower achieved rate of a passing probe and its confirmation, with a
    /// failing achieved rate within the tolerance above it.
    Capacity {
        /// Requests/sec.
        rate: f64,
        /// The lowest achieved rate that failed the SLOs.
        failing: f64,
    },
    /// The maximum rate still met the SLOs: the capacity is at least `rate`.
    LowerBound {
        /// Achieved rate of the passing probe at the maximum.
        rate: f64,
    },
    /// Even the minimum rate failed the SLOs.
    BelowMinimum {
        /// The minimum rate offered.
        min: f64,
    },
    /// The generator fell behind in probe `probe` (0-based): no capacity is named.
    GeneratorLate {
        /// Index of the probe.
        probe: usize,
    },
    /// Out of probes or time before the bracket closed.
    Stopped {
        /// Highest passing achieved rate, if any passed.
        passing: Option<f64>,
        /// Lowest failing achieved rate, if any failed.
        failing: Option<f64>,
    },
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run a probe at this offered rate.
    Probe(f64),
    /// The search is over.
    Done(Outcome),
}

/// Rates closer than this (relative) are the same rate (a confirmation re-offers one exactly,
/// so this only absorbs float noise).
const SAME_RATE: f64 = 1e-9;

fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME_RATE * a.abs().max(b.abs())
}

/// The verdicts still standing after every contradiction was resolved in favour of the later
/// probe: every passing achieved rate is below every failing one.
struct Bracket<'a> {
    passes: Vec<&'a ProbeResult>,
    fails: Vec<&'a ProbeResult>,
}

impl<'a> Bracket<'a> {
    fn of(history: &'a [ProbeResult]) -> Self {
        let mut b = Bracket {
            passes: Vec::new(),
            fails: Vec::new(),
        };
        for p in history {
            if p.passed {
                b.fails.retain(|f| f.achieved > p.achieved);
                b.passes.push(p);
            } else {
                b.passes.retain(|q| q.achieved < p.achieved);
                b.fails.push(p);
            }
        }
        b
    }

    /// The highest standing pass.
    fn lo(&self) -> Option<&'a ProbeResult> {
        self.passes
            .iter()
            .copied()
            .max_by(|a, b| a.achieved.total_cmp(&b.achieved))
    }

    /// The lowest standing failure.
    fn hi(&self) -> Option<&'a ProbeResult> {
        self.fails
            .iter()
            .copied()
            .min_by(|a, b| a.achieved.total_cmp(&b.achieved))
    }
}

/// Where a search stopped early stands: the bracket so far.
pub fn stopped(history: &[ProbeResult]) -> Outcome {
    let b = Bracket::of(history);
    Outcome::Stopped {
        passing: b.lo().map(|p| p.achieved),
        failing: b.hi().map(|p| p.achieved),
    }
}

/// The next step of the search after the probes in `history` (in the order they ran).
pub fn decide(l: &Limits, history: &[ProbeResult]) -> Next {
    let Some(last) = history.last() else {
        return Next::Probe(l.start.clamp(l.min, l.max));
    };
    if let Some(probe) = history.iter().position(|p| p.generator_late) {
        return Next::Done(Outcome::GeneratorLate { probe });
    }
    let b = Bracket::of(history);
    let next = match (b.lo(), b.hi()) {
        (Some(lo), Some(hi)) => {
            if hi.achieved - lo.achieved <= l.tolerance * hi.achieved {
                let confirmed: Vec<&ProbeResult> = b
                    .passes
                    .iter()
                    .copied()
                    .filter(|p| same_rate(p.offered, lo.offered))
                    .collect();
                if confirmed.len() >= 2 {
                    let rate = confirmed
                        .iter()
                        .map(|p| p.achieved)
                        .fold(f64::INFINITY, f64::min);
                    return Next::Done(Outcome::Capacity {
                        rate,
                        failing: hi.achieved,
                    });
                }
                lo.offered
            } else {
                (lo.achieved + hi.achieved) / 2.0
            }
        }
        (Some(lo), None) => {
            if lo.offered >= l.max * (1.0 - SAME_RATE) {
                return Next::Done(Outcome::LowerBound { rate: lo.achieved });
            }
            (lo.offered * l.growth).min(l.max)
        }
        (None, Some(hi)) => {
            if last.offered <= l.min * (1.0 + SAME_RATE) {
                return Next::Done(Outcome::BelowMinimum { min: l.min });
            }
            // A pass was contradicted (a failed confirmation): step back in just below the
            // failure, by twice the tolerance, doubling the step with every further failure,
            // never further than the downward phase goes.
            let last_pass = history.iter().rposition(|p| p.passed);
            let next = match last_pass {
                Some(i) => {
                    let contradicting = history[i + 1..]
                        .iter()
                        .filter(|p| p.achieved <= history[i].achieved)
                        .count();
                    let exp = (contradicting as i32 - 1).clamp(0, 30);
                    hi.achieved * (1.0 - 2.0 * l.tolerance * 2f64.powi(exp))
                }
                None => 0.0,
            };
            next.max(last.offered / l.growth).max(l.min)
        }
        (None, None) => l.start.clamp(l.min, l.max),
    };
    if history.len() >= l.max_probes {
        return Next::Done(stopped(history));
    }
    Next::Probe(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            start: 10.0,
            min: 1.0,
            max: 10_000.0,
            growth: 2.0,
            tolerance: 0.02,
            max_probes: 30,
        }
    }

    /// Run a search against a target that passes below `capacity` (achieving the offered rate)
    /// and fails above it (achieving `capacity`, or `saturated` when given).
    fn simulate(l: &Limits, capacity: f64, saturated: Option<f64>) -> (Outcome, Vec<ProbeResult>) {
        let mut h = Vec::new();
        loop {
            match decide(l, &h) {
                Next::Probe(r) => {
                    let passed = r <= capacity;
                    h.push(ProbeResult {
                        offered: r,
                        achieved: if passed {
                            r
                        } else {
                            saturated.unwrap_or(capacity).min(r)
                        },
                        passed,
                        generator_late: false,
                    });
                }
                Next::Done(o) => return (o, h),
            }
        }
    }

    /// Growth, bisection and confirmation land within the tolerance below the capacity.
    #[test]
    fn finds_capacity_within_tolerance() {
        let (o, h) = simulate(&limits(), 333.0, Some(340.0));
        let Outcome::Capacity { rate, failing } = o else {
            panic!("{o:?}")
        };
        assert!((333.0 * 0.98..=333.0).contains(&rate), "{rate}");
        assert!(failing - rate <= 0.02 * failing, "{rate} {failing}");
        let last = h.last().expect("probes");
        assert!(last.passed, "the confirmation passed");
        let confirmed = h[..h.len() - 1]
            .iter()
            .any(|p| p.passed && same_rate(p.offered, last.offered));
        assert!(confirmed, "the last probe confirms an earlier one: {h:?}");
        assert_eq!(h.len(), 10, "{h:?}");
    }

    /// When the first probe fails, the search goes down and then bisects.
    #[test]
    fn searches_downward() {
        let (o, h) = simulate(&limits(), 3.3, None);
        assert!(!h[0].passed);
        assert!(h[1].offered < h[0].offered);
        let Outcome::Capacity { rate, .. } = o else {
            panic!("{o:?}")
        };
        assert!((3.3 * 0.98..=3.3).contains(&rate), "{rate}");
    }

    /// Passing at the maximum gives a lower bound, failing at the minimum gives none.
    #[test]
    fn bounds() {
        let (o, h) = simulate(&limits(), 1e9, None);
        assert_eq!(o, Outcome::LowerBound { rate: 10_000.0 });
        assert_eq!(h.len(), 11);
        let (o, _) = simulate(&limits(), 0.5, None);
        assert_eq!(o, Outcome::BelowMinimum { min: 1.0 });
    }

    /// A late generator stops the search at once, naming the probe.
    #[test]
    fn late_generator_names_no_capacity() {
        let h = [ProbeResult {
            offered: 10.0,
            achieved: 6.0,
            passed: false,
            generator_late: true,
        }];
        assert_eq!(
            decide(&limits(), &h),
            Next::Done(Outcome::GeneratorLate { probe: 0 })
        );
    }

    /// A failed confirmation drops the pass it contradicts and narrows again below it.
    #[test]
    fn failed_confirmation_narrows_again() {
        let p = |offered: f64, achieved: f64, passed: bool| ProbeResult {
            offered,
            achieved,
            passed,
            generator_late: false,
        };
        let h = vec![p(100.0, 100.0, true), p(101.0, 101.0, false)];
        assert_eq!(decide(&limits(), &h), Next::Probe(100.0));
        let mut h2 = h.clone();
        h2.push(p(100.0, 99.5, false));
        // No pass stands: the search steps back in below the failure by twice the tolerance,
        // then by twice that.
        assert_eq!(decide(&limits(), &h2), Next::Probe(99.5 * (1.0 - 0.04)));
        let mut h4 = h2.clone();
        h4.push(p(95.52, 95.52, false));
        assert_eq!(decide(&limits(), &h4), Next::Probe(95.52 * (1.0 - 0.08)));
        let mut h3 = vec![p(50.0, 50.0, true)];
        h3.extend(h2);
        assert_eq!(decide(&limits(), &h3), Next::Probe((50.0 + 99.5) / 2.0));
    }

    /// The probe budget ends the search with the bracket so far.
    #[test]
    fn budget() {
        let l = Limits {
            max_probes: 3,
            ..limits()
        };
        let (o, h) = simulate(&l, 1e9, None);
        assert_eq!(h.len(), 3);
        assert_eq!(
            o,
            Outcome::Stopped {
                passing: Some(40.0),
                failing: None
            }
        );
    }
}
