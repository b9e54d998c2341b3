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

#[cfg(test)]
mod tests {
    use super::*;
    use linkbench::report::model::ReportError;

    /// The round-trip p99 of a one-trial latency report, as the report states it.
    fn example_p99(report: &Report) -> f64 {
        report.results[0]
            .latency
            .as_ref()
            .expect("a latency report")
            .round_trip_ns
            .p99 as f64
    }

    /// A report from results-schema/examples (loopback, one trial).
    fn example(name: &str) -> Report {
        let path = format!(
            "{}/../results-schema/examples/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The example bandwidth report with one trial per figure, in bits per second.
    fn bandwidth(figures: &[f64]) -> Report {
        let mut r = example("loopback-tcp-bw");
        let one = r.results[0].clone();
        r.results = figures
            .iter()
            .enumerate()
            .map(|(i, &bps)| {
                let mut t = one.clone();
                t.trial = i as u32;
                t.bandwidth.as_mut().unwrap().bits_per_second = bps;
                t
            })
            .collect();
        r
    }

    fn plan(expect: &str) -> Plan {
        let text = format!(
            "name='x'\n[launcher]\nkind='local'\n[hosts]\na='127.0.0.1'\nb='127.0.0.1'\n\
             [[suite]]\ntopology='all-pairs'\ntests=[{{}}]\n[expect]\n{expect}\n"
        );
        Plan::parse(&text, "x.toml").unwrap()
    }

    fn pass(bps: Option<f64>, p99: Option<f64>) -> Judgement {
        Judgement {
            verdict: Verdict::Pass,
            reason: String::new(),
            bits_per_second: bps,
            latency_p99_ns: p99,
        }
    }

    #[test]
    fn a_complete_report_without_expectations_passes_with_its_median_figures() {
        let none = plan("");
        assert_eq!(
            judge(&none, &bandwidth(&[3e9, 1e9, 2e9])),
            pass(Some(2e9), None)
        );
        assert_eq!(
            judge(&none, &bandwidth(&[4e9, 1e9, 3e9, 2e9])),
            pass(Some(2.5e9), None),
            "an even count: the mean of the middle two"
        );
        let lat = example("loopback-tcp-lat");
        assert_eq!(
            judge(&none, &lat),
            pass(None, Some(example_p99(&lat))),
            "latency tests: the round-trip p99, no bandwidth"
        );
    }

    #[test]
    fn the_median_trial_must_reach_the_expected_bandwidth() {
        let p = plan("min_bits_per_second = 2e9");
        assert_eq!(
            judge(&p, &bandwidth(&[2e9])).verdict,
            Verdict::Pass,
            "equal is enough"
        );
        // One slow trial of three does not fail the pair; two do.
        assert_eq!(
            judge(&p, &bandwidth(&[0.1e9, 2e9, 3e9])).verdict,
            Verdict::Pass
        );
        let j = judge(&p, &bandwidth(&[0.1e9, 0.0951e9, 3e9]));
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.reason, "0.100 Gbit/s is below the expected 2.000 Gbit/s");
        assert_eq!(
            j.bits_per_second,
            Some(0.1e9),
            "the figures come with a failure"
        );
        // A latency test has no bandwidth to hold against the bandwidth expectation.
        assert_eq!(
            judge(&p, &example("loopback-tcp-lat")).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn the_median_trial_must_stay_within_the_expected_latency() {
        let lat = example("loopback-tcp-lat");
        let p99 = example_p99(&lat);
        assert!(p99 > 50_000.0, "the example's p99 is above 50 us");
        let j = judge(&plan("max_latency_p99_ns = 50000"), &lat);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(
            j.reason,
            format!(
                "round-trip p99 {:.1} us is above the expected 50.0 us",
                p99 / 1e3
            )
        );
        assert_eq!(j.latency_p99_ns, Some(p99));
        let at = judge(&plan(&format!("max_latency_p99_ns = {p99}")), &lat);
        assert_eq!(at.verdict, Verdict::Pass, "equal is within");
        // Bandwidth is judged first when a plan expects both.
        let both = plan("min_bits_per_second = 1e12\nmax_latency_p99_ns = 1");
        assert!(judge(&both, &bandwidth(&[1e9]))
            .reason
            .contains("below the expected 1000.000 Gbit/s"));
    }

    #[test]
    fn an_incomplete_report_is_an_error_with_its_first_error() {
        let p = plan("min_bits_per_second = 1e12");
        let mut r = bandwidth(&[1e9]);
        r.status = Status::Incomplete;
        let j = judge(&p, &r);
        assert_eq!(j.verdict, Verdict::Error);
        assert_eq!(j.reason, "incomplete: the run ended early");
        assert_eq!(j.bits_per_second, Some(1e9), "what it measured is kept");
        let e = |m: &str| ReportError {
            message: m.into(),
            trial: None,
            message_size: None,
        };
        r.errors = vec![e("server closed the data connection"), e("second")];
        assert_eq!(
            judge(&p, &r).reason,
            "incomplete: server closed the data connection"
        );
        // Complete but with no results: nothing was measured.
        let mut empty = bandwidth(&[]);
        empty.status = Status::Complete;
        let j = judge(&plan(""), &empty);
        assert_eq!((j.verdict, j.bits_per_second), (Verdict::Error, None));
    }

    #[test]
    fn a_broken_link_rule_fails_before_the_expectations() {
        let p = plan("min_bits_per_second = 1e12");
        let mut r = bandwidth(&[1e9, 1e9]);
        let client = r.results[1]
            .link
            .as_mut()
            .and_then(|l| l.client.as_mut())
            .unwrap();
        client.verdict.link_flapped = true;
        client.verdict.uncorrectable_errors = Some(3);
        let j = judge(&p, &r);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.reason, "link rule: trial 1 client lo: the link went down");
        // No uncorrectable block is no failure.
        let mut r = bandwidth(&[1e9]);
        client_fec(&mut r, 0);
        assert_eq!(judge(&plan(""), &r).verdict, Verdict::Pass);
        client_fec(&mut r, 7);
        assert_eq!(
            judge(&plan(""), &r).reason,
            "link rule: trial 0 client lo: 7 uncorrectable FEC blocks"
        );
    }

    fn client_fec(r: &mut Report, n: u64) {
        r.results[0]
            .link
            .as_mut()
            .and_then(|l| l.client.as_mut())
            .unwrap()
            .verdict
            .uncorrectable_errors = Some(n);
    }
}
