//! Parser: builds one tree per template (the file itself plus each `define`), Go's parse rules.

use super::error::{ErrorKind, TemplateError};

/// One parsed template.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
}

impl Tree {
    /// Go's `parse.IsEmptyTree`: only whitespace text and comments.
    pub fn is_empty_tree(&self) -> bool {
        true
    }
}

/// Parse `text` as template `name`; returns the file's tree followed by its defines.
pub(crate) fn parse(
    name: &str,
    _text: &str,
    _is_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, TemplateError> {
    Err(TemplateError::new(
        ErrorKind::Parse,
        name,
        format!("template: {name}:1: not implemented"),
    ))
}
