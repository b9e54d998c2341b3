//! The verdict on one linkbench report: complete, within the plan's `[expect]` (the median trial's
//! bandwidth and round-trip p99) and breaking no link rule (linkbench-compare's: the link went down, an
//! uncorrectable FEC block, a module alarm). Pure: no files, no processes.

use crate::model::Verdict;
use crate::plan::Plan;
use linkbench::report::model::{Report, Status};

/// What [`judge`] decided about one report, and the figures it decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Empty for a pass; otherwise one line saying why.
    pub reason: String,
    /// Median over the trials of the bits per second (bandwidth tests).
    pub bits_per_second: Option<f64>,
    /// Median over the trials of the round-trip p99 in ns (latency tests).
    pub latency_p99_ns: Option<f64>,
}

/// Median of the values present; `None` when there are none.
fn median(values: Vec<f64>) -> Option<f64> {
    (!values.is_empty()).then(|| linkbench::compare::stats::median(&values))
}

/// Judges a report against the plan's expectations and the exact link rules: an incomplete report is an
/// error, a broken link rule a failure before the expectations are looked at.
pub fn judge(plan: &Plan, report: &Report) -> Judgement {
    let bps = median(
        report
            .results
            .iter()
            .filter_map(|r| r.bandwidth.as_ref().map(|b| b.bits_per_second))
            .collect(),
    );
    let p99 = median(
        report
            .results
            .iter()
            .filter_map(|r| r.latency.as_ref().map(|l| l.round_trip_ns.p99 as f64))
            .collect(),
    );
    let (verdict, reason) = verdict(plan, report, bps, p99);
    Judgement {
        verdict,
        reason,
        bits_per_second: bps,
        latency_p99_ns: p99,
    }
}

/// The verdict and its reason, given the report's median figures.
fn verdict(plan: &Plan, report: &Report, bps: Option<f64>, p99: Option<f64>) -> (Verdict, String) {
    if report.status != Status::Complete || report.results.is_empty() {
        let why = report
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the run ended early".into());
        return (Verdict::Error, format!("incomplete: {why}"));
    }
    let link = linkbench::compare::link_failures(&report.results);
    if let Some(first) = link.first() {
        return (Verdict::Fail, format!("link rule: {first}"));
    }
    if let (Some(min), Some(v)) = (plan.expect.min_bits_per_second, bps) {
        if v < min {
            return (
                Verdict::Fail,
                format!(
                    "{:.3} Gbit/s is below the expected {:.3} Gbit/s",
                    v / 1e9,
                    min / 1e9
                ),
            );
        }
    }
    if let (Some(max), Some(v)) = (plan.expect.max_latency_p99_ns, p99) {
        if v > max {
            return (
                Verdict::Fail,
                format!(
                    "round-trip p99 {:.1} us is above the expected {:.1} us",
                    v / 1e3,
                    max / 1e3
                ),
            );
        }
    }
    (Verdict::Pass, String::new())
}
