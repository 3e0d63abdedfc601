//! Sprig's `semver` and `semverCompare` with Masterminds/semver v3.4 rules: loose version
//! parsing (`v1`, `1.2` are accepted and coerced), constraint syntax (`>=`, `~`, `^`, `x`
//! wildcards, hyphen ranges, `,`/space AND, `||` OR) and its prerelease rule: a prerelease
//! version only satisfies a constraint group that itself names a prerelease.
//!
//! This is the one semver implementation of the crate: chart versions, dependency ranges and
//! Chart.yaml's `kubeVersion` use it too ([`SemverVersion::parse`], [`Constraints`],
//! [`is_compatible_range`]). Helm v4.1.4 builds with Masterminds/semver v3.4.0; Helm v3.11
//! (`--helm3`) built with v3.2.0, whose differences are kept behind `helm3` variants
//! ([`SemverVersion::parse_helm3`], [`Constraints::check_helm3`]).

use super::semver_syntax as syntax;
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_str, def};
use crate::value::{Object, Value};
use std::cmp::Ordering;
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("semver", &[Param::String], |ctx, a| {
        let v = parse_for(ctx, arg_str(&a[0])).map_err(FuncError::call)?;
        Ok(Value::Object(Rc::new(v)))
    }),
    def(
        "semverCompare",
        &[Param::String, Param::String],
        semver_compare,
    ),
];

/// `NewVersion` of the Masterminds release the rendering Helm was built with.
fn parse_for(ctx: &dyn CallCtx, v: &str) -> Result<SemverVersion, String> {
    match ctx.profile().semver {
        Semver::V3_2 => SemverVersion::parse_helm3(v),
        Semver::V3_4 => SemverVersion::parse(v),
        Semver::V3_5 => SemverVersion::parse_v35(v),
    }
}

fn semver_compare(ctx: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let semver = ctx.profile().semver;
    let constraint = match semver {
        Semver::V3_5 => Constraints::parse_v35(arg_str(&a[0])),
        _ => Constraints::parse(arg_str(&a[0])),
    }
    .map_err(FuncError::call)?;
    let version = parse_for(ctx, arg_str(&a[1])).map_err(FuncError::call)?;
    Ok(Value::Bool(if semver == Semver::V3_2 {
        constraint.check_helm3(&version)
    } else {
        constraint.check(&version)
    }))
}

/// The Masterminds/semver release a Helm release links (their texts and limits differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semver {
    /// v3.2.0 (Helm v3.11): capitalised error texts, per-constraint prerelease rule.
    V3_2,
    /// v3.4.0 (Helm v4.1).
    V3_4,
    /// v3.5.0 (Helm v4.3, v3.21): quoted constraints in errors, length limits.
    V3_5,
}

/// Masterminds v3.5 `MaxVersionLen`, `MaxConstraintLen` and `MaxConstraintGroups`.
const MAX_VERSION_LEN: usize = 256;
const MAX_CONSTRAINT_LEN: usize = 512;
const MAX_CONSTRAINT_GROUPS: usize = 32;

/// A `*semver.Version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

const ALLOWED: fn(char) -> bool = |c| c.is_ascii_alphanumeric() || c == '-';

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        }
        if part.chars().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !part.chars().all(ALLOWED) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.')
        .any(|p| p.is_empty() || !p.chars().all(ALLOWED))
    {
        return Err("invalid metadata string".into());
    }
    Ok(())
}

fn segment(s: Option<&str>) -> Result<u64, String> {
    match s {
        None => Ok(0),
        Some(m) => m.trim_start_matches('.').parse::<u64>().map_err(|_| {
            format!(
                "error parsing version segment: strconv.ParseUint: parsing \"{}\": value out of range",
                m.trim_start_matches('.')
            )
        }),
    }
}

impl SemverVersion {
    /// Masterminds v3.2.0's `NewVersion` (Helm v3.11): the same versions as [`Self::parse`],
    /// with that release's capitalised error texts (`Invalid Semantic Version`).
    pub fn parse_helm3(v: &str) -> Result<SemverVersion, String> {
        SemverVersion::parse(v).map_err(|e| {
            const OLD_TEXTS: [(&str, &str); 5] = [
                ("invalid semantic version", "Invalid Semantic Version"),
                ("invalid prerelease string", "Invalid Prerelease string"),
                ("invalid metadata string", "Invalid Metadata string"),
                (
                    "version segment starts with 0",
                    "Version segment starts with 0",
                ),
                (
                    "error parsing version segment",
                    "Error parsing version segment",
                ),
            ];
            match OLD_TEXTS.iter().find(|(new, _)| e.starts_with(new)) {
                Some((new, old)) => format!("{old}{}", &e[new.len()..]),
                None => e,
            }
        })
    }

    /// Masterminds v3.5.0's `NewVersion`: [`Self::parse`] with a length limit.
    pub fn parse_v35(v: &str) -> Result<SemverVersion, String> {
        if v.len() > MAX_VERSION_LEN {
            return Err(format!(
                "version string is too long (max {MAX_VERSION_LEN} bytes)"
            ));
        }
        SemverVersion::parse(v)
    }

    /// Masterminds `NewVersion` (coercing mode).
    pub fn parse(v: &str) -> Result<SemverVersion, String> {
        let Some(m) = syntax::loose(v) else {
            return Err("invalid semantic version".into());
        };
        let part = |r: Option<std::ops::Range<usize>>| r.map(|r| &v[r]);
        let sv = SemverVersion {
            major: segment(Some(&v[m.major]))?,
            minor: segment(part(m.minor))?,
            patch: segment(part(m.patch))?,
            pre: part(m.pre).unwrap_or_default().to_string(),
            metadata: part(m.meta).unwrap_or_default().to_string(),
            original: v.to_string(),
        };
        if !sv.pre.is_empty() {
            validate_prerelease(&sv.pre)?;
        }
        if !sv.metadata.is_empty() {
            validate_metadata(&sv.metadata)?;
        }
        Ok(sv)
    }

    /// The canonical text (`1.2.0` for `v1.2`), Masterminds `String()`.
    pub fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    /// Precedence order (metadata ignored), Masterminds `Compare`.
    pub fn compare(&self, o: &SemverVersion) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn v_prefix(&self) -> &str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    fn with_original(mut self, prefix: &str) -> SemverVersion {
        self.original = format!("{prefix}{}", self.string());
        self
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let d = compare_pre_part(
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(si), Ok(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

impl Object for SemverVersion {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        if self.has_method(name) {
            self.call_method(name, &[]).ok()
        } else {
            None
        }
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major"
                | "Minor"
                | "Patch"
                | "Prerelease"
                | "Metadata"
                | "Original"
                | "String"
                | "IncMajor"
                | "IncMinor"
                | "IncPatch"
                | "SetPrerelease"
                | "SetMetadata"
                | "LessThan"
                | "LessThanEqual"
                | "GreaterThan"
                | "GreaterThanEqual"
                | "Equal"
                | "Compare"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let other = || -> Result<&SemverVersion, String> {
            args.first()
                .and_then(|a| match a {
                    Value::Object(o) => o.as_any().downcast_ref::<SemverVersion>(),
                    _ => None,
                })
                .ok_or_else(|| "wrong type for value; expected *semver.Version".to_string())
        };
        let obj = |v: SemverVersion| Value::Object(Rc::new(v));
        let text = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(match name {
            "Major" => Value::Uint64(self.major),
            "Minor" => Value::Uint64(self.minor),
            "Patch" => Value::Uint64(self.patch),
            "Prerelease" => Value::str(self.pre.as_str()),
            "Metadata" => Value::str(self.metadata.as_str()),
            "Original" => Value::str(self.original.as_str()),
            "String" => Value::str(self.string()),
            "IncMajor" => {
                let mut n = self.clone();
                (n.major, n.minor, n.patch) = (self.major + 1, 0, 0);
                (n.pre, n.metadata) = (String::new(), String::new());
                obj(n.with_original(self.v_prefix()))
            }
            "IncMinor" => {
                let mut n = self.clone();
                (n.minor, n.patch) = (self.minor + 1, 0);
                (n.pre, n.metadata) = (String::new(), String::new());
                obj(n.with_original(self.v_prefix()))
            }
            "IncPatch" => {
                let mut n = self.clone();
                if self.pre.is_empty() {
                    n.patch += 1;
                }
                (n.pre, n.metadata) = (String::new(), String::new());
                obj(n.with_original(self.v_prefix()))
            }
            "SetPrerelease" => {
                let p = text(0);
                if !p.is_empty() {
                    validate_prerelease(&p)?;
                }
                let mut n = self.clone();
                n.pre = p;
                obj(n.with_original(self.v_prefix()))
            }
            "SetMetadata" => {
                let m = text(0);
                if !m.is_empty() {
                    validate_metadata(&m)?;
                }
                let mut n = self.clone();
                n.metadata = m;
                obj(n.with_original(self.v_prefix()))
            }
            "LessThan" => Value::Bool(self.compare(other()?) == Ordering::Less),
            "LessThanEqual" => Value::Bool(self.compare(other()?) != Ordering::Greater),
            "GreaterThan" => Value::Bool(self.compare(other()?) == Ordering::Greater),
            "GreaterThanEqual" => Value::Bool(self.compare(other()?) != Ordering::Less),
            "Equal" => Value::Bool(self.compare(other()?) == Ordering::Equal),
            "Compare" => Value::Int(match self.compare(other()?) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }),
            _ => {
                return Err(format!(
                    "can't evaluate field {name} in type *semver.Version"
                ));
            }
        })
    }
    fn format_v(&self) -> String {
        self.string()
    }
    fn to_data(&self) -> Value {
        Value::str(self.string())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One parsed constraint such as `>=1.2` or `~1.x`.
#[derive(Debug)]
struct Constraint {
    op: String,
    con: SemverVersion,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A parsed constraint such as `>=1.20.0-0 <2`, `^1.2`, `~1.2.x || 3.x` (Masterminds
/// `Constraints`): OR-groups of AND-ed constraints, and whether each group names a prerelease.
#[derive(Debug)]
pub struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    /// Masterminds v3.5.0's `NewConstraint`: [`Self::parse`] with length limits, and the
    /// constraint quoted in `improper constraint` errors.
    pub fn parse_v35(text: &str) -> Result<Constraints, String> {
        if text.len() > MAX_CONSTRAINT_LEN {
            return Err(format!(
                "constraint string is too long (max {MAX_CONSTRAINT_LEN} bytes)"
            ));
        }
        if rewrite_range(text).split("||").count() > MAX_CONSTRAINT_GROUPS {
            return Err(format!(
                "too many constraint groups (max {MAX_CONSTRAINT_GROUPS})"
            ));
        }
        Constraints::parse(text).map_err(|e| match e.strip_prefix("improper constraint: ") {
            Some(c) => format!(
                "improper constraint: {}",
                crate::chart::strvals::go_quote(c)
            ),
            None => e,
        })
    }

    /// Masterminds `NewConstraint`.
    pub fn parse(text: &str) -> Result<Constraints, String> {
        let rewritten = rewrite_range(text);
        let mut groups = Vec::new();
        for part in rewritten.split("||") {
            if !syntax::valid_list(part) {
                return Err(format!("improper constraint: {part}"));
            }
            let mut found: Vec<&str> = syntax::find_constraints(part);
            if found.is_empty() {
                found.push(part);
            }
            let mut cs = Vec::new();
            let mut has_pre = false;
            for s in found {
                let c = parse_constraint(s)?;
                has_pre |= !c.con.pre.is_empty();
                cs.push(c);
            }
            groups.push((cs, has_pre));
        }
        Ok(Constraints { groups })
    }

    /// True if `v` satisfies any `||` group (v3.4.0: a prerelease version is only considered
    /// by a group that names a prerelease somewhere).
    pub fn check(&self, v: &SemverVersion) -> bool {
        self.groups
            .iter()
            .any(|(cs, has_pre)| cs.iter().all(|c| c.check(v, *has_pre)))
    }

    /// Masterminds v3.2.0's `Check` (Helm v3.11): each constraint decides on its own whether
    /// a prerelease version is considered (only if that constraint names a prerelease; `!=`
    /// only refuses prereleases when it has a wildcard).
    pub fn check_helm3(&self, v: &SemverVersion) -> bool {
        self.groups.iter().any(|(cs, _)| {
            cs.iter().all(|c| {
                let consider =
                    v.pre.is_empty() || !c.con.pre.is_empty() || (c.op == "!=" && !c.dirty);
                consider && c.check(v, true)
            })
        })
    }
}

/// Helm's `IsCompatibleRange`: whether `version` satisfies `constraint`; false when either
/// does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (
        Constraints::parse(constraint),
        SemverVersion::parse(version),
    ) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    }
}

/// [`is_compatible_range`] with Helm v3.11's prerelease rule ([`Constraints::check_helm3`]).
pub fn is_compatible_range_helm3(constraint: &str, version: &str) -> bool {
    match (
        Constraints::parse(constraint),
        SemverVersion::parse(version),
    ) {
        (Ok(c), Ok(v)) => c.check_helm3(&v),
        _ => false,
    }
}

/// `A - B` becomes `>= A, <= B`.
fn rewrite_range(text: &str) -> String {
    let mut out = text.to_string();
    for (whole, lo, hi) in syntax::hyphen_ranges(text) {
        out = out.replacen(whole, &format!(">= {lo}, <= {hi} "), 1);
    }
    out
}

fn parse_constraint(s: &str) -> Result<Constraint, String> {
    if s.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: SemverVersion::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let (op, m) = syntax::constraint(s).ok_or_else(|| format!("improper constraint: {s}"))?;
    let part = |r: Option<std::ops::Range<usize>>| r.map_or("", |r| &s[r]);
    let (major, minor, patch) = (&s[m.major.clone()], part(m.minor), part(m.patch));
    // The prerelease with its `-`.
    let pre = part(m.pre.map(|r| r.start - 1..r.end));
    let (mut ver, mut minor_dirty, mut patch_dirty, mut dirty) =
        (s[m.whole].to_string(), false, false, false);
    if is_x(major) || major.is_empty() {
        ver = format!("0.0.0{pre}");
        dirty = true;
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        (minor_dirty, dirty) = (true, true);
        ver = format!("{major}.0.0{pre}");
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        (patch_dirty, dirty) = (true, true);
        ver = format!("{major}{minor}.0{pre}");
    }
    let con = SemverVersion::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: s[op].to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &SemverVersion, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &SemverVersion) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constraint forms Helm charts use (kubeVersion, dependency ranges) match Masterminds
    /// v3.4.0, including its group-level prerelease rule.
    #[test]
    fn constraints() {
        assert!(is_compatible_range(">=1.20.0-0", "v1.35.0"));
        assert!(!is_compatible_range(">=1.20", "1.35.0-gke.1"));
        assert!(is_compatible_range(">=1.20-0", "v1.35.0-gke.1"));
        assert!(is_compatible_range(">=1.20.0-0 <2.0.0", "1.25.0-gke.1"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(!is_compatible_range("~1.2", "1.3.0"));
        assert!(is_compatible_range("1.x", "1.3.0"));
        assert!(is_compatible_range("*", "1.3.0"));
        assert!(is_compatible_range("1.0 - 2.0", "1.5.0"));
        assert!(!is_compatible_range(">=1.0.0 <1.5.0", "1.5.0"));
        assert!(is_compatible_range("~1.2.x || 3.x", "3.1.0"));
        assert!(!is_compatible_range("not a range", "1.0.0"));
        assert!(!is_compatible_range(">=1.0", "not a version"));
    }

    /// Helm v3.11 (Masterminds v3.2.0) decides prereleases per constraint: `<2.0.0` refuses
    /// `1.25.0-gke.1` even when the other constraint of its group names a prerelease;
    /// a plain `!=` accepts prereleases.
    #[test]
    fn helm3_prerelease_rule() {
        assert!(!is_compatible_range_helm3(
            ">=1.20.0-0 <2.0.0",
            "1.25.0-gke.1"
        ));
        assert!(is_compatible_range_helm3(">=1.20.0-0 <2.0.0", "1.25.0"));
        assert!(is_compatible_range_helm3("!=1.25.0", "1.25.0-gke.1"));
        assert!(!is_compatible_range("!=1.25.0", "1.25.0-gke.1"));
        assert!(!is_compatible_range_helm3("!=1.25.x", "1.24.0-x"));
    }

    /// `NewVersion` coerces (`v1.2`, `01.2.3`) and reports each Masterminds release's error
    /// text (v3.4.0 lowercase, v3.2.0 capitalised).
    #[test]
    fn version_parsing() {
        let v = SemverVersion::parse("v1.2").expect("coerced");
        assert_eq!(
            (v.string(), v.original.as_str()),
            ("1.2.0".to_string(), "v1.2")
        );
        assert_eq!(SemverVersion::parse("01.2.3").expect("coerced").major, 1);
        assert_eq!(
            SemverVersion::parse("1.x").expect_err("invalid"),
            "invalid semantic version"
        );
        assert_eq!(
            SemverVersion::parse_helm3("1.x").expect_err("invalid"),
            "Invalid Semantic Version"
        );
        assert_eq!(
            SemverVersion::parse_helm3("99999999999999999999999.1").expect_err("invalid"),
            "Error parsing version segment: strconv.ParseUint: parsing \"99999999999999999999999\": value out of range"
        );
        assert_eq!(
            SemverVersion::parse("1.2.3-01").expect_err("invalid"),
            "version segment starts with 0"
        );
        let (a, b) = (
            SemverVersion::parse("1.2.3-alpha.10").expect("valid"),
            SemverVersion::parse("1.2.3-alpha.9").expect("valid"),
        );
        assert_eq!(a.compare(&b), Ordering::Greater);
    }
}
