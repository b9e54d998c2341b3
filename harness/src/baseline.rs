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
            o.reason = format!(
                "regressed against the baseline: {} {:+.1}% (p {})",
                m.metric,
                m.change_percent,
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
