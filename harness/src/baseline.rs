//! Comparisons through linkbench-compare's logic: this run against an earlier one (`--baseline DIR`,
//! pair by pair), and one suite against another within a plan (`[[compare]]`, e.g. the DAC suite
//! against the optical-module suite).

use crate::runner::{key, PairOutcome, Verdict};
use linkbench::compare::{self, load, Bands, MetricVerdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One pair and test against the baseline run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineResult {
    /// Median change of the first metric (bandwidth, or latency p50), percent.
    pub change_percent: Option<f64>,
    /// `regression`, `improvement`, `no_change`, `not_enough_trials`, `incomplete` (a trial of this run
    /// did not complete), `missing` (no such pair there), `unreadable: ...` or `not compared: ...`.
    pub verdict: String,
}

/// A suite-against-suite comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteComparison {
    pub baseline: String,
    pub candidate: String,
    pub regressed: bool,
    /// The candidate suite's trials that did not complete: each fails the comparison, as in
    /// linkbench-compare.
    #[serde(default)]
    pub incomplete: Vec<String>,
    /// linkbench-compare's table.
    pub table: String,
    pub error: Option<String>,
}

impl SuiteComparison {
    /// True when the comparison could not be made, found a regression or incomplete candidate trials.
    pub fn failed(&self) -> bool {
        self.regressed || !self.incomplete.is_empty() || self.error.is_some()
    }
}

fn verdict_name(v: MetricVerdict) -> &'static str {
    match v {
        MetricVerdict::Regression => "regression",
        MetricVerdict::Improvement => "improvement",
        MetricVerdict::NoChange => "no_change",
        MetricVerdict::NotEnoughTrials => "not_enough_trials",
    }
}

/// Compares every outcome that has a report with the same pair and test in `baseline_dir`
/// (its `summary.json`); a regression turns a pass into a fail.
pub fn against_baseline(
    outcomes: &mut [PairOutcome],
    dir: &Path,
    baseline_dir: &Path,
) -> Result<(), String> {
    let summary = crate::summary::Summary::read(baseline_dir)?;
    let old: BTreeMap<_, _> = summary.pairs.iter().map(|o| (key(o), o.clone())).collect();
    for o in outcomes.iter_mut() {
        let Some(report) = &o.report else { continue };
        let Some(base) = old.get(&key(o)).and_then(|b| b.report.clone()) else {
            o.baseline = Some(BaselineResult {
                change_percent: None,
                verdict: "missing".into(),
            });
            continue;
        };
        let sides = load::read_side(&baseline_dir.join(&base))
            .and_then(|b| load::read_side(&dir.join(report)).map(|c| (b, c)));
        let (b, c) = match sides {
            Ok(s) => s,
            Err(e) => {
                o.baseline = Some(BaselineResult {
                    change_percent: None,
                    verdict: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        let cmp = match compare::compare(&b, &[c], &Bands::default()) {
            Ok(cmp) => cmp,
            Err(e) => {
                o.baseline = Some(BaselineResult {
                    change_percent: None,
                    verdict: format!("not compared: {e}"),
                });
                continue;
            }
        };
        if let Some(first) = cmp.candidates.iter().flat_map(|c| &c.incomplete).next() {
            o.baseline = Some(BaselineResult {
                change_percent: None,
                verdict: "incomplete".into(),
            });
            if o.verdict == Verdict::Pass {
                o.verdict = Verdict::Fail;
                o.reason = format!("incomplete against the baseline: {first}");
            }
            continue;
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
    Ok(())
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
