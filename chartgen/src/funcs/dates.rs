//! Sprig's date functions with Go's `time` semantics: `time.Time` values, Go layout strings
//! (`2006-01-02T15:04:05Z07:00`) for formatting and parsing, durations as Go prints and
//! parses them, and time zones from the system zoneinfo (`Local` follows `TZ` like Go).

use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_str, def, ok_str};
use crate::value::{Object, Value};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("now", &[], |ctx, _| {
        let now = ctx.now();
        let mut t = GoTime::from_chrono(&now, &local());
        t.mono = true;
        Ok(t.into_value())
    }),
    def("date", &[Param::String, Param::Any], |ctx, a| {
        ok_str(date_in_zone(ctx, arg_str(&a[0]), &a[1], "Local"))
    }),
    def(
        "dateInZone",
        &[Param::String, Param::Any, Param::String],
        |ctx, a| ok_str(date_in_zone(ctx, arg_str(&a[0]), &a[1], arg_str(&a[2]))),
    ),
    def(
        "date_in_zone",
        &[Param::String, Param::Any, Param::String],
        |ctx, a| ok_str(date_in_zone(ctx, arg_str(&a[0]), &a[1], arg_str(&a[2]))),
    ),
    def("htmlDate", &[Param::Any], |ctx, a| {
        ok_str(date_in_zone(ctx, "2006-01-02", &a[0], "Local"))
    }),
    def("htmlDateInZone", &[Param::Any, Param::String], |ctx, a| {
        ok_str(date_in_zone(ctx, "2006-01-02", &a[0], arg_str(&a[1])))
    }),
    def("dateModify", &[Param::String, Param::Any], |_, a| {
        let t = time_arg(&a[1])?;
        Ok(match parse_duration(arg_str(&a[0])) {
            Ok(d) => t.add_nanos(d).into_value(),
            Err(_) => t.into_value(),
        })
    }),
    def("date_modify", &[Param::String, Param::Any], |_, a| {
        let t = time_arg(&a[1])?;
        Ok(match parse_duration(arg_str(&a[0])) {
            Ok(d) => t.add_nanos(d).into_value(),
            Err(_) => t.into_value(),
        })
    }),
    def(
        "mustDateModify",
        &[Param::String, Param::Any],
        must_date_modify,
    ),
    def(
        "must_date_modify",
        &[Param::String, Param::Any],
        must_date_modify,
    ),
    def("toDate", &[Param::String, Param::String], |_, a| {
        Ok(parse_layout(arg_str(&a[0]), arg_str(&a[1]), &local())
            .unwrap_or_else(|_| GoTime::zero())
            .into_value())
    }),
    def("mustToDate", &[Param::String, Param::String], |_, a| {
        Ok(parse_layout(arg_str(&a[0]), arg_str(&a[1]), &local())
            .map_err(FuncError::call)?
            .into_value())
    }),
    def("unixEpoch", &[Param::Any], |_, a| {
        ok_str(time_arg(&a[0])?.secs.to_string())
    }),
    def("ago", &[Param::Any], |ctx, a| {
        let now = GoTime::from_chrono(&ctx.now(), &local());
        let t = match &a[0] {
            Value::Int(s) | Value::Int64(s) => GoTime::unix(*s, 0, &local()),
            other => time_of(other).unwrap_or_else(|| now.clone()),
        };
        let d = (now.secs - t.secs) as i128 * 1_000_000_000 + (now.nsec as i128 - t.nsec as i128);
        ok_str(format_duration(round_to_second(d)))
    }),
    def("duration", &[Param::Any], |_, a| {
        let n: i64 = match &a[0] {
            Value::String(s) => super::conv::parse_go_int(s, 10).unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        ok_str(format_duration(i128::from(n.wrapping_mul(1_000_000_000))))
    }),
    def("durationRound", &[Param::Any], |ctx, a| {
        let d: i128 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(i) => i128::from(*i),
            other => match time_of(other) {
                Some(t) => {
                    let now = GoTime::from_chrono(&ctx.now(), &local());
                    (now.secs - t.secs) as i128 * 1_000_000_000
                        + (now.nsec as i128 - t.nsec as i128)
                }
                None => 0,
            },
        };
        ok_str(duration_round(d))
    }),
];

fn must_date_modify(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let t = time_arg(&a[1])?;
    let d = parse_duration(arg_str(&a[0])).map_err(FuncError::call)?;
    Ok(t.add_nanos(d).into_value())
}

/// A Go `time.Time`: an instant, the zone offset and abbreviation it is shown in, and
/// whether it carries a monotonic reading (`now` does; printed as ` m=+…`).
#[derive(Debug, Clone)]
pub struct GoTime {
    pub secs: i64,
    pub nsec: u32,
    pub offset: i32,
    pub zone: String,
    pub mono: bool,
}

impl GoTime {
    /// Go's zero time, `0001-01-01 00:00:00 +0000 UTC`.
    pub fn zero() -> GoTime {
        GoTime {
            secs: -62_135_596_800,
            nsec: 0,
            offset: 0,
            zone: "UTC".into(),
            mono: false,
        }
    }

    fn unix(secs: i64, nsec: u32, loc: &Location) -> GoTime {
        let (offset, zone) = loc.lookup(secs);
        GoTime {
            secs,
            nsec,
            offset,
            zone,
            mono: false,
        }
    }

    /// A chrono time in `loc` when the offsets agree, else in an unnamed fixed zone.
    pub fn from_chrono(t: &DateTime<chrono::FixedOffset>, loc: &Location) -> GoTime {
        let secs = t.timestamp();
        let offset = t.offset().local_minus_utc();
        let (loc_off, name) = loc.lookup(secs);
        let zone = if loc_off == offset {
            name
        } else if offset == 0 {
            "UTC".into()
        } else {
            String::new()
        };
        GoTime {
            secs,
            nsec: t.timestamp_subsec_nanos(),
            offset,
            zone,
            mono: false,
        }
    }

    fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    fn in_loc(&self, loc: &Location) -> GoTime {
        let mut t = GoTime::unix(self.secs, self.nsec, loc);
        t.mono = false;
        t
    }

    fn add_nanos(&self, d: i128) -> GoTime {
        let total = self.secs as i128 * 1_000_000_000 + self.nsec as i128 + d;
        let secs = total.div_euclid(1_000_000_000) as i64;
        let nsec = total.rem_euclid(1_000_000_000) as u32;
        GoTime {
            secs,
            nsec,
            offset: self.offset,
            zone: self.zone.clone(),
            mono: false,
        }
    }

    /// Wall clock in the time's own zone.
    fn wall(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.secs + i64::from(self.offset), self.nsec)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    /// Go `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        format_layout(self, layout)
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn kind_name(&self) -> &str {
        "struct"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Format"
                | "Unix"
                | "UnixNano"
                | "UnixMilli"
                | "Year"
                | "YearDay"
                | "Month"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Nanosecond"
                | "Weekday"
                | "UTC"
                | "Local"
                | "String"
                | "IsZero"
                | "Add"
                | "AddDate"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let w = self.wall();
        let int_arg = |i: usize| match args.get(i) {
            Some(Value::Int(x) | Value::Int64(x)) => *x,
            _ => 0,
        };
        Ok(match name {
            "Format" => Value::str(self.format(args.first().and_then(Value::as_str).unwrap_or(""))),
            "Unix" => Value::Int64(self.secs),
            "UnixNano" => Value::Int64(
                self.secs
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(i64::from(self.nsec)),
            ),
            "UnixMilli" => Value::Int64(self.secs * 1000 + i64::from(self.nsec / 1_000_000)),
            "Year" => Value::Int(i64::from(w.year())),
            "YearDay" => Value::Int(i64::from(w.ordinal())),
            "Month" => Value::str(MONTHS[w.month0() as usize]),
            "Day" => Value::Int(i64::from(w.day())),
            "Hour" => Value::Int(i64::from(w.hour())),
            "Minute" => Value::Int(i64::from(w.minute())),
            "Second" => Value::Int(i64::from(w.second())),
            "Nanosecond" => Value::Int(i64::from(self.nsec)),
            "Weekday" => Value::str(DAYS[w.weekday().num_days_from_sunday() as usize]),
            "UTC" => self.in_loc(&Location::Utc).into_value(),
            "Local" => self.in_loc(&local()).into_value(),
            "String" => Value::str(self.format_v()),
            "IsZero" => Value::Bool(self.secs == GoTime::zero().secs && self.nsec == 0),
            "Add" => self.add_nanos(i128::from(int_arg(0))).into_value(),
            "AddDate" => {
                let (y, m, d) = (int_arg(0), int_arg(1), int_arg(2));
                let months = i64::from(w.year()) * 12 + i64::from(w.month0()) + y * 12 + m;
                let (ny, nm) = (months.div_euclid(12), months.rem_euclid(12) + 1);
                let base =
                    NaiveDate::from_ymd_opt(ny as i32, nm as u32, 1).ok_or("date out of range")?;
                let date = base + chrono::Duration::days(i64::from(w.day()) - 1 + d);
                let nw = date.and_time(w.time());
                let secs = nw.and_utc().timestamp() - i64::from(self.offset);
                GoTime {
                    secs,
                    nsec: self.nsec,
                    offset: self.offset,
                    zone: self.zone.clone(),
                    mono: false,
                }
                .into_value()
            }
            _ => return Err(format!("can't evaluate field {name} in type time.Time")),
        })
    }
    fn format_v(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if self.mono {
            s.push_str(&format!(" m=+{:.9}", process_uptime()));
        }
        s
    }
    fn to_data(&self) -> Value {
        Value::str(self.format("2006-01-02T15:04:05.999999999Z07:00"))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    /// The same instant in the same zone (Go compares the location pointer; the zone's
    /// name and offset stand for it). The monotonic reading is not compared: Go's `Add`
    /// keeps it, so `eq $t ($t | dateModify "0s")` is true there too.
    fn go_eq(&self, other: &dyn Object) -> Option<bool> {
        let o = other.as_any().downcast_ref::<GoTime>()?;
        Some(
            self.secs == o.secs
                && self.nsec == o.nsec
                && self.offset == o.offset
                && self.zone == o.zone,
        )
    }
}

/// Seconds since this process first looked at the clock (Go's monotonic `m=` reading).
fn process_uptime() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

fn time_of(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoTime>().cloned(),
        _ => None,
    }
}

/// A `time.Time` parameter.
fn time_arg(v: &Value) -> Result<GoTime, FuncError> {
    time_of(v).ok_or_else(|| {
        FuncError::call(format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        ))
    })
}

/// Sprig `dateInZone`: times format as they are, ints are Unix seconds, anything else is now.
fn date_in_zone(ctx: &mut dyn CallCtx, layout: &str, date: &Value, zone: &str) -> String {
    let loc = load_location(zone).unwrap_or(Location::Utc);
    let t = match date {
        Value::Int(s) | Value::Int64(s) => GoTime::unix(*s, 0, &loc),
        other => match time_of(other) {
            Some(t) => t,
            None => GoTime::from_chrono(&ctx.now(), &local()),
        },
    };
    t.in_loc(&loc).format(layout)
}

// ---------------------------------------------------------------------------------------
// Time zones

/// A Go `*time.Location`: UTC or a zoneinfo transition table.
#[derive(Debug, Clone)]
pub enum Location {
    Utc,
    Zone(Rc<ZoneData>),
}

/// Transition times (Unix seconds) with the index of the zone type in force from then on.
#[derive(Debug)]
pub struct ZoneData {
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, String)>,
}

impl Location {
    /// Offset east of UTC and abbreviation in force at `secs`.
    pub fn lookup(&self, secs: i64) -> (i32, String) {
        match self {
            Location::Utc => (0, "UTC".into()),
            Location::Zone(z) => {
                let idx = match z.transitions.partition_point(|(t, _)| *t <= secs) {
                    0 => 0,
                    n => z.transitions[n - 1].1,
                };
                z.types.get(idx).cloned().unwrap_or((0, "UTC".into()))
            }
        }
    }
}

/// Go's `Local`: `TZ` unset -> /etc/localtime, `TZ=""` -> UTC, else that zone; UTC on failure.
pub fn local() -> Location {
    thread_local! {
        static LOCAL: Location = match std::env::var("TZ") {
            Err(_) => read_tzfile("/etc/localtime").map(|z| Location::Zone(Rc::new(z))).unwrap_or(Location::Utc),
            Ok(tz) if tz.is_empty() || tz == "UTC" => Location::Utc,
            Ok(tz) => load_location(tz.trim_start_matches(':')).unwrap_or(Location::Utc),
        };
    }
    LOCAL.with(Clone::clone)
}

/// Go `time.LoadLocation`.
fn load_location(name: &str) -> Option<Location> {
    match name {
        "" | "UTC" => return Some(Location::Utc),
        "Local" => return Some(local()),
        _ => {}
    }
    if name.contains("..") || name.starts_with('/') {
        return None;
    }
    let dir = std::env::var("ZONEINFO").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
    read_tzfile(&format!("{dir}/{name}")).map(|z| Location::Zone(Rc::new(z)))
}

/// Read a TZif file (the 64-bit section when present).
fn read_tzfile(path: &str) -> Option<ZoneData> {
    let data = std::fs::read(path).ok()?;
    let (mut zone, rest) = parse_tzif_block(&data, 4)?;
    if data[4] >= b'2'
        && let Some((z64, _)) = parse_tzif_block(rest, 8)
    {
        zone = z64;
    }
    Some(zone)
}

fn parse_tzif_block(data: &[u8], time_size: usize) -> Option<(ZoneData, &[u8])> {
    if data.len() < 44 || &data[..4] != b"TZif" {
        return None;
    }
    let count = |i: usize| -> usize {
        u32::from_be_bytes(data[20 + 4 * i..24 + 4 * i].try_into().expect("4 bytes")) as usize
    };
    let (isut, isstd, leap, timecnt, typecnt, charcnt) =
        (count(0), count(1), count(2), count(3), count(4), count(5));
    let mut p = 44;
    let need = timecnt * time_size
        + timecnt
        + typecnt * 6
        + charcnt
        + leap * (time_size + 4)
        + isstd
        + isut;
    if data.len() < p + need {
        return None;
    }
    let mut times = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let b = &data[p + i * time_size..p + (i + 1) * time_size];
        times.push(if time_size == 8 {
            i64::from_be_bytes(b.try_into().expect("8 bytes"))
        } else {
            i64::from(i32::from_be_bytes(b.try_into().expect("4 bytes")))
        });
    }
    p += timecnt * time_size;
    let idx: Vec<usize> = data[p..p + timecnt].iter().map(|x| *x as usize).collect();
    p += timecnt;
    let types_raw = &data[p..p + typecnt * 6];
    p += typecnt * 6;
    let chars = &data[p..p + charcnt];
    p += charcnt + leap * (time_size + 4) + isstd + isut;
    let types = (0..typecnt)
        .map(|i| {
            let t = &types_raw[i * 6..i * 6 + 6];
            let off = i32::from_be_bytes(t[..4].try_into().expect("4 bytes"));
            let ai = t[5] as usize;
            let end = chars[ai.min(chars.len())..]
                .iter()
                .position(|c| *c == 0)
                .map(|e| ai + e)
                .unwrap_or(chars.len());
            (
                off,
                String::from_utf8_lossy(&chars[ai.min(end)..end]).into_owned(),
            )
        })
        .collect();
    let transitions = times.into_iter().zip(idx).collect();
    Some((ZoneData { transitions, types }, &data[p..]))
}

// ---------------------------------------------------------------------------------------
// Layouts

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// Fractional seconds: digit count, separator, and whether trailing zeros are trimmed.
    Frac(usize, u8, bool),
}

#[derive(Debug, Clone)]
enum Tok {
    Lit(String),
    Std(Std, &'static str),
}

/// Split a Go layout into literal text and standard elements (Go's `nextStdChunk`).
fn tokenize(layout: &str) -> Vec<Tok> {
    let b = layout.as_bytes();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    let lower_at = |j: usize| b.get(j).is_some_and(|c| c.is_ascii_lowercase());
    while i < b.len() {
        let found: Option<(Std, &'static str, usize)> = match b[i] {
            b'J' if starts(i, "January") => Some((Std::LongMonth, "January", 7)),
            b'J' if starts(i, "Jan") && !lower_at(i + 3) => Some((Std::Month, "Jan", 3)),
            b'M' if starts(i, "Monday") => Some((Std::LongWeekDay, "Monday", 6)),
            b'M' if starts(i, "Mon") && !lower_at(i + 3) => Some((Std::WeekDay, "Mon", 3)),
            b'M' if starts(i, "MST") => Some((Std::Tz, "MST", 3)),
            b'0' if starts(i, "002") => Some((Std::ZeroYearDay, "002", 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, "01", 2)),
                Some(b'2') => Some((Std::ZeroDay, "02", 2)),
                Some(b'3') => Some((Std::ZeroHour12, "03", 2)),
                Some(b'4') => Some((Std::ZeroMinute, "04", 2)),
                Some(b'5') => Some((Std::ZeroSecond, "05", 2)),
                Some(b'6') => Some((Std::Year, "06", 2)),
                _ => None,
            },
            b'1' if starts(i, "15") => Some((Std::Hour, "15", 2)),
            b'1' => Some((Std::NumMonth, "1", 1)),
            b'2' if starts(i, "2006") => Some((Std::LongYear, "2006", 4)),
            b'2' => Some((Std::Day, "2", 1)),
            b'_' if starts(i, "_2006") => {
                lit.push('_');
                i += 1;
                continue;
            }
            b'_' if starts(i, "__2") => Some((Std::UnderYearDay, "__2", 3)),
            b'_' if starts(i, "_2") => Some((Std::UnderDay, "_2", 2)),
            b'3' => Some((Std::Hour12, "3", 1)),
            b'4' => Some((Std::Minute, "4", 1)),
            b'5' => Some((Std::Second, "5", 1)),
            b'P' if starts(i, "PM") => Some((Std::Pm, "PM", 2)),
            b'p' if starts(i, "pm") => Some((Std::PmLower, "pm", 2)),
            b'-' if starts(i, "-070000") => Some((Std::NumSecondsTz, "-070000", 7)),
            b'-' if starts(i, "-07:00:00") => Some((Std::NumColonSecondsTz, "-07:00:00", 9)),
            b'-' if starts(i, "-0700") => Some((Std::NumTz, "-0700", 5)),
            b'-' if starts(i, "-07:00") => Some((Std::NumColonTz, "-07:00", 6)),
            b'-' if starts(i, "-07") => Some((Std::NumShortTz, "-07", 3)),
            b'Z' if starts(i, "Z070000") => Some((Std::Iso8601SecondsTz, "Z070000", 7)),
            b'Z' if starts(i, "Z07:00:00") => Some((Std::Iso8601ColonSecondsTz, "Z07:00:00", 9)),
            b'Z' if starts(i, "Z0700") => Some((Std::Iso8601Tz, "Z0700", 5)),
            b'Z' if starts(i, "Z07:00") => Some((Std::Iso8601ColonTz, "Z07:00", 6)),
            b'Z' if starts(i, "Z07") => Some((Std::Iso8601ShortTz, "Z07", 3)),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(j - i - 1, b[i], ch == b'9'), "", j - i))
                }
            }
            _ => None,
        };
        match found {
            Some((std, text, len)) => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(Tok::Std(std, text));
                i += len;
            }
            None => {
                let ch = layout[i..].chars().next().expect("in bounds");
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n)
    } else {
        format!("{n:0width$}")
    }
}

fn format_layout(t: &GoTime, layout: &str) -> String {
    let w = t.wall();
    let mut out = String::new();
    for tok in tokenize(layout) {
        let std = match tok {
            Tok::Lit(s) => {
                out.push_str(&s);
                continue;
            }
            Tok::Std(s, _) => s,
        };
        let hour = w.hour() as i64;
        match std {
            Std::LongMonth => out.push_str(MONTHS[w.month0() as usize]),
            Std::Month => out.push_str(&MONTHS[w.month0() as usize][..3]),
            Std::NumMonth => out.push_str(&w.month().to_string()),
            Std::ZeroMonth => out.push_str(&pad(w.month() as i64, 2)),
            Std::LongWeekDay => out.push_str(DAYS[w.weekday().num_days_from_sunday() as usize]),
            Std::WeekDay => out.push_str(&DAYS[w.weekday().num_days_from_sunday() as usize][..3]),
            Std::Day => out.push_str(&w.day().to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", w.day())),
            Std::ZeroDay => out.push_str(&pad(w.day() as i64, 2)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", w.ordinal())),
            Std::ZeroYearDay => out.push_str(&pad(w.ordinal() as i64, 3)),
            Std::Hour => out.push_str(&pad(hour, 2)),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = if hour % 12 == 0 { 12 } else { hour % 12 };
                out.push_str(&if std == Std::Hour12 {
                    h.to_string()
                } else {
                    pad(h, 2)
                });
            }
            Std::Minute => out.push_str(&w.minute().to_string()),
            Std::ZeroMinute => out.push_str(&pad(w.minute() as i64, 2)),
            Std::Second => out.push_str(&w.second().to_string()),
            Std::ZeroSecond => out.push_str(&pad(w.second() as i64, 2)),
            Std::LongYear => out.push_str(&pad(i64::from(w.year()), 4)),
            Std::Year => out.push_str(&pad(i64::from(w.year()).rem_euclid(100), 2)),
            Std::Pm => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::PmLower => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if t.zone.is_empty() {
                    out.push_str(&offset_text(t.offset, false, false, false));
                } else {
                    out.push_str(&t.zone);
                }
            }
            Std::Frac(n, sep, trim) => {
                let digits = format!("{:09}", t.nsec);
                let mut d = &digits[..n.min(9)];
                if trim {
                    d = d.trim_end_matches('0');
                    if d.is_empty() {
                        continue;
                    }
                }
                out.push(char::from(sep));
                out.push_str(d);
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && t.offset == 0 {
                    out.push('Z');
                    continue;
                }
                let colon = matches!(
                    tz,
                    Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonTz
                        | Std::NumColonSecondsTz
                );
                let short = matches!(tz, Std::Iso8601ShortTz | Std::NumShortTz);
                let secs = matches!(
                    tz,
                    Std::Iso8601SecondsTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                );
                out.push_str(&offset_text(t.offset, colon, short, secs));
            }
        }
    }
    out
}

fn offset_text(offset: i32, colon: bool, short: bool, secs: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    let mut s = format!("{sign}{:02}", a / 3600);
    if !short {
        if colon {
            s.push(':');
        }
        s.push_str(&format!("{:02}", a / 60 % 60));
    }
    if secs {
        if colon {
            s.push(':');
        }
        s.push_str(&format!("{:02}", a % 60));
    }
    s
}

/// Go's `%q` for the texts inside parse errors.
fn q(s: &str) -> String {
    super::strings::go_quote(s)
}

/// Go `time.ParseInLocation(layout, value, loc)`.
fn parse_layout(layout: &str, value: &str, loc: &Location) -> Result<GoTime, String> {
    let orig = value;
    let err_elem = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(orig),
            q(layout),
            q(rest),
            q(elem)
        )
    };
    let range_err = |what: &str| format!("parsing time {}: {what} out of range", q(orig));
    let mut v = value;
    let (mut year, mut month, mut day, mut yday) = (1i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm, mut am) = (false, false);
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let toks = tokenize(layout);
    for (ti, tok) in toks.iter().enumerate() {
        let (std, text) = match tok {
            Tok::Lit(lit) => {
                v = skip_literal(v, lit).ok_or_else(|| err_elem(v, lit))?;
                continue;
            }
            Tok::Std(s, t) => (*s, *t),
        };
        let before = v;
        let fail = || err_elem(before, text);
        match std {
            Std::Year => {
                let n = take_digits(v, 2, 2).ok_or_else(fail)?;
                v = &v[2..];
                year = if n >= 69 { n + 1900 } else { n + 2000 };
            }
            Std::LongYear => {
                if v.len() < 4 || !v.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return Err(fail());
                }
                year = v[..4].parse().map_err(|_| fail())?;
                v = &v[4..];
            }
            Std::LongMonth | Std::Month => {
                let idx = MONTHS.iter().position(|m| {
                    let name = if std == Std::Month { &m[..3] } else { m };
                    v.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                });
                let i = idx.ok_or_else(fail)?;
                v = &v[if std == Std::Month {
                    3
                } else {
                    MONTHS[i].len()
                }..];
                month = i as i64 + 1;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) = get_num(v, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&n) {
                    return Err(range_err("month"));
                }
                month = n;
                v = rest;
            }
            Std::LongWeekDay | Std::WeekDay => {
                let idx = DAYS.iter().position(|d| {
                    let name = if std == Std::WeekDay { &d[..3] } else { d };
                    v.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                });
                let i = idx.ok_or_else(fail)?;
                v = &v[if std == Std::WeekDay {
                    3
                } else {
                    DAYS[i].len()
                }..];
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && v.starts_with(' ') {
                    v = &v[1..];
                }
                let (n, rest) = get_num(v, std == Std::ZeroDay).ok_or_else(fail)?;
                day = n;
                v = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut s = v;
                if std == Std::UnderYearDay {
                    s = s.trim_start_matches(' ');
                }
                let len = s.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if len == 0 || (std == Std::ZeroYearDay && len < 3) {
                    return Err(fail());
                }
                yday = s[..len].parse().map_err(|_| fail())?;
                v = &s[len..];
            }
            Std::Hour => {
                let (n, rest) = get_num(v, false).ok_or_else(fail)?;
                if !(0..24).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                v = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) = get_num(v, std == Std::ZeroHour12).ok_or_else(fail)?;
                if !(0..=12).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                v = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) = get_num(v, std == Std::ZeroMinute).ok_or_else(fail)?;
                if !(0..60).contains(&n) {
                    return Err(range_err("minute"));
                }
                min = n;
                v = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, rest) = get_num(v, std == Std::ZeroSecond).ok_or_else(fail)?;
                if !(0..60).contains(&n) {
                    return Err(range_err("second"));
                }
                sec = n;
                v = rest;
                // A fraction in the value that the layout does not mention is still read.
                let next_is_frac = matches!(toks.get(ti + 1), Some(Tok::Std(Std::Frac(..), _)));
                if !next_is_frac
                    && v.len() > 1
                    && (v.starts_with('.') || v.starts_with(','))
                    && v.as_bytes()[1].is_ascii_digit()
                {
                    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nsec = frac_nanos(&v[1..1 + n]);
                    v = &v[1 + n..];
                }
            }
            Std::Pm | Std::PmLower => {
                if v.len() < 2 {
                    return Err(fail());
                }
                let (pm_text, am_text) = if std == Std::Pm {
                    ("PM", "AM")
                } else {
                    ("pm", "am")
                };
                match v.get(..2) {
                    Some(p) if p == pm_text => pm = true,
                    Some(p) if p == am_text => am = true,
                    _ => return Err(fail()),
                }
                v = &v[2..];
            }
            Std::Frac(n, _, trim) => {
                if trim {
                    if v.len() < 2
                        || !(v.starts_with('.') || v.starts_with(','))
                        || !v.as_bytes()[1].is_ascii_digit()
                    {
                        continue;
                    }
                    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nsec = frac_nanos(&v[1..1 + n]);
                    v = &v[1 + n..];
                } else {
                    if !v
                        .get(1..=n)
                        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(fail());
                    }
                    nsec = frac_nanos(&v[1..=n]);
                    v = &v[n + 1..];
                }
            }
            Std::Tz => {
                if v.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    v = &v[3..];
                } else {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(fail());
                    }
                    zone_name = Some(v[..n].to_string());
                    v = &v[n..];
                }
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && v.starts_with('Z') {
                    v = &v[1..];
                    zone_offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let (off, rest) = parse_offset(v, tz).ok_or_else(fail)?;
                zone_offset = Some(off);
                v = rest;
            }
        }
    }
    if !v.is_empty() {
        return Err(format!("parsing time {}: extra text: {}", q(orig), q(v)));
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let date = NaiveDate::from_yo_opt(year as i32, yday as u32)
            .ok_or_else(|| range_err("day-of-year"))?;
        if month >= 0 && i64::from(date.month()) != month {
            return Err(format!(
                "parsing time {}: day-of-year does not match month",
                q(orig)
            ));
        }
        month = i64::from(date.month());
        day = i64::from(date.day());
    }
    if month < 0 {
        month = 1;
    }
    if day < 0 {
        day = 1;
    }
    let date =
        NaiveDate::from_ymd_opt(year as i32, month as u32, 1).ok_or_else(|| range_err("year"))?;
    if day < 1 || day > days_in_month(date) {
        return Err(range_err("day"));
    }
    let wall = date
        .with_day(day as u32)
        .and_then(|d| d.and_hms_opt(hour as u32, min as u32, sec as u32))
        .ok_or_else(|| range_err("day"))?;
    let wall_secs = wall.and_utc().timestamp();
    let nsec = nsec as u32;
    if let Some(off) = zone_offset {
        let secs = wall_secs - i64::from(off);
        let (loc_off, name) = loc.lookup(secs);
        let zone = if loc_off == off {
            name
        } else if off == 0 && zone_name.as_deref() == Some("UTC") {
            "UTC".into()
        } else {
            String::new()
        };
        return Ok(GoTime {
            secs,
            nsec,
            offset: off,
            zone,
            mono: false,
        });
    }
    if let Some(name) = zone_name {
        if name == "UTC" {
            return Ok(GoTime {
                secs: wall_secs,
                nsec,
                offset: 0,
                zone: name,
                mono: false,
            });
        }
        let (loc_off, loc_name) = loc.lookup(wall_secs);
        if loc_name == name {
            return Ok(GoTime {
                secs: wall_secs - i64::from(loc_off),
                nsec,
                offset: loc_off,
                zone: name,
                mono: false,
            });
        }
        return Ok(GoTime {
            secs: wall_secs,
            nsec,
            offset: 0,
            zone: name,
            mono: false,
        });
    }
    // A wall time in `loc`: find the offset in force at that wall time.
    let (guess, _) = loc.lookup(wall_secs);
    let secs = wall_secs - i64::from(guess);
    let (off, name) = loc.lookup(secs);
    let secs = wall_secs - i64::from(off);
    Ok(GoTime {
        secs,
        nsec,
        offset: off,
        zone: name,
        mono: false,
    })
}

fn days_in_month(first: NaiveDate) -> i64 {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map(|n| (n - first).num_days()).unwrap_or(31)
}

fn frac_nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn get_num(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &v[2..],
    ))
}

fn take_digits(v: &str, min: usize, max: usize) -> Option<i64> {
    let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    v[..n].parse().ok()
}

/// A numeric zone offset such as `-0700`, `+07:00`, `-07`.
fn parse_offset(v: &str, tz: Std) -> Option<(i32, &str)> {
    let b = v.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |s: &str| -> Option<i32> {
        if s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (h, m, s, len) = match tz {
        Std::NumShortTz | Std::Iso8601ShortTz => (digits(v.get(1..3)?)?, 0, 0, 3),
        Std::NumTz | Std::Iso8601Tz => (digits(v.get(1..3)?)?, digits(v.get(3..5)?)?, 0, 5),
        Std::NumColonTz | Std::Iso8601ColonTz => {
            if b.get(3) != Some(&b':') {
                return None;
            }
            (digits(v.get(1..3)?)?, digits(v.get(4..6)?)?, 0, 6)
        }
        Std::NumSecondsTz | Std::Iso8601SecondsTz => (
            digits(v.get(1..3)?)?,
            digits(v.get(3..5)?)?,
            digits(v.get(5..7)?)?,
            7,
        ),
        _ => {
            if b.get(3) != Some(&b':') || b.get(6) != Some(&b':') {
                return None;
            }
            (
                digits(v.get(1..3)?)?,
                digits(v.get(4..6)?)?,
                digits(v.get(7..9)?)?,
                9,
            )
        }
    };
    Some((sign * (h * 3600 + m * 60 + s), &v[len..]))
}

/// Go's `skip`: match a literal, where a space matches one or more spaces.
fn skip_literal<'a>(mut v: &'a str, lit: &str) -> Option<&'a str> {
    let mut p = lit;
    while let Some(c) = p.chars().next() {
        if c == ' ' {
            if !v.is_empty() && !v.starts_with(' ') {
                return None;
            }
            p = p.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        if !v.starts_with(c) {
            return None;
        }
        p = &p[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    Some(v)
}

// ---------------------------------------------------------------------------------------
// Durations (nanoseconds as i128 to hold any Go Duration)

/// Go `time.ParseDuration`.
pub(super) fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {}", q(orig));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut exact: i128 = 0;
    let mut all_int = true;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
            if !frac_part.is_empty() {
                all_int = false;
            }
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {}", q(orig))),
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    q(other),
                    q(orig)
                ));
            }
        };
        let int_val: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        exact = exact
            .checked_add(int_val.checked_mul(scale).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
        let frac_val: f64 = if frac_part.is_empty() {
            0.0
        } else {
            format!("0.{frac_part}").parse().unwrap_or(0.0)
        };
        total += frac_val * scale as f64;
    }
    let mut d = exact + if all_int { 0 } else { total as i128 };
    if d > i128::from(i64::MAX) {
        return Err(invalid());
    }
    if neg {
        d = -d;
    }
    Ok(d)
}

/// Go `Duration.String()`.
pub(super) fn format_duration(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("\u{b5}s", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_text(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = secs_total / 60 % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_text(u % 60_000_000_000, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

/// `v / div` with the remainder as trimmed decimals.
fn frac_text(v: u128, div: u128) -> String {
    let int = v / div;
    let rem = v % div;
    if rem == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let frac = format!("{rem:0width$}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// Go `Duration.Round(time.Second)` (halves away from zero).
fn round_to_second(d: i128) -> i128 {
    let s = 1_000_000_000i128;
    let r = d.rem_euclid(s);
    if d < 0 {
        let r = (-d) % s;
        let down = d + r;
        if r + r < s { down } else { down - s }
    } else if r + r < s {
        d - r
    } else {
        d + s - r
    }
}

/// Sprig `durationRound`: the largest whole unit (y, mo, d, h, m, s) that fits.
fn duration_round(d: i128) -> String {
    let u = d.unsigned_abs();
    let second = 1_000_000_000u128;
    let minute = 60 * second;
    let hour = 60 * minute;
    let day = 24 * hour;
    let month = 30 * day;
    let year = 365 * day;
    for (size, unit) in [
        (year, "y"),
        (month, "mo"),
        (day, "d"),
        (hour, "h"),
        (minute, "m"),
        (second, "s"),
    ] {
        if u > size {
            return format!("{}{unit}", u / size);
        }
    }
    "0s".into()
}
