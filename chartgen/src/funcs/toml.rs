//! TOML reading for Helm's `fromToml` (BurntSushi/toml into `map[string]interface{}`):
//! integers become int64, floats float64, tables maps, arrays `[]interface {}`, and dates
//! their TOML text.

use crate::value::{Map, Value};

/// Parse a TOML document into a map, or the parser's error text.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("toml: {}", e.message()))?;
    Ok(convert_table(&table))
}

fn convert_table(t: &toml::Table) -> Value {
    Value::map(
        t.iter()
            .map(|(k, v)| (k.clone(), convert(v)))
            .collect::<Map>(),
    )
}

fn convert(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::str(s.as_str()),
        toml::Value::Integer(i) => Value::Int64(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::str(d.to_string()),
        toml::Value::Array(a) => Value::list(a.iter().map(convert).collect()),
        toml::Value::Table(t) => convert_table(t),
    }
}
