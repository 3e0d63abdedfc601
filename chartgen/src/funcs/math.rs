//! Sprig's arithmetic: integer ops on int64 after cast.ToInt64 (`add`, `sub`, `mul`, `div`,
//! `mod`, `max`, `min`), float ops through shopspring/decimal (`addf`, `subf`, `mulf`,
//! `divf`), rounding (`floor`, `ceil`, `round`) and integer ranges (`until`, `untilStep`).

use super::conv::{to_float64, to_int64};
use super::crypto::random_below;
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_int, def, var};
use crate::value::{ElemType, List, Value};
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("add1", &[Param::Any], |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    }),
    var("add", &[], Param::Any, |_, a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |acc, x| acc.wrapping_add(to_int64(x))),
        ))
    }),
    def("sub", &[Param::Any, Param::Any], |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    }),
    def("div", &[Param::Any, Param::Any], |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    }),
    def("mod", &[Param::Any, Param::Any], |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    }),
    var("mul", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, x| acc.wrapping_mul(to_int64(x))),
        ))
    }),
    def("randInt", &[Param::Int, Param::Int], |_, a| {
        let (min, max) = (arg_int(&a[0]), arg_int(&a[1]));
        if max <= min {
            return Err(FuncError::call("invalid argument to Intn"));
        }
        Ok(Value::Int(min + random_below((max - min) as u64) as i64))
    }),
    def("add1f", &[Param::Any], |_, a| {
        Ok(decimal_op(&a[0], &[Value::Int(1)], DecOp::Add))
    }),
    var("addf", &[], Param::Any, |_, a| {
        Ok(decimal_op(&Value::Float(0.0), &a, DecOp::Add))
    }),
    var("subf", &[Param::Any], Param::Any, |_, a| {
        Ok(decimal_op(&a[0], &a[1..], DecOp::Sub))
    }),
    var("mulf", &[Param::Any], Param::Any, |_, a| {
        Ok(decimal_op(&a[0], &a[1..], DecOp::Mul))
    }),
    var("divf", &[Param::Any], Param::Any, divf),
    var("max", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
        ))
    }),
    var("biggest", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
        ))
    }),
    var("min", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min),
        ))
    }),
    var("maxf", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_max),
        ))
    }),
    var("minf", &[Param::Any], Param::Any, |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_min),
        ))
    }),
    def("floor", &[Param::Any], |_, a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    }),
    def("ceil", &[Param::Any], |_, a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    }),
    var("round", &[Param::Any, Param::Int], Param::Float64, round),
    def("until", &[Param::Int], |_, a| {
        let count = arg_int(&a[0]);
        let step = if count < 0 { -1 } else { 1 };
        Ok(int_list(until_step(0, count, step)))
    }),
    def(
        "untilStep",
        &[Param::Int, Param::Int, Param::Int],
        |_, a| {
            Ok(int_list(until_step(
                arg_int(&a[0]),
                arg_int(&a[1]),
                arg_int(&a[2]),
            )))
        },
    ),
];

fn divide_by_zero() -> FuncError {
    FuncError::call("runtime error: integer divide by zero")
}

/// Go `math.Max` (NaN wins).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go `math.Min` (NaN wins).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// A Go `[]int`.
fn int_list(v: Vec<i64>) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Int,
        items: v.into_iter().map(Value::Int).collect(),
    }))
}

/// Sprig `untilStep`: from `start` towards `stop` (exclusive) by `step`; empty when the
/// step points the wrong way.
pub(super) fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut out = Vec::new();
    if stop < start {
        if step >= 0 {
            return out;
        }
        let mut i = start;
        while i > stop {
            out.push(i);
            i += step;
        }
        return out;
    }
    if step <= 0 {
        return out;
    }
    let mut i = start;
    while i < stop {
        out.push(i);
        i += step;
    }
    out
}

/// Sprig `round X PLACES [HALF]`: math.Pow/Modf based, so negative halves round down.
fn round(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
    let val = to_float64(&a[0]);
    let pow = 10f64.powf(arg_int(&a[1]) as f64);
    let digit = pow * val;
    let frac = digit - digit.trunc();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

#[derive(Clone, Copy)]
enum DecOp {
    Add,
    Sub,
    Mul,
}

/// An exact decimal `mant × 10^exp` (shopspring/decimal's value for a float64).
#[derive(Clone, Copy)]
struct Dec {
    mant: i128,
    exp: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `x`.
    fn from_f64(x: f64) -> Option<Dec> {
        if !x.is_finite() {
            return None;
        }
        if x == 0.0 {
            return Some(Dec { mant: 0, exp: 0 });
        }
        let sci = format!("{x:e}");
        let (m, e) = sci.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let neg = m.starts_with('-');
        let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
        let mant: i128 = digits.parse().ok()?;
        let exp = e - (digits.len() as i32 - 1);
        Some(Dec {
            mant: if neg { -mant } else { mant },
            exp,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// Rescale both to the smaller exponent.
    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let scale = |d: Dec| -> Option<i128> {
            let shift = u32::try_from(d.exp - exp).ok()?;
            10i128.checked_pow(shift)?.checked_mul(d.mant)
        };
        Some((scale(a)?, scale(b)?, exp))
    }

    fn apply(self, op: DecOp, other: Dec) -> Option<Dec> {
        match op {
            DecOp::Add => {
                let (x, y, exp) = Dec::align(self, other)?;
                Some(Dec {
                    mant: x.checked_add(y)?,
                    exp,
                })
            }
            DecOp::Sub => {
                let (x, y, exp) = Dec::align(self, other)?;
                Some(Dec {
                    mant: x.checked_sub(y)?,
                    exp,
                })
            }
            DecOp::Mul => Some(Dec {
                mant: self.mant.checked_mul(other.mant)?,
                exp: self.exp + other.exp,
            }),
        }
    }

    /// `d.DivRound(o, 16)`: the quotient rounded half away from zero to 16 decimal places.
    fn div16(self, o: Dec) -> Option<Dec> {
        if o.mant == 0 {
            return None;
        }
        // q = (a.mant / b.mant) × 10^(a.exp - b.exp); we want round(q × 10^16).
        let shift = self.exp - o.exp + 16;
        let (num, den) = if shift >= 0 {
            (
                self.mant.checked_mul(10i128.checked_pow(shift as u32)?)?,
                o.mant,
            )
        } else {
            (
                self.mant,
                o.mant.checked_mul(10i128.checked_pow((-shift) as u32)?)?,
            )
        };
        let q = num / den;
        let r = num % den;
        let neg = (num < 0) != (den < 0);
        let rounded = if 2 * r.unsigned_abs() >= den.unsigned_abs() {
            if neg { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Dec {
            mant: rounded,
            exp: -16,
        })
    }
}

/// Sprig `execDecimalOp`: fold with exact decimal arithmetic, then back to float64.
fn decimal_op(first: &Value, rest: &[Value], op: DecOp) -> Value {
    let mut acc = Dec::from_f64(to_float64(first));
    let mut fallback = to_float64(first);
    for x in rest {
        let xf = to_float64(x);
        fallback = match op {
            DecOp::Add => fallback + xf,
            DecOp::Sub => fallback - xf,
            DecOp::Mul => fallback * xf,
        };
        acc = acc.and_then(|a| Dec::from_f64(xf).and_then(|b| a.apply(op, b)));
    }
    Value::Float(acc.map(Dec::to_f64).unwrap_or(fallback))
}

fn divf(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut acc = Dec::from_f64(to_float64(&a[0]));
    let mut fallback = to_float64(&a[0]);
    for x in &a[1..] {
        let xf = to_float64(x);
        if xf == 0.0 {
            return Err(FuncError::call("decimal division by 0"));
        }
        fallback /= xf;
        acc = acc.and_then(|d| Dec::from_f64(xf).and_then(|b| d.div16(b)));
    }
    Ok(Value::Float(acc.map(Dec::to_f64).unwrap_or(fallback)))
}
