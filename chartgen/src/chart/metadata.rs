//! Chart.yaml: the `Metadata` and `Dependency` records, their validation and `.Chart` shape.

use std::rc::Rc;

use super::objects::GoStruct;
use crate::value::{Map, Object as _, Value};

/// One maintainer entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// One `dependencies:` entry of Chart.yaml (or requirements.yaml).
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// Chart.yaml contents.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    /// `None` entries are YAML nulls (rejected by validation).
    pub maintainers: Vec<Option<Maintainer>>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: Option<Vec<(String, String)>>,
    pub kube_version: String,
    /// `None` entries are YAML nulls (rejected by validation).
    pub dependencies: Option<Vec<Option<Dependency>>>,
    pub chart_type: String,
}

/// Format a float like Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
pub fn format_float32_g(x: f64) -> String {
    let f = x as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// A YAML scalar decoded into a Go `string` field (sigs.k8s.io/yaml rules).
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::Nil => Some(String::new()),
        Value::String(s) => Some(s.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) | Value::Int64(i) => Some(i.to_string()),
        Value::Uint64(u) => Some(u.to_string()),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                Some(format!("{}", *f as i64))
            } else {
                Some(format_float32_g(*f))
            }
        }
        _ => None,
    }
}

/// Go's `%T`-ish JSON kind used in unmarshal errors.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        _ => "number",
    }
}

fn get<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn field_str(m: &Map, key: &str, st: &str, gofield: &str) -> Result<String, String> {
    match get(m, key) {
        None => Ok(String::new()),
        Some(v) => scalar_to_string(v).ok_or_else(|| {
            format!(
                "json: cannot unmarshal {} into Go struct field {st}.{gofield} of type string",
                json_kind(v)
            )
        }),
    }
}

fn field_strs(m: &Map, key: &str, st: &str, gofield: &str) -> Result<Vec<String>, String> {
    match get(m, key) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(l)) => l
            .items
            .iter()
            .map(|v| {
                scalar_to_string(v).ok_or_else(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field {st}.{gofield} of type string",
                        json_kind(v)
                    )
                })
            })
            .collect(),
        Some(v) => Err(format!(
            "json: cannot unmarshal {} into Go struct field {st}.{gofield} of type []string",
            json_kind(v)
        )),
    }
}

fn field_bool(m: &Map, key: &str, st: &str, gofield: &str) -> Result<bool, String> {
    match get(m, key) {
        None | Some(Value::Nil) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!(
            "json: cannot unmarshal {} into Go struct field {st}.{gofield} of type bool",
            json_kind(v)
        )),
    }
}

impl Dependency {
    fn from_value(v: &Value) -> Result<Option<Dependency>, String> {
        let m = match v {
            Value::Nil => return Ok(None),
            Value::Map(m) => m.borrow().clone(),
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field Metadata.dependencies of type chart.Dependency",
                    json_kind(other)
                ));
            }
        };
        let st = "Metadata.dependencies";
        let import_values = match get(&m, "import-values") {
            None | Some(Value::Nil) => Vec::new(),
            Some(Value::List(l)) => l.items.clone(),
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field {st}.import-values of type []interface {{}}",
                    json_kind(other)
                ));
            }
        };
        Ok(Some(Dependency {
            name: field_str(&m, "name", st, "name")?,
            version: field_str(&m, "version", st, "version")?,
            repository: field_str(&m, "repository", st, "repository")?,
            condition: field_str(&m, "condition", st, "condition")?,
            tags: field_strs(&m, "tags", st, "tags")?,
            enabled: field_bool(&m, "enabled", st, "enabled")?,
            import_values,
            alias: field_str(&m, "alias", st, "alias")?,
        }))
    }

    /// The `.Chart.Dependencies[i]` map (Go field names).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), Value::str(self.name.as_str()));
        m.insert("Version".into(), Value::str(self.version.as_str()));
        m.insert("Repository".into(), Value::str(self.repository.as_str()));
        m.insert("Condition".into(), Value::str(self.condition.as_str()));
        m.insert(
            "Tags".into(),
            Value::list(self.tags.iter().map(|t| Value::str(t.as_str())).collect()),
        );
        m.insert("Enabled".into(), Value::Bool(self.enabled));
        m.insert(
            "ImportValues".into(),
            Value::list(self.import_values.clone()),
        );
        m.insert("Alias".into(), Value::str(self.alias.as_str()));
        Value::map(m)
    }

    /// Helm 3's `*chart.Dependency`: Go field names for templates, json tags for `toJson`.
    pub fn go_struct(&self) -> GoStruct {
        let mut json = vec![("name", Value::str(self.name.as_str()))];
        if !self.version.is_empty() {
            json.push(("version", Value::str(self.version.as_str())));
        }
        json.push(("repository", Value::str(self.repository.as_str())));
        if !self.condition.is_empty() {
            json.push(("condition", Value::str(self.condition.as_str())));
        }
        if !self.tags.is_empty() {
            json.push((
                "tags",
                Value::list(self.tags.iter().map(|t| Value::str(t.as_str())).collect()),
            ));
        }
        if self.enabled {
            json.push(("enabled", Value::Bool(true)));
        }
        if !self.import_values.is_empty() {
            json.push(("import-values", Value::list(self.import_values.clone())));
        }
        if !self.alias.is_empty() {
            json.push(("alias", Value::str(self.alias.as_str())));
        }
        GoStruct::new("*chart.Dependency", "ptr", map_of(self.to_value()), json)
    }
}

/// The map inside a map value (`to_value` builds only maps).
fn map_of(v: Value) -> Map {
    match v {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    }
}

impl Maintainer {
    /// Helm 3's `*chart.Maintainer`.
    fn go_struct(&self) -> GoStruct {
        let mut fields = Map::new();
        fields.insert("Name".into(), Value::str(self.name.as_str()));
        fields.insert("Email".into(), Value::str(self.email.as_str()));
        fields.insert("URL".into(), Value::str(self.url.as_str()));
        let json = [
            ("name", &self.name),
            ("email", &self.email),
            ("url", &self.url),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, Value::str(v.as_str())))
        .collect();
        GoStruct::new("*chart.Maintainer", "ptr", fields, json)
    }
}

/// Normalise whitespace to spaces and drop non-printable characters (Helm's sanitizeString).
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Helm's alias pattern `^[a-zA-Z0-9_-]+$`.
fn is_valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Metadata {
    /// Decode a parsed Chart.yaml (a map) into metadata; errors read like encoding/json's.
    pub fn from_value(v: &Value) -> Result<Metadata, String> {
        let m = match v {
            Value::Map(m) => m.borrow().clone(),
            Value::Nil => Map::new(),
            other => {
                return Err(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type chart.Metadata",
                    json_kind(other)
                ));
            }
        };
        let mut md = Metadata::default();
        md.merge_from(&m)
            .map_err(|e| format!("error unmarshaling JSON: while decoding JSON: {e}"))?;
        Ok(md)
    }

    /// Unmarshal `m` over this metadata (fields present in `m` replace ours), as Go does
    /// when requirements.yaml is decoded into an existing Metadata.
    pub fn merge_from(&mut self, m: &Map) -> Result<(), String> {
        let st = "Metadata";
        macro_rules! s {
            ($key:literal, $field:ident) => {
                if get(m, $key).is_some() {
                    self.$field = field_str(m, $key, st, $key)?;
                }
            };
        }
        s!("name", name);
        s!("home", home);
        s!("version", version);
        s!("description", description);
        s!("icon", icon);
        s!("apiVersion", api_version);
        s!("condition", condition);
        s!("tags", tags);
        s!("appVersion", app_version);
        s!("kubeVersion", kube_version);
        s!("type", chart_type);
        if get(m, "sources").is_some() {
            self.sources = field_strs(m, "sources", st, "sources")?;
        }
        if get(m, "keywords").is_some() {
            self.keywords = field_strs(m, "keywords", st, "keywords")?;
        }
        if get(m, "deprecated").is_some() {
            self.deprecated = field_bool(m, "deprecated", st, "deprecated")?;
        }
        match get(m, "maintainers") {
            None | Some(Value::Nil) => {}
            Some(Value::List(l)) => {
                let mut out = Vec::new();
                for item in &l.items {
                    match item {
                        Value::Nil => out.push(None),
                        Value::Map(mm) => {
                            let mm = mm.borrow();
                            let st = "Metadata.maintainers";
                            out.push(Some(Maintainer {
                                name: field_str(&mm, "name", st, "name")?,
                                email: field_str(&mm, "email", st, "email")?,
                                url: field_str(&mm, "url", st, "url")?,
                            }));
                        }
                        other => {
                            return Err(format!(
                                "json: cannot unmarshal {} into Go struct field Metadata.maintainers of type chart.Maintainer",
                                json_kind(other)
                            ));
                        }
                    }
                }
                self.maintainers = out;
            }
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field Metadata.maintainers of type []*chart.Maintainer",
                    json_kind(other)
                ));
            }
        }
        match get(m, "annotations") {
            None => {}
            Some(Value::Nil) => self.annotations = None,
            Some(Value::Map(a)) => {
                let mut out = Vec::new();
                for (k, v) in a.borrow().iter() {
                    let s = scalar_to_string(v).ok_or_else(|| {
                        format!(
                            "json: cannot unmarshal {} into Go struct field Metadata.annotations of type string",
                            json_kind(v)
                        )
                    })?;
                    out.push((k.clone(), s));
                }
                self.annotations = Some(out);
            }
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field Metadata.annotations of type map[string]string",
                    json_kind(other)
                ));
            }
        }
        match get(m, "dependencies") {
            None => {}
            Some(Value::Nil) => self.dependencies = None,
            Some(Value::List(l)) => {
                let mut out = Vec::new();
                for item in &l.items {
                    out.push(Dependency::from_value(item)?);
                }
                self.dependencies = Some(out);
            }
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field Metadata.dependencies of type []*chart.Dependency",
                    json_kind(other)
                ));
            }
        }
        Ok(())
    }

    /// Helm's `Metadata.Validate`: sanitises strings and checks required fields. The error
    /// text is what follows `validation: `.
    pub fn validate(&mut self) -> Result<(), String> {
        self.name = sanitize(&self.name);
        self.description = sanitize(&self.description);
        self.home = sanitize(&self.home);
        self.icon = sanitize(&self.icon);
        self.condition = sanitize(&self.condition);
        self.tags = sanitize(&self.tags);
        self.app_version = sanitize(&self.app_version);
        self.kube_version = sanitize(&self.kube_version);
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize(s);
        }
        if self.api_version.is_empty() {
            return Err("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return Err("chart.metadata.name is required".into());
        }
        if self.name == "." || self.name == ".." {
            return Err(format!(
                "chart.metadata.name {} is not allowed",
                super::strvals::go_quote(&self.name)
            ));
        }
        if self.name.contains('/') || self.name.ends_with('/') {
            return Err(format!(
                "chart.metadata.name {} is invalid",
                super::strvals::go_quote(&self.name)
            ));
        }
        if self.version.is_empty() {
            return Err("chart.metadata.version is required".into());
        }
        if crate::funcs::SemverVersion::parse(&self.version).is_err() {
            return Err(format!(
                "chart.metadata.version {} is invalid",
                super::strvals::go_quote(&self.version)
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err("chart.metadata.type must be application or library".into());
        }
        for m in &mut self.maintainers {
            match m {
                None => return Err("maintainers must not contain empty or null nodes".into()),
                Some(m) => {
                    m.name = sanitize(&m.name);
                    m.email = sanitize(&m.email);
                    m.url = sanitize(&m.url);
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        if let Some(deps) = &mut self.dependencies {
            for d in deps.iter_mut() {
                let Some(d) = d else {
                    return Err("dependencies must not contain empty or null nodes".into());
                };
                d.name = sanitize(&d.name);
                d.version = sanitize(&d.version);
                d.repository = sanitize(&d.repository);
                d.condition = sanitize(&d.condition);
                for t in &mut d.tags {
                    *t = sanitize(t);
                }
                if !d.alias.is_empty() && !is_valid_alias(&d.alias) {
                    return Err(format!(
                        "dependency {} has disallowed characters in the alias",
                        super::strvals::go_quote(&d.name)
                    ));
                }
                let key = if d.alias.is_empty() {
                    d.name.clone()
                } else {
                    d.alias.clone()
                };
                if seen.contains(&key) {
                    return Err(format!(
                        "more than one dependency with name or alias {}",
                        super::strvals::go_quote(&key)
                    ));
                }
                seen.push(key);
            }
        }
        Ok(())
    }

    /// Valid dependency entries (validation guarantees there are no nulls).
    pub fn deps(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies.iter().flatten().flatten()
    }

    fn annotations_value(&self) -> Value {
        match &self.annotations {
            None => Value::Nil,
            Some(a) => Value::map(
                a.iter()
                    .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                    .collect(),
            ),
        }
    }

    /// `.Chart` as Helm 4 builds it: Go field names (plus `IsRoot`, added by the caller).
    pub fn to_value(&self) -> Value {
        let strs = |v: &[String]| Value::list(v.iter().map(|s| Value::str(s.as_str())).collect());
        let mut m = Map::new();
        m.insert("Name".into(), Value::str(self.name.as_str()));
        m.insert("Home".into(), Value::str(self.home.as_str()));
        m.insert("Sources".into(), strs(&self.sources));
        m.insert("Version".into(), Value::str(self.version.as_str()));
        m.insert("Description".into(), Value::str(self.description.as_str()));
        m.insert("Keywords".into(), strs(&self.keywords));
        m.insert(
            "Maintainers".into(),
            Value::list(
                self.maintainers
                    .iter()
                    .flatten()
                    .map(|mt| {
                        let mut mm = Map::new();
                        mm.insert("Name".into(), Value::str(mt.name.as_str()));
                        mm.insert("Email".into(), Value::str(mt.email.as_str()));
                        mm.insert("URL".into(), Value::str(mt.url.as_str()));
                        Value::map(mm)
                    })
                    .collect(),
            ),
        );
        m.insert("Icon".into(), Value::str(self.icon.as_str()));
        m.insert("APIVersion".into(), Value::str(self.api_version.as_str()));
        m.insert("Condition".into(), Value::str(self.condition.as_str()));
        m.insert("Tags".into(), Value::str(self.tags.as_str()));
        m.insert("AppVersion".into(), Value::str(self.app_version.as_str()));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        m.insert("Annotations".into(), self.annotations_value());
        m.insert("KubeVersion".into(), Value::str(self.kube_version.as_str()));
        m.insert(
            "Dependencies".into(),
            Value::list(self.deps().map(Dependency::to_value).collect()),
        );
        m.insert("Type".into(), Value::str(self.chart_type.as_str()));
        Value::map(m)
    }

    /// Helm 3's `chart.Metadata` with `IsRoot`, as its `.Chart`: Go field names for templates
    /// (maintainers and dependencies as structs too), json tags (`omitempty`, declaration
    /// order) for `toJson`.
    pub fn go_struct(&self, is_root: bool) -> GoStruct {
        let mut fields = map_of(self.to_value());
        let maintainers: Vec<Value> = self
            .maintainers
            .iter()
            .flatten()
            .map(|m| Value::Object(Rc::new(m.go_struct())))
            .collect();
        let deps: Vec<Value> = self
            .deps()
            .map(|d| Value::Object(Rc::new(d.go_struct())))
            .collect();
        fields.insert("Maintainers".into(), Value::list(maintainers.clone()));
        fields.insert("Dependencies".into(), Value::list(deps.clone()));
        fields.insert("IsRoot".into(), Value::Bool(is_root));
        let mut json = Vec::new();
        let strs = |v: &[String]| Value::list(v.iter().map(|s| Value::str(s.as_str())).collect());
        let mut put = |k: &'static str, v: &str| {
            if !v.is_empty() {
                json.push((k, Value::str(v)));
            }
        };
        put("name", &self.name);
        put("home", &self.home);
        if !self.sources.is_empty() {
            json.push(("sources", strs(&self.sources)));
        }
        let mut put = |k: &'static str, v: &str| {
            if !v.is_empty() {
                json.push((k, Value::str(v)));
            }
        };
        put("version", &self.version);
        put("description", &self.description);
        if !self.keywords.is_empty() {
            json.push(("keywords", strs(&self.keywords)));
        }
        if !maintainers.is_empty() {
            json.push(("maintainers", Value::list(maintainers)));
        }
        let mut put = |k: &'static str, v: &str| {
            if !v.is_empty() {
                json.push((k, Value::str(v)));
            }
        };
        put("icon", &self.icon);
        put("apiVersion", &self.api_version);
        put("condition", &self.condition);
        put("tags", &self.tags);
        put("appVersion", &self.app_version);
        if self.deprecated {
            json.push(("deprecated", Value::Bool(true)));
        }
        if let Some(a) = &self.annotations
            && !a.is_empty()
        {
            json.push(("annotations", self.annotations_value()));
        }
        if !self.kube_version.is_empty() {
            json.push(("kubeVersion", Value::str(self.kube_version.as_str())));
        }
        if !deps.is_empty() {
            json.push(("dependencies", Value::list(deps)));
        }
        if !self.chart_type.is_empty() {
            json.push(("type", Value::str(self.chart_type.as_str())));
        }
        json.push(("IsRoot", Value::Bool(is_root)));
        GoStruct::new("chart.Metadata", "struct", fields, json)
    }

    /// The json-tag shape (`omitempty`) of Chart.yaml, as plain data (keys sorted): what
    /// Chart.yaml, index entries and OCI configs are written from.
    pub fn to_json_value(&self) -> Value {
        let mut v = self.go_struct(true).to_data();
        if let Value::Map(m) = &mut v {
            m.borrow_mut().remove("IsRoot");
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_formatting() {
        assert_eq!(format_float32_g(1.1), "1.1");
        assert_eq!(format_float32_g(1.10), "1.1");
        assert_eq!(format_float32_g(12345678.0), "1.2345678e+07");
        assert_eq!(format_float32_g(0.5), "0.5");
        assert_eq!(format_float32_g(0.00001), "1e-05");
    }
}
