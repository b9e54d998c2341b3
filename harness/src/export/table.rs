//! The table for the screen, printed by `run` and `summary`: a line per pair and test, each
//! `[[compare]]` with linkbench-compare's table, and the tally with suspects and hosts that did not
//! answer.

use crate::model::{SuiteComparison, Summary};
use std::fmt::Write as _;

/// The table for the screen.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:<7} reason",
        "suite", "client", "server", "test", "Gbit/s", "p99 us", "verdict"
    );
    for o in &s.pairs {
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:<7} {}",
            o.suite,
            o.client,
            o.server,
            o.test,
            o.bits_per_second
                .map(|b| format!("{:.3}", b / 1e9))
                .unwrap_or_else(|| "-".into()),
            o.latency_p99_ns
                .map(|p| format!("{:.1}", p / 1e3))
                .unwrap_or_else(|| "-".into()),
            o.verdict.shout(),
            o.reason
        );
    }
    for c in &s.comparisons {
        let _ = writeln!(
            out,
            "\ncompare suite {} (baseline) with suite {}: {}",
            c.baseline,
            c.candidate,
            comparison_state(c)
        );
        out += &c.table;
    }
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} errors{}{}",
        s.passed,
        s.failed,
        s.errors,
        if s.suspects.is_empty() {
            String::new()
        } else {
            format!("; suspect {}", s.suspects.join(", "))
        },
        if s.unreachable.is_empty() {
            String::new()
        } else {
            format!("; did not answer: {}", s.unreachable.join(", "))
        }
    );
    out
}

/// What a comparison came to, in words: `no regression`, `REGRESSION`, ... or why it was not made.
fn comparison_state(c: &SuiteComparison) -> String {
    match (&c.error, c.regressed, c.incomplete.is_empty()) {
        (Some(e), _, _) => format!("could not compare: {e}"),
        (None, true, true) => "REGRESSION".into(),
        (None, true, false) => "REGRESSION and INCOMPLETE candidate trials".into(),
        (None, false, false) => "INCOMPLETE candidate trials".into(),
        (None, false, true) => "no regression".into(),
    }
}
