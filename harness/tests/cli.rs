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

#[test]
fn a_soak_suite_soaks_every_pair_of_a_round_at_once_and_judges_each_module() {
    // Two pairs in one round (four host names on loopback, two ports), each soaking with the client's
    // module replayed from the heating LR4 fixture and a profile whose part layer caps the temperature
    // at 48 C (the fixture starts at 47.7 C and heats); a plain soak suite beside it passes the defaults.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("qual.toml");
    std::fs::write(
        &profile,
        "[part.\"TRD5H20ENF-LF000\"]\nmax_temperature_c = 48.0\n",
    )
    .unwrap();
    let replay = repo().join("tests/fixtures/replay/lr4-heating");
    let plan = dir.path().join("soak.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "qual"
[launcher]
kind = "local"
server_bin = "{}"
client_bin = "{}"
port = 28615
[hosts]
a = "127.0.0.1"
b = "127.0.0.1"
c = "127.0.0.1"
d = "127.0.0.1"
[[suite]]
name = "optical"
topology = "pairs"
pairs = [["a", "b"], ["c", "d"]]
tests = [{{ test = "bw", warmup = "0.3s" }}]
soak = "3s"
sample_interval = "0.5s"
profile = "{}"
replay_link = "{}"
probe_rate = 50
[[suite]]
name = "plain"
topology = "pairs"
pairs = [["a", "b"]]
tests = [{{ test = "bw", warmup = "0.3s" }}]
soak = "1s"
sample_interval = "0.5s"
"#,
            bin("linkbench-server").display(),
            bin("linkbench-client").display(),
            profile.display(),
            replay.display()
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = harness(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    // One round for the optical suite's two pairs: they ran at once.
    assert!(err.contains("suite optical round 1/1: 2 pairs"), "{err}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    let pairs = s["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3, "{text}");
    let mut modules = 0;
    for p in pairs {
        let optical = p["suite"] == "optical";
        assert_eq!(p["verdict"], if optical { "fail" } else { "pass" }, "{p}");
        let report = out_dir.join(p["report"].as_str().unwrap());
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        let soak = &r["results"][0]["soak"];
        // The series is under the output directory, named by suite and pair, and holds the samples.
        let series = std::path::PathBuf::from(soak["series"].as_str().unwrap());
        assert!(
            series.starts_with(std::path::absolute(&out_dir).unwrap()),
            "{series:?}"
        );
        let lines = std::fs::read_to_string(&series).unwrap().lines().count() as u64;
        assert_eq!(lines, soak["samples"].as_u64().unwrap());
        assert!(
            r["results"][0]["probe"].is_object() == optical,
            "the probe runs where asked"
        );
        for m in p["modules"].as_array().unwrap() {
            modules += 1;
            let client = m["side"] == "client";
            assert_eq!(
                m["host"],
                if client {
                    p["client"].clone()
                } else {
                    p["server"].clone()
                }
            );
            if optical && client {
                // The replayed module, named as its EEPROM names it, fails the part layer's threshold.
                assert_eq!(m["part_number"], "TRD5H20ENF-LF000", "{m}");
                assert_eq!(m["serial_number"], soak["modules"][0]["serial_number"]);
                assert!(m["replayed"].is_string(), "{m}");
                assert_eq!(m["verdict"], "fail");
                let failed = m["failed"].to_string();
                assert!(
                    failed.contains("max_temperature_c") && failed.contains("[part."),
                    "{m}"
                );
            } else {
                // Loopback has no module; nothing failed for that end.
                assert!(m["part_number"].is_null(), "{m}");
                assert_eq!(m["verdict"], "pass", "{m}");
            }
        }
    }
    assert_eq!(modules, 6, "two ends for each of three pairs");
    assert!(
        text.contains("modules soaked:") && text.contains("TRD5H20ENF-LF000"),
        "{text}"
    );
    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("name=\"qual.optical.modules\" tests=\"4\" failures=\"2\""),
        "{junit}"
    );
    let html = std::fs::read_to_string(out_dir.join("summary.html")).unwrap();
    assert!(
        html.contains("modules soaked") && html.contains("S22JB05RR"),
        "{html}"
    );
    // Soak keys are checked before anything runs.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("soak = \"1s\"", "soak = \"soon\"");
    std::fs::write(&bad, text).unwrap();
    let out = harness(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("soak"),
        "{out:?}"
    );
}
