//! Choosing a chart version as Helm does: an exact match first, else the newest version that
//! satisfies the Masterminds constraint (empty: `*`, so the newest stable version).

use crate::funcs::{Constraints, SemverVersion};

/// Pick from `versions` (any order) the one `want` selects; `None` when none does.
/// A `want` that is neither an existing version nor a valid constraint is an error with
/// Masterminds' text.
pub fn select(versions: &[String], want: &str) -> Result<Option<String>, String> {
    if !want.is_empty()
        && let Some(v) = versions.iter().find(|v| v.as_str() == want)
    {
        return Ok(Some(v.clone()));
    }
    let constraint = Constraints::parse(if want.is_empty() { "*" } else { want })?;
    let mut parsed: Vec<(SemverVersion, &String)> = versions
        .iter()
        .filter_map(|v| SemverVersion::parse(v).ok().map(|p| (p, v)))
        .collect();
    parsed.sort_by(|a, b| b.0.compare(&a.0));
    Ok(parsed
        .into_iter()
        .find(|(p, _)| constraint.check(p))
        .map(|(_, v)| v.clone()))
}

/// Whether `want` names one version (Helm pulls such a tag directly instead of listing tags).
pub fn is_exact(want: &str) -> bool {
    !want.is_empty() && SemverVersion::parse(want).is_ok()
}

/// OCI tags cannot hold `+`: Helm stores `1.0.0+build` as the tag `1.0.0_build`.
pub fn to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The version an OCI tag stands for (`_` read back as `+`); `None` for tags that are not
/// strict semantic versions (Helm ignores those).
pub fn from_tag(tag: &str) -> Option<String> {
    let v = tag.replace('_', "+");
    let strict = !v.starts_with('v') && v.split(['-', '+']).next()?.split('.').count() == 3;
    (strict && SemverVersion::parse(&v).is_ok()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Exact strings win, ranges pick the newest match, prereleases only when asked.
    #[test]
    fn selection() {
        let all = vs(&["0.1.0", "0.1.5", "0.2.0", "1.0.0-rc.1", "v0.3.0"]);
        assert_eq!(select(&all, "").expect("works").as_deref(), Some("v0.3.0"));
        assert_eq!(
            select(&all, "~0.1").expect("works").as_deref(),
            Some("0.1.5")
        );
        assert_eq!(
            select(&all, "0.3.0").expect("works").as_deref(),
            Some("v0.3.0")
        );
        assert_eq!(
            select(&all, "v0.3.0").expect("works").as_deref(),
            Some("v0.3.0")
        );
        assert_eq!(
            select(&all, ">=1.0.0-0").expect("works").as_deref(),
            Some("1.0.0-rc.1")
        );
        assert_eq!(select(&all, "0.13.x").expect("works"), None);
        assert!(select(&all, "not a range!").is_err());
    }

    /// `+` travels as `_` in tags and comes back; non-semver tags are skipped.
    #[test]
    fn tags() {
        assert_eq!(to_tag("1.0.0+build.1"), "1.0.0_build.1");
        assert_eq!(from_tag("1.0.0_build.1").as_deref(), Some("1.0.0+build.1"));
        assert_eq!(from_tag("latest"), None);
        assert_eq!(from_tag("v1.0.0"), None);
        assert_eq!(from_tag("1.0"), None);
    }
}
