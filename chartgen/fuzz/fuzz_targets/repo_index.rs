//! Fuzz target: a chart repository's `index.yaml` from the network never panics the
//! reader, and every chart it lists can be looked up by name and by a range.
#![no_main]

use chartgen::source::http::{find, parse_index};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = parse_index(data, "fuzz") {
        for name in index.entries.keys() {
            let _ = find(&index, name, "", "fuzz");
            let _ = find(&index, name, ">=0.1.0 <2", "fuzz");
        }
    }
});
