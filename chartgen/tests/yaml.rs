//! Golden tests for `chartgen::yaml`: every `tests/yaml/cases/NAME.yaml` is a values file;
//! `NAME.json` holds what real Helm (v4.1.4, via `tests/yaml/regen.py`) printed for
//! `toYaml`, `toJson`, `toPrettyJson`, `toRawJson` and `toToml` of `.Values`, or its error.

use chartgen::yaml;
use std::path::Path;

/// Error texts are compared once chartgen has its own go-yaml scanner (work in progress).
const CHECK_ERROR_TEXT: bool = true;

fn cases() -> Vec<(String, String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml/cases");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("cases dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let input = std::fs::read_to_string(&path).expect("case input");
            let golden = std::fs::read_to_string(path.with_extension("json")).expect("golden json");
            out.push((
                name,
                input,
                serde_json::from_str(&golden).expect("golden parses"),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every golden case: loading values and printing them matches Helm byte for byte.
#[test]
fn golden_cases_match_helm() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(
        all.len() >= 150,
        "expected the full corpus, found {}",
        all.len()
    );
    for (name, input, golden) in &all {
        let loaded = yaml::load_values(input);
        if let Some(err) = golden.get("error").and_then(|e| e.as_str()) {
            match loaded {
                Ok(v) => failures.push(format!("{name}: expected error {err:?}, loaded {v:?}")),
                Err(e) if CHECK_ERROR_TEXT && e.to_string() != err => {
                    failures.push(format!("{name}: error\n  want {err}\n  got  {e}"))
                }
                Err(_) => {}
            }
            continue;
        }
        let v = match loaded {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: unexpected error {e}"));
                continue;
            }
        };
        let outputs: [(&str, Result<String, String>); 5] = [
            // Helm's toYaml/toJson family print "" on error.
            (
                "yaml",
                yaml::to_yaml(&v)
                    .map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
                    .or(Ok(String::new())),
            ),
            ("json", yaml::to_json(&v).or(Ok(String::new()))),
            ("pretty", yaml::to_pretty_json(&v).or(Ok(String::new()))),
            ("raw", yaml::to_raw_json(&v).or(Ok(String::new()))),
            ("toml", yaml::to_toml(&v).or_else(Ok)),
        ];
        for (key, got) in outputs {
            let want = golden.get(key).and_then(|w| w.as_str()).unwrap_or("");
            let got = got.unwrap_or_else(|e| format!("<error {e}>"));
            if got != want {
                failures.push(format!(
                    "{name} [{key}]:\n--- want\n{want}\n--- got\n{got}\n---"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
