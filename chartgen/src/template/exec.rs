//! Executor: walks parsed trees over values with Go's evaluation rules and Helm's `include`/`tpl`.

use super::error::{ErrorKind, TemplateError};
use super::{ExecEnv, TemplateSet};
use crate::value::Value;

/// Execute template `name` of `set`.
pub(crate) fn execute(
    set: &TemplateSet,
    name: &str,
    _data: &Value,
    _env: &ExecEnv,
) -> Result<String, TemplateError> {
    if set.get(name).is_none() {
        return Err(TemplateError::new(
            ErrorKind::Other,
            name,
            format!("template: no template {name:?} associated with template \"gotpl\""),
        ));
    }
    Err(TemplateError::new(
        ErrorKind::Other,
        name,
        "not implemented".into(),
    ))
}
