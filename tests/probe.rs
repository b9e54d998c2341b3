//! `--probe-rate`: latency under load. Small paced round trips on a connection of their own beside the
//! bandwidth traffic, over real sockets: on loopback the pacing and the accounting are exact (every
//! slot is a round trip or a missed slot; the server answered each one); over a tbf-shaped veth link
//! the probe sees the queue the traffic builds, which a latency test on the idle link does not; in a
//! soak every sample carries the probe's window and the profile's `max_probe_p99_us` judges it.

mod common;

use common::{client, read_valid_report, stderr_lines, ServerProcess, ShapedLink};
use serde_json::Value;
use std::path::Path;

fn probe_of(report: &Value) -> &Value {
    &report["results"][0]["probe"]
}

/// Decodes a report's base64 HdrHistogram with the reference Python implementation; returns its count.
fn python_histogram_count(encoded: &str) -> u64 {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; from hdrh.histogram import HdrHistogram as H; \
             print(H.decode(sys.argv[1]).get_total_count())",
            encoded,
        ])
        .output()
        .expect("python3 with hdrhistogram (scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn every_probe_slot_is_a_round_trip_or_a_missed_slot_and_the_server_answered_each() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = client(&server.addr)
        .args(["--test", "bw", "--duration", "1.5", "--warmup", "0.5"])
        .args(["--probe-rate", "200", "--probe-size", "100", "-q", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_valid_report(&json);
    let p = probe_of(&report);
    assert_eq!(p["rate_per_s"], 200);
    assert_eq!(p["size_bytes"], 100);
    let count = p["count"].as_u64().unwrap();
    let missed = p["missed_slots"].as_u64().unwrap();
    let warmup = p["warmup_round_trips"].as_u64().unwrap();
    // 1.5 s at 200/s is 300 slots. The probe ends when the data threads have ended, which on a busy
    // machine can be a few slots after the phase (311 with a compiler running beside the test).
    let slots = count + missed;
    assert!(
        (270..=330).contains(&slots),
        "{count} round trips + {missed} missed"
    );
    // A paced probe, not a flood: the warm-up's 0.5 s is at most about 100 slots.
    assert!((1..=102).contains(&warmup), "warm-up round trips {warmup}");
    // The server answered every round trip, warm-up included.
    assert_eq!(p["server_echoed"].as_u64().unwrap(), count + warmup);
    // Every measured round trip is in the histogram, which the reference decoder reads.
    assert_eq!(
        python_histogram_count(p["histogram"].as_str().unwrap()),
        count
    );
    let rt = &p["round_trip_ns"];
    assert!(rt["min"].as_u64().unwrap() > 0);
    assert!(rt["p50"].as_u64() <= rt["p99"].as_u64() && rt["p99"].as_u64() <= rt["max"].as_u64());
    // The table says it under the row.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "probe under load: {count} round trips of 100 B at 200/s"
        )),
        "{stdout}"
    );
    // What the probe shared with the traffic is in the report, per side.
    let shares = &p["shares"];
    assert!(shares["client_cpu"].is_u64() && shares["server_cpu"].is_u64());
    assert!(shares["summary"]
        .as_str()
        .unwrap()
        .contains("route, interface and NIC"));
    // The probe's CPU is not the data path's: a bandwidth trial's CPU cost is its data threads'.
    assert!(report["results"][0]["cpu"]["client"].is_object());
}

/// The idle link's round trip (a latency test) and the probe's under the traffic, same link and size.
fn idle_and_loaded_p50_ns(link: &ShapedLink, dir: &Path) -> (u64, u64) {
    let idle_json = dir.join("idle.json");
    let out = link
        .client()
        .args([
            "--test",
            "lat",
            "--size",
            "64",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "-q",
        ])
        .arg("--json")
        .arg(&idle_json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let idle = read_valid_report(&idle_json)["results"][0]["latency"]["round_trip_ns"]["p50"]
        .as_u64()
        .unwrap();
    let loaded_json = dir.join("loaded.json");
    let out = link
        .client()
        .args([
            "--test",
            "bw",
            "--duration",
            "3",
            "--warmup",
            "1",
            "--probe-rate",
            "100",
            "-q",
        ])
        .arg("--json")
        .arg(&loaded_json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_valid_report(&loaded_json);
    let loaded = probe_of(&report)["round_trip_ns"]["p50"].as_u64().unwrap();
    (idle, loaded)
}

#[test]
fn the_probe_sees_the_queue_the_traffic_builds_on_a_shaped_link() {
    // tbf with "latency 50ms" holds up to 50 ms of the link's rate: TCP fills that queue, and a small
    // message behind it waits. A latency test on the idle link never sees it. At 20 Mbit/s the bytes
    // TCP keeps queued are tens of milliseconds; an idle round trip on veth is well under one.
    let link = ShapedLink::new(61, 20);
    let dir = tempfile::tempdir().unwrap();
    let (idle, loaded) = idle_and_loaded_p50_ns(&link, dir.path());
    eprintln!("idle round trip p50 {idle} ns; probe p50 under load {loaded} ns");
    assert!(
        loaded > 10 * idle,
        "probe p50 under load {loaded} ns, idle round trip {idle} ns: the probe did not see the queue"
    );
}

#[test]
fn a_soak_carries_the_probe_in_every_sample_and_the_profile_judges_its_p99() {
    let link = ShapedLink::new(62, 100);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("tight.toml");
    // 1 us: no round trip over a loaded link is that fast, so the verdict must fail on it.
    std::fs::write(&profile, "[default]\nmax_probe_p99_us = 1.0\n").unwrap();
    let series = dir.path().join("s.jsonl");
    let json = dir.path().join("s.json");
    let out = link
        .client()
        .args(["--soak", "3", "--sample-interval", "0.5", "--warmup", "0.5"])
        .args(["--probe-rate", "100", "-q", "--series"])
        .arg(&series)
        .arg("--profile")
        .arg(&profile)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&series)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 6, "{} samples", lines.len());
    let mut worst: Option<(u64, u64)> = None;
    let mut windows = 0;
    for line in &lines {
        assert_eq!(line["schema_version"], "1.1.0");
        let p = &line["probe"];
        if p.is_null() {
            // Only with a note saying why (a round trip still out, or the probe ended with the data).
            assert!(line["notes"].to_string().contains("probe:"), "{line}");
            continue;
        }
        windows += 1;
        // Each window's slots are its length at 100/s (paced, never a burst).
        let slots = (p["count"].as_u64().unwrap() + p["missed_slots"].as_u64().unwrap()) as f64;
        let due = p["window_s"].as_f64().unwrap() * 100.0;
        assert!(
            (slots - due).abs() <= 0.25 * due + 3.0,
            "sample {}: {p}",
            line["sample"]
        );
        if line["measuring"] == true && p["count"].as_u64().unwrap() > 0 {
            let p99 = p["p99_ns"].as_u64().unwrap();
            if worst.is_none_or(|(w, _)| p99 > w) {
                worst = Some((p99, line["sample"].as_u64().unwrap()));
            }
        }
    }
    assert!(windows >= 5, "{windows} samples had a probe window");
    let report = read_valid_report(&json);
    let soak = &report["results"][0]["soak"];
    let (p99_ns, at) = worst.unwrap();
    assert_eq!(soak["probe_p99_us"]["sample"], at);
    assert!((soak["probe_p99_us"]["value"].as_f64().unwrap() - p99_ns as f64 / 1e3).abs() < 1e-6);
    let threshold = soak["verdict"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "max_probe_p99_us")
        .unwrap();
    assert_eq!(threshold["result"], "fail");
    assert_eq!(threshold["source"], "[default]");
    assert_eq!(threshold["detail"], format!("sample {at}"));
    assert_eq!(soak["verdict"]["pass"], false);
    // The whole soak's histogram is in the report.
    assert!(probe_of(&report)["count"].as_u64().unwrap() >= 200);
}

#[test]
fn probe_flags_that_cannot_work_are_one_line_errors_before_any_traffic() {
    let server = ServerProcess::start(&[]);
    let cases: &[(&[&str], &str)] = &[
        (&["--probe-rate", "0"], "invalid probe rate '0'"),
        (&["--probe-rate", "200000"], "invalid probe rate '200000'"),
        (
            &["--probe-rate", "10", "--probe-size", "1M"],
            "invalid probe size '1M'",
        ),
        (&["--probe-size", "64"], "--probe-rate"),
        (
            &["--probe-rate", "10", "--test", "lat"],
            "already a latency test",
        ),
    ];
    for (args, needle) in cases {
        let out = client(&server.addr).args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains(needle), "{args:?}: {}", lines[0]);
    }
}

#[test]
fn a_probe_slower_than_the_servers_stall_timeout_is_refused_in_one_line() {
    let server = ServerProcess::start(&["--stall-timeout", "1"]);
    let out = client(&server.addr)
        .args(["--probe-rate", "1", "--duration", "1", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("--probe-rate 2 or more"), "{}", lines[0]);
}
