//! `iter8 version`: build information.

use crate::VersionArgs;

/// The Iter8 release whose local commands this binary implements.
pub const VERSION: &str = "v0.13.0";

/// Print `BuildInfo{...}` (or `v0.13.0+g<commit7>` with `--short`).
pub fn run(args: VersionArgs) -> anyhow::Result<()> {
    let commit = env!("ITER8_GIT_COMMIT");
    if args.short {
        if commit.len() >= 7 {
            println!("{VERSION}+g{}", &commit[..7]);
        } else {
            println!("{VERSION}");
        }
    } else {
        println!(
            "cmd.BuildInfo{{Version:{VERSION:?}, GitCommit:{commit:?}, RustVersion:{:?}}}",
            env!("ITER8_RUSTC_VERSION")
        );
    }
    Ok(())
}
