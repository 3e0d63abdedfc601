//! values.schema.json validation with Helm's error text (Helm uses santhosh-tekuri/jsonschema
//! v6): one `- at '<json pointer>': <message>` line per failure, nested failures indented.
//!
//! A focused validator: drafts 4, 6, 7, 2019-09 and 2020-12 (default) for the keywords charts
//! use — type, enum, const, $ref (local), properties, patternProperties,
//! additionalProperties, required, property counts, propertyNames, dependencies,
//! dependentRequired, items/prefixItems/additionalItems, contains, array bounds,
//! uniqueItems, string bounds, pattern, numeric bounds, multipleOf, allOf, anyOf, oneOf,
//! not, if/then/else. Remote references are treated as permissive schemas.

use std::collections::BTreeMap;

use crate::funcs::goregexp::GoRegexp as Regex;
use serde_json::Value as J;

use crate::value::Value;

#[derive(Debug, Clone)]
struct VErr {
    loc: Vec<String>,
    msg: String,
    causes: Vec<VErr>,
    /// A `$ref` wrapper: shown only through its cause when it has exactly one.
    is_ref: bool,
}

struct Ctx<'a> {
    root: &'a J,
    draft: u32,
    depth: usize,
}

fn quote(s: &str) -> String {
    let q = super::strvals::go_quote(s);
    let inner = &q[1..q.len() - 1];
    let inner = inner.replace("\\\"", "\"").replace('\'', "\\'");
    format!("'{inner}'")
}

fn join_quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_num(x: f64) -> String {
    crate::template::fmt::format_float(x, b'g', -1)
}

/// A whole number as the validator's English message printer writes it: `70,000`.
fn loc_int(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// A number as the validator's English message printer writes `%v` of a float64: Go's
/// shortest `%g` digits, thousands grouped (`70,000`, `1,234.5`), exponents as `×10⁰⁶`.
fn loc_num(x: f64) -> String {
    let g = fmt_num(x);
    let Some((mantissa, exp)) = g.split_once('e') else {
        let (sign, digits) = match g.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", g.as_str()),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let mut out = format!("{sign}{}", group_thousands(int));
        if let Some(f) = frac {
            out.push('.');
            out.push_str(f);
        }
        return out;
    };
    const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut out = format!("{mantissa}×10");
    for c in exp.chars() {
        match c {
            '-' => out.push('⁻'),
            '+' => {}
            d => out.push(SUPERSCRIPT[d.to_digit(10).unwrap_or(0) as usize]),
        }
    }
    out
}

fn group_thousands(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn display(v: &J) -> String {
    match v {
        J::String(s) => quote(s),
        J::Array(_) | J::Object(_) => "value".into(),
        J::Null => "<nil>".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.as_f64().map(fmt_num).unwrap_or_else(|| n.to_string()),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) | Value::Bytes(_) => "array",
        Value::Map(_) => "object",
        Value::Object(_) => "object",
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i as f64),
        Value::Uint64(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) => true,
        Value::Float(f) => f.fract() == 0.0 && f.is_finite(),
        _ => false,
    }
}

/// JSON equality as the validator sees it (numbers by value).
fn equals(v: &Value, j: &J) -> bool {
    match (v, j) {
        (Value::Nil, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => **a == **b,
        (_, J::Number(n)) => match (num(v), n.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        (Value::List(l), J::Array(a)) => {
            l.items.len() == a.len() && l.items.iter().zip(a).all(|(x, y)| equals(x, y))
        }
        (Value::Map(m), J::Object(o)) => {
            let m = m.borrow();
            m.len() == o.len()
                && o.iter()
                    .all(|(k, jv)| m.get(k).is_some_and(|x| equals(x, jv)))
        }
        _ => false,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, b) {
            (Value::List(x), Value::List(y)) => {
                x.items.len() == y.items.len()
                    && x.items
                        .iter()
                        .zip(&y.items)
                        .all(|(p, q)| values_equal(p, q))
            }
            (Value::Map(x), Value::Map(y)) => {
                let (x, y) = (x.borrow(), y.borrow());
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
            }
            _ => a == b,
        },
    }
}

fn resolve<'a>(root: &'a J, r: &str) -> Option<&'a J> {
    let frag = r.strip_prefix('#')?;
    if frag.is_empty() {
        return Some(root);
    }
    root.pointer(frag).or_else(|| {
        // Percent-decoded pointer.
        let decoded = frag.replace("%25", "%").replace("%22", "\"");
        root.pointer(&decoded)
    })
}

/// Patterns are Go regexps (the validator compiles them with Go's `regexp`).
fn regex(p: &str) -> Option<Regex> {
    Regex::compile(p).ok()
}

impl Ctx<'_> {
    fn err(&self, loc: &[String], msg: String) -> VErr {
        VErr {
            loc: loc.to_vec(),
            msg,
            causes: Vec::new(),
            is_ref: false,
        }
    }

    /// Validate `v` at `loc` against `s`; None if valid, else one error (a group when
    /// several keywords failed).
    fn validate(&mut self, s: &J, v: &Value, loc: &[String]) -> Option<VErr> {
        let s = match s {
            J::Bool(true) => return None,
            J::Bool(false) => return Some(self.err(loc, "false schema".into())),
            J::Object(o) => o,
            _ => return None,
        };
        if self.depth > 200 {
            return None;
        }
        let t = type_of(v);
        if let Some(types) = s.get("type") {
            let want: Vec<String> = match types {
                J::String(x) => vec![x.clone()],
                J::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            if !want.is_empty() {
                let ok = want
                    .iter()
                    .any(|w| w == t || (w == "integer" && t == "number" && is_integer(v)));
                if !ok {
                    return Some(self.err(loc, format!("got {t}, want {}", want.join(" or "))));
                }
            }
        }
        if let Some(c) = s.get("const")
            && !equals(v, c)
        {
            let msg = match c {
                J::Array(_) | J::Object(_) => "const failed".to_string(),
                other => format!("value must be {}", display(other)),
            };
            return Some(self.err(loc, msg));
        }
        if let Some(J::Array(e)) = s.get("enum")
            && !e.iter().any(|x| equals(v, x))
        {
            let prim = e.iter().all(|x| !matches!(x, J::Array(_) | J::Object(_)));
            let msg = if !prim {
                "enum failed".to_string()
            } else if e.len() == 1 {
                format!("value must be {}", display(&e[0]))
            } else {
                format!(
                    "value must be one of {}",
                    e.iter().map(display).collect::<Vec<_>>().join(", ")
                )
            };
            return Some(self.err(loc, msg));
        }
        if self.draft <= 7
            && let (Some(J::String(f)), Value::String(sv)) = (s.get("format"), v)
            && let Some(reason) = format_error(f, sv)
        {
            return Some(self.err(loc, format!("{} is not valid {f}: {reason}", quote(sv))));
        }
        let mut errors: Vec<VErr> = Vec::new();
        if let Some(J::String(r)) = s.get("$ref") {
            if let Some(target) = resolve(self.root, r) {
                self.depth += 1;
                let res = self.validate(target, v, loc);
                self.depth -= 1;
                if let Some(e) = res {
                    let causes =
                        if e.msg == "validation failed" && !e.is_ref && !e.causes.is_empty() {
                            e.causes
                        } else {
                            vec![e]
                        };
                    let re = VErr {
                        loc: loc.to_vec(),
                        msg: "validation failed".into(),
                        causes,
                        is_ref: true,
                    };
                    if self.draft < 2019 {
                        return Some(re);
                    }
                    errors.push(re);
                }
            }
            if self.draft < 2019 {
                return None;
            }
        }
        match v {
            Value::Map(m) => self.object(s, &m.borrow(), loc, &mut errors),
            Value::List(l) => self.array(s, &l.items, loc, &mut errors),
            Value::String(st) => self.string(s, st, loc, &mut errors),
            _ => {
                if let Some(x) = num(v) {
                    self.number(s, x, loc, &mut errors);
                }
            }
        }
        self.cond(s, v, loc, &mut errors);
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(VErr {
                loc: loc.to_vec(),
                msg: "validation failed".into(),
                causes: errors,
                is_ref: false,
            }),
        }
    }

    fn sub(&mut self, s: &J, v: &Value, loc: &[String], tok: &str) -> Option<VErr> {
        let mut l = loc.to_vec();
        l.push(tok.to_string());
        self.depth += 1;
        let r = self.validate(s, v, &l);
        self.depth -= 1;
        r
    }

    fn object(
        &mut self,
        s: &serde_json::Map<String, J>,
        obj: &BTreeMap<String, Value>,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let count = |k: &str| s.get(k).and_then(J::as_u64);
        if let Some(n) = count("minProperties")
            && (obj.len() as u64) < n
        {
            errors.push(self.err(
                loc,
                format!(
                    "minProperties: got {}, want {}",
                    loc_int(obj.len() as u64),
                    loc_int(n)
                ),
            ));
        }
        if let Some(n) = count("maxProperties")
            && (obj.len() as u64) > n
        {
            errors.push(self.err(
                loc,
                format!(
                    "maxProperties: got {}, want {}",
                    loc_int(obj.len() as u64),
                    loc_int(n)
                ),
            ));
        }
        if let Some(J::Array(req)) = s.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(J::as_str)
                .filter(|k| !obj.contains_key(*k))
                .map(str::to_string)
                .collect();
            if missing.len() == 1 {
                errors.push(self.err(loc, format!("missing property {}", quote(&missing[0]))));
            } else if !missing.is_empty() {
                errors.push(self.err(loc, format!("missing properties {}", join_quoted(&missing))));
            }
        }
        if let Some(J::Object(deps)) = s.get("dependencies") {
            for (p, dep) in deps {
                if !obj.contains_key(p) {
                    continue;
                }
                match dep {
                    J::Array(a) => {
                        let missing: Vec<String> = a
                            .iter()
                            .filter_map(J::as_str)
                            .filter(|k| !obj.contains_key(*k))
                            .map(str::to_string)
                            .collect();
                        if !missing.is_empty() {
                            errors.push(self.err(
                                loc,
                                format!(
                                    "properties {} required, if {} exists",
                                    join_quoted(&missing),
                                    quote(p)
                                ),
                            ));
                        }
                    }
                    other => {
                        let whole = Value::map(obj.clone());
                        if let Some(e) = self.validate(other, &whole, loc) {
                            errors.push(e);
                        }
                    }
                }
            }
        }
        let props = s.get("properties").and_then(J::as_object);
        let pattern_props: Vec<(Regex, &J)> = s
            .get("patternProperties")
            .and_then(J::as_object)
            .map(|pp| {
                pp.iter()
                    .filter_map(|(k, v)| regex(k).map(|r| (r, v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut additional = Vec::new();
        for (pname, pvalue) in obj {
            let mut evaluated = false;
            if let Some(ps) = props.and_then(|p| p.get(pname)) {
                evaluated = true;
                if let Some(e) = self.sub(ps, pvalue, loc, pname) {
                    errors.push(e);
                }
            }
            for (re, ps) in &pattern_props {
                if re.is_match(pname) {
                    evaluated = true;
                    if let Some(e) = self.sub(ps, pvalue, loc, pname) {
                        errors.push(e);
                    }
                }
            }
            if !evaluated {
                match s.get("additionalProperties") {
                    Some(J::Bool(false)) => additional.push(pname.clone()),
                    Some(ap @ J::Object(_)) => {
                        if let Some(e) = self.sub(ap, pvalue, loc, pname) {
                            errors.push(e);
                        }
                    }
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            errors.push(self.err(
                loc,
                format!(
                    "additional properties {} not allowed",
                    join_quoted(&additional)
                ),
            ));
        }
        if self.draft == 4 {
            return;
        }
        if let Some(pn) = s.get("propertyNames") {
            for pname in obj.keys() {
                let key = Value::str(pname.as_str());
                if let Some(mut e) = self.validate(pn, &key, &[]) {
                    e.msg = format!("invalid propertyName {}", quote(pname));
                    e.loc = loc.to_vec();
                    errors.push(e);
                }
            }
        }
        if self.draft == 6 {
            return;
        }
        if let Some(J::Object(ds)) = s.get("dependentSchemas") {
            let whole = Value::map(obj.clone());
            for (p, sch) in ds {
                if obj.contains_key(p)
                    && let Some(e) = self.validate(sch, &whole, loc)
                {
                    errors.push(e);
                }
            }
        }
        if let Some(J::Object(dr)) = s.get("dependentRequired") {
            for (p, req) in dr {
                if !obj.contains_key(p) {
                    continue;
                }
                let missing: Vec<String> = req
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(J::as_str)
                            .filter(|k| !obj.contains_key(*k))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if !missing.is_empty() {
                    errors.push(self.err(
                        loc,
                        format!(
                            "properties {} required, if {} exists",
                            join_quoted(&missing),
                            quote(p)
                        ),
                    ));
                }
            }
        }
    }

    fn array(
        &mut self,
        s: &serde_json::Map<String, J>,
        arr: &[Value],
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let count = |k: &str| s.get(k).and_then(J::as_u64);
        if let Some(n) = count("minItems")
            && (arr.len() as u64) < n
        {
            errors.push(self.err(
                loc,
                format!(
                    "minItems: got {}, want {}",
                    loc_int(arr.len() as u64),
                    loc_int(n)
                ),
            ));
        }
        if let Some(n) = count("maxItems")
            && (arr.len() as u64) > n
        {
            errors.push(self.err(
                loc,
                format!(
                    "maxItems: got {}, want {}",
                    loc_int(arr.len() as u64),
                    loc_int(n)
                ),
            ));
        }
        if s.get("uniqueItems") == Some(&J::Bool(true)) && arr.len() > 1 {
            'dup: for i in 0..arr.len() {
                for j in i + 1..arr.len() {
                    if values_equal(&arr[i], &arr[j]) {
                        errors.push(self.err(loc, format!("items at {i} and {j} are equal")));
                        break 'dup;
                    }
                }
            }
        }
        if self.draft < 2020 {
            let mut evaluated = 0;
            match s.get("items") {
                Some(J::Array(items)) => {
                    let n = items.len().min(arr.len());
                    for (i, item) in arr[..n].iter().enumerate() {
                        if let Some(e) = self.sub(&items[i], item, loc, &i.to_string()) {
                            errors.push(e);
                        }
                    }
                    evaluated = n;
                }
                Some(items) => {
                    for (i, item) in arr.iter().enumerate() {
                        if let Some(e) = self.sub(items, item, loc, &i.to_string()) {
                            errors.push(e);
                        }
                    }
                    evaluated = arr.len();
                }
                None => {}
            }
            match s.get("additionalItems") {
                Some(J::Bool(false)) if evaluated != arr.len() => {
                    errors.push(self.err(
                        loc,
                        format!(
                            "last {} additionalItem(s) not allowed",
                            arr.len() - evaluated
                        ),
                    ));
                }
                Some(ai @ J::Object(_)) => {
                    for (i, item) in arr[evaluated..].iter().enumerate() {
                        if let Some(e) = self.sub(ai, item, loc, &i.to_string()) {
                            errors.push(e);
                        }
                    }
                }
                _ => {}
            }
        } else {
            let prefix = s.get("prefixItems").and_then(J::as_array);
            let n = prefix.map(|p| p.len().min(arr.len())).unwrap_or(0);
            if let Some(prefix) = prefix {
                for (i, item) in arr[..n].iter().enumerate() {
                    if let Some(e) = self.sub(&prefix[i], item, loc, &i.to_string()) {
                        errors.push(e);
                    }
                }
            }
            if let Some(items) = s.get("items") {
                for (i, item) in arr[n..].iter().enumerate() {
                    if let Some(e) = self.sub(items, item, loc, &i.to_string()) {
                        errors.push(e);
                    }
                }
            }
        }
        if let Some(c) = s.get("contains") {
            let mut errs = Vec::new();
            let mut matched = Vec::new();
            for (i, item) in arr.iter().enumerate() {
                match self.sub(c, item, loc, &i.to_string()) {
                    Some(e) => errs.push(e),
                    None => matched.push(i),
                }
            }
            let list = |m: &[usize]| {
                m.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if let Some(min) = count("minContains") {
                if (matched.len() as u64) < min {
                    let msg = if matched.is_empty() {
                        format!(
                            "min {min} items required to match contains schema, but none matched"
                        )
                    } else {
                        format!(
                            "min {min} items required to match contains schema, but matched {} items at {}",
                            matched.len(),
                            list(&matched)
                        )
                    };
                    errors.push(VErr {
                        loc: loc.to_vec(),
                        msg,
                        causes: errs,
                        is_ref: false,
                    });
                }
            } else if matched.is_empty() {
                errors.push(VErr {
                    loc: loc.to_vec(),
                    msg: "no items match contains schema".into(),
                    causes: errs,
                    is_ref: false,
                });
            }
            if let Some(max) = count("maxContains")
                && (matched.len() as u64) > max
            {
                errors.push(self.err(
                        loc,
                        format!(
                            "max {max} items required to match contains schema, but matched {} items at {}",
                            matched.len(),
                            list(&matched)
                        ),
                    ));
            }
        }
    }

    fn string(
        &mut self,
        s: &serde_json::Map<String, J>,
        st: &str,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let len = st.chars().count() as u64;
        if let Some(n) = s.get("minLength").and_then(J::as_u64)
            && len < n
        {
            errors.push(self.err(
                loc,
                format!("minLength: got {}, want {}", loc_int(len), loc_int(n)),
            ));
        }
        if let Some(n) = s.get("maxLength").and_then(J::as_u64)
            && len > n
        {
            errors.push(self.err(
                loc,
                format!("maxLength: got {}, want {}", loc_int(len), loc_int(n)),
            ));
        }
        if let Some(J::String(p)) = s.get("pattern")
            && let Some(re) = regex(p)
            && !re.is_match(st)
        {
            errors.push(self.err(
                loc,
                format!("{} does not match pattern {}", quote(st), quote(p)),
            ));
        }
    }

    fn number(
        &mut self,
        s: &serde_json::Map<String, J>,
        x: f64,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let get = |k: &str| s.get(k).and_then(J::as_f64);
        let excl_bool = |k: &str| s.get(k) == Some(&J::Bool(true));
        if let Some(m) = get("minimum") {
            if self.draft == 4 && excl_bool("exclusiveMinimum") {
                if x <= m {
                    errors.push(self.err(
                        loc,
                        format!("exclusiveMinimum: got {}, want {}", loc_num(x), loc_num(m)),
                    ));
                }
            } else if x < m {
                errors.push(self.err(
                    loc,
                    format!("minimum: got {}, want {}", loc_num(x), loc_num(m)),
                ));
            }
        }
        if let Some(m) = get("maximum") {
            if self.draft == 4 && excl_bool("exclusiveMaximum") {
                if x >= m {
                    errors.push(self.err(
                        loc,
                        format!("exclusiveMaximum: got {}, want {}", loc_num(x), loc_num(m)),
                    ));
                }
            } else if x > m {
                errors.push(self.err(
                    loc,
                    format!("maximum: got {}, want {}", loc_num(x), loc_num(m)),
                ));
            }
        }
        if let Some(m) = get("exclusiveMinimum")
            && x <= m
        {
            errors.push(self.err(
                loc,
                format!("exclusiveMinimum: got {}, want {}", loc_num(x), loc_num(m)),
            ));
        }
        if let Some(m) = get("exclusiveMaximum")
            && x >= m
        {
            errors.push(self.err(
                loc,
                format!("exclusiveMaximum: got {}, want {}", loc_num(x), loc_num(m)),
            ));
        }
        if let Some(m) = get("multipleOf")
            && m != 0.0
        {
            let q = x / m;
            if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                errors.push(self.err(
                    loc,
                    format!("multipleOf: got {}, want {}", loc_num(x), loc_num(m)),
                ));
            }
        }
    }

    fn cond(
        &mut self,
        s: &serde_json::Map<String, J>,
        v: &Value,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        if let Some(n) = s.get("not")
            && self.validate(n, v, loc).is_none()
        {
            errors.push(self.err(loc, "not failed".into()));
        }
        if let Some(J::Array(all)) = s.get("allOf") {
            let errs: Vec<VErr> = all
                .iter()
                .filter_map(|sch| self.validate(sch, v, loc))
                .collect();
            if !errs.is_empty() {
                errors.push(VErr {
                    loc: loc.to_vec(),
                    msg: "allOf failed".into(),
                    causes: errs,
                    is_ref: false,
                });
            }
        }
        if let Some(J::Array(any)) = s.get("anyOf") {
            let mut errs = Vec::new();
            let mut matched = false;
            for sch in any {
                match self.validate(sch, v, loc) {
                    Some(e) => errs.push(e),
                    None => {
                        matched = true;
                        break;
                    }
                }
            }
            if !matched {
                errors.push(VErr {
                    loc: loc.to_vec(),
                    msg: "anyOf failed".into(),
                    causes: errs,
                    is_ref: false,
                });
            }
        }
        if let Some(J::Array(one)) = s.get("oneOf") {
            let mut errs = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sch) in one.iter().enumerate() {
                match self.validate(sch, v, loc) {
                    Some(e) => {
                        if matched.is_none() {
                            errs.push(e);
                        }
                    }
                    None => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(self.err(
                                loc,
                                format!("oneOf failed, subschemas {first}, {i} matched"),
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.push(VErr {
                    loc: loc.to_vec(),
                    msg: "oneOf failed, none matched".into(),
                    causes: errs,
                    is_ref: false,
                });
            }
        }
        if let Some(i) = s.get("if") {
            if self.validate(i, v, loc).is_none() {
                if let Some(t) = s.get("then")
                    && let Some(e) = self.validate(t, v, loc)
                {
                    errors.push(e);
                }
            } else if let Some(e) = s.get("else").and_then(|el| self.validate(el, v, loc)) {
                errors.push(e);
            }
        }
    }
}

fn format_error(format: &str, s: &str) -> Option<String> {
    match format {
        "email" => {
            if !s.contains('@') {
                return Some("missing @".into());
            }
            None
        }
        "ipv4" => {
            let parts: Vec<&str> = s.split('.').collect();
            if parts.len() != 4 {
                return Some("expected four decimals".into());
            }
            for p in parts {
                if p.parse::<u8>().is_err() {
                    return Some(format!("invalid decimal {}", quote(p)));
                }
            }
            None
        }
        _ => None,
    }
}

fn json_ptr(loc: &[String]) -> String {
    loc.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn display_err(e: &VErr, indent: usize, out: &mut String) {
    let skip = e.is_ref && e.causes.len() == 1;
    let mut indent = indent;
    if !skip {
        if indent > 0 {
            out.push('\n');
            for _ in 0..indent - 1 {
                out.push_str("  ");
            }
            out.push_str("- ");
        }
        indent += 1;
        out.push_str(&format!("at {}: {}", quote(&json_ptr(&e.loc)), e.msg));
    }
    for c in &e.causes {
        display_err(c, indent, out);
    }
}

/// Validate `values` against one chart's schema; the error lists one `- at '<ptr>': <msg>`
/// line per failure (Helm's text), ending in a newline.
pub fn validate(values: &Value, schema: &[u8]) -> Result<(), String> {
    validate_then(values, schema, true)
}

/// [`validate`]; with `free` false the decoded schema is left allocated (a process that exits
/// after rendering saves freeing a large schema's tree).
pub fn validate_then(values: &Value, schema: &[u8], free: bool) -> Result<(), String> {
    let root: J = serde_json::from_slice(schema).map_err(|e| {
        if e.is_eof() {
            "unexpected EOF".to_string()
        } else {
            e.to_string()
        }
    })?;
    let draft = match root.get("$schema").and_then(J::as_str) {
        Some(s) if s.contains("draft-04") => 4,
        Some(s) if s.contains("draft-06") => 6,
        Some(s) if s.contains("draft-07") => 7,
        Some(s) if s.contains("2019-09") => 2019,
        _ => 2020,
    };
    let mut ctx = Ctx {
        root: &root,
        draft,
        depth: 0,
    };
    let found = ctx.validate(&root, values, &[]);
    if !free {
        std::mem::forget(root);
    }
    let Some(e) = found else {
        return Ok(());
    };
    let causes = if e.msg == "validation failed" && !e.is_ref && !e.causes.is_empty() {
        e.causes
    } else {
        vec![e]
    };
    let mut out = String::new();
    for c in &causes {
        display_err(c, 1, &mut out);
    }
    // Helm strips the leading "jsonschema validation failed..." line and its newline.
    let out = out.strip_prefix('\n').unwrap_or(&out).to_string();
    Err(out + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_the_english_printer_writes_them() {
        assert_eq!(loc_num(70000.0), "70,000");
        assert_eq!(loc_num(-1234.5), "-1,234.5");
        assert_eq!(loc_num(1e6), "1×10⁰⁶");
        assert_eq!(loc_num(1e-7), "1×10⁻⁰⁷");
        assert_eq!(loc_num(0.5), "0.5");
        assert_eq!(loc_int(1234567), "1,234,567");
    }
}
