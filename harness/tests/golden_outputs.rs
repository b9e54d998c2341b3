//! The harness's output files, byte for byte, against committed copies (`tests/golden/`): summary.json,
//! summary.html, junit.xml and linkbench.prom as `run` writes them, and the table `run` and `summary`
//! print. Two fixtures: a made-up plan whose pairs cover every verdict, latency and bandwidth, CPU
//! figures (both sides, one side, none), baseline results, comparisons in every state and names that
//! need escaping in each format; and a nightly run
//! compared for real (`--baseline` and `[[compare]]`) on linkbench-compare's fixture reports
//! (tests/fixtures/compare: 2 Gbit/s against 1 Gbit/s). A summary.json read back and written again
//! comes out the same.
//!
//! `GOLDEN_UPDATE=1 cargo test -p linkbench-harness --test golden_outputs` rewrites the copies; a change
//! to them is a change to the harness's outputs and must be meant.

mod common;

use common::repo;
use linkbench_harness::baseline;
use linkbench_harness::export;
use linkbench_harness::model::{
    BaselineResult, PairCpu, PairOutcome, SideCpuFigures, SuiteComparison, Summary, Verdict,
};
use std::path::{Path, PathBuf};

/// The table for the screen (`run` and `summary` print it).
fn table(s: &Summary) -> String {
    export::table::render(s)
}

/// Every file `run` writes beside the reports.
fn write_all(s: &Summary, dir: &Path) {
    export::write_all(s, dir).unwrap();
}

const FILES: [&str; 4] = [
    "summary.json",
    "summary.html",
    "junit.xml",
    "linkbench.prom",
];

fn golden(name: &str) -> PathBuf {
    repo().join("harness/tests/golden").join(name)
}

/// Compares (or with GOLDEN_UPDATE=1 writes) `text` as `golden/case/file`.
fn check(case: &str, file: &str, text: &str) {
    let path = golden(case).join(file);
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN_UPDATE=1 writes it)", path.display()));
    if want != text {
        let line = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{} differs from what the harness writes now, first at line {}:\n want: {:?}\n  got: {:?}",
            path.display(),
            line + 1,
            want.lines().nth(line),
            text.lines().nth(line)
        );
    }
}

/// Writes every output of `s` and checks each against `golden/case`, with `replace` applied (temporary
/// directories named in the text).
fn check_outputs(case: &str, s: &Summary, replace: &[(&Path, &str)]) {
    let normal = |text: String| {
        replace
            .iter()
            .fold(text, |t, (from, to)| t.replace(from.to_str().unwrap(), to))
    };
    let dir = tempfile::tempdir().unwrap();
    write_all(s, dir.path());
    for file in FILES {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        check(case, file, &normal(text));
    }
    check(case, "table.txt", &normal(table(s)));
}

#[allow(clippy::too_many_arguments)]
fn outcome(
    suite: &str,
    client: &str,
    server: &str,
    test: &str,
    verdict: Verdict,
    bps: Option<f64>,
    p99: Option<f64>,
    reason: &str,
) -> PairOutcome {
    PairOutcome {
        suite: suite.into(),
        client: client.into(),
        server: server.into(),
        test: test.into(),
        bits_per_second: bps,
        latency_p99_ns: p99,
        cpu: None,
        verdict,
        reason: reason.into(),
        report: bps
            .or(p99)
            .map(|_| format!("reports/{suite}/{client}--{server}--x.json")),
        attempts: if verdict == Verdict::Error { 2 } else { 1 },
        seconds: 1.25 + bps.unwrap_or(0.0) / 1e10,
        baseline: None,
        modules: Vec::new(),
    }
}

/// A pair's CPU figures.
fn cpu(client: Option<SideCpuFigures>, server: Option<SideCpuFigures>) -> PairCpu {
    PairCpu { client, server }
}

/// One side's CPU figures: per GB (bandwidth) or per round trip (latency), and the host's utilization.
fn side(s_per_gb: Option<f64>, us_per_rt: Option<f64>, util: Option<f64>) -> SideCpuFigures {
    SideCpuFigures {
        cpu_s_per_gb: s_per_gb,
        cpu_us_per_round_trip: us_per_rt,
        host_utilization_percent: util,
    }
}

/// A plan of made-up outcomes that touches every branch of every format.
fn every_branch() -> Summary {
    let bw = "tcp bw 64K x1";
    let lat = "tcp lat 64 x1";
    let mut pairs = Vec::new();
    let hosts = ["h1", "h2", "h3", "h4"];
    for i in 0..4 {
        for j in i + 1..4 {
            let slow = hosts[i] == "h3" || hosts[j] == "h3";
            let bps = if slow {
                0.0951e9
            } else {
                16.052e9 + i as f64 * 1e8
            };
            let (v, why) = if slow {
                (
                    Verdict::Fail,
                    format!("{:.3} Gbit/s is below the expected 0.400 Gbit/s", bps / 1e9),
                )
            } else {
                (Verdict::Pass, String::new())
            };
            pairs.push(outcome(
                "acc",
                hosts[i],
                hosts[j],
                bw,
                v,
                Some(bps),
                None,
                &why,
            ));
        }
    }
    // CPU figures: both sides (h1->h2), the server's never arrived (h1->h4); latency further down.
    pairs[0].cpu = Some(cpu(
        Some(side(Some(0.2137), None, Some(41.25))),
        Some(side(Some(0.35), None, Some(63.0))),
    ));
    pairs[2].cpu = Some(cpu(Some(side(Some(1.234), None, None)), None));
    pairs[0].baseline = Some(BaselineResult {
        change_percent: Some(-1.234),
        verdict: "no_change".into(),
    });
    pairs[1].baseline = Some(BaselineResult {
        change_percent: Some(-85.0),
        verdict: "regression".into(),
    });
    pairs[2].baseline = Some(BaselineResult {
        change_percent: None,
        verdict: "missing".into(),
    });
    pairs.push(outcome(
        "acc",
        "h1",
        "h9",
        bw,
        Verdict::Error,
        None,
        None,
        "server host h9 did not answer: ssh: connect to host 10.77.0.9 port 22: No route to host",
    ));
    pairs.push(outcome(
        "acc",
        "h1",
        "h2",
        lat,
        Verdict::Pass,
        None,
        Some(23_456.7),
        "",
    ));
    let last = pairs.len() - 1;
    pairs[last].cpu = Some(cpu(
        Some(side(None, Some(18.04), Some(50.5))),
        Some(side(None, Some(9.5), None)),
    ));
    pairs.push(outcome(
        "acc",
        "h2",
        "h1",
        lat,
        Verdict::Fail,
        None,
        Some(75_000.0),
        "round-trip p99 75.0 us is above the expected 50.0 us",
    ));
    pairs.push(outcome(
        "acc",
        "h4",
        "h1",
        lat,
        Verdict::Fail,
        Some(0.0),
        Some(1e6),
        "link rule: trial 0 client eth0: the link went down",
    ));
    // Names that each format must escape: quotes, markup, backslashes, newlines, %, non-ASCII.
    let odd = "link=\"dac\" <1m> & 'o' \\ 100%h\nnext é";
    pairs.push(outcome(
        odd,
        "n1.cluster.example",
        "fd00::1",
        bw,
        Verdict::Fail,
        Some(1.5e9),
        None,
        "regressed against the baseline: bits_per_second -50.0% (p 0.008)\n<b>\"x\"</b> & 'y' \\",
    ));
    pairs.push(outcome(
        odd,
        "fd00::1",
        "n1.cluster.example",
        bw,
        Verdict::Pass,
        Some(3e9),
        None,
        "",
    ));
    let comparisons = vec![
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "optical".into(),
            regressed: false,
            incomplete: Vec::new(),
            table: "result  metric  change\ntcp bw  bps     +0.1%\n".into(),
            error: None,
        },
        SuiteComparison {
            baseline: "dac".into(),
            candidate: odd.into(),
            regressed: true,
            incomplete: vec!["reports/x.json: the run ended early: <stop>".into()],
            table: "tcp bw & <more> \"quoted\"\n".into(),
            error: None,
        },
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "aoc".into(),
            regressed: true,
            incomplete: Vec::new(),
            table: "regressed\n".into(),
            error: None,
        },
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "aec".into(),
            regressed: false,
            incomplete: vec!["one".into()],
            table: String::new(),
            error: None,
        },
        SuiteComparison {
            baseline: "dac".into(),
            candidate: "nothing".into(),
            regressed: false,
            incomplete: Vec::new(),
            table: String::new(),
            error: Some("suite nothing produced no report".into()),
        },
    ];
    let mut s = Summary::new(
        "acceptance \"rack 7\" <a&b> 'x' \\ %",
        "Slurm",
        "2026-11-24T00:00:00Z".into(),
        pairs,
        comparisons,
    );
    s.finished_at = "2026-11-24T00:01:02Z".into();
    s
}

#[test]
fn every_branch_of_every_format_is_unchanged() {
    check_outputs("every_branch", &every_branch(), &[]);
}

#[test]
fn an_empty_run_and_an_all_passed_run_are_unchanged() {
    let mut s = Summary::new(
        "empty",
        "Local",
        "2026-11-24T00:00:00Z".into(),
        Vec::new(),
        Vec::new(),
    );
    s.finished_at = "not a time".into();
    check_outputs("empty", &s, &[]);
    let pairs = vec![outcome(
        "",
        "a",
        "b",
        "tcp bw 1M x4",
        Verdict::Pass,
        Some(9.87654321e9),
        None,
        "",
    )];
    let mut s = Summary::new(
        "all passed",
        "Ssh",
        "2026-11-24T00:00:00Z".into(),
        pairs,
        Vec::new(),
    );
    s.finished_at = "2026-11-24T23:59:59+02:00".into();
    check_outputs("all_passed", &s, &[]);
}

#[test]
fn a_summary_read_back_writes_the_same_files() {
    for case in ["every_branch", "empty", "all_passed"] {
        let s = Summary::read(&golden(case)).unwrap();
        check_outputs(case, &s, &[]);
    }
}

/// Writes `report` (a fixture, optionally changed) as `dir/rel`.
fn put_report(dir: &Path, rel: &str, fixture: &str, change: impl Fn(&mut serde_json::Value)) {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/compare").join(fixture)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    change(&mut v);
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn with_report(mut o: PairOutcome, rel: Option<&str>) -> PairOutcome {
    o.report = rel.map(String::from);
    o
}

/// A nightly run against an earlier night and one suite against another, through linkbench-compare on
/// its fixture reports: regression, no change, missing, unreadable and incomplete pairs; a regressed
/// comparison, one with incomplete candidate trials and one that cannot be made.
#[test]
fn baseline_and_suite_comparisons_on_real_reports_are_unchanged() {
    let base = tempfile::tempdir().unwrap();
    let run = tempfile::tempdir().unwrap();
    let bw = "tcp bw 16K..64K x5";
    let rel = |suite: &str, c: &str, s: &str| format!("reports/{suite}/{c}--{s}--bw.json");
    // The earlier night: every pair at 2 Gbit/s.
    let mut old = Vec::new();
    for (suite, c, s) in [
        ("dac", "h1", "h2"),
        ("dac", "h1", "h3"),
        ("broken", "h2", "h3"),
        ("dac", "h3", "h4"),
    ] {
        let r = rel(suite, c, s);
        put_report(base.path(), &r, "baseline.json", |_| {});
        let o = outcome(suite, c, s, bw, Verdict::Pass, Some(2e9), None, "");
        old.push(with_report(o, Some(&r)));
    }
    old.push(with_report(
        outcome(
            "dac",
            "h2",
            "h4",
            bw,
            Verdict::Error,
            None,
            None,
            "no answer",
        ),
        None,
    ));
    let mut night1 = Summary::new(
        "nightly",
        "Pdsh",
        "2026-11-23T00:00:00Z".into(),
        old,
        Vec::new(),
    );
    night1.finished_at = "2026-11-23T00:10:00Z".into();
    write_all(&night1, base.path());
    // Tonight: h1->h2 at 1 Gbit/s (regression), h1->h3 unchanged, h2->h3's report unreadable, h3->h4
    // with an incomplete trial, h2->h4 (no report there) and h1->h4 (not there) missing, and an error.
    let mut now = Vec::new();
    let mut add = |suite: &str,
                   c: &str,
                   s: &str,
                   fixture: Option<&str>,
                   change: fn(&mut serde_json::Value)| {
        let r = rel(suite, c, s);
        match fixture {
            Some(f) => put_report(run.path(), &r, f, change),
            None => std::fs::create_dir_all(run.path().join(&r).parent().unwrap())
                .and_then(|_| std::fs::write(run.path().join(&r), "{ not json"))
                .unwrap(),
        }
        let o = outcome(suite, c, s, bw, Verdict::Pass, Some(1.5e9), None, "");
        now.push(with_report(o, Some(&r)));
    };
    add("dac", "h1", "h2", Some("candidate.json"), |_| {});
    add("dac", "h1", "h3", Some("baseline.json"), |_| {});
    add("broken", "h2", "h3", None, |_| {});
    add("dac", "h3", "h4", Some("baseline.json"), |v| {
        v["status"] = "incomplete".into();
        v["results"][0]["complete"] = false.into();
    });
    add("dac", "h2", "h4", Some("baseline.json"), |_| {});
    add("dac", "h1", "h4", Some("baseline.json"), |_| {});
    add("optical", "h1", "h2", Some("candidate.json"), |_| {});
    add("aoc", "h1", "h2", Some("baseline.json"), |v| {
        v["status"] = "incomplete".into();
        v["results"][1]["complete"] = false.into();
    });
    now.push(outcome(
        "optical",
        "h3",
        "h4",
        bw,
        Verdict::Error,
        None,
        None,
        "no answer",
    ));
    baseline::against_baseline(&mut now, run.path(), base.path()).unwrap();
    let comparisons = [
        ("dac", "optical"),
        ("dac", "aoc"),
        ("dac", "nothing"),
        ("broken", "dac"),
    ]
    .iter()
    .map(|(b, c)| baseline::suites(&now, run.path(), b, c))
    .collect();
    let mut s = Summary::new(
        "nightly",
        "Pdsh",
        "2026-11-24T00:00:00Z".into(),
        now,
        comparisons,
    );
    s.finished_at = "2026-11-24T00:10:00Z".into();
    check_outputs(
        "baseline",
        &s,
        &[(run.path(), "$RUN"), (base.path(), "$BASE")],
    );
}
