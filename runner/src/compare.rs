//! Comparing versions (beyond Iter8 v0.13, which only showed the numbers): for every Summary
//! metric (what `abnmetrics` records), each candidate (version 1, 2, ...) against the baseline
//! (version 0): the difference of the means with a 95% confidence interval computed from the
//! summaries alone (count, sum, sum of squares: Welch's t interval, Welch–Satterthwaite degrees
//! of freedom), a verdict per metric, and an overall winner on the reward metric.
//!
//! Rules (also in docs/abn.md):
//! * Thin data: fewer than [`MIN_COUNT`] values on either side → `inconclusive`.
//! * Otherwise the interval decides: entirely above 0 → the candidate's mean is higher, entirely
//!   below → lower, containing 0 → `inconclusive`. For a reward metric (`assess`'s
//!   `rewards.max` / `rewards.min`) higher or lower reads as `better` or `worse`; other metrics
//!   say `higher` / `lower`.
//! * Winner, on the first reward metric (`max` before `min`), among the versions that satisfy
//!   every SLO: the one candidate better than the baseline; if several are, the best of them
//!   only if it is also better than each of the others by the same test; the baseline if every
//!   candidate is worse; otherwise none (and the reason says why).
//!
//! Pure functions of the insights; reports and `iter8 assert -c winner` call [`compare`].

use crate::experiment::{Insights, MetricType};

/// Fewer values than this on either side make a comparison inconclusive.
pub const MIN_COUNT: f64 = 10.0;
/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Verdict of one candidate against the baseline on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Reward metric, candidate significantly better.
    Better,
    /// Reward metric, candidate significantly worse.
    Worse,
    /// Metric without a direction, candidate's mean significantly higher.
    Higher,
    /// Metric without a direction, candidate's mean significantly lower.
    Lower,
    /// Too little data, or the interval contains 0.
    Inconclusive,
}

impl Verdict {
    /// The word used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Higher => "higher",
            Verdict::Lower => "lower",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One candidate against the baseline on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricComparison {
    /// Metric name (`abn/sales`).
    pub metric: String,
    /// Candidate version index (≥ 1).
    pub candidate: usize,
    /// Values recorded for the baseline and the candidate.
    pub counts: (f64, f64),
    /// Means of the baseline and the candidate (`None` with no values).
    pub means: (Option<f64>, Option<f64>),
    /// Candidate mean minus baseline mean.
    pub difference: Option<f64>,
    /// The confidence interval of the difference (`None` on thin data).
    pub interval: Option<(f64, f64)>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The comparison of an experiment's versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The reward metric deciding the winner and whether higher is better.
    pub reward: Option<(String, bool)>,
    /// Per metric (sorted), per candidate.
    pub metrics: Vec<MetricComparison>,
    /// The winning version index.
    pub winner: Option<usize>,
    /// One sentence saying why there is, or is not, a winner.
    pub reason: String,
}

/// Compare the versions of `ins`; `None` with fewer than two versions or no Summary metric.
pub fn compare(ins: &Insights) -> Option<Comparison> {
    if ins.num_versions < 2 {
        return None;
    }
    let metrics: Vec<&String> = ins
        .metrics_info
        .iter()
        .filter(|(_, m)| m.kind == MetricType::Summary)
        .map(|(k, _)| k)
        .collect();
    if metrics.is_empty() {
        return None;
    }
    let reward = ins.rewards.as_ref().and_then(|r| {
        r.max
            .first()
            .map(|m| (base_metric(m), true))
            .or_else(|| r.min.first().map(|m| (base_metric(m), false)))
    });
    let direction = |m: &str| -> Option<bool> {
        let r = ins.rewards.as_ref()?;
        if r.max.iter().any(|x| base_metric(x) == m) {
            Some(true)
        } else if r.min.iter().any(|x| base_metric(x) == m) {
            Some(false)
        } else {
            None
        }
    };
    let mut out = Vec::new();
    for m in &metrics {
        for c in 1..ins.num_versions {
            out.push(compare_one(ins, m, 0, c, direction(m)));
        }
    }
    let (winner, reason) = match &reward {
        None => (
            None,
            "no reward metric (assess rewards.max or rewards.min) to choose a winner".to_string(),
        ),
        Some((m, higher)) => choose_winner(ins, m, *higher),
    };
    Some(Comparison {
        reward,
        metrics: out,
        winner,
        reason,
    })
}

/// `abn/sales/mean` and `abn/sales` both name the summary `abn/sales`.
fn base_metric(m: &str) -> String {
    m.strip_suffix("/mean").unwrap_or(m).to_string()
}

fn summary(ins: &Insights, version: usize, metric: &str) -> Option<[f64; 5]> {
    ins.summary_metric_values.get(version)?.get(metric).copied()
}

fn mean(s: Option<[f64; 5]>) -> Option<f64> {
    s.filter(|s| s[0] > 0.0).map(|s| s[1] / s[0])
}

fn compare_one(
    ins: &Insights,
    metric: &str,
    base: usize,
    cand: usize,
    higher_is_better: Option<bool>,
) -> MetricComparison {
    let b = summary(ins, base, metric);
    let c = summary(ins, cand, metric);
    let interval = match (b, c) {
        (Some(b), Some(c)) => welch_interval(&b, &c),
        _ => None,
    };
    let means = (mean(b), mean(c));
    let difference = match means {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    let sign = match interval {
        Some((lo, _)) if lo > 0.0 => 1,
        Some((_, hi)) if hi < 0.0 => -1,
        _ => 0,
    };
    let verdict = match (sign, higher_is_better) {
        (0, _) => Verdict::Inconclusive,
        (1, Some(true)) | (-1, Some(false)) => Verdict::Better,
        (_, Some(_)) => Verdict::Worse,
        (1, None) => Verdict::Higher,
        (_, None) => Verdict::Lower,
    };
    MetricComparison {
        metric: metric.to_string(),
        candidate: cand,
        counts: (b.map_or(0.0, |s| s[0]), c.map_or(0.0, |s| s[0])),
        means,
        difference,
        interval,
        verdict,
    }
}

/// The 95% interval of mean(c) − mean(b) from two summaries; `None` on thin data.
pub fn welch_interval(b: &[f64; 5], c: &[f64; 5]) -> Option<(f64, f64)> {
    let (nb, nc) = (b[0], c[0]);
    if nb < MIN_COUNT || nc < MIN_COUNT {
        return None;
    }
    let var = |s: &[f64; 5]| {
        let n = s[0];
        let m = s[1] / n;
        ((s[4] - n * m * m) / (n - 1.0)).max(0.0)
    };
    let (vb, vc) = (var(b) / nb, var(c) / nc);
    let diff = c[1] / nc - b[1] / nb;
    let se2 = vb + vc;
    if se2 <= 0.0 {
        // Both constant: the difference is exact.
        return Some((diff, diff));
    }
    let df = se2 * se2 / (vb * vb / (nb - 1.0) + vc * vc / (nc - 1.0));
    let t = student_t_quantile(0.5 + CONFIDENCE / 2.0, df);
    let half = t * se2.sqrt();
    Some((diff - half, diff + half))
}

fn choose_winner(ins: &Insights, metric: &str, higher: bool) -> (Option<usize>, String) {
    if !ins.metrics_info.contains_key(metric) {
        return (None, format!("reward metric {metric} has no values"));
    }
    let eligible = ins.slos_satisfied_by();
    let name = |v: usize| ins.track_version_str(v);
    let better_than = |a: usize, b: usize| -> Option<bool> {
        let (sa, sb) = (summary(ins, a, metric)?, summary(ins, b, metric)?);
        let (lo, hi) = welch_interval(&sb, &sa)?;
        if (higher && lo > 0.0) || (!higher && hi < 0.0) {
            Some(true)
        } else if (higher && hi < 0.0) || (!higher && lo > 0.0) {
            Some(false)
        } else {
            None
        }
    };
    let candidates: Vec<usize> = (1..ins.num_versions).collect();
    let better: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&c| eligible.contains(&c) && better_than(c, 0) == Some(true))
        .collect();
    match better.as_slice() {
        [] => {
            let all_worse = candidates.iter().all(|&c| better_than(c, 0) == Some(false));
            if all_worse && eligible.contains(&0) {
                (
                    Some(0),
                    format!("every candidate is worse than the baseline on {metric}"),
                )
            } else {
                (
                    None,
                    format!(
                        "no version is better than the others on {metric} with {:.0}% confidence (inconclusive)",
                        CONFIDENCE * 100.0
                    ),
                )
            }
        }
        [one] => (
            Some(*one),
            format!("{} is better than the baseline on {metric}", name(*one)),
        ),
        several => {
            let key = |v: usize| mean(summary(ins, v, metric)).unwrap_or(f64::NAN);
            let best = several
                .iter()
                .copied()
                .max_by(|&a, &b| {
                    let (x, y) = (key(a), key(b));
                    let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                    if higher { o } else { o.reverse() }
                })
                .unwrap_or(several[0]);
            if several
                .iter()
                .all(|&o| o == best || better_than(best, o) == Some(true))
            {
                (
                    Some(best),
                    format!(
                        "{} is better than the baseline and the other candidates on {metric}",
                        name(best)
                    ),
                )
            } else {
                (
                    None,
                    format!(
                        "several candidates are better than the baseline on {metric}, none better than the others (inconclusive)"
                    ),
                )
            }
        }
    }
}

/// The `p`-quantile of Student's t distribution with `df` degrees of freedom (bisection on
/// the distribution function).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0e3_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom, `t ≥ 0`.
fn student_t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    1.0 - 0.5 * reg_inc_beta(0.5 * df, 0.5, x)
}

/// The regularized incomplete beta function I_x(a, b) (continued fraction, modified Lentz).
fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - reg_inc_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..500 {
        let m = f64::from(m);
        // Even step.
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + num / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        f *= d * c;
        // Odd step.
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + num / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let step = d * c;
        f *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    ln_front.exp() * f / a
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7).
fn ln_gamma(x: f64) -> f64 {
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + 7.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{MetricMeta, MetricValue, Rewards};

    fn summary_of(values: &[f64]) -> [f64; 5] {
        let mut s = [0.0, 0.0, f64::MAX, 0.0, 0.0];
        for &v in values {
            s[0] += 1.0;
            s[1] += v;
            s[2] = s[2].min(v);
            s[3] = s[3].max(v);
            s[4] += v * v;
        }
        s
    }

    fn insights(per_version: &[&[f64]], rewards: Option<Rewards>) -> Insights {
        let mut ins = Insights {
            num_versions: per_version.len(),
            rewards,
            ..Insights::default()
        };
        ins.init_metrics().expect("init");
        for (v, values) in per_version.iter().enumerate() {
            ins.update_metric(
                "abn/sales",
                MetricMeta::new("", MetricType::Summary, None),
                v,
                MetricValue::Summary(summary_of(values)),
            )
            .expect("update");
        }
        ins
    }

    fn max_sales() -> Option<Rewards> {
        Some(Rewards {
            max: vec!["abn/sales".into()],
            min: vec![],
        })
    }

    /// Student's t quantiles match the published table (df 1, 10, 30, large).
    #[test]
    fn t_quantiles() {
        for (df, want) in [(1.0, 12.706), (10.0, 2.228), (30.0, 2.042), (1e6, 1.960)] {
            let got = student_t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-3, "df {df}: {got} vs {want}");
        }
    }

    /// Welch's interval from summaries equals the one from the raw values (computed by hand:
    /// means 2 and 5, variances 2.5 and 2.5, n 5 and 5, df 8, t 2.306).
    #[test]
    fn interval_from_summaries() {
        let mut b = summary_of(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        let mut c = summary_of(&[3.0, 4.0, 5.0, 6.0, 7.0]);
        // Repeat each twice to pass MIN_COUNT: n 10, variance 20/9.
        for s in [&mut b, &mut c] {
            for i in [0, 1, 4] {
                s[i] *= 2.0;
            }
        }
        let (lo, hi) = welch_interval(&b, &c).expect("enough data");
        let se = (2.0 * (20.0 / 9.0) / 10.0_f64).sqrt();
        let t = student_t_quantile(0.975, 18.0);
        assert!((lo - (3.0 - t * se)).abs() < 1e-9 && (hi - (3.0 + t * se)).abs() < 1e-9);
        assert!(welch_interval(&summary_of(&[1.0; 9]), &c).is_none());
    }

    /// A candidate with clearly higher rewards wins; equal rewards are inconclusive with no
    /// winner; thin data is inconclusive; every candidate worse makes the baseline win.
    #[test]
    fn winners() {
        let base: Vec<f64> = (0..50).map(|i| 10.0 + f64::from(i % 5)).collect();
        let high: Vec<f64> = (0..50).map(|i| 20.0 + f64::from(i % 5)).collect();
        let c = compare(&insights(&[&base, &high], max_sales())).expect("comparison");
        assert_eq!(c.winner, Some(1));
        assert_eq!(c.metrics[0].verdict, Verdict::Better);

        let c = compare(&insights(&[&base, &base], max_sales())).expect("comparison");
        assert_eq!(c.winner, None);
        assert_eq!(c.metrics[0].verdict, Verdict::Inconclusive);
        assert!(c.reason.contains("inconclusive"), "{}", c.reason);

        let c = compare(&insights(&[&base, &high[..5]], max_sales())).expect("comparison");
        assert_eq!(c.metrics[0].verdict, Verdict::Inconclusive);
        assert_eq!(c.winner, None);

        let c = compare(&insights(&[&high, &base], max_sales())).expect("comparison");
        assert_eq!(c.winner, Some(0));
        assert_eq!(c.metrics[0].verdict, Verdict::Worse);

        let c = compare(&insights(&[&base, &high], None)).expect("comparison");
        assert_eq!(c.metrics[0].verdict, Verdict::Higher);
        assert_eq!(c.winner, None);
    }

    /// Of two candidates better than the baseline, the better one wins only if it is also
    /// better than the other.
    #[test]
    fn several_candidates() {
        let base: Vec<f64> = (0..50).map(|i| 10.0 + f64::from(i % 5)).collect();
        let high: Vec<f64> = (0..50).map(|i| 20.0 + f64::from(i % 5)).collect();
        let higher: Vec<f64> = (0..50).map(|i| 30.0 + f64::from(i % 5)).collect();
        let c = compare(&insights(&[&base, &high, &higher], max_sales())).expect("comparison");
        assert_eq!(c.winner, Some(2));
        let c = compare(&insights(&[&base, &high, &high], max_sales())).expect("comparison");
        assert_eq!(c.winner, None);
    }
}
