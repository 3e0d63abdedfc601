//! The `run` task: a shell script (Iter8 v0.13 §4.7).
//!
//! Runs `/bin/bash -c <script>` (Iter8's choice; `/bin/sh -c` when bash is absent) in the
//! current directory with the inherited environment plus `TEMP_DIR=<system temp dir>`. Combined
//! stdout+stderr is reported as an [`Event::Output`]; a non-zero exit fails the task with the
//! tail of that output in the error.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::task::{Event, TaskContext, TaskError};

/// Shell used for run tasks.
pub fn shell() -> &'static str {
    if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    }
}

/// Run `script`.
pub fn run(script: &str, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
    let out = Command::new(shell())
        .arg("-c")
        .arg(script)
        .env("TEMP_DIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .map_err(TaskError::Spawn)?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (ctx.events)(&Event::Output {
        index: ctx.index,
        text: text.clone(),
    });
    if out.status.success() {
        return Ok(());
    }
    let status = match out.status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    Err(TaskError::Script {
        status,
        output: tail,
    })
}
