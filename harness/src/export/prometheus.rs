//! linkbench.prom: the Prometheus text exposition format for node_exporter's textfile collector: per
//! pair and test its bandwidth, round-trip p99 and whether it passed; per host its failing pairs; and
//! when the plan last finished. Label values escaped as the format asks (`\\`, `\"`, `\n`).

use crate::model::{PairOutcome, Summary, Verdict};
use std::fmt::Write as _;

/// The textfile.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let labels = |o: &PairOutcome| {
        format!(
            "plan=\"{}\",suite=\"{}\",client=\"{}\",server=\"{}\",test=\"{}\"",
            prom(&s.plan),
            prom(&o.suite),
            prom(&o.client),
            prom(&o.server),
            prom(&o.test)
        )
    };
    out += "# HELP linkbench_pair_bits_per_second Payload bits per second between a pair, median of its trials (10^9-based).\n# TYPE linkbench_pair_bits_per_second gauge\n";
    for o in &s.pairs {
        if let Some(b) = o.bits_per_second {
            let _ = writeln!(out, "linkbench_pair_bits_per_second{{{}}} {b}", labels(o));
        }
    }
    out += "# HELP linkbench_pair_latency_p99_seconds Round-trip p99 latency between a pair, median of its trials.\n# TYPE linkbench_pair_latency_p99_seconds gauge\n";
    for o in &s.pairs {
        if let Some(p) = o.latency_p99_ns {
            let _ = writeln!(
                out,
                "linkbench_pair_latency_p99_seconds{{{}}} {}",
                labels(o),
                p / 1e9
            );
        }
    }
    out += "# HELP linkbench_pair_passed 1 when the pair met the plan's expectations, 0 when it failed or ended in an error.\n# TYPE linkbench_pair_passed gauge\n";
    for o in &s.pairs {
        let _ = writeln!(
            out,
            "linkbench_pair_passed{{{}}} {}",
            labels(o),
            u8::from(o.verdict == Verdict::Pass)
        );
    }
    out += "# HELP linkbench_host_failing_pairs Pairs of a host that failed or ended in an error.\n# TYPE linkbench_host_failing_pairs gauge\n";
    for h in &s.hosts {
        let _ = writeln!(
            out,
            "linkbench_host_failing_pairs{{plan=\"{}\",host=\"{}\"}} {}",
            prom(&s.plan),
            prom(&h.host),
            h.failing
        );
    }
    let ts = chrono::DateTime::parse_from_rfc3339(&s.finished_at)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "# HELP linkbench_plan_last_run_timestamp_seconds When the plan last finished.\n# TYPE linkbench_plan_last_run_timestamp_seconds gauge\nlinkbench_plan_last_run_timestamp_seconds{{plan=\"{}\"}} {ts}",
        prom(&s.plan)
    );
    out
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn prom(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline_only() {
        assert_eq!(prom("a\\b\"c\"\nd"), r#"a\\b\"c\"\nd"#);
        assert_eq!(prom("<x> & 'y' %h é"), "<x> & 'y' %h é");
    }

    #[test]
    fn an_unreadable_finish_time_is_timestamp_zero() {
        let mut s = crate::model::tests::four_hosts_h3_slow();
        s.finished_at = "2026-11-24T00:01:02Z".into();
        assert!(render(&s).ends_with(
            "linkbench_plan_last_run_timestamp_seconds{plan=\"acceptance\"} 1795478462\n"
        ));
        s.finished_at = "yesterday".into();
        assert!(render(&s).ends_with("{plan=\"acceptance\"} 0\n"));
    }
}
