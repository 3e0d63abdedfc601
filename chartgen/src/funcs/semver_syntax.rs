//! The version and constraint syntax of Masterminds/semver, matched by hand.
//!
//! Masterminds describes its syntax with regular expressions (Go's RE2, leftmost-first); this
//! module decides exactly the same strings and captures the same parts, without building
//! regexes: compiling and running them was a twentieth of rendering a chart that calls
//! `semverCompare` or declares a `kubeVersion`. The tests compare every function here with
//! the original expressions on generated strings.

use std::ops::Range;

/// Go RE2's `\s`.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Constraint number characters (`[0-9|xX*]`; the `|` is as upstream has it).
fn is_wild_digit(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'|' | b'x' | b'X' | b'*')
}

/// Prerelease and metadata characters (`[0-9A-Za-z\-]`).
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn run(s: &[u8], mut i: usize, class: fn(u8) -> bool) -> usize {
    while i < s.len() && class(s[i]) {
        i += 1;
    }
    i
}

fn skip_spaces(s: &[u8], i: usize) -> usize {
    run(s, i, is_space)
}

/// The parts of one matched version (byte ranges into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cv {
    pub whole: Range<usize>,
    pub major: Range<usize>,
    /// With its leading `.`.
    pub minor: Option<Range<usize>>,
    /// With its leading `.`.
    pub patch: Option<Range<usize>>,
    /// Without its leading `-`.
    pub pre: Option<Range<usize>>,
    /// Without its leading `+`.
    pub meta: Option<Range<usize>>,
}

/// `[class]+(\.[class]+)*` from `i` (greedy); the end, if at least one character matched.
fn dotted(s: &[u8], i: usize) -> Option<usize> {
    let mut end = run(s, i, is_ident);
    if end == i {
        return None;
    }
    while end + 1 < s.len() && s[end] == b'.' && is_ident(s[end + 1]) {
        end = run(s, end + 1, is_ident);
    }
    Some(end)
}

/// The greedy (leftmost-first) match of Masterminds' version pattern at `i`:
/// `v?([N]+)(\.[N]+)?(\.[N]+)?(-([I]+(\.[I]+)*))?(\+([I]+(\.[I]+)*))?`, where N is digits
/// (`strict`) or `[0-9|xX*]` (constraints). None if no version starts at `i`.
pub(crate) fn version_at(s: &[u8], i: usize, strict: bool) -> Option<Cv> {
    let class: fn(u8) -> bool = if strict {
        |b| b.is_ascii_digit()
    } else {
        is_wild_digit
    };
    let start = i;
    let mut p = i;
    if p < s.len() && s[p] == b'v' {
        p += 1;
    }
    let end = run(s, p, class);
    if end == p {
        return None;
    }
    let major = p..end;
    p = end;
    let number = |p: &mut usize| -> Option<Range<usize>> {
        if *p + 1 < s.len() && s[*p] == b'.' && class(s[*p + 1]) {
            let r = *p..run(s, *p + 1, class);
            *p = r.end;
            Some(r)
        } else {
            None
        }
    };
    let minor = number(&mut p);
    let patch = number(&mut p);
    let tagged = |p: &mut usize, tag: u8| -> Option<Range<usize>> {
        if *p < s.len() && s[*p] == tag {
            let end = dotted(s, *p + 1)?;
            let r = *p + 1..end;
            *p = end;
            Some(r)
        } else {
            None
        }
    };
    let pre = tagged(&mut p, b'-');
    let meta = tagged(&mut p, b'+');
    Some(Cv {
        whole: start..p,
        major,
        minor,
        patch,
        pre,
        meta,
    })
}

/// The constraint operators in the pattern's order of preference (`=||!=|>|<|>=|...`: the
/// empty operator comes second).
const OPS: [&str; 12] = [
    "=", "", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^",
];

/// `^v?(\d+)(\.\d+)?(\.\d+)?(-pre)?(\+meta)?$`: a whole loose version.
pub(crate) fn loose(text: &str) -> Option<Cv> {
    let cv = version_at(text.as_bytes(), 0, true)?;
    (cv.whole.end == text.len()).then_some(cv)
}

/// `^\s*(OPS)\s*(CV)\s*$`: one constraint; the operator and the version.
pub(crate) fn constraint(text: &str) -> Option<(Range<usize>, Cv)> {
    let s = text.as_bytes();
    let i = skip_spaces(s, 0);
    for op in OPS {
        if !s[i..].starts_with(op.as_bytes()) {
            continue;
        }
        let q = skip_spaces(s, i + op.len());
        if let Some(cv) = version_at(s, q, false)
            && skip_spaces(s, cv.whole.end) == s.len()
        {
            return Some((i..i + op.len(), cv));
        }
    }
    None
}

/// An operator and version at `i` (`(OPS)\s*(CV)`): the end of the match.
fn op_version_at(s: &[u8], i: usize) -> Option<usize> {
    OPS.iter().find_map(|op| {
        if !s[i..].starts_with(op.as_bytes()) {
            return None;
        }
        version_at(s, skip_spaces(s, i + op.len()), false).map(|cv| cv.whole.end)
    })
}

/// The non-overlapping matches of `(OPS)\s*(CV)` in `text`, leftmost first.
pub(crate) fn find_constraints(text: &str) -> Vec<&str> {
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match op_version_at(s, i) {
            Some(end) => {
                out.push(&text[i..end]);
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

/// Every end of `(OPS)` at `i` (any operator may be the one that lets the rest match).
fn op_ends(s: &[u8], i: usize) -> impl Iterator<Item = usize> + '_ {
    OPS.iter()
        .filter(move |op| s[i..].starts_with(op.as_bytes()))
        .map(move |op| i + op.len())
}

/// Every end of a version at `i` (`CV` with each optional part taken or not, each run at any
/// length): the pattern may match a shorter version when the rest needs it.
fn version_ends(s: &[u8], i: usize, out: &mut Vec<usize>) {
    let mut starts = vec![i];
    if i < s.len() && s[i] == b'v' {
        starts.push(i + 1);
    }
    // Ends after the major number, then after optional minor and patch.
    let mut ends = Vec::new();
    for p in starts {
        let e = run(s, p, is_wild_digit);
        ends.extend(p + 1..=e);
    }
    for _ in 0..2 {
        let mut more = Vec::new();
        for &p in &ends {
            if p < s.len() && s[p] == b'.' {
                let e = run(s, p + 1, is_wild_digit);
                more.extend(p + 2..=e);
            }
        }
        ends.extend(more);
        ends.sort_unstable();
        ends.dedup();
    }
    for tag in [b'-', b'+'] {
        let mut more = Vec::new();
        for &p in &ends {
            if p < s.len() && s[p] == tag {
                dotted_ends(s, p + 1, &mut more);
            }
        }
        ends.extend(more);
        ends.sort_unstable();
        ends.dedup();
    }
    out.extend(ends);
}

/// Every end of `[I]+(\.[I]+)*` at `i`.
fn dotted_ends(s: &[u8], i: usize, out: &mut Vec<usize>) {
    let e = run(s, i, is_ident);
    for end in i + 1..=e {
        out.push(end);
        if end == e && end + 1 < s.len() && s[end] == b'.' {
            dotted_ends(s, end + 1, out);
        }
    }
    // A segment may also end early and be followed by `.`: only a full run can, since the
    // next character of a shorter one is an identifier character, not `.`.
}

/// Every end of `(OPS)\s*(CV)\s*` at `i`.
fn item_ends(s: &[u8], i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for o in op_ends(s, i) {
        let mut vs = Vec::new();
        version_ends(s, skip_spaces(s, o), &mut vs);
        for v in vs {
            out.extend(v..=skip_spaces(s, v));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `^(\s*(OPS)\s*(CV)\s*)((?:\s+|,\s*)(OPS)\s*(CV)\s*)*$`: a valid `,`/space list.
pub(crate) fn valid_list(text: &str) -> bool {
    let s = text.as_bytes();
    let n = s.len();
    let mut reached = vec![false; n + 1];
    let mut todo = Vec::new();
    for e in item_ends(s, skip_spaces(s, 0)) {
        if !reached[e] {
            reached[e] = true;
            todo.push(e);
        }
    }
    while let Some(p) = todo.pop() {
        // Separators: one or more spaces, or a comma and any spaces.
        let mut seps: Vec<usize> = (p + 1..=skip_spaces(s, p)).collect();
        if p < n && s[p] == b',' {
            seps.extend(p + 1..=skip_spaces(s, p + 1));
        }
        for q in seps {
            for e in item_ends(s, q) {
                if !reached[e] {
                    reached[e] = true;
                    todo.push(e);
                }
            }
        }
    }
    reached[n]
}

/// The matches of `\s*(CV)\s+-\s+(CV)\s*` in `text`, leftmost first: (whole match, first
/// version, second version).
pub(crate) fn hyphen_ranges(text: &str) -> Vec<(&str, &str, &str)> {
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if let Some(m) = hyphen_range_at(s, i) {
            out.push((&text[i..m.2], &text[m.0.clone()], &text[m.1.clone()]));
            i = m.2;
        } else {
            i += 1;
        }
    }
    out
}

fn hyphen_range_at(s: &[u8], i: usize) -> Option<(Range<usize>, Range<usize>, usize)> {
    let lo = version_at(s, skip_spaces(s, i), false)?;
    let p = lo.whole.end;
    let q = skip_spaces(s, p);
    if q == p || q >= s.len() || s[q] != b'-' {
        return None;
    }
    let r = skip_spaces(s, q + 1);
    if r == q + 1 {
        return None;
    }
    let hi = version_at(s, r, false)?;
    let end = skip_spaces(s, hi.whole.end);
    Some((lo.whole, hi.whole, end))
}

#[cfg(test)]
mod tests {
    //! Differential tests: each matcher against the upstream regular expression.
    use super::*;
    use regex_lite::Regex;

    const CV: &str = r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
    const LOOSE: &str = r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$";
    const OPS_RE: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
    /// Go's `\s` (regex-lite's also has `\v`).
    const S: &str = r"[\t\n\f\r ]";

    /// Strings over the alphabet that matters, from a fixed-seed generator.
    fn samples() -> Vec<String> {
        const ATOMS: [&str; 26] = [
            "1", "2", "0", "10", ".", "-", "+", "v", "x", "*", "|", "a", "rc", " ", "  ", ",", ">",
            "<", "=", "!", "~", "^", "||", "\t", " - ", "1.2",
        ];
        let mut out = vec![
            String::new(),
            "1.2.3".into(),
            ">= 1.2, < 2.0".into(),
            "1.2 - 2.3".into(),
            "~1.2.x".into(),
            "^1.2.3-beta.1+b.2".into(),
            ">=1.19-0".into(),
            "v1.2.3-a.b.c+d.e".into(),
            "1.2.3 - 2.3.4 >1".into(),
            "=>1 <=2 ,!=1.5".into(),
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..40_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 9) as usize;
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(ATOMS[(x % ATOMS.len() as u64) as usize]);
            }
            out.push(s);
        }
        out
    }

    fn span(m: Option<regex_lite::Match<'_>>) -> Option<Range<usize>> {
        m.map(|m| m.range())
    }

    /// [`loose`] captures exactly what the LOOSE pattern captures.
    #[test]
    fn loose_matches_regex() {
        let re = Regex::new(LOOSE).expect("valid");
        let mut matched = 0;
        for s in samples() {
            let want = re.captures(&s).map(|c| {
                (
                    span(c.get(1)),
                    span(c.get(2)),
                    span(c.get(3)),
                    span(c.get(5)),
                    span(c.get(8)),
                )
            });
            let got = loose(&s).map(|cv| (Some(cv.major), cv.minor, cv.patch, cv.pre, cv.meta));
            matched += usize::from(want.is_some());
            assert_eq!(got, want, "{s:?}");
        }
        assert!(matched > 1000, "only {matched} samples are versions");
    }

    /// [`constraint`] captures the operator and version parts the constraint pattern does.
    #[test]
    fn constraint_matches_regex() {
        let re = Regex::new(&format!(r"^{S}*({OPS_RE}){S}*({CV}){S}*$")).expect("valid");
        let mut matched = 0;
        for s in samples() {
            let want = re.captures(&s).map(|c| {
                (
                    span(c.get(1)),
                    span(c.get(2)),
                    span(c.get(3)),
                    span(c.get(4)),
                    span(c.get(5)),
                    span(c.get(7)),
                    span(c.get(10)),
                )
            });
            let got = constraint(&s).map(|(op, cv)| {
                (
                    Some(op),
                    Some(cv.whole),
                    Some(cv.major),
                    cv.minor,
                    cv.patch,
                    cv.pre,
                    cv.meta,
                )
            });
            matched += usize::from(want.is_some());
            assert_eq!(got, want, "{s:?}");
        }
        assert!(matched > 1000, "only {matched} samples are constraints");
    }

    /// [`find_constraints`] finds what `find_iter` of the operator-version pattern finds.
    #[test]
    fn find_matches_regex() {
        let re = Regex::new(&format!(r"({OPS_RE}){S}*({CV})")).expect("valid");
        let mut matched = 0;
        for s in samples() {
            let want: Vec<&str> = re.find_iter(&s).map(|m| m.as_str()).collect();
            matched += want.len();
            assert_eq!(find_constraints(&s), want, "{s:?}");
        }
        assert!(matched > 1000, "only {matched} matches");
    }

    /// [`valid_list`] accepts exactly what the validation pattern accepts.
    #[test]
    fn valid_matches_regex() {
        let re = Regex::new(&format!(
            r"^({S}*({OPS_RE}){S}*({CV}){S}*)((?:{S}+|,{S}*)({OPS_RE}){S}*({CV}){S}*)*$"
        ))
        .expect("valid");
        let mut matched = 0;
        for s in samples() {
            let want = re.is_match(&s);
            matched += usize::from(want);
            assert_eq!(valid_list(&s), want, "{s:?}");
        }
        assert!(matched > 1000, "only {matched} samples are valid lists");
    }

    /// [`hyphen_ranges`] finds and captures what the hyphen-range pattern does.
    #[test]
    fn hyphen_ranges_match_regex() {
        let re = Regex::new(&format!(r"{S}*({CV}){S}+-{S}+({CV}){S}*")).expect("valid");
        let mut matched = 0;
        for s in samples() {
            let want: Vec<(&str, &str, &str)> = re
                .captures_iter(&s)
                .map(|c| {
                    (
                        c.get(0).map_or("", |m| m.as_str()),
                        c.get(1).map_or("", |m| m.as_str()),
                        c.get(11).map_or("", |m| m.as_str()),
                    )
                })
                .collect();
            matched += want.len();
            assert_eq!(hyphen_ranges(&s), want, "{s:?}");
        }
        assert!(matched > 100, "only {matched} ranges");
    }
}
