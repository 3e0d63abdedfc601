//! Sprig's reflection functions, answering with Go's type and kind names: `typeOf`,
//! `typeIs`, `typeIsLike`, `kindOf`, `kindIs`, `deepEqual`.

use super::{FuncDef, Param, arg_str, def};
use crate::value::Value;

pub(super) const FUNCS: &[FuncDef] = &[
    def("typeOf", &[Param::Any], |_, a| {
        Ok(Value::str(a[0].type_name()))
    }),
    def("typeIs", &[Param::String, Param::Any], |_, a| {
        Ok(Value::Bool(arg_str(&a[0]) == a[1].type_name()))
    }),
    def("typeIsLike", &[Param::String, Param::Any], |_, a| {
        let (target, t) = (arg_str(&a[0]), a[1].type_name());
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    }),
    def("kindOf", &[Param::Any], |_, a| {
        Ok(Value::str(a[0].kind_name()))
    }),
    def("kindIs", &[Param::String, Param::Any], |_, a| {
        Ok(Value::Bool(arg_str(&a[0]) == a[1].kind_name()))
    }),
    def("deepEqual", &[Param::Any, Param::Any], |_, a| {
        Ok(Value::Bool(a[0] == a[1]))
    }),
];
