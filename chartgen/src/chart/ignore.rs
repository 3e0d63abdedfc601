//! `.helmignore` rules (Helm's `pkg/ignore`) and Go's `filepath.Match` glob syntax.

/// Go's `filepath.ErrBadPattern` text.
pub const ERR_BAD_PATTERN: &str = "syntax error in pattern";

/// Go `path/filepath.Match` with `/` as the separator: `*`, `?`, `[...]` (ranges, `^`
/// negation) and `\` escapes; `*` and `?` never match `/`.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, &'static str> {
    let pat: Vec<char> = pattern.chars().collect();
    let nm: Vec<char> = name.chars().collect();
    glob_match_chars(&pat, &nm)
}

/// [`glob_match`] on decoded characters (callers that match many names keep them decoded).
fn glob_match_chars(pat: &[char], nm: &[char]) -> Result<bool, &'static str> {
    let mut p: &[char] = pat;
    let mut n: &[char] = nm;
    'outer: while !p.is_empty() {
        let (star, chunk, rest) = scan_chunk(p);
        p = rest;
        if star && chunk.is_empty() {
            return Ok(!n.contains(&'/'));
        }
        let r = match_chunk(chunk, n);
        if let Ok(Some(left)) = r
            && (left == 0 || !p.is_empty())
        {
            n = &n[n.len() - left..];
            continue;
        }
        r?;
        if star {
            let mut i = 0;
            while i < n.len() && n[i] != '/' {
                let r = match_chunk(chunk, &n[i + 1..]);
                if let Ok(Some(left)) = r {
                    if p.is_empty() && left > 0 {
                        i += 1;
                        continue;
                    }
                    n = &n[n.len() - left..];
                    continue 'outer;
                }
                r?;
                i += 1;
            }
        }
        while !p.is_empty() {
            let (_, chunk, rest) = scan_chunk(p);
            p = rest;
            match_chunk(chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(n.is_empty())
}

fn scan_chunk(p: &[char]) -> (bool, &[char], &[char]) {
    let mut p = p;
    let mut star = false;
    while let Some('*') = p.first() {
        p = &p[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                i += 1;
            }
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// Match `chunk` (no unbracketed `*`) against a prefix of `s`; returns the number of
/// characters left over, or None on mismatch. Errors on malformed patterns.
fn match_chunk(chunk: &[char], s: &[char]) -> Result<Option<usize>, &'static str> {
    let mut ci = 0;
    let mut si = 0;
    let mut failed = false;
    while ci < chunk.len() {
        if !failed && si >= s.len() {
            failed = true;
        }
        match chunk[ci] {
            '[' => {
                let r = if failed { None } else { Some(s[si]) };
                if !failed {
                    si += 1;
                }
                ci += 1;
                let mut negated = false;
                if ci < chunk.len() && chunk[ci] == '^' {
                    negated = true;
                    ci += 1;
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if ci < chunk.len() && chunk[ci] == ']' && nrange > 0 {
                        ci += 1;
                        break;
                    }
                    let (lo, next) = get_esc(chunk, ci)?;
                    ci = next;
                    let mut hi = lo;
                    if ci < chunk.len() && chunk[ci] == '-' {
                        let (h, next) = get_esc(chunk, ci + 1)?;
                        hi = h;
                        ci = next;
                    }
                    if let Some(r) = r
                        && lo <= r
                        && r <= hi
                    {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[si] == '/' {
                        failed = true;
                    }
                    si += 1;
                }
                ci += 1;
            }
            '\\' => {
                ci += 1;
                if ci >= chunk.len() {
                    return Err(ERR_BAD_PATTERN);
                }
                if !failed {
                    if chunk[ci] != s[si] {
                        failed = true;
                    }
                    si += 1;
                }
                ci += 1;
            }
            c => {
                if !failed {
                    if c != s[si] {
                        failed = true;
                    }
                    si += 1;
                }
                ci += 1;
            }
        }
    }
    if failed {
        Ok(None)
    } else {
        Ok(Some(s.len() - si))
    }
}

fn get_esc(chunk: &[char], mut i: usize) -> Result<(char, usize), &'static str> {
    if i >= chunk.len() || chunk[i] == '-' || chunk[i] == ']' {
        return Err(ERR_BAD_PATTERN);
    }
    if chunk[i] == '\\' {
        i += 1;
        if i >= chunk.len() {
            return Err(ERR_BAD_PATTERN);
        }
    }
    let c = chunk[i];
    i += 1;
    if i >= chunk.len() {
        return Err(ERR_BAD_PATTERN);
    }
    Ok((c, i))
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The glob, decoded once (every file of a chart is matched against every rule).
    rule: Vec<char>,
    /// A cheaper form of `rule` for the common shapes of `.helmignore` lines.
    fast: Fast,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

/// How a rule is matched: most `.helmignore` lines are a plain name (`.git`) or `*` and a
/// suffix (`*.swp`), which need no glob machinery.
#[derive(Debug, Clone)]
enum Fast {
    /// No glob metacharacters: the name must equal it.
    Literal(String),
    /// `*` then no metacharacters: the name ends with it and has no `/` before the suffix.
    StarSuffix(String),
    /// Anything else: the full glob, after a cheap check of its literal prefix.
    Glob { prefix: String },
}

fn is_glob_meta(c: char) -> bool {
    matches!(c, '*' | '?' | '[' | '\\')
}

impl Fast {
    fn of(rule: &str) -> Fast {
        if !rule.chars().any(is_glob_meta) {
            return Fast::Literal(rule.to_string());
        }
        if let Some(suffix) = rule.strip_prefix('*')
            && !suffix.chars().any(is_glob_meta)
        {
            return Fast::StarSuffix(suffix.to_string());
        }
        let end = rule.find(is_glob_meta).unwrap_or(rule.len());
        Fast::Glob {
            prefix: rule[..end].to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Anchored,
    Path,
    Base,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parse `.helmignore` text; errors read like Helm's.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            r.parse_rule(line)?;
        }
        Ok(r)
    }

    /// Add Helm's default rule (hidden files under `templates/`).
    pub fn add_defaults(&mut self) {
        self.parse_rule("templates/.?*")
            .expect("default rule is valid");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let mut rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        glob_match(rule, "abc").map_err(|e| e.to_string())?;
        let mut negate = false;
        if let Some(r) = rule.strip_prefix('!') {
            negate = true;
            rule = r;
        }
        let mut must_dir = false;
        if let Some(r) = rule.strip_suffix('/') {
            must_dir = true;
            rule = r;
        }
        let (kind, rule) = if let Some(r) = rule.strip_prefix('/') {
            (Kind::Anchored, r)
        } else if rule.contains('/') {
            (Kind::Path, rule)
        } else {
            (Kind::Base, rule)
        };
        self.patterns.push(Pattern {
            rule: rule.chars().collect(),
            fast: Fast::of(rule),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// True if the relative path (with `/` separators) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = &path[path.rfind('/').map_or(0, |i| i + 1)..];
        // Decoded only when a rule needs the full glob matcher.
        let mut chars: Option<Vec<char>> = None;
        for p in &self.patterns {
            if p.must_dir && !is_dir && !p.negate {
                continue;
            }
            let target = match p.kind {
                Kind::Base => base,
                _ => path,
            };
            let matched = match &p.fast {
                Fast::Literal(lit) => target == lit,
                Fast::StarSuffix(suffix) => {
                    target.ends_with(suffix.as_str())
                        && !target[..target.len() - suffix.len()].contains('/')
                }
                Fast::Glob { prefix } => {
                    target.starts_with(prefix.as_str()) && {
                        let all = chars.get_or_insert_with(|| path.chars().collect());
                        let from = match p.kind {
                            Kind::Base => all.len() - base.chars().count(),
                            _ => 0,
                        };
                        glob_match_chars(&p.rule, &all[from..]).unwrap_or(false)
                    }
                }
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_glob() {
        assert_eq!(glob_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(glob_match("*.txt", "d/a.txt"), Ok(false));
        assert_eq!(glob_match("a*/b", "abc/b"), Ok(true));
        assert_eq!(glob_match("a?c", "abc"), Ok(true));
        assert_eq!(glob_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(glob_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(glob_match("*", "a/b"), Ok(false));
        assert_eq!(glob_match("a*b*c", "axxbyyc"), Ok(true));
        assert_eq!(glob_match("a*b", "axxbyyb"), Ok(true));
        assert_eq!(glob_match("templates/.?*", "templates/.hidden"), Ok(true));
        assert_eq!(glob_match("templates/.?*", "templates/x.yaml"), Ok(false));
        assert!(glob_match("[", "x").is_err());
    }

    #[test]
    fn rules() {
        let mut r = Rules::parse("# c\n*.tgz\n/ci/\n.git/\n").expect("parses");
        r.add_defaults();
        assert!(r.ignore("x.tgz", false));
        assert!(r.ignore("charts/x.tgz", false));
        assert!(r.ignore("ci", true));
        assert!(!r.ignore("ci", false));
        assert!(r.ignore("templates/.x", false));
        assert!(!r.ignore("templates/x.yaml", false));
    }

    /// The fast forms (plain names, `*suffix`, literal prefixes) agree with the glob matcher.
    #[test]
    fn fast_forms_agree_with_glob() {
        let rules = [
            "*.swp",
            ".git",
            "*~",
            "a/*.txt",
            "ci/",
            "*.tmproj",
            "x[ab]",
            "?.md",
            "/top",
            "a*b",
            "*/y",
            "\\*z",
            "templates/.?*",
        ];
        let paths = [
            "a.swp",
            "d/a.swp",
            ".git",
            "d/.git",
            "x~",
            "d/x~",
            "a/b.txt",
            "a/c/b.txt",
            "ci",
            "xa",
            "xc",
            "d/xb",
            "q.md",
            "top",
            "d/top",
            "ab",
            "axxb",
            "d/y",
            "d/e/y",
            "*z",
            "d/*z",
            "templates/.h",
            "templates/.",
            "b.txt",
        ];
        for rule in rules {
            let r = Rules::parse(rule).expect("parses");
            let mut slow = r.clone();
            for p in &mut slow.patterns {
                p.fast = Fast::Glob {
                    prefix: String::new(),
                };
            }
            for path in paths {
                for dir in [false, true] {
                    assert_eq!(
                        r.ignore(path, dir),
                        slow.ignore(path, dir),
                        "rule {rule:?} path {path:?} dir {dir}"
                    );
                }
            }
        }
    }
}
