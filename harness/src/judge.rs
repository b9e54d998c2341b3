//! The verdict on one linkbench report: complete, within the plan's `[expect]` (the median trial's
//! bandwidth and round-trip p99) and breaking no link rule (linkbench-compare's: the link went down, an
//! uncorrectable FEC block, a module alarm). Pure: no files, no processes. It also gathers the figures
//! the summary carries: the median bandwidth or p99, and each side's CPU cost (judged nowhere: CPU cost
//! is compared against a baseline, by linkbench-compare's statistics).

use crate::model::{ModuleVerdict, PairCpu, SideCpuFigures, Verdict};
use crate::plan::Plan;
use linkbench::model::{CpuReport, SideCpu};
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
    /// Each side's CPU figures, medians over the trials that have them.
    pub cpu: Option<PairCpu>,
    /// A soak: the module at each end with its verdict.
    pub modules: Vec<ModuleVerdict>,
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
    let soak = report.results.iter().find_map(|r| r.soak.as_ref());
    let (verdict, reason) = match soak {
        // A soak is judged by its profile, a partial one failing (its report says why).
        Some(s) if s.verdict.pass && report.status == Status::Complete => {
            (Verdict::Pass, String::new())
        }
        Some(s) => (
            Verdict::Fail,
            format!("soak: {}", linkbench::report::table::soak_verdict_words(s)),
        ),
        None => verdict(plan, report, bps, p99),
    };
    Judgement {
        verdict,
        reason,
        bits_per_second: bps,
        latency_p99_ns: p99,
        cpu: cpu_figures(report),
        modules: soak.map(|s| module_verdicts(report, s)).unwrap_or_default(),
    }
}

/// Each end of a soaked link with the thresholds that failed for it: its own, and the traffic's (a
/// throughput or probe threshold concerns both ends).
fn module_verdicts(report: &Report, soak: &linkbench::model::SoakSummary) -> Vec<ModuleVerdict> {
    let result = report.results.iter().find(|r| r.soak.is_some());
    let host = |side: &str| {
        report
            .labels
            .get(&format!("harness.{side}"))
            .cloned()
            .unwrap_or_else(|| side.to_string())
    };
    ["client", "server"]
        .into_iter()
        .map(|side| {
            let link = result
                .and_then(|r| r.link.as_ref())
                .and_then(|l| match side {
                    "client" => l.client.as_ref(),
                    _ => l.server.as_ref(),
                });
            let module = soak.modules.iter().find(|m| m.side == side);
            let failed: Vec<String> = soak
                .verdict
                .thresholds
                .iter()
                .filter(|t| t.result == linkbench::model::series::ThresholdOutcome::Fail)
                .filter(|t| t.side.as_deref().is_none_or(|s| s == side))
                .map(|t| {
                    let measured = t
                        .measured
                        .map_or("not measured".into(), |m| format!("{m} {}", t.unit));
                    format!(
                        "{} {measured} (limit {} from {})",
                        t.name, t.value, t.source
                    )
                })
                .chain(
                    soak.verdict
                        .incomplete
                        .iter()
                        .map(|why| format!("incomplete: {why}")),
                )
                .collect();
            ModuleVerdict {
                side: side.into(),
                host: host(side),
                interface: link.map(|l| l.facts.interface.clone()),
                vendor: module.and_then(|m| m.vendor.clone()),
                part_number: module.and_then(|m| m.part_number.clone()),
                serial_number: module.and_then(|m| m.serial_number.clone()),
                replayed: module.filter(|m| m.replayed).and(soak.replayed.clone()),
                verdict: if failed.is_empty() {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
                failed,
            }
        })
        .collect()
}

/// Each side's CPU figures over the report's trials (every trial, as for the other figures); `None`
/// when no trial has any (a report older than 1.4.0).
pub fn cpu_figures(report: &Report) -> Option<PairCpu> {
    let side = |pick: fn(&CpuReport) -> Option<&SideCpu>| {
        let sides: Vec<&SideCpu> = report
            .results
            .iter()
            .filter_map(|r| r.cpu.as_ref().and_then(pick))
            .collect();
        let of =
            |f: fn(&SideCpu) -> Option<f64>| median(sides.iter().filter_map(|s| f(s)).collect());
        (!sides.is_empty()).then(|| SideCpuFigures {
            cpu_s_per_gb: of(|s| s.cpu_s_per_gb),
            cpu_us_per_round_trip: of(|s| s.cpu_us_per_round_trip),
            host_utilization_percent: of(|s| s.host.map(|h| h.utilization_percent)),
        })
    };
    let cpu = PairCpu {
        client: side(|c| c.client.as_ref()),
        server: side(|c| c.server.as_ref()),
    };
    (cpu.client.is_some() || cpu.server.is_some()).then_some(cpu)
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
        let mut one = r.results[0].clone();
        // As a report older than 1.4.0: no CPU figures (the tests that want them add their own).
        one.cpu = None;
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
            cpu: None,
            modules: Vec::new(),
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
        let mut lat = example("loopback-tcp-lat");
        lat.results[0].cpu = None;
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

    /// One side's CPU figures as a report carries them.
    fn side_cpu(s_per_gb: f64, util: Option<f64>) -> SideCpu {
        SideCpu {
            data_threads: 1,
            span: linkbench::model::CpuSpan::MeasuredPhase,
            user_s: 0.05,
            system_s: 0.25,
            cores_busy: Some(0.3),
            cpu_s_per_gb: Some(s_per_gb),
            cpu_us_per_round_trip: None,
            host: util.map(|u| linkbench::model::HostCpu {
                utilization_percent: u,
                user_percent: u / 4.0,
                system_percent: u * 3.0 / 4.0,
                cpus: 2,
                window_s: 1.0,
            }),
        }
    }

    #[test]
    fn the_cpu_figures_are_each_sides_medians_over_the_trials() {
        let mut r = bandwidth(&[1e9, 2e9, 3e9, 4e9]);
        assert_eq!(
            judge(&plan(""), &r).cpu,
            None,
            "no CPU figures (report 1.3.0)"
        );
        let figures = [
            (0.2, 0.4, Some(30.0)),
            (0.3, 0.5, Some(50.0)),
            (0.1, 0.9, None),
        ];
        for (t, (c, s, util)) in r.results.iter_mut().zip(figures) {
            t.cpu = Some(CpuReport {
                client: Some(side_cpu(c, util)),
                server: Some(side_cpu(s, None)),
                explanation: String::new(),
            });
        }
        // The fourth trial's server figures never arrived.
        r.results[3].cpu = Some(CpuReport {
            client: Some(side_cpu(0.25, Some(40.0))),
            server: None,
            explanation: String::new(),
        });
        let cpu = judge(&plan(""), &r).cpu.unwrap();
        let client = cpu.client.unwrap();
        assert_eq!(
            client.cpu_s_per_gb,
            Some(0.225),
            "median of 0.1, 0.2, 0.25, 0.3"
        );
        assert_eq!(
            client.host_utilization_percent,
            Some(40.0),
            "of the three that have it"
        );
        assert_eq!(client.cpu_us_per_round_trip, None, "a bandwidth test");
        let server = cpu.server.unwrap();
        assert_eq!(server.cpu_s_per_gb, Some(0.5));
        assert_eq!(server.host_utilization_percent, None);
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
