//! The lines Helm logs on stderr while it renders or lints: Helm 4 through Go's `log/slog`
//! text handler (`level=WARN msg="..." key=value`, no time), Helm 3 through Go's `log`
//! package with the caller's file and line (`coalesce.go:237: warning: ...`).

/// One slog text-handler line: `level=LEVEL msg=MSG k=v ...`, values quoted as slog does.
pub fn slog_line(level: &str, msg: &str, attrs: &[(&str, &str)]) -> String {
    let mut line = format!("level={level} msg={}", slog_value(msg));
    for (k, v) in attrs {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&slog_value(v));
    }
    line
}

/// A Go `log.Printf` line with the `Lshortfile` flag Helm 3 sets: `file.go:LINE: text`.
pub fn go_log_line(file: &str, line: u32, text: &str) -> String {
    format!("{file}:{line}: {text}")
}

/// slog's text quoting: bare unless empty or holding spaces, `=`, `"` or unprintables.
pub fn slog_value(s: &str) -> String {
    let needs = s.is_empty()
        || s.chars().any(|c| {
            if c.is_ascii() {
                c != '\\' && (c == ' ' || c == '=' || c == '"' || c.is_ascii_control())
            } else {
                c.is_whitespace() || c == char::REPLACEMENT_CHARACTER || c.is_control()
            }
        });
    if needs {
        crate::chart::strvals::go_quote(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// slog quotes only values that need it.
    #[test]
    fn slog_quoting() {
        assert_eq!(slog_value("boom"), "boom");
        assert_eq!(slog_value("a b"), "\"a b\"");
        assert_eq!(slog_value(""), "\"\"");
        assert_eq!(slog_value("k=v"), "\"k=v\"");
        assert_eq!(
            slog_line(
                "WARN",
                "returned non-bool value",
                &[("path", "a.b"), ("chart", "c")]
            ),
            "level=WARN msg=\"returned non-bool value\" path=a.b chart=c"
        );
    }
}
