//! Trials that did not complete, named: which report, which result and trial, and why (from the report's
//! own `errors`). In a candidate each one fails the comparison, since a run that broke must never pass a
//! gate as "no regression"; in the baseline they are left out of the statistics and listed.

use super::load::Side;
use super::ResultKey;
use crate::report::{Report, Status, TestResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A trial (or a whole run) that did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IncompleteTrial {
    /// The report file.
    pub report: String,
    /// The result, `tcp stream bw 128K x1`; null when the run ended before or between trials.
    pub result: Option<String>,
    /// The trial's index among its repeats; null with `result`.
    pub trial: Option<u32>,
    /// Why, from the report's `errors`.
    pub why: String,
}

impl fmt::Display for IncompleteTrial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.result, self.trial) {
            (Some(result), Some(trial)) => write!(
                f,
                "{}: {result} trial {trial} did not complete: {}",
                self.report, self.why
            ),
            _ => write!(f, "{}: the run ended early: {}", self.report, self.why),
        }
    }
}

/// Why a trial (or, with `None`, the run) ended early, from the report's errors.
fn why(report: &Report, result: Option<&TestResult>) -> String {
    let own: Vec<&str> = report
        .errors
        .iter()
        .filter(|e| match result {
            Some(r) => e.trial == Some(r.trial) && e.message_size == Some(r.message_size),
            None => e.trial.is_none(),
        })
        .map(|e| e.message.as_str())
        .collect();
    if !own.is_empty() {
        return own.join("; ");
    }
    match report.errors.first() {
        Some(e) => e.message.clone(),
        None => "marked incomplete, with no error recorded".into(),
    }
}

/// Every incomplete trial of a side, in report order; a report marked incomplete whose results all
/// completed (the run ended between trials, or before the first) counts as one entry for the run.
pub fn of_side(side: &Side) -> Vec<IncompleteTrial> {
    let mut out = Vec::new();
    for (path, report) in &side.reports {
        let before = out.len();
        for r in report.results.iter().filter(|r| !r.complete) {
            out.push(IncompleteTrial {
                report: path.display().to_string(),
                result: Some(ResultKey::of(r).label()),
                trial: Some(r.trial),
                why: why(report, Some(r)),
            });
        }
        if report.status == Status::Incomplete && out.len() == before {
            out.push(IncompleteTrial {
                report: path.display().to_string(),
                result: None,
                trial: None,
                why: why(report, None),
            });
        }
    }
    out
}
