//! Fuzz target: any text must parse or fail with an error (never panic), and parsed templates
//! must execute or fail with an error.
#![no_main]

use chartgen::Value;
use chartgen::template::{ExecEnv, TemplateSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = TemplateSet::new();
    if let Err(e) = set.add("t", text) {
        let _ = e.helm_message();
        return;
    }
    // Long digit runs could ask for huge ranges or widths: keep executions short.
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 5 {
            return;
        }
    }
    let mut values = chartgen::value::Map::new();
    values.insert("s".into(), Value::str("abc"));
    values.insert("n".into(), Value::Float(3.0));
    values.insert("l".into(), Value::list(vec![Value::Int(1), Value::str("x"), Value::Nil]));
    let mut root = chartgen::value::Map::new();
    root.insert("Values".into(), Value::map(values));
    let env = ExecEnv::offline();
    if let Err(e) = set.execute("t", &Value::map(root), &env) {
        let _ = e.helm_message();
    }
});
