//! linkbench-compare's logic: match the results of a baseline and candidates (transport, op, test,
//! message size, streams, direction), compare each metric over the trials of each side, and decide.
//!
//! A change is a **regression** only when it is statistically significant (Mann-Whitney U, Holm-corrected
//! across the metrics of one group of a result, alpha 0.05), larger than the metric's noise band, and its
//! bootstrap 95% interval lies wholly outside the band (a change at the band's edge is not beyond it).
//! The groups ([`MetricGroup`]) are speed (bandwidth or latency) and CPU cost (each side's CPU-seconds
//! per GB or CPU-microseconds per round trip, from the report's `cpu`): CPU cost is its own question,
//! with its own noise band, and a result without CPU figures (a report older than 1.4.0) simply has no
//! CPU metric.
//! When the trial counts cannot reach significance whatever the data (the smallest Mann-Whitney p,
//! 2 / C(n1 + n2, n1), times the Holm family size, is not below 0.05) the verdict is "not enough
//! trials", with how many would do ([`TrialsNeeded`]): four a side for one metric, five for the four
//! latency percentiles.
//! Unmatched results are listed, never dropped. Incomplete trials are left out of the statistics and
//! named ([`incomplete`]): in a candidate each one fails the comparison (exit 1, like a regression); in
//! the baseline they are listed, and a baseline with no complete trial at all cannot be compared with.

pub mod host_load;
pub mod html;
pub mod incomplete;
pub mod load;
pub mod render;
pub mod soak_html;
pub mod stats;
pub mod timeplot;

use crate::plan::{TestKind, TransportKind};
use crate::report::TestResult;
use incomplete::IncompleteTrial;
use load::Side;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Trials per side needed for a verdict on a result with one metric (equal sides); more metrics need
/// more ([`TrialsNeeded`]).
pub const MIN_TRIALS: usize = 4;
/// Trials a side below which no statistic is computed at all.
const MIN_SAMPLES: usize = 2;
/// Significance level.
pub const ALPHA: f64 = 0.05;

/// What a metric measures: its `--threshold` group name, and the metrics Holm-corrected together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricGroup {
    /// Bandwidth and message rate (`--threshold bandwidth=PCT`).
    Bandwidth,
    /// Round-trip percentiles (`--threshold latency=PCT`).
    Latency,
    /// Each side's CPU cost per unit of work (`--threshold cpu=PCT`).
    Cpu,
}

impl MetricGroup {
    /// The group's name in `--threshold GROUP=PCT`.
    pub fn name(self) -> &'static str {
        match self {
            MetricGroup::Bandwidth => "bandwidth",
            MetricGroup::Latency => "latency",
            MetricGroup::Cpu => "cpu",
        }
    }
}

/// A metric that can be compared.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    /// Its group: `--threshold GROUP=PCT` sets the band of all of them, and the Holm correction runs
    /// over the metrics of one group of a result (speed and CPU cost are separate questions).
    pub group: MetricGroup,
    pub higher_is_better: bool,
    /// Default noise band in percent.
    pub band_percent: f64,
    pub unit: &'static str,
    /// A metric that is an exact rescaling of another (message rate of bandwidth, at a fixed size) shares
    /// its test instead of adding one to the Holm family.
    pub derived_from: Option<&'static str>,
    extract: fn(&TestResult) -> Option<f64>,
}

/// Default noise band of the CPU-cost metrics, percent. CPU time is noisier than the bytes moved: the
/// same link measured twice spends different CPU as frequency scaling, cache and interrupt placement,
/// other processes and the kernel's batching (how many bytes one system call or one interrupt moved)
/// differ, and trials of one run share those conditions, so runs differ by more than their trials
/// spread. Measured (2026-12-03, `tests/compare.rs`' 1 Gbit/s tbf link, 0.3 s trials, 5 a run, the
/// server's data thread 5% busy): the server's CPU per GB spread 0.33-0.95 s/GB over the trials and
/// 0.42-0.77 over 24 run medians; of the 276 pairs of those runs, a 10% band flagged 2, 15% and 20%
/// one, 25% none; with the other compare tests loading the host a 10% band flagged 1-2 of 20
/// consecutive pairs (one at +51.6%, 95% interval [+15.1, +73.7]). `--threshold cpu=PCT` (or one
/// metric by name) changes it.
pub const CPU_BAND_PERCENT: f64 = 25.0;

/// Every metric, in display order.
pub const METRICS: [Metric; 10] = [
    Metric {
        name: "bits_per_second",
        group: MetricGroup::Bandwidth,
        higher_is_better: true,
        band_percent: 2.0,
        unit: "Gbit/s",
        derived_from: None,
        extract: |r| r.bandwidth.as_ref().map(|b| b.bits_per_second),
    },
    Metric {
        name: "messages_per_second",
        group: MetricGroup::Bandwidth,
        higher_is_better: true,
        band_percent: 2.0,
        unit: "Mmsg/s",
        derived_from: Some("bits_per_second"),
        extract: |r| r.bandwidth.as_ref().map(|b| b.messages_per_second),
    },
    Metric {
        name: "latency_p50_ns",
        group: MetricGroup::Latency,
        higher_is_better: false,
        band_percent: 5.0,
        unit: "us",
        derived_from: None,
        extract: |r| r.latency.as_ref().map(|l| l.round_trip_ns.p50 as f64),
    },
    Metric {
        name: "latency_p99_ns",
        group: MetricGroup::Latency,
        higher_is_better: false,
        band_percent: 5.0,
        unit: "us",
        derived_from: None,
        extract: |r| r.latency.as_ref().map(|l| l.round_trip_ns.p99 as f64),
    },
    Metric {
        name: "latency_p99_9_ns",
        group: MetricGroup::Latency,
        higher_is_better: false,
        band_percent: 5.0,
        unit: "us",
        derived_from: None,
        extract: |r| r.latency.as_ref().map(|l| l.round_trip_ns.p99_9 as f64),
    },
    Metric {
        name: "latency_max_ns",
        group: MetricGroup::Latency,
        higher_is_better: false,
        band_percent: 5.0,
        unit: "us",
        derived_from: None,
        extract: |r| r.latency.as_ref().map(|l| l.round_trip_ns.max as f64),
    },
    // CPU cost per unit of work, each side as it measured its data threads (report's `cpu.client` and
    // `cpu.server`): lower is better; present only where the report has the figure.
    Metric {
        name: "client_cpu_s_per_gb",
        group: MetricGroup::Cpu,
        higher_is_better: false,
        band_percent: CPU_BAND_PERCENT,
        unit: "s/GB",
        derived_from: None,
        extract: |r| r.cpu.as_ref()?.client.as_ref()?.cpu_s_per_gb,
    },
    Metric {
        name: "server_cpu_s_per_gb",
        group: MetricGroup::Cpu,
        higher_is_better: false,
        band_percent: CPU_BAND_PERCENT,
        unit: "s/GB",
        derived_from: None,
        extract: |r| r.cpu.as_ref()?.server.as_ref()?.cpu_s_per_gb,
    },
    Metric {
        name: "client_cpu_us_per_round_trip",
        group: MetricGroup::Cpu,
        higher_is_better: false,
        band_percent: CPU_BAND_PERCENT,
        unit: "us/RT",
        derived_from: None,
        extract: |r| r.cpu.as_ref()?.client.as_ref()?.cpu_us_per_round_trip,
    },
    Metric {
        name: "server_cpu_us_per_round_trip",
        group: MetricGroup::Cpu,
        higher_is_better: false,
        band_percent: CPU_BAND_PERCENT,
        unit: "us/RT",
        derived_from: None,
        extract: |r| r.cpu.as_ref()?.server.as_ref()?.cpu_us_per_round_trip,
    },
];

/// A `--threshold` that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid --threshold '{0}': use METRIC=PERCENT with METRIC one of bandwidth, latency, cpu, {names}, e.g. bits_per_second=3", names = METRICS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "))]
pub struct ThresholdError(pub String);

/// Noise bands per metric, in percent.
#[derive(Debug, Clone)]
pub struct Bands(BTreeMap<&'static str, f64>);

impl Default for Bands {
    fn default() -> Self {
        Bands(METRICS.iter().map(|m| (m.name, m.band_percent)).collect())
    }
}

impl Bands {
    /// Applies `METRIC=PERCENT`; `bandwidth`, `latency` and `cpu` set a whole group.
    pub fn set(&mut self, text: &str) -> Result<(), ThresholdError> {
        let err = || ThresholdError(text.to_string());
        let (name, value) = text.split_once('=').ok_or_else(err)?;
        let pct: f64 = value
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| err())?;
        if !pct.is_finite() || !(0.0..=1000.0).contains(&pct) {
            return Err(err());
        }
        let name = name.trim();
        let names: Vec<&'static str> = METRICS
            .iter()
            .filter(|m| m.name == name || m.group.name() == name)
            .map(|m| m.name)
            .collect();
        if names.is_empty() {
            return Err(err());
        }
        for n in names {
            self.0.insert(n, pct);
        }
        Ok(())
    }

    pub fn get(&self, metric: &str) -> f64 {
        self.0.get(metric).copied().unwrap_or(5.0)
    }
}

/// What identifies "the same test" across reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ResultKey {
    pub transport: TransportKind,
    pub op: String,
    pub test: TestKind,
    pub message_size: u64,
    pub streams: u32,
    pub reverse: bool,
}

impl ResultKey {
    pub fn of(r: &TestResult) -> ResultKey {
        ResultKey {
            transport: r.transport,
            op: r.op.clone(),
            test: r.test,
            message_size: r.message_size,
            streams: r.streams,
            reverse: r.reverse,
        }
    }

    /// `tcp stream bw 64K x1` style label.
    pub fn label(&self) -> String {
        format!(
            "{} {} {}{} {} x{}",
            self.transport,
            self.op,
            self.test,
            if self.reverse { " reverse" } else { "" },
            crate::units::format_size(self.message_size),
            self.streams
        )
    }
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricVerdict {
    Regression,
    Improvement,
    /// Not significant, or within the noise band.
    NoChange,
    /// No data could give a verdict with these trial counts (see [`TrialsNeeded`]).
    NotEnoughTrials,
    /// CPU cost only: a host of either run was busy with other work while it measured, so the figures
    /// are not judged (`MatchedResult::busy_hosts` says which; see [`host_load`]).
    HostBusy,
}

/// What a "not enough trials" verdict needs: with fewer trials than this, even two samples wholly apart
/// give a Holm-corrected p at or above alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TrialsNeeded {
    /// Metrics corrected together (the independent metrics of the result in this metric's group).
    pub family: usize,
    /// Trials per side, with both sides equal.
    pub per_side: usize,
    /// Trials the smaller side needs beside the larger side's count as it is.
    pub smaller_side: usize,
}

/// One metric of one matched result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricComparison {
    pub metric: String,
    pub baseline_median: f64,
    pub candidate_median: f64,
    pub change_percent: f64,
    /// Bootstrap 95% interval of the change in percent; null with too few trials.
    pub ci_percent: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    /// Holm-adjusted across the independent metrics of this result.
    pub p_adjusted: Option<f64>,
    pub band_percent: f64,
    pub verdict: MetricVerdict,
    /// Set with a "not enough trials" verdict: how many trials would allow one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials_needed: Option<TrialsNeeded>,
    /// The per-trial values the statistics used, in report order.
    pub baseline_samples: Vec<f64>,
    pub candidate_samples: Vec<f64>,
}

/// A result present on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatchedResult {
    pub key: ResultKey,
    pub label: String,
    pub baseline_trials: usize,
    pub candidate_trials: usize,
    /// Trials marked incomplete, left out of the statistics.
    pub baseline_incomplete: usize,
    pub candidate_incomplete: usize,
    pub metrics: Vec<MetricComparison>,
    /// Exact link rules broken on the candidate's trials, no statistics involved: a link flap, any
    /// uncorrectable FEC block, a module monitor at an alarm level. Each fails the comparison.
    pub link_failures: Vec<String>,
    /// Trials whose host was busy with other work (baseline's and candidate's, each named): their CPU
    /// cost is shown but not judged. Empty when every host was quiet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busy_hosts: Vec<String>,
}

/// One candidate against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateComparison {
    pub candidate: String,
    pub matched: Vec<MatchedResult>,
    /// Results only the baseline has.
    pub only_in_baseline: Vec<String>,
    /// Results only the candidate has.
    pub only_in_candidate: Vec<String>,
    pub regressions: usize,
    pub improvements: usize,
    /// Link-rule failures summed over the matched results.
    pub link_failures: usize,
    /// The candidate's trials that did not complete (and runs that ended early), each a failure.
    pub incomplete: Vec<IncompleteTrial>,
}

/// The whole comparison: what linkbench-compare prints and decides on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub baseline: String,
    pub candidates: Vec<CandidateComparison>,
    /// True when some metric of some candidate regressed or a link rule failed.
    pub regressed: bool,
    /// True when `regressed`, or when some candidate has incomplete trials (exit code 1).
    pub failed: bool,
    /// The baseline's trials that did not complete: left out of the statistics, not a failure.
    pub baseline_incomplete: Vec<IncompleteTrial>,
    pub alpha: f64,
    pub min_trials: usize,
}

/// Nothing could be compared.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("nothing to compare: {0}")]
pub struct NothingToCompare(pub String);

/// Per result, why its trials' CPU cost cannot be judged (see [`host_load::busy_host`]), each note
/// prefixed with `prefix` (`baseline`, or the candidate's name). Complete trials only.
fn busy_hosts(side: &Side, prefix: &str) -> BusyByResult {
    let mut out = BusyByResult::new();
    for (_, report) in &side.reports {
        for r in report.results.iter().filter(|r| r.complete) {
            if let Some(why) = host_load::busy_host(report, r) {
                out.entry(ResultKey::of(r))
                    .or_default()
                    .push(format!("{prefix} {why}"));
            }
        }
    }
    out
}

/// Results by what they measured.
pub type Grouped = BTreeMap<ResultKey, Vec<TestResult>>;

/// A side's results grouped by key (every trial of the same test together).
pub fn group(side: &Side) -> Grouped {
    let mut groups: Grouped = BTreeMap::new();
    for (_, report) in &side.reports {
        for r in &report.results {
            groups.entry(ResultKey::of(r)).or_default().push(r.clone());
        }
    }
    groups
}

/// Compares every candidate with the baseline.
pub fn compare(
    baseline: &Side,
    candidates: &[Side],
    bands: &Bands,
) -> Result<Comparison, NothingToCompare> {
    let base = group(baseline);
    let baseline_incomplete = incomplete::of_side(baseline);
    let ended_early = |name: &str, side: &[IncompleteTrial]| {
        let why = side.first().map(|t| format!(" ({t})")).unwrap_or_default();
        NothingToCompare(format!("{name} holds no results{why}"))
    };
    if base.is_empty() {
        return Err(ended_early(&baseline.name, &baseline_incomplete));
    }
    if base.values().flatten().all(|r| !r.complete) {
        return Err(NothingToCompare(format!(
            "the baseline {} has no complete trial ({}); choose a baseline run that completed",
            baseline.name,
            baseline_incomplete
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        )));
    }
    let base_busy = busy_hosts(baseline, "baseline");
    let mut out = Vec::new();
    for candidate in candidates {
        let cand = group(candidate);
        let incomplete = incomplete::of_side(candidate);
        // A candidate whose run failed before any result is a failure to name, not bad input.
        if cand.is_empty() && incomplete.is_empty() {
            return Err(ended_early(&candidate.name, &incomplete));
        }
        let cand_busy = busy_hosts(candidate, &format!("candidate {}", candidate.name));
        let busy = [&base_busy, &cand_busy];
        let mut one = compare_one(&base, &cand, &candidate.name, bands, busy);
        one.incomplete = incomplete;
        out.push(one);
    }
    if out
        .iter()
        .all(|c| c.matched.is_empty() && c.incomplete.is_empty())
    {
        return Err(NothingToCompare(format!(
            "no result of {} matches the baseline {} (same transport, op, test, size, streams, direction)",
            candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
            baseline.name
        )));
    }
    let regressed = out.iter().any(|c| c.regressions > 0 || c.link_failures > 0);
    let failed = regressed || out.iter().any(|c| !c.incomplete.is_empty());
    Ok(Comparison {
        baseline: baseline.name.clone(),
        candidates: out,
        regressed,
        failed,
        baseline_incomplete,
        alpha: ALPHA,
        min_trials: MIN_TRIALS,
    })
}

/// One side's [`busy_hosts`]: per result, why its CPU cost is not judged.
type BusyByResult = BTreeMap<ResultKey, Vec<String>>;

fn compare_one(
    base: &Grouped,
    cand: &Grouped,
    name: &str,
    bands: &Bands,
    busy: [&BusyByResult; 2],
) -> CandidateComparison {
    let mut matched = Vec::new();
    for (key, base_results) in base {
        let Some(cand_results) = cand.get(key) else {
            continue;
        };
        let complete = |rs: &[TestResult]| {
            rs.iter()
                .filter(|r| r.complete)
                .cloned()
                .collect::<Vec<_>>()
        };
        let (b, c) = (complete(base_results), complete(cand_results));
        let metrics = METRICS
            .iter()
            .filter_map(|m| {
                let bv: Vec<f64> = b.iter().filter_map(|r| (m.extract)(r)).collect();
                let cv: Vec<f64> = c.iter().filter_map(|r| (m.extract)(r)).collect();
                (!bv.is_empty() && !cv.is_empty()).then(|| measure(m, &bv, &cv, bands.get(m.name)))
            })
            .collect();
        matched.push(MatchedResult {
            label: key.label(),
            key: key.clone(),
            baseline_trials: b.len(),
            candidate_trials: c.len(),
            baseline_incomplete: base_results.len() - b.len(),
            candidate_incomplete: cand_results.len() - c.len(),
            metrics,
            link_failures: link_failures(cand_results),
            busy_hosts: busy
                .iter()
                .flat_map(|b| b.get(key))
                .flatten()
                .cloned()
                .collect(),
        });
    }
    for result in &mut matched {
        adjust_and_decide(&mut result.metrics);
        withhold_busy_cpu(result);
    }
    // A result counts once per independent metric (message rate repeats bandwidth's verdict).
    let count = |v: MetricVerdict| {
        matched
            .iter()
            .flat_map(|m| &m.metrics)
            .filter(|x| {
                x.verdict == v && metric_named(&x.metric).is_some_and(|m| m.derived_from.is_none())
            })
            .count()
    };
    CandidateComparison {
        link_failures: matched.iter().map(|m| m.link_failures.len()).sum(),
        candidate: name.to_string(),
        regressions: count(MetricVerdict::Regression),
        improvements: count(MetricVerdict::Improvement),
        only_in_baseline: base
            .keys()
            .filter(|k| !cand.contains_key(k))
            .map(ResultKey::label)
            .collect(),
        only_in_candidate: cand
            .keys()
            .filter(|k| !base.contains_key(k))
            .map(ResultKey::label)
            .collect(),
        matched,
        incomplete: Vec::new(),
    }
}

/// The exact link rules, applied to every trial (complete or not) of one side: the link went down, an
/// uncorrectable FEC block, a module monitor at an alarm level before or after the trial.
pub fn link_failures(results: &[TestResult]) -> Vec<String> {
    let mut out = Vec::new();
    for r in results {
        let Some(sides) = &r.link else { continue };
        for (side, link) in sides.each() {
            let at = format!("trial {} {side} {}", r.trial, link.facts.interface);
            if link.verdict.link_flapped {
                out.push(format!("{at}: the link went down"));
            }
            if let Some(n) = link.verdict.uncorrectable_errors.filter(|&n| n > 0) {
                out.push(format!("{at}: {n} uncorrectable FEC blocks"));
            }
            // Only an alarm the module itself raised during the trial fails a link: a value linkbench
            // finds past a threshold (a dark lane, unprogrammed limits) is not the module's alarm, and
            // a flag latched before the trial (read and cleared by the first read) is not this trial's.
            for f in link
                .module_flags_during()
                .into_iter()
                .filter(|f| f.is_alarm())
            {
                let lane = f.lane.map(|l| format!(" lane {l}")).unwrap_or_default();
                out.push(format!(
                    "{at}: module raised {}{lane} {}",
                    f.monitor, f.level
                ));
            }
        }
    }
    out
}

/// CPU cost measured while a host was busy with other work is shown but not judged.
fn withhold_busy_cpu(result: &mut MatchedResult) {
    if result.busy_hosts.is_empty() {
        return;
    }
    for m in &mut result.metrics {
        if metric_named(&m.metric).is_some_and(|x| x.group == MetricGroup::Cpu) {
            m.verdict = MetricVerdict::HostBusy;
            m.trials_needed = None;
        }
    }
}

fn metric_named(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Whether a comparison's metric is one of `group` and has a test of its own (not derived).
fn independent_in(m: &MetricComparison, group: MetricGroup) -> bool {
    metric_named(&m.metric).is_some_and(|x| x.group == group && x.derived_from.is_none())
}

/// Holm-corrects the independent metrics of one result, group by group (speed and CPU cost are separate
/// questions: "did this test get slower?" and "does it cost more CPU?"), gives derived metrics their
/// source's adjusted p, and decides every metric.
///
/// Why per result and not across a whole sweep: with 5 trials a side the smallest possible Mann-Whitney p
/// is 2/252 = 0.008, so a correction over the ten metrics of a 4-size sweep could never reach 0.05 and no
/// regression would ever be found. The noise band and the rule that the interval must lie outside it are
/// what keep many sizes from flagging noise (tests/compare.rs measures the false-regression rate).
/// Why CPU cost apart: in one family with bandwidth it would raise the trials bandwidth needs from 4 to
/// 5 a side, and a report without CPU figures would be judged differently from one with them.
fn adjust_and_decide(metrics: &mut [MetricComparison]) {
    let mut family_of = vec![1; metrics.len()];
    for group in [
        MetricGroup::Bandwidth,
        MetricGroup::Latency,
        MetricGroup::Cpu,
    ] {
        let family: Vec<usize> = (0..metrics.len())
            .filter(|&i| metrics[i].p_value.is_some() && independent_in(&metrics[i], group))
            .collect();
        let p: Vec<f64> = family
            .iter()
            .map(|&i| metrics[i].p_value.unwrap_or(1.0))
            .collect();
        for (&i, adjusted) in family.iter().zip(stats::holm(&p)) {
            metrics[i].p_adjusted = Some(adjusted);
        }
        for (i, m) in metrics.iter().enumerate() {
            if metric_named(&m.metric).is_some_and(|x| x.group == group) {
                family_of[i] = family.len().max(1);
            }
        }
    }
    for i in 0..metrics.len() {
        if let Some(source) = metric_named(&metrics[i].metric).and_then(|m| m.derived_from) {
            metrics[i].p_adjusted = metrics
                .iter()
                .find(|x| x.metric == source)
                .and_then(|x| x.p_adjusted);
        }
    }
    for (m, family) in metrics.iter_mut().zip(family_of) {
        m.verdict = decide(m);
        let (n1, n2) = (m.baseline_samples.len(), m.candidate_samples.len());
        // Holm multiplies the smallest p by the family size: when even the smallest p these trial
        // counts allow cannot pass, "no change" would hide any change at all.
        // Only a verdict the test did not reach is replaced: with ties the test takes its normal
        // approximation, whose p can go below the exact floor, and a verdict it reached stands.
        let unreachable = family as f64 * stats::smallest_p(n1, n2) >= ALPHA;
        let undecided = matches!(
            m.verdict,
            MetricVerdict::NoChange | MetricVerdict::NotEnoughTrials
        );
        if undecided && (unreachable || m.verdict == MetricVerdict::NotEnoughTrials) {
            m.verdict = MetricVerdict::NotEnoughTrials;
            m.trials_needed = Some(TrialsNeeded {
                family,
                per_side: stats::trials_needed(family, ALPHA),
                smaller_side: stats::trials_needed_beside(n1.max(n2), family, ALPHA)
                    .max(MIN_SAMPLES),
            });
        }
    }
}

fn measure(metric: &Metric, base: &[f64], cand: &[f64], band: f64) -> MetricComparison {
    let (bm, cm) = (stats::median(base), stats::median(cand));
    // The statistics need two trials a side; whether these counts can reach a verdict at all is
    // decided with the result's whole family of metrics (`adjust_and_decide`).
    let enough = base.len() >= MIN_SAMPLES && cand.len() >= MIN_SAMPLES;
    MetricComparison {
        metric: metric.name.to_string(),
        baseline_median: bm,
        candidate_median: cm,
        change_percent: stats::change_percent(bm, cm),
        ci_percent: enough.then(|| stats::bootstrap_change_ci(base, cand)),
        p_value: enough.then(|| stats::mann_whitney_p(base, cand)),
        p_adjusted: None,
        band_percent: band,
        verdict: MetricVerdict::NotEnoughTrials,
        trials_needed: None,
        baseline_samples: base.to_vec(),
        candidate_samples: cand.to_vec(),
    }
}

/// Whether `x` lies beyond `band`; a change at the band's edge (to rounding) is not beyond it.
fn beyond(x: f64, band: f64) -> bool {
    x > band + EDGE_TOLERANCE * band.abs().max(1.0)
}

/// Relative slack for "at the band's edge": floating point gives 5.000000000000004 for 100 -> 105.
const EDGE_TOLERANCE: f64 = 1e-9;

fn decide(m: &MetricComparison) -> MetricVerdict {
    let (Some(p), Some((lo, hi))) = (m.p_adjusted, m.ci_percent) else {
        return MetricVerdict::NotEnoughTrials;
    };
    let higher_is_better = METRICS
        .iter()
        .find(|x| x.name == m.metric)
        .is_some_and(|x| x.higher_is_better);
    let band = m.band_percent;
    let significant = p < ALPHA && beyond(m.change_percent.abs(), band);
    // Up is the direction the interval lies in, wholly beyond the band.
    let up = beyond(lo, band);
    let down = beyond(-hi, band);
    match (significant, up, down, higher_is_better) {
        (true, true, _, true) | (true, _, true, false) => MetricVerdict::Improvement,
        (true, _, true, true) | (true, true, _, false) => MetricVerdict::Regression,
        _ => MetricVerdict::NoChange,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, base: &[f64], cand: &[f64], band: f64) -> MetricComparison {
        measure(metric_named(name).unwrap(), base, cand, band)
    }

    #[test]
    fn four_trials_cannot_judge_four_latency_percentiles_and_say_what_would() {
        // 50% worse on every percentile, no overlap at all: with four trials a side the smallest
        // Holm-corrected p is 4 x 2/70 = 0.114, so "no change" would hide it.
        let base = [100.0, 101.0, 102.0, 103.0];
        let worse = [150.0, 151.0, 152.0, 153.0];
        let names = [
            "latency_p50_ns",
            "latency_p99_ns",
            "latency_p99_9_ns",
            "latency_max_ns",
        ];
        let mut metrics: Vec<_> = names
            .iter()
            .map(|n| metric(n, &base, &worse, 5.0))
            .collect();
        adjust_and_decide(&mut metrics);
        for m in &metrics {
            assert_eq!(m.verdict, MetricVerdict::NotEnoughTrials, "{}", m.metric);
            let t = m.trials_needed.unwrap();
            assert_eq!((t.family, t.per_side), (4, 5));
        }
        let cell = render::row(&metrics[0]).cells[6].clone();
        assert_eq!(cell, "not enough trials (needs 5 a side)");
        // Five a side can: the same change is then a regression.
        let base = [100.0, 101.0, 102.0, 103.0, 104.0];
        let worse = [150.0, 151.0, 152.0, 153.0, 154.0];
        let mut metrics: Vec<_> = names
            .iter()
            .map(|n| metric(n, &base, &worse, 5.0))
            .collect();
        adjust_and_decide(&mut metrics);
        assert!(metrics
            .iter()
            .all(|m| m.verdict == MetricVerdict::Regression));
    }

    #[test]
    fn a_verdict_the_test_reaches_with_ties_stands() {
        // HDR-bucketed percentiles tie: four baseline trials all 10240 ns, five candidates all 15360.
        // The tied test takes its normal approximation (p 0.0072, Holm x4 = 0.029): a regression the
        // exact floor for 4 and 5 untied samples (4 x 2/126 = 0.063) must not overrule.
        let names = [
            "latency_p50_ns",
            "latency_p99_ns",
            "latency_p99_9_ns",
            "latency_max_ns",
        ];
        let (base, worse) = ([10240.0; 4], [15360.0; 5]);
        let mut metrics: Vec<_> = names
            .iter()
            .map(|n| metric(n, &base, &worse, 5.0))
            .collect();
        adjust_and_decide(&mut metrics);
        assert_eq!(
            metrics[0].verdict,
            MetricVerdict::Regression,
            "{:?}",
            metrics[0]
        );
        assert_eq!(metrics[0].trials_needed, None);
    }

    #[test]
    fn unequal_sides_are_told_what_the_smaller_one_needs() {
        let base: Vec<f64> = (0..10).map(|i| 100.0 + i as f64).collect();
        // One candidate trial: 2/11 is the smallest p; two would do (2/66 < 0.05).
        let mut m = vec![metric("latency_p50_ns", &base, &[200.0], 5.0)];
        adjust_and_decide(&mut m);
        assert_eq!(m[0].verdict, MetricVerdict::NotEnoughTrials);
        assert_eq!(m[0].trials_needed.unwrap().smaller_side, 2);
        let cell = render::row(&m[0]).cells[6].clone();
        assert!(
            cell.contains("needs 4 a side, or 2 beside the other side's 10"),
            "{cell}"
        );
        // One metric, ten against two: reachable, and judged.
        let mut m = vec![metric("latency_p50_ns", &base, &[200.0, 201.0], 5.0)];
        adjust_and_decide(&mut m);
        assert_eq!(m[0].verdict, MetricVerdict::Regression);
    }

    #[test]
    fn a_change_at_the_bands_edge_is_not_beyond_it() {
        // 100 -> 105 is 5.000000000000004% in floating point: not beyond a 5% band.
        let base = [100.0; 6];
        let cand = [105.0; 6];
        let m = metric("latency_p50_ns", &base, &cand, 5.0);
        assert!(m.change_percent > 5.0, "the float really is above");
        let mut metrics = vec![m];
        adjust_and_decide(&mut metrics);
        assert_eq!(metrics[0].verdict, MetricVerdict::NoChange);
        let beyond_it = [105.1; 6];
        let mut metrics = vec![metric("latency_p50_ns", &base, &beyond_it, 5.0)];
        adjust_and_decide(&mut metrics);
        assert_eq!(metrics[0].verdict, MetricVerdict::Regression);
    }

    #[test]
    fn cpu_cost_is_its_own_holm_family_with_its_own_band() {
        let bw = |n: usize, scale: f64| -> Vec<f64> {
            (0..n).map(|i| (100.0 + i as f64) * scale).collect()
        };
        let judge = |n: usize, cpu_scale: f64| {
            let mut metrics = vec![
                metric("bits_per_second", &bw(n, 1.0), &bw(n, 0.5), 2.0),
                metric(
                    "client_cpu_s_per_gb",
                    &bw(n, 1.0),
                    &bw(n, cpu_scale),
                    CPU_BAND_PERCENT,
                ),
                metric(
                    "server_cpu_s_per_gb",
                    &bw(n, 1.0),
                    &bw(n, cpu_scale),
                    CPU_BAND_PERCENT,
                ),
            ];
            adjust_and_decide(&mut metrics);
            metrics
        };
        // Four trials a side: bandwidth alone in its family is judged as before; the two CPU metrics
        // corrected together need five.
        let m = judge(4, 1.5);
        assert_eq!(m[0].verdict, MetricVerdict::Regression);
        assert_eq!(
            m[0].p_adjusted, m[0].p_value,
            "bandwidth's family is itself"
        );
        for cpu in &m[1..] {
            assert_eq!(cpu.verdict, MetricVerdict::NotEnoughTrials, "{cpu:?}");
            assert_eq!(cpu.trials_needed.unwrap().family, 2);
        }
        // Five a side: 50% more CPU per GB is a regression (lower is better); 20% is inside the band.
        let m = judge(5, 1.5);
        assert!(m[1..]
            .iter()
            .all(|x| x.verdict == MetricVerdict::Regression));
        let m = judge(5, 1.2);
        assert!(m[1..].iter().all(|x| x.verdict == MetricVerdict::NoChange));
        // Less CPU is an improvement.
        let m = judge(5, 0.6);
        assert!(m[1..]
            .iter()
            .all(|x| x.verdict == MetricVerdict::Improvement));
    }

    #[test]
    fn the_cpu_band_defaults_to_twenty_five_percent_and_has_its_own_threshold() {
        let cpu = [
            "client_cpu_s_per_gb",
            "server_cpu_s_per_gb",
            "client_cpu_us_per_round_trip",
            "server_cpu_us_per_round_trip",
        ];
        let mut bands = Bands::default();
        assert!(cpu.iter().all(|m| bands.get(m) == 25.0));
        // `latency` (lower is better too) leaves the CPU metrics alone.
        bands.set("latency=7").unwrap();
        assert_eq!(bands.get("latency_p99_ns"), 7.0);
        assert!(cpu.iter().all(|m| bands.get(m) == 25.0));
        bands.set("cpu=15%").unwrap();
        assert!(cpu.iter().all(|m| bands.get(m) == 15.0));
        assert_eq!(bands.get("bits_per_second"), 2.0);
        bands.set("server_cpu_s_per_gb=40").unwrap();
        assert_eq!(bands.get("server_cpu_s_per_gb"), 40.0);
        assert_eq!(bands.get("client_cpu_s_per_gb"), 15.0);
        let e = Bands::default()
            .set("cpu_s_per_gb=3")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bandwidth, latency, cpu, bits_per_second"),
            "{e}"
        );
    }

    #[test]
    fn cpu_metrics_are_named_for_people() {
        let m = metric("server_cpu_us_per_round_trip", &[12.5; 5], &[13.0; 5], 10.0);
        let cells = render::row(&m).cells;
        assert_eq!(cells[0], "server CPU (us/RT)");
        assert_eq!((cells[1].as_str(), cells[2].as_str()), ("12.50", "13.00"));
        let m = metric("client_cpu_s_per_gb", &[0.25; 5], &[0.5; 5], 10.0);
        assert_eq!(render::row(&m).cells[0], "client CPU (s/GB)");
        assert_eq!(render::row(&m).cells[3], "+100.0% (band 10%)");
    }

    #[test]
    fn a_zero_baseline_prints_no_ratio() {
        let m = metric("latency_p50_ns", &[0.0; 5], &[10.0; 5], 5.0);
        let cell = render::row(&m).cells[3].clone();
        assert_eq!(cell, "n/a (band 5%)");
        assert!(!cell.contains("inf"));
    }

    /// A report's first result with a module on the client's link, read from a fixture dump.
    fn result_with_module(dump: Vec<u8>) -> TestResult {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net/eth9");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("mtu"), "1500\n").unwrap();
        std::fs::write(net.join("module_eeprom.bin"), dump).unwrap();
        let link = crate::diag::link::LinkProbe::begin(dir.path(), "eth9").finish();
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/compare/baseline.json"),
        )
        .unwrap();
        let report: crate::report::Report = serde_json::from_str(&text).unwrap();
        let mut result = report.results[0].clone();
        result.link = Some(crate::model::report::LinkSides {
            client: Some(link),
            server: None,
        });
        result
    }

    #[test]
    fn a_flag_latched_before_the_trial_is_not_the_trials_failure() {
        // The module raised the alarm before the trial (a far end that came up late); the first read
        // clears it, and the read after the trial finds nothing: a warning, not a link failure.
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net/eth9");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("mtu"), "1500\n").unwrap();
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eeprom");
        let flagged = std::fs::read(fixtures.join("qsfp28-100g-sr4.bin")).unwrap();
        std::fs::write(net.join("module_eeprom.bin"), &flagged).unwrap();
        let probe = crate::diag::link::LinkProbe::begin(dir.path(), "eth9");
        let mut cleared = flagged;
        cleared[10] = 0;
        std::fs::write(net.join("module_eeprom.bin"), cleared).unwrap();
        let link = probe.finish();
        assert_eq!(link.module_flags_before().len(), 1);
        assert!(link.module_flags_during().is_empty());
        let mut result =
            result_with_module(std::fs::read(fixtures.join("qsfp28-100g-sr4.bin")).unwrap());
        result.link = Some(crate::model::report::LinkSides {
            client: Some(link),
            server: None,
        });
        assert!(link_failures(&[result]).is_empty());
    }

    #[test]
    fn only_an_alarm_the_module_raised_fails_the_link() {
        let fixture = |name: &str| {
            std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/eeprom")
                    .join(name),
            )
            .unwrap()
        };
        // The SR4 fixture's lane 4 is past its low alarm limit and the module flags it.
        let flagged = fixture("qsfp28-100g-sr4.bin");
        let failures = link_failures(&[result_with_module(flagged.clone())]);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].contains("module raised rx_power_mw lane 4 low_alarm"),
            "{failures:?}"
        );
        // The same values with the module's flag cleared: past the limit by linkbench's comparison, but
        // no alarm the module raised, so no link failure.
        let mut quiet = flagged;
        quiet[10] = 0;
        let r = result_with_module(quiet);
        let link = r.link.as_ref().unwrap().client.as_ref().unwrap();
        assert!(
            !link.module_crossings().is_empty(),
            "the computed crossing is still reported"
        );
        assert!(link_failures(&[r]).is_empty());
    }
}
