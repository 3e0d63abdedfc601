//! Sprig's defaults and flow functions: `default`, `empty`, `coalesce`, `all`, `any`,
//! `ternary`, all built on Sprig's `empty` rule (nil, false, 0, "" and empty collections).

use super::conv::is_empty;
use super::{FuncDef, Param, arg_bool, def, var};
use crate::value::Value;

pub(super) const FUNCS: &[FuncDef] = &[
    var("default", &[Param::Any], Param::Any, |_, a| {
        Ok(match a.get(1) {
            Some(given) if !is_empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    }),
    def("empty", &[Param::Any], |_, a| {
        Ok(Value::Bool(is_empty(&a[0])))
    }),
    var("coalesce", &[], Param::Any, |_, a| {
        Ok(a.into_iter().find(|v| !is_empty(v)).unwrap_or(Value::Nil))
    }),
    var("all", &[], Param::Any, |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    }),
    var("any", &[], Param::Any, |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    }),
    def("ternary", &[Param::Any, Param::Any, Param::Bool], |_, a| {
        Ok(if arg_bool(&a[2]) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    }),
];
