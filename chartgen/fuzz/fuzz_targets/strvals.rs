//! Fuzz target: Helm's `--set` grammar never panics, whatever the input, in every mode
//! (`--set`, `--set-string`, `--set-json`, `--set-literal`), and a parsed map always
//! serialises.
#![no_main]

use chartgen::Value;
use chartgen::chart::strvals::{self, ValueMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for mode in [
        ValueMode::Typed,
        ValueMode::String,
        ValueMode::Json,
        ValueMode::Literal,
    ] {
        let dest = Value::empty_map();
        if strvals::parse_into(s, &dest, mode).is_ok() {
            let _ = chartgen::yaml::to_json(&dest);
        }
    }
    // Two flags into one map, as Helm applies repeated --set flags.
    let dest = Value::empty_map();
    if s.is_char_boundary(s.len() / 2) {
        let (a, b) = s.split_at(s.len() / 2);
        let _ = strvals::parse_into(a, &dest, ValueMode::Typed);
        let _ = strvals::parse_into(b, &dest, ValueMode::Typed);
    }
});
