//! The table for the screen, printed by `run` and `summary`: a line per pair and test (its median
//! Gbit/s or p99, and each side's CPU cost per unit, `client/server` in s/GB or us/RT), each
//! `[[compare]]` with linkbench-compare's table, a soak suite's modules (a row each with its verdict),
//! and the tally with suspects and hosts that did not answer.

use crate::model::{SuiteComparison, Summary};
use std::fmt::Write as _;

/// The table for the screen.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:>17} {:<7} reason",
        "suite", "client", "server", "test", "Gbit/s", "p99 us", "CPU c/s", "verdict"
    );
    for o in &s.pairs {
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:>17} {:<7} {}",
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
            o.cpu
                .as_ref()
                .and_then(|c| c.per_unit_text())
                .unwrap_or_else(|| "-".into()),
            o.verdict.shout(),
            o.reason
        );
    }
    modules(&mut out, s);
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

/// A soak suite's modules: a row each, with its verdict and the thresholds that failed.
fn modules(out: &mut String, s: &Summary) {
    let rows = s.module_rows();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nmodules soaked:\n{:<10} {:<10} {:<10} {:<20} {:<16} {:<7} failed",
        "suite", "host", "interface", "part number", "serial", "verdict"
    );
    for (o, m) in rows {
        let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.into());
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<20} {:<16} {:<7} {}{}",
            o.suite,
            m.host,
            or(&m.interface, "-"),
            or(&m.part_number, "(no module)"),
            or(&m.serial_number, "-"),
            m.verdict.shout(),
            m.failed.join("; "),
            if m.replayed.is_some() {
                " [replayed]"
            } else {
                ""
            }
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{four_hosts_h3_slow, outcome};
    use crate::model::{PairCpu, SideCpuFigures, Verdict};

    fn comparison(regressed: bool, incomplete: &[&str], error: Option<&str>) -> SuiteComparison {
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "optical".into(),
            regressed,
            incomplete: incomplete.iter().map(|s| s.to_string()).collect(),
            table: "TABLE\n".into(),
            error: error.map(String::from),
        }
    }

    #[test]
    fn a_pair_shows_each_sides_cpu_cost_per_unit() {
        let figures = |s_per_gb: Option<f64>, us_per_rt: Option<f64>| SideCpuFigures {
            cpu_s_per_gb: s_per_gb,
            cpu_us_per_round_trip: us_per_rt,
            host_utilization_percent: Some(12.5),
        };
        let mut bw = outcome("h1", "h2", Verdict::Pass, Some(2e9));
        bw.cpu = Some(PairCpu {
            client: Some(figures(Some(0.2137), None)),
            server: Some(figures(Some(0.35), None)),
        });
        let mut lat = outcome("h1", "h2", Verdict::Pass, None);
        lat.test = "tcp lat 64 x1".into();
        lat.cpu = Some(PairCpu {
            client: Some(figures(None, Some(18.04))),
            server: None,
        });
        let mut s = four_hosts_h3_slow();
        s.pairs = vec![bw, lat];
        let t = render(&s);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].ends_with("  0.214/0.350 s/GB pass    "), "{t}");
        assert!(lines[2].ends_with("      18.0/- us/RT pass    "), "{t}");
    }

    #[test]
    fn a_comparison_says_what_it_came_to() {
        let state = |r, i: &[&str], e| comparison_state(&comparison(r, i, e));
        assert_eq!(state(false, &[], None), "no regression");
        assert_eq!(state(true, &[], None), "REGRESSION");
        assert_eq!(
            state(true, &["x"], None),
            "REGRESSION and INCOMPLETE candidate trials"
        );
        assert_eq!(state(false, &["x"], None), "INCOMPLETE candidate trials");
        assert_eq!(
            state(true, &["x"], Some("suite b produced no report")),
            "could not compare: suite b produced no report",
            "an error says so whatever else is set"
        );
    }

    #[test]
    fn the_table_has_a_line_per_pair_the_comparisons_and_the_tally() {
        let mut s = four_hosts_h3_slow();
        s.comparisons.push(comparison(true, &[], None));
        let t = render(&s);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "suite      client     server     test                      Gbit/s     p99 us           CPU c/s verdict reason"
        );
        assert_eq!(
            lines[2],
            "suite0     h1         h3         tcp bw 64K x1              0.090          -                 - FAIL    slow \"link\" <x>"
        );
        assert!(
            t.contains("\ncompare suite dac (baseline) with suite optical: REGRESSION\nTABLE\n")
        );
        assert!(
            t.ends_with("\n3 passed, 3 failed, 0 errors; suspect h3\n"),
            "{t}"
        );
        let mut err = outcome("h1", "h9", Verdict::Error, None);
        err.latency_p99_ns = Some(12_345.0);
        s.pairs = vec![err];
        s.unreachable = vec!["h9".into()];
        s.suspects.clear();
        let t = render(&s);
        assert!(t.contains(" -       12.3                 - ERROR "), "{t}");
        assert!(t.ends_with("; did not answer: h9\n"), "{t}");
    }
}
