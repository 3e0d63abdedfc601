//! Masterminds/semver v3 versions and constraints, as Helm uses them for chart versions,
//! dependency ranges and the Chart.yaml `kubeVersion` constraint.

use std::cmp::Ordering;
use std::sync::OnceLock;

// regex-lite: these fixed ASCII patterns compile in microseconds (Go's `\s`/`\d` are
// ASCII too), where `regex` takes about a millisecond per run of `chartgen template`.
use regex_lite::Regex;

/// A parsed semantic version (`v` prefix and missing minor/patch accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
}

const SEMVER_RE: &str = r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// Each pattern is compiled on first use only: loading a chart needs just `version`.
fn lazy_re(cell: &'static OnceLock<Regex>, pattern: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| Regex::new(&pattern()).expect("valid regex"))
}

fn version_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy_re(&R, || SEMVER_RE.to_string())
}

fn constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy_re(&R, || format!(r"^\s*({OPS})\s*({CV})\s*$"))
}

fn range_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy_re(&R, || format!(r"\s*({CV})\s+-\s+({CV})\s*"))
}

fn find_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy_re(&R, || format!(r"({OPS})\s*({CV})"))
}

fn valid_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy_re(&R, || {
        format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")
    })
}

impl Version {
    /// Masterminds `NewVersion`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let c = version_re()
            .captures(s)
            .ok_or_else(|| "Invalid Semantic Version".to_string())?;
        let num = |i: usize| -> Result<u64, String> {
            match c.get(i) {
                None => Ok(0),
                Some(m) => m
                    .as_str()
                    .parse::<u64>()
                    .map_err(|e| format!("error parsing version segment: {e}")),
            }
        };
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre: c.get(4).map(|m| m.as_str().to_string()).unwrap_or_default(),
            metadata: c.get(5).map(|m| m.as_str().to_string()).unwrap_or_default(),
        })
    }

    /// Precedence comparison (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
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
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let sa: Vec<&str> = a.split('.').collect();
    let sb: Vec<&str> = b.split('.').collect();
    for i in 0..sa.len().max(sb.len()) {
        let x = sa.get(i).copied().unwrap_or("");
        let y = sb.get(i).copied().unwrap_or("");
        let d = compare_pre_part(x, y);
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
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A parsed constraint like `>=1.20.0-0 <2`, `^1.2`, `~1.2.x || 3.x`.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn rewrite_range(s: &str) -> String {
    let r = range_re();
    let mut out = s.to_string();
    for c in r.captures_iter(s) {
        let whole = c.get(0).map(|m| m.as_str()).unwrap_or("");
        let a = c.get(1).map(|m| m.as_str()).unwrap_or("");
        let b = c.get(11).map(|m| m.as_str()).unwrap_or("");
        out = out.replacen(whole, &format!(">= {a}, <= {b} "), 1);
    }
    out
}

fn parse_constraint(s: &str) -> Result<Constraint, String> {
    if s.is_empty() {
        return Ok(Constraint {
            con: Version {
                major: 0,
                minor: 0,
                patch: 0,
                pre: String::new(),
                metadata: String::new(),
            },
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = constraint_re()
        .captures(s)
        .ok_or_else(|| format!("improper constraint: {s}"))?;
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraints {
    /// Masterminds `NewConstraint`.
    pub fn parse(c: &str) -> Result<Constraints, String> {
        let c = rewrite_range(c);
        let mut groups = Vec::new();
        for or in c.split("||") {
            if !valid_re().is_match(or) {
                return Err(format!("improper constraint: {or}"));
            }
            let mut cs: Vec<&str> = find_re().find_iter(or).map(|m| m.as_str()).collect();
            if cs.is_empty() {
                cs.push(or);
            }
            let mut result = Vec::new();
            let mut has_pre = false;
            for s in cs {
                let pc = parse_constraint(s)?;
                if !pc.con.pre.is_empty() {
                    has_pre = true;
                }
                result.push(pc);
            }
            groups.push((result, has_pre));
        }
        Ok(Constraints { groups })
    }

    /// True if `v` satisfies any `||` group.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(cs, pre)| cs.iter().all(|c| check_one(c, v, *pre)))
    }
}

fn check_one(c: &Constraint, v: &Version, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(c, v)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(c, v),
        _ => {
            // "^"
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
    }
}

fn tilde(c: &Constraint, v: &Version) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    if v.minor != c.con.minor && !c.minor_dirty {
        return false;
    }
    true
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, ver: &str) -> bool {
    let Ok(v) = Version::parse(ver) else {
        return false;
    };
    let Ok(c) = Constraints::parse(constraint) else {
        return false;
    };
    c.check(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        assert!(is_compatible_range(">=1.20.0-0", "v1.35.0"));
        assert!(!is_compatible_range(">=1.20", "1.35.0-gke.1"));
        assert!(is_compatible_range(">=1.20-0", "v1.35.0-gke.1"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(!is_compatible_range("~1.2", "1.3.0"));
        assert!(is_compatible_range("1.x", "1.3.0"));
        assert!(is_compatible_range("*", "1.3.0"));
        assert!(is_compatible_range("1.0 - 2.0", "1.5.0"));
        assert!(!is_compatible_range(">=1.0.0 <1.5.0", "1.5.0"));
    }
}
