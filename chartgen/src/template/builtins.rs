//! Go's built-in template functions (`and`, `or`, `not`, `eq`, `index`, `len`, `print`, ...).

/// Names of Go's predefined functions that Helm keeps (Sprig replaces `slice`).
const BUILTINS: &[&str] = &[
    "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "index", "len", "print", "printf",
    "println", "html", "js", "urlquery", "call",
];

/// True if `name` is one of Go's built-in template functions.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}
