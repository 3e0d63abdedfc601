//! `iter8 assert`: check `completed`, `nofailure`, `slos` on `<runDir>/experiment.yaml`, polling
//! every 3 s until `--timeout`, with Iter8's log lines and exit codes, plus one line per failing
//! clause (metric, version, observed value, limit).

use std::time::Duration;

use runner::slo::{AssertCondition, AssertOutcome};

use crate::AssertArgs;
use crate::log;

const SLEEP: Duration = Duration::from_secs(3);

/// Evaluate the conditions on `<runDir>/experiment.yaml`; `Ok` iff all hold within the timeout.
pub fn run(args: AssertArgs) -> anyhow::Result<()> {
    let run_dir = args.run_dir.clone();
    check(&args.conditions, &args.timeout, &mut || {
        super::read_experiment(&run_dir)
    })
}

/// Evaluate `conditions` on the experiment `read` returns (read again at every poll);
/// `Ok` iff all hold within `timeout` (a Go duration).
pub fn check(
    condition_args: &[String],
    timeout: &str,
    read: &mut dyn FnMut() -> anyhow::Result<runner::Experiment>,
) -> anyhow::Result<()> {
    let mut conditions = Vec::new();
    for c in condition_args {
        match c.parse::<AssertCondition>() {
            Ok(cond) => conditions.push(cond),
            Err(e) => {
                log::error(&e.to_string());
                anyhow::bail!("{e} (hint: use completed, nofailure, slos or winner)");
            }
        }
    }
    let timeout = super::parse_go_duration(timeout)
        .map_err(|e| anyhow::anyhow!("invalid argument {timeout:?} for \"--timeout\" flag: {e}"))?;

    let mut spent = Duration::ZERO;
    loop {
        let exp = read()?;
        let outcomes = runner::slo::check(&exp, &conditions);
        for o in &outcomes {
            log::info(condition_line(o));
        }
        if outcomes.iter().all(|o| o.satisfied) {
            log::info("all conditions were satisfied");
            return Ok(());
        }
        if spent >= timeout {
            log::info("not all conditions were satisfied");
            for line in failing_lines(&outcomes) {
                log::warn(&line);
            }
            log::error("assert conditions failed");
            log::error("assert conditions failed");
            anyhow::bail!("assert conditions failed");
        }
        log::info(&format!(
            "sleeping {}s ................................",
            SLEEP.as_secs()
        ));
        std::thread::sleep(SLEEP);
        spent += SLEEP;
    }
}

/// Iter8's line for one condition.
fn condition_line(o: &AssertOutcome) -> &'static str {
    match (o.condition, o.satisfied) {
        (AssertCondition::Completed, true) => "experiment completed",
        (AssertCondition::Completed, false) => "experiment did not complete",
        (AssertCondition::NoFailure, true) => "experiment has no failure",
        (AssertCondition::NoFailure, false) => "experiment failed",
        (AssertCondition::Slos, true) => "SLOs are satisfied",
        (AssertCondition::Slos, false) => "SLOs are not satisfied",
        (AssertCondition::Winner, true) => "a winner was found",
        (AssertCondition::Winner, false) => "no winner was found",
    }
}

/// One line per failing clause: `<condition> not satisfied: <why>`.
fn failing_lines(outcomes: &[AssertOutcome]) -> Vec<String> {
    let mut lines = Vec::new();
    for o in outcomes.iter().filter(|o| !o.satisfied) {
        if o.failing_slos.is_empty() {
            lines.push(format!("{} not satisfied: {}", o.condition, o.reason));
        } else {
            for clause in &o.failing_slos {
                lines.push(format!("{} not satisfied: {clause}", o.condition));
            }
        }
    }
    lines
}
