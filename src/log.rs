//! Log lines in Iter8's (logrus) format on stderr: colored on a terminal, `key=value` otherwise.
//!
//! Terminal: `INFO[2023-01-11 14:43:45] <message padded to 44> ` then ` key=value` per field.
//! Not a terminal: `time=2023-01-11 14:43:45 level=info msg=<message> key=value`.
//! The special field `stack-trace` renders as `below ... ` and then each line of the trace on
//! its own line prefixed with `::Trace:: `.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// Severity, ordered from most to least severe (logrus order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Panic = 0,
    Fatal = 1,
    Error = 2,
    Warn = 3,
    Info = 4,
    Debug = 5,
    Trace = 6,
}

impl Level {
    /// Parse like logrus.ParseLevel (case-insensitive; `warn` and `warning`).
    pub fn parse(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "panic" => Ok(Level::Panic),
            "fatal" => Ok(Level::Fatal),
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            "trace" => Ok(Level::Trace),
            _ => Err(format!("not a valid logrus Level: {s:?}")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Panic => "panic",
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    fn color(self) -> u8 {
        match self {
            Level::Panic | Level::Fatal | Level::Error => 31,
            Level::Warn => 33,
            Level::Info => 36,
            Level::Debug | Level::Trace => 37,
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static TTY: OnceLock<bool> = OnceLock::new();
/// A progress bar on stderr that log lines must not tear (hidden while a line is written).
static PROGRESS: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Route log lines around `bar` while it is shown (`None` when it is gone).
pub fn set_progress(bar: Option<indicatif::ProgressBar>) {
    *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Set the most verbose level that is printed.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether `level` would be printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Whether stderr is a terminal (decided once; `ITER8_LOG_TTY=0|1` overrides for tests).
pub fn stderr_is_tty() -> bool {
    *TTY.get_or_init(|| match std::env::var("ITER8_LOG_TTY").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => std::io::stderr().is_terminal(),
    })
}

/// Write one log line with fields (in the given order).
pub fn log(level: Level, msg: &str, fields: &[(&str, &str)]) {
    if !enabled(level) {
        return;
    }
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let line = format_line(level, msg, fields, &now, stderr_is_tty());
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
    };
    let bar = PROGRESS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Format one line exactly as logrus' text formatter does with Iter8's settings.
pub fn format_line(
    level: Level,
    msg: &str,
    fields: &[(&str, &str)],
    time: &str,
    tty: bool,
) -> String {
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    let mut out = String::new();
    if tty {
        let mut text = level.name().to_ascii_uppercase();
        text.truncate(4);
        let color = level.color();
        out.push_str(&format!("\x1b[{color}m{text}\x1b[0m[{time}] {msg:<44} "));
        for (k, v) in fields {
            out.push_str(&format!(" \x1b[{color}m{k}\x1b[0m={}", field_value(k, v)));
        }
    } else {
        out.push_str(&format!("time={time} level={} msg={msg}", level.name()));
        for (k, v) in fields {
            out.push_str(&format!(" {k}={}", field_value(k, v)));
        }
    }
    out.push('\n');
    out
}

fn field_value(key: &str, value: &str) -> String {
    match key {
        "stack-trace" => {
            let mut s = String::from("below ... \n");
            let lines: Vec<String> = value.lines().map(|l| format!("::Trace:: {l}")).collect();
            s.push_str(&lines.join("\n"));
            s
        }
        "indented-trace" => {
            let mut s = String::from("below ... \n");
            let lines: Vec<String> = value.lines().map(|l| format!("  {l}")).collect();
            s.push_str(&lines.join("\n"));
            s
        }
        _ => value.to_string(),
    }
}

/// `info` level line.
pub fn info(msg: &str) {
    log(Level::Info, msg, &[]);
}

/// `warning` level line.
pub fn warn(msg: &str) {
    log(Level::Warn, msg, &[]);
}

/// `error` level line.
pub fn error(msg: &str) {
    log(Level::Error, msg, &[]);
}

/// `debug` level line.
pub fn debug(msg: &str) {
    log(Level::Debug, msg, &[]);
}

/// `info` level line with a `stack-trace` field.
pub fn info_trace(msg: &str, trace: &str) {
    log(Level::Info, msg, &[("stack-trace", trace)]);
}

/// `error` level line with a `stack-trace` field.
pub fn error_trace(msg: &str, trace: &str) {
    log(Level::Error, msg, &[("stack-trace", trace)]);
}

/// The controllers' reporter (`iter8 autox`, `iter8 abn`): their messages as log lines.
pub struct Logger;

impl iter8_controllers::Reporter for Logger {
    fn info(&self, msg: &str) {
        info(msg);
    }
    fn warn(&self, msg: &str) {
        warn(msg);
    }
    fn error(&self, msg: &str) {
        error(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Non-terminal lines match logrus with quoting disabled.
    #[test]
    fn plain_line() {
        let l = format_line(
            Level::Info,
            "experiment completed",
            &[],
            "1977-09-02 22:04:05",
            false,
        );
        assert_eq!(
            l,
            "time=1977-09-02 22:04:05 level=info msg=experiment completed\n"
        );
        let l = format_line(Level::Warn, "x", &[("a", "b")], "T", false);
        assert_eq!(l, "time=T level=warning msg=x a=b\n");
    }

    /// Terminal lines are colored, 4-letter level, message padded to 44 columns.
    #[test]
    fn tty_line() {
        let l = format_line(
            Level::Info,
            "inited Helm config",
            &[],
            "2023-01-11 14:43:45",
            true,
        );
        assert_eq!(
            l,
            format!(
                "\x1b[36mINFO\x1b[0m[2023-01-11 14:43:45] {:<44} \n",
                "inited Helm config"
            )
        );
        let l = format_line(Level::Error, "boom", &[("stack-trace", "a\nb")], "T", true);
        assert!(l.ends_with(" \x1b[31mstack-trace\x1b[0m=below ... \n::Trace:: a\n::Trace:: b\n"));
    }

    /// Level names parse case-insensitively; junk is refused.
    #[test]
    fn levels() {
        assert_eq!(Level::parse("WARNING"), Ok(Level::Warn));
        assert_eq!(Level::parse("trace"), Ok(Level::Trace));
        assert!(Level::parse("loud").is_err());
    }
}
