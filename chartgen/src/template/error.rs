//! Template errors: Go's text for `Display`, Helm's rewritten text for [`TemplateError::helm_message`].

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parse error: Go prints `template: NAME:LINE: MSG`.
    Parse,
    /// An execution error (Go's `template.ExecError`):
    /// `template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG`.
    Exec,
    /// Any other error (e.g. executing an unknown template name).
    Other,
}

/// A template parse or execution error.
///
/// `Display` is Go's `err.Error()`; [`TemplateError::helm_message`] is what Helm prints after
/// `Error: ` for the same failure. The error keeps Go's wrap chain (the texts of
/// `errors.Unwrap` steps) because Helm's rewrite walks it.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    kind: ErrorKind,
    /// Texts of the Go error and the errors it wraps, outermost first (never empty).
    chain: Vec<String>,
    /// The template being parsed or executed at top level.
    file: String,
}

impl TemplateError {
    pub(crate) fn new(kind: ErrorKind, file: &str, chain: Vec<String>) -> TemplateError {
        debug_assert!(!chain.is_empty());
        TemplateError {
            kind,
            chain,
            file: file.to_string(),
        }
    }

    /// Which kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Go's error text (same as `Display`).
    pub fn go_message(&self) -> &str {
        &self.chain[0]
    }

    /// What Helm v3.11 prints after `Error: ` (no multi-line trace form: only the
    /// `fail`/`required` rewrite).
    pub fn helm3_message(&self) -> String {
        if self.kind == ErrorKind::Exec {
            let message = &self.chain[0];
            let tokens: Vec<&str> = message.splitn(3, ": ").collect();
            if tokens.len() == 3
                && let Some(msg) = warn_message(tokens[2])
            {
                return format!("execution error at ({}): {msg}", tokens[1]);
            }
            return message.clone();
        }
        self.helm_message()
    }

    /// Exactly what Helm v4 prints after `Error: ` for this failure: its `cleanupParseError`
    /// and `reformatExecErrorMsg` rewrites applied to Go's error.
    pub fn helm_message(&self) -> String {
        let message = &self.chain[0];
        match self.kind {
            ErrorKind::Parse => {
                let tokens: Vec<&str> = message.split(": ").collect();
                if tokens.len() == 1 {
                    return format!("parse error in ({}): {}", self.file, message);
                }
                format!(
                    "parse error at ({}): {}",
                    tokens[1],
                    tokens[tokens.len() - 1]
                )
            }
            ErrorKind::Exec => {
                let tokens: Vec<&str> = message.splitn(3, ": ").collect();
                if tokens.len() != 3 {
                    return format!("execution error in ({}): {}", self.file, message);
                }
                if let Some(msg) = warn_message(tokens[2]) {
                    return format!("execution error at ({}): {msg}", tokens[1]);
                }
                let mut traces: Vec<Trace> = Vec::new();
                for text in &self.chain {
                    match parse_trace(text) {
                        Some(t) => {
                            if traces.last() != Some(&t) {
                                traces.push(t);
                            }
                        }
                        None => return message.clone(),
                    }
                }
                let mut out = String::new();
                for t in &traces {
                    t.write(&mut out);
                }
                out.trim().to_string()
            }
            ErrorKind::Other => message.clone(),
        }
    }
}

/// Helm wraps `fail`/`required` messages in these markers and cuts them out again.
pub(crate) const WARN_START: &str = "HELM_ERR_START";
pub(crate) const WARN_END: &str = "HELM_ERR_END";

/// Helm's `warnRegex` match: the text between the first start marker and the last end marker.
pub(crate) fn warn_message(s: &str) -> Option<&str> {
    let start = s.find(WARN_START)? + WARN_START.len();
    let end = s.rfind(WARN_END)?;
    (end >= start).then(|| &s[start..end])
}

/// Helm's `TraceableError`.
#[derive(Debug, PartialEq)]
struct Trace {
    location: String,
    message: String,
    executed: String,
}

impl Trace {
    fn write(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed.is_empty() {
            out.push_str(&self.executed);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
    }
}

/// Helm's `parseTemplateExecErrorString`.
fn parse_trace(s: &str) -> Option<Trace> {
    let rest = s.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        return Some(Trace {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    let cut_chain = |m: &str| -> String {
        match m.find(" template:") {
            Some(i) => m[..i].to_string(),
            None => m.to_string(),
        }
    };
    if let Some(idx) = rest.find(": executing ") {
        let name = &rest[..idx];
        let after = &rest[idx + ": executing ".len()..];
        if let Some(after) = after.strip_prefix('"')
            && let Some(q) = after.find('"')
        {
            let func = &after[..q];
            if let Some(after_at) = after[q + 1..].strip_prefix(" at <")
                && let Some(end) = after_at.find(">: ")
            {
                let loc = &after_at[..end];
                let msg = &after_at[end + 3..];
                return Some(Trace {
                    location: name.to_string(),
                    message: cut_chain(msg),
                    executed: format!("executing \"{func}\" at <{loc}>:"),
                });
            }
        }
    }
    let sep = rest.rfind(": ")?;
    Some(Trace {
        location: rest[..sep].to_string(),
        message: cut_chain(&rest[sep + 2..]),
        executed: String::new(),
    })
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain[0])
    }
}

impl std::error::Error for TemplateError {}
