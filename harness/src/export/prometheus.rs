//! linkbench.prom: the Prometheus text exposition format for node_exporter's textfile collector: per
//! pair and test its bandwidth, round-trip p99, each side's CPU cost and host utilization (label
//! `side`, in base units: seconds, ratios) and whether it passed; per host its failing pairs; and when
//! the plan last finished. Label values escaped as the format asks (`\\`, `\"`, `\n`).

use crate::model::{PairOutcome, SideCpuFigures, Summary, Verdict};
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
    cpu_gauges(&mut out, s, &labels);
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

/// A CPU gauge: its name, its help text, and its value from one side's figures.
type CpuGauge = (
    &'static str,
    &'static str,
    fn(&SideCpuFigures) -> Option<f64>,
);

/// Each side's CPU figures of every pair that has them: cost per GB, per round trip, host utilization.
fn cpu_gauges(out: &mut String, s: &Summary, labels: &dyn Fn(&PairOutcome) -> String) {
    let gauges: [CpuGauge; 3] = [
        (
            "linkbench_pair_cpu_seconds_per_gigabyte",
            "CPU-seconds (user + system) of a side's data threads per 10^9 payload bytes, median of its trials (bandwidth tests).",
            |f| f.cpu_s_per_gb,
        ),
        (
            "linkbench_pair_cpu_seconds_per_round_trip",
            "CPU-seconds of a side's data threads per round trip, median of its trials (latency tests).",
            |f| f.cpu_us_per_round_trip.map(|us| us / 1e6),
        ),
        (
            "linkbench_pair_host_cpu_utilization_ratio",
            "Busy share of all a side's host CPUs while it measured (everything that ran), median of its trials.",
            |f| f.host_utilization_percent.map(|p| p / 100.0),
        ),
    ];
    for (name, help, figure) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for o in &s.pairs {
            let Some(cpu) = &o.cpu else { continue };
            for (side, figures) in [("client", &cpu.client), ("server", &cpu.server)] {
                if let Some(v) = figures.as_ref().and_then(figure) {
                    let _ = writeln!(out, "{name}{{{},side=\"{side}\"}} {v}", labels(o));
                }
            }
        }
    }
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
    fn each_sides_cpu_figures_are_gauges_in_base_units() {
        let mut s = crate::model::tests::four_hosts_h3_slow();
        s.pairs.truncate(1);
        s.pairs[0].cpu = Some(crate::model::PairCpu {
            client: Some(SideCpuFigures {
                cpu_s_per_gb: Some(0.25),
                cpu_us_per_round_trip: None,
                host_utilization_percent: Some(37.5),
            }),
            server: None,
        });
        let p = render(&s);
        let labels = "plan=\"acceptance\",suite=\"suite0\",client=\"h1\",server=\"h2\",test=\"tcp bw 64K x1\"";
        assert!(p.contains(&format!(
            "\nlinkbench_pair_cpu_seconds_per_gigabyte{{{labels},side=\"client\"}} 0.25\n"
        )));
        assert!(p.contains(&format!(
            "\nlinkbench_pair_host_cpu_utilization_ratio{{{labels},side=\"client\"}} 0.375\n"
        )));
        assert!(!p.contains("side=\"server\""), "the server has no figures");
        assert!(!p.contains("linkbench_pair_cpu_seconds_per_round_trip{"));
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
