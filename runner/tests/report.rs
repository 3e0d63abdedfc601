//! Report tests: text reports of the experiments in `tests/report/<case>/experiment.yaml`
//! compared byte for byte with `report.txt` beside them (`UPDATE_GOLDEN=1` rewrites them), and
//! checks that the HTML report is one self-contained page with every section.
//!
//! The layout itself was checked byte for byte against Iter8 v0.13.18's own golden
//! (`testdata/output/kreport.txt` rendered from `testdata/assertinputs/experiment.yaml`).

use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/report")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("experiment.yaml").is_file())
        .collect();
    v.sort();
    v
}

fn load(case: &Path) -> runner::Experiment {
    let text = std::fs::read_to_string(case.join("experiment.yaml")).expect("read experiment");
    runner::Experiment::from_yaml(&text).expect("valid experiment")
}

/// Every case's text report equals its golden byte for byte.
#[test]
fn text_reports_match_goldens() {
    let cases = cases();
    assert!(cases.len() >= 3, "{cases:?}");
    for case in cases {
        let got = runner::report::text(&load(&case));
        let golden = case.join("report.txt");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &got).expect("write golden");
        }
        let want =
            std::fs::read_to_string(&golden).expect("read golden (UPDATE_GOLDEN=1 creates it)");
        assert_eq!(got, want, "{}", case.display());
    }
}

/// The HTML report is one page with status, SLOs, histograms and metrics, and loads nothing
/// from the network.
#[test]
fn html_report_is_self_contained() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report");
    let html = runner::report::html(&load(&dir.join("multi-version"))).expect("render html");
    assert!(html.starts_with("<!doctype html>"));
    // minijinja's HTML escaping writes `/` as `&#x2f;`; compare on the unescaped text.
    let html = html.replace("&#x2f;", "/");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<title>Experiment Report</title>"));
    assert!(html.contains("Experiment has not completed. Experiment has failures. 2 out of 3 tasks are complete. 3 loops have completed."));
    assert!(html.contains("Service level objectives (SLOs)"));
    assert!(html.contains("<th>stable (v1)</th><th>v2</th>"));
    assert!(html.contains("grpc/latency/p50 (msec) ≤ 25.5"));
    assert!(html.contains("10 ≤ app/conversions"));
    assert!(html.contains("Metric Histograms"));
    assert!(html.contains("data-metric=\"grpc/latency (msec)\" data-observations=\"6\""));
    assert!(html.contains("Latest observed values for metrics"));
    assert!(html.contains("plotly.js v"), "plotly.js is embedded");
    // Outside plotly.js itself (which names CDNs for map features the page does not use).
    let start = html
        .find("<script type=\"text/javascript\">")
        .expect("plotly script");
    let end = start
        + html[start..]
            .find("</script>")
            .expect("end of plotly script");
    let page = format!("{}{}", &html[..start], &html[end..]);
    for attr in ["src=\"http", "href=\"http://", "src='http", "@import"] {
        assert!(!page.contains(attr), "external resource: {attr}");
    }
    // Only link out: the Iter8 home page in the heading.
    assert_eq!(page.matches("href=\"https://").count(), 1);

    let none = runner::report::html(&load(&dir.join("no-insights"))).expect("render html");
    assert!(none.contains("Insights not found in experiment results."));
    assert!(!none.contains("Metric Histograms"));
}

/// The HTML report names the protocol each load provider spoke, under the status; a report
/// without protocols shows none.
#[test]
fn html_report_names_protocols() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report");
    let html = runner::report::html(&load(&dir.join("protocols"))).expect("render html");
    let html = html.replace("&#x2f;", "/");
    for line in [
        "Protocol (http-a): HTTP/1.1 over TLS",
        "Protocol (http-b): HTTP/2 cleartext (h2c)",
    ] {
        assert_eq!(html.matches(line).count(), 1, "{line:?} once in the page");
    }
    let plain = runner::report::html(&load(&dir.join("multi-version"))).expect("render html");
    assert!(!plain.contains("class=\"protocol\""));
}
