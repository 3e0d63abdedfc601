//! TOML reading for Helm's `fromToml` (placeholder until a TOML parser is wired in).

use crate::value::Value;

pub(super) fn parse(_text: &str) -> Result<Value, String> {
    Err("toml: not supported".into())
}
