//! Text report, byte for byte as Iter8 v0.13's `iter8 report -o text`.
//!
//! Layout (`⏎` = newline; the report starts with an empty line and ends with a line of two
//! spaces, an empty line and the final newline `fmt.Fprintln` adds):
//!
//! ```text
//! ⏎
//! Experiment summary:⏎
//! *******************⏎
//! ⏎
//!   Experiment completed: true⏎
//!   No task failures: true⏎
//!   Total number of tasks: 4⏎
//!   Number of completed tasks: 4⏎
//!   Number of completed loops: 1⏎
//!   Protocol (http): HTTP/1.1 over TLS⏎        (one per load provider; not in Iter8 v0.13)
//!   Chart: iter8 0.13.8 from oci://r/c/iter8 (digest sha256:...)⏎   (fetched charts only;
//!                                                 the manifest digest for OCI; not in v0.13)
//! ⏎
//! Load warnings:⏎                                                      (not in Iter8 v0.13; only
//! **************⏎                                                      when a paced load fell
//! ⏎                                                                    behind its schedule)
//!   http: the target could not carry the offered rate: ...⏎
//! ⏎
//! Capacity search (http):⏎                                  (not in Iter8 v0.13; one per load
//! ***********************⏎                                  provider that searched)
//! ⏎
//!   Probe | Offered (requests/sec) | Achieved (requests/sec) | p50 (msec) | ... | SLOs⏎
//!   1     | 50.0                   | 50.0                    | 20.31      | ... | met⏎
//!   ⏎
//!   http: capacity 199.8 requests/sec (within the tolerance of a failing rate, confirmed)⏎
//! ⏎
//! Whether or not service level objectives (SLOs) are satisfied:⏎     (only when SLOs are set)
//! *************************************************************⏎
//! ⏎
//!   SLO Conditions       | Satisfied⏎
//!   --------------       | ---------⏎
//!   http/error-count <= 0 | true⏎
//!   ⏎
//! ⏎
//! Latest observed values for metrics:⏎
//! ***********************************⏎
//! ⏎
//!   Metric             | value⏎
//!   -------            | -----⏎
//!   http/error-count   | 0.00⏎
//!   ⏎
//! ⏎
//! ```
//!
//! Without insights the two tables are replaced by a "Metrics-based Insights" section saying
//! that insights were not found. Tables follow Go's `tabwriter` with min width 0, padding 1,
//! pad char ' ' and the `Debug` flag: every column but the last is padded to its widest cell
//! plus one and followed by `|`; every cell after the first starts with a space.

use std::fmt::Write as _;

use super::{
    has_slos, insights, load_warnings, metric_with_units, slo_satisfied,
    sorted_scalar_and_slo_metrics, summary, value_str,
};
use crate::experiment::{Experiment, Insights, format_go_float};

/// The text report of `exp`, including the trailing newline.
pub fn text(exp: &Experiment) -> String {
    let s = summary(exp);
    let mut out = String::new();
    out.push_str("\nExperiment summary:\n*******************\n\n");
    let _ = writeln!(out, "  Experiment completed: {}", s.completed);
    let _ = writeln!(out, "  No task failures: {}", s.no_failure);
    let _ = writeln!(out, "  Total number of tasks: {}", s.num_tasks);
    let _ = writeln!(
        out,
        "  Number of completed tasks: {}",
        s.num_completed_tasks
    );
    let _ = write!(out, "  Number of completed loops: {}", s.num_loops);
    for (provider, protocol) in insights(exp).iter().flat_map(|i| &i.protocols) {
        let _ = write!(out, "\n  Protocol ({provider}): {protocol}");
    }
    if let Some(c) = exp.result.as_ref().and_then(|r| r.chart.as_ref()) {
        let digest = c.manifest_digest.as_deref().unwrap_or(&c.digest);
        let _ = write!(
            out,
            "\n  Chart: {} {} from {} (digest {digest})",
            c.name, c.version, c.source
        );
    }
    match insights(exp) {
        Some(ins) => {
            // Not in Iter8 v0.13: only when a paced load did not keep its schedule.
            let warnings = load_warnings(ins);
            if !warnings.is_empty() {
                out.push_str("\n\nLoad warnings:\n**************\n");
                for w in warnings {
                    let _ = write!(out, "\n  {w}");
                }
            }
            // Not in Iter8 v0.13: only when a load task searched for the capacity.
            for v in super::capacity::views(ins) {
                let title = format!("Capacity search ({}):", v.provider);
                let _ = write!(out, "\n\n{title}\n{}\n\n", "*".repeat(title.len()));
                out.push_str(&indent(&tabwrite(&probe_table(&v)), 2));
                let _ = write!(out, "\n  {}: {}", v.provider, v.verdict);
            }
            if has_slos(ins) {
                out.push_str(
                    "\n\nWhether or not service level objectives (SLOs) are satisfied:\n\
                     *************************************************************\n\n",
                );
                out.push_str(&indent(&tabwrite(&slo_table(ins)), 2));
            }
            out.push_str(
                "\n\nLatest observed values for metrics:\n***********************************\n\n",
            );
            out.push_str(&indent(&tabwrite(&metrics_table(ins)), 2));
            // Not in Iter8 v0.13: only with two or more versions and summary metrics.
            if let Some(c) = crate::compare::compare(ins) {
                out.push_str(
                    "\n\nComparison of each candidate with the baseline (95% confidence):\n\
                     *****************************************************************\n\n",
                );
                let mut rows = vec![
                    [
                        "Metric",
                        " Version",
                        " Mean vs baseline",
                        " Difference",
                        " Interval",
                        " Verdict",
                    ]
                    .map(str::to_string)
                    .to_vec(),
                    [
                        "------",
                        " -------",
                        " ----------------",
                        " ----------",
                        " --------",
                        " -------",
                    ]
                    .map(str::to_string)
                    .to_vec(),
                ];
                for r in super::comparison_rows(ins, &c) {
                    let mut row = vec![r[0].clone()];
                    row.extend(r[1..].iter().map(|x| format!(" {x}")));
                    rows.push(row);
                }
                out.push_str(&indent(&tabwrite(&rows), 2));
                let _ = write!(out, "\n  {}", super::winner_line(ins, &c));
            }
        }
        None => {
            out.push_str(
                "\n\nMetrics-based Insights:\n***********************\n\n  Insights not found in \
                 experiment results. You may need to retry this report at a later time.",
            );
        }
    }
    // The template file ends with a newline; Fprintln adds one more.
    out.push_str("\n\n");
    out
}

/// Column headers for versions: `Satisfied`/`value` for one version, else `track (version)`.
fn version_headers(ins: &Insights, single: &str) -> Vec<String> {
    if ins.num_versions > 1 {
        (0..ins.num_versions)
            .map(|i| format!(" {}", ins.track_version_str(i)))
            .collect()
    } else {
        vec![format!(" {single}")]
    }
}

fn slo_table(ins: &Insights) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut header = vec!["SLO Conditions".to_string()];
    header.extend(version_headers(ins, "Satisfied"));
    rows.push(header);
    let mut rule = vec!["--------------".to_string()];
    rule.extend((0..ins.num_versions).map(|_| " ---------".to_string()));
    rows.push(rule);
    if let Some(slos) = &ins.slos {
        for (upper, list) in [(true, &slos.upper), (false, &slos.lower)] {
            for (i, slo) in list.iter().enumerate() {
                let Some(mwu) = metric_with_units(ins, &slo.metric) else {
                    continue;
                };
                let limit = format_go_float(slo.limit);
                let cond = if upper {
                    format!("{mwu} <= {limit}")
                } else {
                    format!("{limit} <= {mwu}")
                };
                let mut row = vec![cond];
                row.extend(
                    (0..ins.num_versions).map(|j| format!(" {}", slo_satisfied(ins, upper, i, j))),
                );
                rows.push(row);
            }
        }
    }
    rows
}

fn probe_table(v: &super::capacity::CapacityView) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "Probe",
            " Offered (requests/sec)",
            " Achieved (requests/sec)",
            " p50 (msec)",
            " p90 (msec)",
            " p99 (msec)",
            " Error rate",
            " SLOs",
        ]
        .map(String::from)
        .to_vec(),
        [
            "-----",
            " -------",
            " --------",
            " ---",
            " ---",
            " ---",
            " ----------",
            " ----",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (i, p) in v.probes.iter().enumerate() {
        rows.push(vec![
            format!("{}", i + 1),
            format!(" {:.1}", p.offered),
            format!(" {:.1}", p.achieved),
            format!(" {:.2}", p.p50),
            format!(" {:.2}", p.p90),
            format!(" {:.2}", p.p99),
            format!(" {:.4}", p.error_rate),
            if p.passed { " met" } else { " failed" }.to_string(),
        ]);
    }
    rows
}

fn metrics_table(ins: &Insights) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut header = vec!["Metric".to_string()];
    header.extend(version_headers(ins, "value"));
    rows.push(header);
    let mut rule = vec!["-------".to_string()];
    rule.extend((0..ins.num_versions).map(|_| " -----".to_string()));
    rows.push(rule);
    for m in sorted_scalar_and_slo_metrics(ins) {
        let Some(mwu) = metric_with_units(ins, &m) else {
            continue;
        };
        let mut row = vec![mwu];
        row.extend((0..ins.num_versions).map(|j| format!(" {}", value_str(ins, j, &m))));
        rows.push(row);
    }
    rows
}

/// Go `text/tabwriter` (minwidth 0, tabwidth 0, padding 1, ' ', `Debug`) over rows of cells
/// where every cell but the last of a row was tab-terminated. Each line ends with `\n`.
///
/// Go aligns a column over each run of consecutive lines that have a cell in it; a line with
/// fewer cells ends the run. This implements that block rule column by column.
pub(crate) fn tabwrite(rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    // widths[r][c] = padded width of column c for row r (only for terminated cells).
    let ncols = rows
        .iter()
        .map(|r| r.len().saturating_sub(1))
        .max()
        .unwrap_or(0);
    let mut widths: Vec<Vec<usize>> = rows
        .iter()
        .map(|r| vec![0; r.len().saturating_sub(1)])
        .collect();
    for c in 0..ncols {
        let mut r = 0;
        while r < rows.len() {
            if rows[r].len().saturating_sub(1) <= c {
                r += 1;
                continue;
            }
            // A block: consecutive rows with a terminated cell in column c.
            let start = r;
            while r < rows.len() && rows[r].len().saturating_sub(1) > c {
                r += 1;
            }
            let w = (start..r).map(|i| width(&rows[i][c])).max().unwrap_or(0) + 1;
            for row_widths in widths.iter_mut().take(r).skip(start) {
                row_widths[c] = w;
            }
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[r][c].saturating_sub(width(cell));
                out.extend(std::iter::repeat_n(' ', pad));
                out.push('|');
            }
        }
        out.push('\n');
    }
    out
}

/// Sprig `indent`: prefix every line, including the empty one after a final newline.
fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tab writer pads every column but the last to its widest cell + 1, then `|`.
    #[test]
    fn tabwriter_layout() {
        let rows = vec![
            vec!["SLO Conditions".to_string(), " Satisfied".to_string()],
            vec!["--------------".to_string(), " ---------".to_string()],
            vec![
                "http/latency-mean (msec) <= 500".to_string(),
                " true".to_string(),
            ],
        ];
        assert_eq!(
            tabwrite(&rows),
            "SLO Conditions                  | Satisfied\n\
             --------------                  | ---------\n\
             http/latency-mean (msec) <= 500 | true\n"
        );
    }

    /// Sprig indent also indents the empty line after the last newline.
    #[test]
    fn indent_like_sprig() {
        assert_eq!(indent("a\nb\n", 2), "  a\n  b\n  ");
    }
}
