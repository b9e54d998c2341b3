//! The harness's command line without a cluster: plans that are malformed or refer to missing hosts are
//! one-line errors with exit 2; every shipped plan checks; `check` prints the schedule and its time; a
//! local plan on loopback runs end to end and compares with a baseline.

mod common;

use common::{bin, repo};
use std::process::Command;

fn harness(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_linkbench-harness"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_shipped_plan_checks() {
    let dir = repo().join("harness/plans");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = harness(&["check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("estimated time"), "{text}");
        n += 1;
    }
    assert!(n >= 3, "acceptance, optics-qualification and nightly");
}

#[test]
fn bad_plans_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.toml", None, "cannot read plan"),
        ("syntax.toml", Some("name = \"x\"\n[launcher\n"), "line"),
        (
            "host.toml",
            Some("name='x'\n[launcher]\nkind='ssh'\n[hosts]\na='1'\nb='2'\n[[suite]]\ntopology='pairs'\npairs=[['a','zz']]\ntests=[{}]\n"),
            "'zz' is not in [hosts]",
        ),
        (
            "typo.toml",
            Some("name='x'\n[launcher]\nkind='ssh'\nretry=3\n[hosts]\na='1'\nb='2'\n[[suite]]\ntopology='ring'\ntests=[{}]\n"),
            "unknown field `retry`",
        ),
    ];
    for (name, text, expect) in cases {
        let path = dir.path().join(name);
        if let Some(t) = text {
            std::fs::write(&path, t).unwrap();
        }
        for cmd in ["check", "run"] {
            let mut args = vec![cmd, path.to_str().unwrap()];
            let out_dir = dir.path().join("out");
            if cmd == "run" {
                args.extend(["--out", out_dir.to_str().unwrap()]);
            }
            let out = harness(&args);
            assert_eq!(out.status.code(), Some(2), "{name} {cmd}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(expect), "{name}: {err}");
            assert!(!out_dir.exists(), "nothing is written for a bad plan");
        }
    }
}

#[test]
fn a_local_plan_runs_on_loopback_and_compares_with_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("local.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "local"
[launcher]
kind = "local"
server_bin = "{}"
client_bin = "{}"
port = 28515
[hosts]
a = "127.0.0.1"
b = "127.0.0.1"
[[suite]]
name = "dac"
topology = "pairs"
pairs = [["a", "b"]]
tests = [{{ test = "bw", duration = "0.3s", warmup = "0.1s" }}, {{ test = "lat", size = "64", duration = "0.3s", warmup = "0.1s" }}]
labels = {{ link = "dac" }}
[[suite]]
name = "optical"
topology = "pairs"
pairs = [["b", "a"]]
tests = [{{ test = "bw", duration = "0.3s", warmup = "0.1s" }}]
labels = {{ link = "optical" }}
[[compare]]
baseline = "dac"
candidate = "optical"
"#,
            bin("linkbench-server").display(),
            bin("linkbench-client").display()
        ),
    )
    .unwrap();
    let first = dir.path().join("first");
    let out = harness(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        first.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("compare suite dac (baseline) with suite optical: no regression"),
        "{text}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["pairs"].as_array().unwrap().len(), 3);
    let lat = s["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["test"].as_str().unwrap().contains("lat"))
        .unwrap();
    assert!(lat["latency_p99_ns"].as_f64().unwrap() > 0.0, "{lat}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(first.join(s["pairs"][0]["report"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(report["labels"]["link"], "dac");
    assert_eq!(report["labels"]["harness.client"], "a");
    let second = dir.path().join("second");
    let out = harness(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        second.to_str().unwrap(),
        "--baseline",
        first.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(second.join("summary.json")).unwrap())
            .unwrap();
    for p in s["pairs"].as_array().unwrap() {
        // One trial a side: the comparison runs but cannot be significant.
        assert_eq!(p["baseline"]["verdict"], "not_enough_trials", "{p}");
    }
}
