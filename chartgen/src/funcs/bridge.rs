//! The one place the function families reach Go `fmt` (`template::fmt`) and the YAML/JSON/
//! TOML codecs (`yaml`), so the families do not depend on those modules' layout.

use crate::value::Value;

/// Go `fmt.Sprint(v)` / `%v` of one value.
pub(crate) fn format_v(v: &Value) -> String {
    crate::template::fmt::format_v(v)
}

/// `encoding/json.Marshal`.
pub(crate) fn to_json(v: &Value) -> Result<String, String> {
    crate::yaml::to_json(v)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub(crate) fn to_pretty_json(v: &Value) -> Result<String, String> {
    crate::yaml::to_pretty_json(v)
}

/// JSON without HTML escaping (Sprig `toRawJson`).
pub(crate) fn to_raw_json(v: &Value) -> Result<String, String> {
    crate::yaml::to_raw_json(v)
}

/// `encoding/json.Unmarshal` into `interface{}` (numbers become float64).
/// Bytes of invalid UTF-8 in strings decode as U+FFFD, as Go's decoder does.
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    crate::yaml::from_json(&crate::value::go_lossy(text))
}

/// `sigs.k8s.io/yaml.Marshal`, with its trailing newline.
pub(crate) fn to_yaml(v: &Value) -> Result<String, String> {
    crate::yaml::to_yaml(v)
}

/// Helm's `toYamlPretty`: go-yaml v3 with indent 2.
pub(crate) fn to_yaml_pretty(v: &Value) -> Result<String, String> {
    super::yamlv3::marshal(v)
}

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}`; the error is Helm's wording.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, String> {
    crate::yaml::parse_any(text).map_err(|e| e.helm_message())
}

/// BurntSushi/toml encoding.
pub(crate) fn to_toml(v: &Value) -> Result<String, String> {
    crate::yaml::to_toml(v)
}
