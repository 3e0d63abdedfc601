//! Template errors: Go's text for `Display`, Helm's rewritten text for [`TemplateError::helm_message`].

use std::fmt;

/// What went wrong, with the location Go reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// A parse error: Go prints `template: NAME:LINE: MSG`.
    Parse,
    /// An execution error (Go's `template.ExecError`): `template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG`.
    Exec,
    /// Any other error (unknown template name at top level, ...).
    Other,
}

/// A template parse or execution error.
///
/// `Display` is Go's `err.Error()`; [`TemplateError::helm_message`] is what Helm prints after
/// `Error: ` for the same failure.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    kind: ErrorKind,
    /// Go's full error text.
    message: String,
    /// The template (file) being executed at top level, for Helm's fallback texts.
    file: String,
}

impl TemplateError {
    pub(crate) fn new(kind: ErrorKind, file: &str, message: String) -> TemplateError {
        TemplateError {
            kind,
            message,
            file: file.to_string(),
        }
    }

    /// Which kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Go's error text (same as `Display`).
    pub fn go_message(&self) -> &str {
        &self.message
    }

    /// Exactly what Helm prints after `Error: ` for this failure (its `cleanupParseError` /
    /// `cleanupExecError` rewrites applied to Go's text).
    pub fn helm_message(&self) -> String {
        match self.kind {
            ErrorKind::Parse => {
                let tokens: Vec<&str> = self.message.split(": ").collect();
                if tokens.len() == 1 {
                    return format!("parse error in ({}): {}", self.file, self.message);
                }
                format!(
                    "parse error at ({}): {}",
                    tokens[1],
                    tokens[tokens.len() - 1]
                )
            }
            ErrorKind::Exec => {
                let tokens: Vec<&str> = self.message.splitn(3, ": ").collect();
                if tokens.len() != 3 {
                    return format!("execution error in ({}): {}", self.file, self.message);
                }
                if let Some(start) = tokens[2].find(WARN_START)
                    && let Some(end) = tokens[2].rfind(WARN_END)
                    && end >= start + WARN_START.len()
                {
                    return format!(
                        "execution error at ({}): {}",
                        tokens[1],
                        &tokens[2][start + WARN_START.len()..end]
                    );
                }
                traceable(&self.message).unwrap_or_else(|| self.message.clone())
            }
            ErrorKind::Other => self.message.clone(),
        }
    }
}

/// Helm wraps `fail`/`required` messages in these markers and cuts them out again.
pub(crate) const WARN_START: &str = "HELM_ERR_START";
pub(crate) const WARN_END: &str = "HELM_ERR_END";

/// Helm v4's multi-line form for exec errors that are not function-call errors:
/// `FILE:LINE:COL\n  executing "NAME" at <NODE>:\n    MSG`.
fn traceable(message: &str) -> Option<String> {
    let rest = message.strip_prefix("template: ")?;
    let (location, rest) = rest.split_once(": executing \"")?;
    let (name, rest) = rest.split_once("\" at <")?;
    let (node, msg) = rest.split_once(">: ")?;
    if msg.starts_with("error calling ") {
        return None;
    }
    Some(format!(
        "{location}\n  executing \"{name}\" at <{node}>:\n    {msg}"
    ))
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}
