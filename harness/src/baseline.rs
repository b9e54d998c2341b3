//! Comparisons through linkbench-compare's logic: this run against an earlier one (`--baseline DIR`,
//! pair by pair), and one suite against another within a plan (`[[compare]]`, e.g. the DAC suite
//! against the optical-module suite). Reads reports from the output directories and fills in the
//! result types of [`crate::model`].

use crate::model::{
    key, BaselineResult, PairOutcome, ReadError, SuiteComparison, Summary, Verdict,
};
use linkbench::compare::{self, load, Bands, MetricVerdict};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `verdict` word of a [`BaselineResult`] for linkbench-compare's verdict on a metric.
fn verdict_name(v: MetricVerdict) -> &'static str {
    match v {
        MetricVerdict::Regression => "regression",
        MetricVerdict::Improvement => "improvement",
        MetricVerdict::NoChange => "no_change",
        MetricVerdict::NotEnoughTrials => "not_enough_trials",
        MetricVerdict::HostBusy => "host_busy",
    }
}

/// A baseline result with no figure: `missing`, `incomplete`, `unreadable: ...`, `not compared: ...`.
fn without_figure(verdict: String) -> BaselineResult {
    BaselineResult {
        change_percent: None,
        verdict,
    }
}

/// Compares every outcome that has a report with the same pair and test in `baseline_dir`
/// (its `summary.json`); a regression turns a pass into a fail.
pub fn against_baseline(
    outcomes: &mut [PairOutcome],
    dir: &Path,
    baseline_dir: &Path,
) -> Result<(), ReadError> {
    let summary = Summary::read(baseline_dir)?;
    let old: BTreeMap<_, _> = summary.pairs.iter().map(|o| (key(o), o.clone())).collect();
    for o in outcomes.iter_mut() {
        let Some(report) = o.report.clone() else {
            continue;
        };
        let Some(base) = old.get(&key(o)).and_then(|b| b.report.clone()) else {
            o.baseline = Some(without_figure("missing".into()));
            continue;
        };
        against_one(o, &baseline_dir.join(&base), &dir.join(report));
    }
    Ok(())
}

/// Compares one outcome's report (`current`) with the baseline's (`base`) and records the result; a
/// regression or an incomplete trial turns a pass into a fail.
fn against_one(o: &mut PairOutcome, base: &Path, current: &Path) {
    let sides = load::read_side(base).and_then(|b| load::read_side(current).map(|c| (b, c)));
    let (b, c) = match sides {
        Ok(s) => s,
        Err(e) => {
            o.baseline = Some(without_figure(format!("unreadable: {e}")));
            return;
        }
    };
    let cmp = match compare::compare(&b, &[c], &Bands::default()) {
        Ok(cmp) => cmp,
        Err(e) => {
            o.baseline = Some(without_figure(format!("not compared: {e}")));
            return;
        }
    };
    if let Some(first) = cmp.candidates.iter().flat_map(|c| &c.incomplete).next() {
        o.baseline = Some(without_figure("incomplete".into()));
        if o.verdict == Verdict::Pass {
            o.verdict = Verdict::Fail;
            o.reason = format!("incomplete against the baseline: {first}");
        }
        return;
    }
    let metrics: Vec<_> = cmp
        .candidates
        .iter()
        .flat_map(|c| &c.matched)
        .flat_map(|m| &m.metrics)
        .collect();
    let first = metrics.first();
    let regressed = metrics
        .iter()
        .find(|m| m.verdict == MetricVerdict::Regression);
    o.baseline = Some(BaselineResult {
        change_percent: first.map(|m| m.change_percent),
        verdict: verdict_name(
            regressed
                .map(|m| m.verdict)
                .or(first.map(|m| m.verdict))
                .unwrap_or(MetricVerdict::NotEnoughTrials),
        )
        .into(),
    });
    if let Some(m) = regressed {
        if o.verdict == Verdict::Pass {
            o.verdict = Verdict::Fail;
            // A zero baseline median has no ratio.
            let change = if m.change_percent.is_finite() {
                format!("{:+.1}%", m.change_percent)
            } else {
                "n/a".into()
            };
            o.reason = format!(
                "regressed against the baseline: {} {change} (p {})",
                m.metric,
                m.p_adjusted
                    .map(|p| format!("{p:.3}"))
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
}

/// Compares the reports of two suites of this run, pooled per test.
pub fn suites(
    outcomes: &[PairOutcome],
    dir: &Path,
    baseline: &str,
    candidate: &str,
) -> SuiteComparison {
    let side = |suite: &str| -> Result<load::Side, String> {
        let mut reports = Vec::new();
        for o in outcomes.iter().filter(|o| o.suite == suite) {
            if let Some(r) = &o.report {
                let path: PathBuf = dir.join(r);
                let one = load::read_side(&path).map_err(|e| e.to_string())?;
                reports.extend(one.reports);
            }
        }
        if reports.is_empty() {
            return Err(format!("suite {suite} produced no report"));
        }
        Ok(load::Side {
            name: format!("suite {suite}"),
            reports,
        })
    };
    let result = side(baseline)
        .and_then(|b| side(candidate).map(|c| (b, c)))
        .and_then(|(b, c)| {
            compare::compare(&b, &[c], &Bands::default()).map_err(|e| e.to_string())
        });
    match result {
        Ok(cmp) => SuiteComparison {
            baseline: baseline.into(),
            candidate: candidate.into(),
            regressed: cmp.regressed,
            incomplete: cmp
                .candidates
                .iter()
                .flat_map(|c| &c.incomplete)
                .map(ToString::to_string)
                .collect(),
            table: compare::render::table(&cmp, false),
            error: None,
        },
        Err(e) => SuiteComparison {
            baseline: baseline.into(),
            candidate: candidate.into(),
            regressed: false,
            incomplete: Vec::new(),
            table: String::new(),
            error: Some(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(suite: &str, report: Option<&str>) -> PairOutcome {
        PairOutcome {
            suite: suite.into(),
            client: "h1".into(),
            server: "h2".into(),
            test: "tcp bw 64K x1".into(),
            bits_per_second: Some(1e9),
            latency_p99_ns: None,
            cpu: None,
            verdict: Verdict::Pass,
            reason: String::new(),
            report: report.map(String::from),
            attempts: 1,
            modules: Vec::new(),
            seconds: 1.0,
            baseline: None,
        }
    }

    #[test]
    fn metric_verdicts_are_named_as_summary_json_spells_them() {
        let names = [
            MetricVerdict::Regression,
            MetricVerdict::Improvement,
            MetricVerdict::NoChange,
            MetricVerdict::NotEnoughTrials,
            MetricVerdict::HostBusy,
        ]
        .map(verdict_name);
        assert_eq!(
            names,
            [
                "regression",
                "improvement",
                "no_change",
                "not_enough_trials",
                "host_busy"
            ]
        );
    }

    #[test]
    fn a_baseline_without_a_summary_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut outcomes = vec![outcome("dac", Some("reports/x.json"))];
        let e = against_baseline(&mut outcomes, dir.path(), dir.path()).unwrap_err();
        assert!(e.to_string().contains("summary.json"), "{e}");
        assert!(outcomes[0].baseline.is_none());
        assert_eq!(outcomes[0].verdict, Verdict::Pass);
    }

    #[test]
    fn a_suite_without_reports_cannot_be_compared() {
        let dir = tempfile::tempdir().unwrap();
        let outcomes = vec![outcome("dac", None), outcome("optical", None)];
        let c = suites(&outcomes, dir.path(), "dac", "optical");
        assert_eq!(c.error.as_deref(), Some("suite dac produced no report"));
        assert!(!c.regressed && c.table.is_empty() && c.incomplete.is_empty());
        assert!(c.failed());
        let c = suites(&outcomes, dir.path(), "absent", "dac");
        assert_eq!(c.error.as_deref(), Some("suite absent produced no report"));
    }

    #[test]
    fn an_unreadable_report_is_recorded_and_leaves_the_verdict_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = outcome("dac", Some("x.json"));
        against_one(
            &mut o,
            &dir.path().join("base.json"),
            &dir.path().join("x.json"),
        );
        let b = o.baseline.unwrap();
        assert_eq!(b.change_percent, None);
        assert!(b.verdict.starts_with("unreadable: "), "{}", b.verdict);
        assert_eq!(o.verdict, Verdict::Pass);
    }
}
