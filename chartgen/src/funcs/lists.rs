//! Sprig's list functions (`list`, `append`, `first`, `rest`, `uniq`, `has`, `slice`,
//! `concat`, `chunk`, `compact`, `sortAlpha`, ...). They accept any Go slice and return
//! `[]interface {}`; a non-slice is an error (`Cannot push on type string`) and nil is Go's
//! nil-pointer panic, for the plain and the `must*` variants alike.

use super::conv::{ilist, is_empty, slice_items, strslice, strval, to_int64};
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_int, def, var};
use crate::value::{List, Value};
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    var("list", &[], Param::Any, |_, a| Ok(ilist(a))),
    var("tuple", &[], Param::Any, |_, a| Ok(ilist(a))),
    def("append", &[Param::Any, Param::Any], push),
    def("push", &[Param::Any, Param::Any], push),
    def("mustAppend", &[Param::Any, Param::Any], push),
    def("mustPush", &[Param::Any, Param::Any], push),
    def("prepend", &[Param::Any, Param::Any], prepend),
    def("mustPrepend", &[Param::Any, Param::Any], prepend),
    def("first", &[Param::Any], first),
    def("mustFirst", &[Param::Any], first),
    def("last", &[Param::Any], last),
    def("mustLast", &[Param::Any], last),
    def("rest", &[Param::Any], rest),
    def("mustRest", &[Param::Any], rest),
    def("initial", &[Param::Any], initial),
    def("mustInitial", &[Param::Any], initial),
    def("reverse", &[Param::Any], reverse),
    def("mustReverse", &[Param::Any], reverse),
    def("uniq", &[Param::Any], uniq),
    def("mustUniq", &[Param::Any], uniq),
    var("without", &[Param::Any], Param::Any, without),
    var("mustWithout", &[Param::Any], Param::Any, without),
    def("has", &[Param::Any, Param::Any], has),
    def("mustHas", &[Param::Any, Param::Any], has),
    var("slice", &[Param::Any], Param::Any, slice),
    var("mustSlice", &[Param::Any], Param::Any, slice),
    var("concat", &[], Param::Any, concat),
    def("chunk", &[Param::Int, Param::Any], chunk),
    def("mustChunk", &[Param::Int, Param::Any], chunk),
    def("compact", &[Param::Any], compact),
    def("mustCompact", &[Param::Any], compact),
    def("sortAlpha", &[Param::Any], sort_alpha),
];

/// Go's panic text for `reflect.TypeOf(nil).Kind()`.
pub(super) fn nil_deref() -> FuncError {
    FuncError::call("runtime error: invalid memory address or nil pointer dereference")
}

/// The items of a slice argument, or Sprig's error `Cannot <what> on type <kind>`.
fn items(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    if v.is_nil() {
        return Err(nil_deref());
    }
    slice_items(v).ok_or_else(|| FuncError::call(format!("{what} {}", v.kind_name())))
}

fn push(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut l = items(&a[0], "Cannot push on type")?;
    l.push(a[1].clone());
    Ok(ilist(l))
}

fn prepend(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut l = items(&a[0], "Cannot prepend on type")?;
    l.insert(0, a[1].clone());
    Ok(ilist(l))
}

fn first(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot find first on type")?;
    Ok(l.into_iter().next().unwrap_or(Value::Nil))
}

fn last(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot find last on type")?;
    Ok(l.into_iter().last().unwrap_or(Value::Nil))
}

fn rest(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot find rest on type")?;
    Ok(ilist(l.into_iter().skip(1).collect()))
}

fn initial(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut l = items(&a[0], "Cannot find initial on type")?;
    l.pop();
    Ok(ilist(l))
}

fn reverse(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut l = items(&a[0], "Cannot find reverse on type")?;
    l.reverse();
    Ok(ilist(l))
}

/// `reflect.DeepEqual` on template values.
fn deep_equal(a: &Value, b: &Value) -> bool {
    a == b
}

fn uniq(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot find uniq on type")?;
    let mut out: Vec<Value> = Vec::new();
    for item in l {
        if !out.iter().any(|x| deep_equal(x, &item)) {
            out.push(item);
        }
    }
    Ok(ilist(out))
}

fn without(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot find without on type")?;
    let omit = &a[1..];
    Ok(ilist(
        l.into_iter()
            .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
            .collect(),
    ))
}

fn has(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    if a[1].is_nil() {
        return Ok(Value::Bool(false));
    }
    let l = items(&a[1], "Cannot find has on type")?;
    Ok(Value::Bool(l.iter().any(|x| deep_equal(&a[0], x))))
}

/// Sprig `slice LIST [START [END]]`: keeps the slice's own element type.
fn slice(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    if a[0].is_nil() {
        return Err(nil_deref());
    }
    let (elem, l) = match &a[0] {
        Value::List(l) => (Some(l.elem), l.items.clone()),
        Value::Bytes(b) => (
            None,
            b.iter().map(|x| Value::Uint64(u64::from(*x))).collect(),
        ),
        other => {
            return Err(FuncError::call(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            )));
        }
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_int64).unwrap_or(0);
    let end = a.get(2).map(to_int64).unwrap_or(l.len() as i64);
    if start < 0 || end < start || end as usize > l.len() {
        return Err(FuncError::call(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    let part = l[start as usize..end as usize].to_vec();
    Ok(match (elem, &a[0]) {
        (Some(elem), _) => Value::List(Rc::new(List { elem, items: part })),
        (None, Value::Bytes(b)) => Value::Bytes(b[start as usize..end as usize].into()),
        _ => ilist(part),
    })
}

fn concat(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut out = Vec::new();
    for l in &a {
        if l.is_nil() {
            return Err(nil_deref());
        }
        match slice_items(l) {
            Some(items) => out.extend(items),
            None => {
                return Err(FuncError::call(format!(
                    "Cannot concat type {} as list",
                    l.kind_name()
                )));
            }
        }
    }
    Ok(ilist(out))
}

fn chunk(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let size = arg_int(&a[0]);
    let l = items(&a[1], "Cannot chunk type")?;
    if size <= 0 {
        return Err(FuncError::call(
            "runtime error: makeslice: len out of range",
        ));
    }
    let chunks = l.chunks(size as usize).map(|c| ilist(c.to_vec())).collect();
    Ok(ilist(chunks))
}

fn compact(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let l = items(&a[0], "Cannot compact on type")?;
    Ok(ilist(l.into_iter().filter(|x| !is_empty(x)).collect()))
}

/// Sprig `sortAlpha`: the string forms of a slice's items in byte order; a non-slice
/// becomes a one-item list of its string form.
fn sort_alpha(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut out = match &a[0] {
        Value::List(_) | Value::Bytes(_) => strslice(&a[0]),
        other => vec![strval(other)],
    };
    out.sort();
    Ok(Value::string_list(out))
}
