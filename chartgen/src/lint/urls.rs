//! The URL and e-mail checks Helm's Chart.yaml rule uses (Go's `url.ParseRequestURI` and
//! govalidator's `IsRequestURL`, `IsURL`, `IsEmail`), written from their documented rules.

use std::sync::OnceLock;

use regex::Regex;

/// govalidator `IsRequestURL`: `url.ParseRequestURI` accepts it and it has a scheme.
pub(super) fn is_request_url(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let Some(colon) = scheme_end(s) else {
        return false;
    };
    let rest = &s[colon + 1..];
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    if !rest.starts_with('/') {
        // An opaque URL such as `mailto:x`.
        return true;
    }
    let path = if let Some(auth) = rest.strip_prefix("//") {
        let (authority, path) = match auth.find('/') {
            Some(i) => (&auth[..i], &auth[i..]),
            None => (auth, ""),
        };
        if !valid_authority(authority) {
            return false;
        }
        path
    } else {
        rest
    };
    valid_escapes(path)
}

/// The index of the `:` ending a valid scheme, if the text starts with one.
fn scheme_end(s: &str) -> Option<usize> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i > 0 => return Some(i),
            _ => return None,
        }
    }
    None
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn valid_authority(a: &str) -> bool {
    let (userinfo, host) = match a.rfind('@') {
        Some(i) => (Some(&a[..i]), &a[i + 1..]),
        None => (None, a),
    };
    if let Some(u) = userinfo
        && !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c) || !c.is_ascii())
    {
        return false;
    }
    let (host, port) = if let Some(inner) = host.strip_prefix('[') {
        match inner.find(']') {
            Some(i) => {
                let after = &inner[i + 1..];
                match after.strip_prefix(':') {
                    Some(p) => (&inner[..i], p),
                    None if after.is_empty() => (&inner[..i], ""),
                    None => return false,
                }
            }
            None => return false,
        }
    } else {
        match host.rfind(':') {
            Some(i) => (&host[..i], &host[i + 1..]),
            None => (host, ""),
        }
    };
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    host.chars()
        .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:%".contains(c))
        && valid_escapes(host)
}

/// govalidator `IsURL`: a loose "looks like a web address" check.
pub(super) fn is_url(s: &str) -> bool {
    let n = s.chars().count();
    if s.is_empty() || n >= 2083 || n <= 3 || s.starts_with('.') {
        return false;
    }
    let probe = if s.contains(':') && !s.contains("://") {
        format!("http://{s}")
    } else {
        s.to_string()
    };
    if probe.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    // What url.Parse would call the host and path.
    let (host, path) = match probe.split_once("://") {
        Some((_, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
        None => ("", probe.as_str()),
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    if host.starts_with('.') {
        return false;
    }
    if host.is_empty() && !path.is_empty() && !path.contains('.') {
        return false;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let scheme = r"(?:(?:ftp|tcp|udp|wss?|https?)://)?";
        let user = r"(?:\S+(?::\S*)?@)?";
        let ipv4 = r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3]|24\d|25[0-5])(?:\.(?:\d{1,2}|1\d\d|2[0-4]\d|25[0-5])){2}\.(?:[0-9]\d?|1\d\d|2[0-4]\d|25[0-5])";
        let ipv6 = r"\[[0-9a-fA-F:.]+\]";
        // Dotted labels (two characters at least), or a `www.`/`x.y` prefix, then a name
        // without dots and an optional alphabetic top-level label.
        let labels = r"[a-zA-Z0-9][a-zA-Z0-9_-]*[a-zA-Z0-9](?:[-.][a-zA-Z0-9]+)*";
        let prefix = r"www\.|[a-zA-Z0-9]+(?:[-_.]?[a-zA-Z0-9])*[a-zA-Z0-9]\.[a-zA-Z0-9]+";
        let name = r"(?:[a-zA-Z\x{a1}-\x{ffff}0-9]+-?-?)*[a-zA-Z\x{a1}-\x{ffff}0-9]+";
        let tld = r"(?:\.[a-zA-Z\x{a1}-\x{ffff}]+)?";
        let host = format!(r"(?:{ipv4}|{ipv6}|(?:{labels}|{prefix})?{name}{tld})\.?");
        let port = r"(?::\d{1,5})?";
        let path = r"(?:[/?#]\S*)?";
        Regex::new(&format!("^{scheme}{user}{host}{port}{path}$")).expect("valid regex")
    })
    .is_match(s)
}

/// govalidator `IsEmail`: a dot-atom local part, `@`, dotted labels and an alphabetic
/// top-level label (non-ASCII letters from the BMP allowed throughout).
pub(super) fn is_email(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        const U: &str = r"\x{a0}-\x{d7ff}\x{f900}-\x{fdcf}\x{fdf0}-\x{ffef}";
        let atom = format!(r"[-a-zA-Z0-9!#$%&'*+/=?^_`{{|}}~{U}]+");
        let local = format!(r"{atom}(?:\.{atom})*");
        let x = format!("[a-zA-Z0-9{U}]");
        let y = format!("[-a-zA-Z0-9._~{U}]");
        let t = format!("[a-zA-Z{U}]");
        let label = format!("(?:{x}|{x}{y}*{x})");
        let top = format!("(?:{t}|{t}{y}*{t})");
        Regex::new(&format!(r"^{local}@(?:{label}\.)+{top}\.?$")).expect("valid regex")
    })
    .is_match(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request URLs need a scheme; opaque and ftp URLs pass.
    #[test]
    fn request_urls() {
        assert!(is_request_url("https://example.com/icon.png"));
        assert!(is_request_url("ftp://example.com/icon.png"));
        assert!(is_request_url("mailto:a@b.c"));
        assert!(!is_request_url("not a url"));
        assert!(!is_request_url("example.com/x"));
        assert!(!is_request_url("/abs/path"));
        assert!(!is_request_url("http://bad host/"));
    }

    /// Loose URLs and e-mail addresses.
    #[test]
    fn urls_and_emails() {
        assert!(is_url("https://github.com/iter8-tools"));
        assert!(is_url("example.com"));
        assert!(!is_url("not a url"));
        assert!(is_email("bob@example.com"));
        assert!(!is_email("not-an-email"));
        assert!(!is_email("a@b"));
    }
}
