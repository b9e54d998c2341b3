//! What a run decides, shared by everything that produces or reads it: the verdict on a pair and test
//! ([`Verdict`], [`PairOutcome`], with its CPU figures [`PairCpu`]), its comparison with an earlier run ([`BaselineResult`]), a suite
//! against a suite ([`SuiteComparison`]), and the whole run ([`Summary`], with [`HostTally`], suspects
//! and unreachable hosts), which is `summary.json`. A leaf: it uses no other module of the harness; the
//! runner and the comparisons fill it in and `export` renders it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The verdict on one pair and test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Error,
}

impl Verdict {
    /// For tables and logs: `pass`, `FAIL`, `ERROR` (the bad ones stand out).
    pub fn shout(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
        }
    }
}

/// What one pair and test came to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairOutcome {
    pub suite: String,
    pub client: String,
    pub server: String,
    pub test: String,
    /// Median over the trials of the client report's bits per second (bandwidth tests).
    pub bits_per_second: Option<f64>,
    /// Median over the trials of the round-trip p99 (latency tests).
    pub latency_p99_ns: Option<f64>,
    /// Each side's CPU cost and host utilization, medians over the trials; null when the report has no
    /// CPU figures (a server or client older than report 1.4.0) or there is no report.
    #[serde(default)]
    pub cpu: Option<PairCpu>,
    pub verdict: Verdict,
    pub reason: String,
    /// The linkbench report, relative to the output directory.
    pub report: Option<String>,
    pub attempts: u32,
    pub seconds: f64,
    /// Set by `--baseline`: the change against the same pair and test there.
    #[serde(default)]
    pub baseline: Option<BaselineResult>,
    /// A soak suite: the module at each end of the pair's link with its verdict (a module is what a lab
    /// qualifies; a pair has two).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<ModuleVerdict>,
}

/// One end of a soaked link: its host, interface and module, and the soak's verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleVerdict {
    /// `client` or `server`: which end of the pair.
    pub side: String,
    pub host: String,
    pub interface: Option<String>,
    /// From the module's EEPROM; null when the port has no module (or it could not be read).
    pub vendor: Option<String>,
    pub part_number: Option<String>,
    pub serial_number: Option<String>,
    /// The samples of this end were replayed, not read live (`replay_link`): where from.
    pub replayed: Option<String>,
    /// Fail when a threshold of this end, or of the traffic through it, failed (or the soak was
    /// incomplete); error when there is no soak summary.
    pub verdict: Verdict,
    /// The thresholds that failed, as the report words them.
    pub failed: Vec<String>,
}

impl ModuleVerdict {
    /// `h1 eth0 TRD5H20ENF-LF000 SN123` (what a row or a JUnit case is named by).
    pub fn name(&self) -> String {
        let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.into());
        format!(
            "{} {} {} {}",
            self.host,
            or(&self.interface, "(no interface)"),
            or(&self.part_number, "(no module)"),
            or(&self.serial_number, "-")
        )
    }
}

/// Both sides' CPU figures of one pair and test (from the reports' `cpu`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairCpu {
    pub client: Option<SideCpuFigures>,
    /// Null when the server's figures never arrived.
    pub server: Option<SideCpuFigures>,
}

/// One side's CPU figures, each the median over the trials that have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideCpuFigures {
    /// Bandwidth tests: the side's data threads' CPU-seconds (user + system) per 10^9 payload bytes.
    pub cpu_s_per_gb: Option<f64>,
    /// Latency tests: the side's data threads' CPU-microseconds per round trip.
    pub cpu_us_per_round_trip: Option<f64>,
    /// The whole host's CPU utilization while the side measured, percent of all its online CPUs
    /// (everything that ran, not only linkbench).
    pub host_utilization_percent: Option<f64>,
}

impl PairCpu {
    /// The cost per unit, `client/server` with the unit: `0.214/0.350 s/GB`, `18.0/- us/RT`; `None`
    /// when neither side has one.
    pub fn per_unit_text(&self) -> Option<String> {
        let figure = |pick: fn(&SideCpuFigures) -> Option<f64>| {
            (
                self.client.as_ref().and_then(pick),
                self.server.as_ref().and_then(pick),
            )
        };
        [
            (figure(|s| s.cpu_s_per_gb), "s/GB"),
            (figure(|s| s.cpu_us_per_round_trip), "us/RT"),
        ]
        .into_iter()
        .find(|((c, s), _)| c.is_some() || s.is_some())
        .map(|((c, s), unit)| format!("{} {unit}", linkbench::report::table::client_server(c, s)))
    }

    /// The hosts' utilization, `client/server`: `12.0%/30.5%`, `12.0%/-`; `None` when neither side has it.
    pub fn host_text(&self) -> Option<String> {
        let util = |s: &Option<SideCpuFigures>| {
            s.as_ref()
                .and_then(|s| s.host_utilization_percent)
                .filter(|v| v.is_finite())
        };
        let text = |v: Option<f64>| {
            v.map(|v| format!("{}%", linkbench::report::table::three_significant(v)))
                .unwrap_or_else(|| "-".into())
        };
        let (c, s) = (util(&self.client), util(&self.server));
        (c.is_some() || s.is_some()).then(|| format!("{}/{}", text(c), text(s)))
    }
}

/// A key for matching outcomes across runs: suite, client, server, test.
pub fn key(o: &PairOutcome) -> (String, String, String, String) {
    (
        o.suite.clone(),
        o.client.clone(),
        o.server.clone(),
        o.test.clone(),
    )
}

/// One pair and test against the baseline run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineResult {
    /// Median change of the first metric (bandwidth, or latency p50), percent.
    pub change_percent: Option<f64>,
    /// `regression`, `improvement`, `no_change`, `not_enough_trials`, `host_busy`, `incomplete` (a trial of this run
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

/// The largest summary.json read back (`summary DIR`, `--baseline DIR`): 64 MiB. A pair's outcome is
/// about 400 bytes and a suite comparison's table a few KiB, so this is over 100,000 pairs.
const SUMMARY_LIMIT: linkbench::files::Limit = linkbench::files::Limit {
    bytes: 64 << 20,
    what: "a linkbench-harness summary",
};

/// A summary.json that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Missing, not a regular file, too large, or unreadable.
    #[error(transparent)]
    File(#[from] linkbench::files::FileError),
    /// Read, but not a summary.
    #[error("{} is not a linkbench-harness summary: {source}", path.display())]
    NotASummary {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// A host and how its pairs fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostTally {
    pub host: String,
    pub pairs: usize,
    /// Pairs that failed or ended in an error.
    pub failing: usize,
    /// Pairs that ended in an error (the host may not have answered).
    pub errors: usize,
}

/// Everything `linkbench-harness run` decided: `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub plan: String,
    pub started_at: String,
    pub finished_at: String,
    pub launcher: String,
    pub pairs: Vec<PairOutcome>,
    /// Every host, most failing pairs first.
    pub hosts: Vec<HostTally>,
    /// Hosts on failing pairs more than on passing ones (and on at least two failing pairs, or on every
    /// pair they were in): the likely culprits.
    pub suspects: Vec<String>,
    /// Hosts all of whose pairs ended in errors: they did not answer.
    pub unreachable: Vec<String>,
    pub comparisons: Vec<SuiteComparison>,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

/// Every host of `pairs` with its tally, most failing pairs first (then by name).
fn tally_hosts(pairs: &[PairOutcome]) -> Vec<HostTally> {
    let mut tally: BTreeMap<String, HostTally> = BTreeMap::new();
    for o in pairs {
        for h in [&o.client, &o.server] {
            let t = tally.entry(h.clone()).or_insert(HostTally {
                host: h.clone(),
                pairs: 0,
                failing: 0,
                errors: 0,
            });
            t.pairs += 1;
            if o.verdict != Verdict::Pass {
                t.failing += 1;
            }
            if o.verdict == Verdict::Error {
                t.errors += 1;
            }
        }
    }
    let mut hosts: Vec<HostTally> = tally.into_values().collect();
    hosts.sort_by(|a, b| b.failing.cmp(&a.failing).then(a.host.cmp(&b.host)));
    hosts
}

impl Summary {
    /// Tallies outcomes into a summary, finished now.
    pub fn new(
        plan: &str,
        launcher: &str,
        started_at: String,
        pairs: Vec<PairOutcome>,
        comparisons: Vec<SuiteComparison>,
    ) -> Summary {
        let hosts = tally_hosts(&pairs);
        let suspects = hosts
            .iter()
            .filter(|t| t.failing * 2 > t.pairs && (t.failing >= 2 || t.failing == t.pairs))
            .map(|t| t.host.clone())
            .collect();
        let unreachable = hosts
            .iter()
            .filter(|t| t.pairs > 0 && t.errors == t.pairs)
            .map(|t| t.host.clone())
            .collect();
        let count = |v: Verdict| pairs.iter().filter(|o| o.verdict == v).count();
        Summary {
            plan: plan.into(),
            started_at,
            finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            launcher: launcher.into(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            errors: count(Verdict::Error),
            hosts,
            suspects,
            unreachable,
            comparisons,
            pairs,
        }
    }

    /// Every soaked module with the pair it belongs to, in the pairs' order.
    pub fn module_rows(&self) -> Vec<(&PairOutcome, &ModuleVerdict)> {
        self.pairs
            .iter()
            .flat_map(|o| o.modules.iter().map(move |m| (o, m)))
            .collect()
    }

    /// True when every pair passed and no comparison regressed or failed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.comparisons.iter().all(|c| !c.failed())
    }

    /// Reads `DIR/summary.json` (a regular file of at most 64 MiB).
    pub fn read(dir: &Path) -> Result<Summary, ReadError> {
        let path = dir.join("summary.json");
        let text = linkbench::files::read_regular(&path, SUMMARY_LIMIT)?;
        serde_json::from_slice(&text).map_err(|source| ReadError::NotASummary { path, source })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An outcome of suite0's `tcp bw 64K x1` between `c` and `s`; a failure's reason needs escaping.
    pub(crate) fn outcome(c: &str, s: &str, v: Verdict, bps: Option<f64>) -> PairOutcome {
        PairOutcome {
            suite: "suite0".into(),
            client: c.into(),
            server: s.into(),
            test: "tcp bw 64K x1".into(),
            bits_per_second: bps,
            latency_p99_ns: None,
            cpu: None,
            verdict: v,
            reason: if v == Verdict::Pass {
                String::new()
            } else {
                "slow \"link\" <x>".into()
            },
            report: None,
            attempts: 1,
            modules: Vec::new(),
            seconds: 1.5,
            baseline: None,
        }
    }

    /// All pairs of h1..h4 with h3's slow: h3 on every failing pair.
    pub(crate) fn four_hosts_h3_slow() -> Summary {
        let hosts = ["h1", "h2", "h3", "h4"];
        let mut pairs = Vec::new();
        for i in 0..4 {
            for j in i + 1..4 {
                let slow = hosts[i] == "h3" || hosts[j] == "h3";
                pairs.push(outcome(
                    hosts[i],
                    hosts[j],
                    if slow { Verdict::Fail } else { Verdict::Pass },
                    Some(if slow { 0.09e9 } else { 2e9 }),
                ));
            }
        }
        Summary::new(
            "acceptance",
            "Slurm",
            "2026-11-24T00:00:00Z".into(),
            pairs,
            Vec::new(),
        )
    }

    fn comparison(regressed: bool, incomplete: &[&str], error: Option<&str>) -> SuiteComparison {
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "optical".into(),
            regressed,
            incomplete: incomplete.iter().map(|s| s.to_string()).collect(),
            table: String::new(),
            error: error.map(String::from),
        }
    }

    #[test]
    fn the_host_on_every_failing_pair_is_the_suspect() {
        let s = four_hosts_h3_slow();
        assert_eq!(s.suspects, ["h3"]);
        assert_eq!(
            s.hosts[0],
            HostTally {
                host: "h3".into(),
                pairs: 3,
                failing: 3,
                errors: 0
            }
        );
        assert_eq!((s.passed, s.failed, s.errors), (3, 3, 0));
        assert!(s.unreachable.is_empty());
        assert!(!s.all_passed());
    }

    #[test]
    fn hosts_are_tallied_most_failing_first_then_by_name() {
        let pairs = [
            outcome("b", "a", Verdict::Pass, Some(1e9)),
            outcome("c", "a", Verdict::Error, None),
            outcome("c", "b", Verdict::Fail, Some(1e8)),
        ];
        let t = |host: &str, pairs, failing, errors| HostTally {
            host: host.into(),
            pairs,
            failing,
            errors,
        };
        assert_eq!(
            tally_hosts(&pairs),
            [t("c", 2, 2, 1), t("a", 2, 1, 1), t("b", 2, 1, 0)]
        );
        assert!(tally_hosts(&[]).is_empty());
    }

    #[test]
    fn suspects_fail_more_than_they_pass_and_unreachable_hosts_never_answered() {
        // h9's only pair is an error: unreachable, and a suspect (it failed every pair it was in).
        // h1 failed one of three pairs: neither.
        let pairs = vec![
            outcome("h1", "h9", Verdict::Error, None),
            outcome("h1", "h2", Verdict::Pass, Some(1e9)),
            outcome("h1", "h3", Verdict::Pass, Some(1e9)),
        ];
        let s = Summary::new("p", "Local", "t".into(), pairs, Vec::new());
        assert_eq!(s.suspects, ["h9"]);
        assert_eq!(s.unreachable, ["h9"]);
        assert_eq!((s.passed, s.failed, s.errors), (2, 0, 1));
        // One failing pair out of two is not more than half.
        let pairs = vec![
            outcome("a", "b", Verdict::Fail, Some(1e8)),
            outcome("a", "c", Verdict::Pass, Some(1e9)),
        ];
        let s = Summary::new("p", "Local", "t".into(), pairs, Vec::new());
        assert_eq!(s.suspects, ["b"], "b failed its only pair; a one of two");
        assert!(s.unreachable.is_empty());
    }

    #[test]
    fn a_run_passes_only_when_every_pair_and_comparison_did() {
        let pass = |c: Vec<SuiteComparison>| {
            let pairs = vec![outcome("a", "b", Verdict::Pass, Some(1e9))];
            Summary::new("p", "Local", "t".into(), pairs, c).all_passed()
        };
        assert!(pass(Vec::new()));
        assert!(pass(vec![comparison(false, &[], None)]));
        assert!(!pass(vec![comparison(true, &[], None)]));
        assert!(!pass(vec![comparison(false, &["r.json: trial 0"], None)]));
        assert!(!pass(vec![comparison(false, &[], Some("no report"))]));
        let errors = vec![outcome("a", "b", Verdict::Error, None)];
        assert!(!Summary::new("p", "Local", "t".into(), errors, Vec::new()).all_passed());
        assert!(Summary::new("p", "Local", "t".into(), Vec::new(), Vec::new()).all_passed());
    }

    #[test]
    fn verdicts_are_lowercase_in_json_and_shouted_when_bad() {
        let words: Vec<_> = [Verdict::Pass, Verdict::Fail, Verdict::Error]
            .iter()
            .map(|v| (serde_json::to_string(v).unwrap(), v.shout()))
            .collect();
        assert_eq!(
            words,
            [
                ("\"pass\"".to_string(), "pass"),
                ("\"fail\"".to_string(), "FAIL"),
                ("\"error\"".to_string(), "ERROR")
            ]
        );
    }

    #[test]
    fn outcomes_match_across_runs_by_suite_pair_and_test() {
        let a = outcome("h1", "h2", Verdict::Pass, Some(1e9));
        let mut b = outcome("h1", "h2", Verdict::Fail, Some(1e8));
        b.attempts = 3;
        assert_eq!(key(&a), key(&b), "verdict and figures are not part of it");
        assert_eq!(
            key(&a),
            (
                "suite0".into(),
                "h1".into(),
                "h2".into(),
                "tcp bw 64K x1".into()
            )
        );
        assert_ne!(key(&a), key(&outcome("h2", "h1", Verdict::Pass, None)));
    }

    #[test]
    fn a_summary_that_cannot_be_read_back_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let e = Summary::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with(&dir.path().join("summary.json").display().to_string()),
            "{e}"
        );
        assert!(e.contains("cannot read"), "{e}");
        std::fs::write(dir.path().join("summary.json"), "{\"plan\": 1}").unwrap();
        let e = Summary::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("summary.json is not a linkbench-harness summary: invalid type"),
            "{e}"
        );
        // Older summaries without `baseline` or `incomplete` still read.
        let mut v = serde_json::to_value(four_hosts_h3_slow()).unwrap();
        v["pairs"][0].as_object_mut().unwrap().remove("baseline");
        v["comparisons"] = serde_json::json!([{"baseline": "a", "candidate": "b", "regressed": false,
            "table": "", "error": null}]);
        std::fs::write(dir.path().join("summary.json"), v.to_string()).unwrap();
        let s = Summary::read(dir.path()).unwrap();
        assert!(s.pairs[0].baseline.is_none() && s.comparisons[0].incomplete.is_empty());
    }
}
