//! `iter8 completion <shell>`: the shell's completion script, generated from the command
//! definitions (so it always knows every subcommand and flag of this build).

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::{Cli, CompletionArgs};

/// Print the completion script for `args.shell` on stdout.
pub fn run(args: CompletionArgs) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "iter8", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|_| stdout.flush())
        .context("cannot write the completion script to stdout")
}
