//! Black-box tests: a real linkbench-server and linkbench-client on loopback, every test kind, and the
//! report checked against the committed schema and against itself (bytes moved equal what was sent).

mod common;

use common::{client, read_valid_report, ServerProcess};
use serde_json::Value;
use std::path::Path;

fn run_ok(server: &ServerProcess, dir: &Path, name: &str, args: &[&str]) -> Value {
    let path = dir.join(name);
    let output = client(&server.addr)
        .args(args)
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "client {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "complete");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);
    report
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

#[test]
fn bandwidth_in_iteration_mode_delivers_exactly_what_was_sent() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "bw.json",
        &[
            "--test",
            "bw",
            "--size",
            "4K",
            "--iterations",
            "20000",
            "--warmup",
            "0.2",
            "--label",
            "link=loopback",
        ],
    );
    let r = &results(&report)[0];
    assert_eq!(r["transport"], "tcp");
    assert_eq!(r["op"], "stream");
    assert_eq!(r["test"], "bw");
    assert_eq!(r["message_size"], 4096);
    assert_eq!(r["messages"], 20000);
    assert_eq!(r["bytes"], 20000 * 4096);
    let dir0 = &r["bandwidth"]["directions"][0];
    assert_eq!(dir0["direction"], "client_to_server");
    assert_eq!(dir0["sent_bytes"], dir0["bytes"]);
    assert!(
        dir0["warmup_bytes"].as_u64().unwrap() > 0,
        "the warm-up moved data and it was not counted"
    );
    let bps = r["bandwidth"]["bits_per_second"].as_f64().unwrap();
    let expected = 20000.0 * 4096.0 * 8.0 / r["duration_s"].as_f64().unwrap();
    assert!(
        (bps - expected).abs() / expected < 1e-9,
        "bits_per_second is payload bits over the measured time"
    );
    assert_eq!(report["labels"]["link"], "loopback");
    assert_eq!(report["tool"]["name"], "linkbench");
    assert!(report["server"]["hostname"].is_string());
    assert!(report["clock"]["client"]["read_cost_ns"].as_f64().unwrap() > 0.0);
}

#[test]
fn duration_mode_keeps_intervals_that_add_up() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "bw.json",
        &["--duration", "1", "--warmup", "0.2", "--interval", "0.25"],
    );
    let r = &results(&report)[0];
    let duration = r["duration_s"].as_f64().unwrap();
    assert!(
        (0.9..1.5).contains(&duration),
        "measured phase of about 1 s, got {duration}"
    );
    let intervals = r["intervals"].as_array().unwrap();
    assert!(
        (4..=6).contains(&intervals.len()),
        "about 4 intervals of 0.25 s, got {}",
        intervals.len()
    );
    let sum: u64 = intervals.iter().map(|i| i["bytes"].as_u64().unwrap()).sum();
    assert_eq!(
        sum,
        r["bytes"].as_u64().unwrap(),
        "intervals account for every measured byte"
    );
    assert!(
        r["bandwidth"]["best_interval_bits_per_second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn reverse_sends_from_the_server() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "rev.json",
        &[
            "--reverse",
            "--iterations",
            "5000",
            "--warmup",
            "0",
            "--size",
            "8K",
        ],
    );
    let r = &results(&report)[0];
    assert_eq!(r["reverse"], true);
    let d = &r["bandwidth"]["directions"][0];
    assert_eq!(d["direction"], "server_to_client");
    assert_eq!(d["bytes"], 5000 * 8192);
    assert_eq!(d["sent_bytes"], d["bytes"]);
}

#[test]
fn bidirectional_measures_both_directions() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "bibw.json",
        &["--test", "bibw", "--iterations", "3000", "--warmup", "0"],
    );
    let r = &results(&report)[0];
    let dirs = r["bandwidth"]["directions"].as_array().unwrap();
    assert_eq!(dirs.len(), 2);
    assert_eq!(dirs[0]["direction"], "client_to_server");
    assert_eq!(dirs[1]["direction"], "server_to_client");
    for d in dirs {
        assert_eq!(d["bytes"], 3000 * 131072);
    }
    assert_eq!(r["bytes"], 2 * 3000 * 131072);
    let total: f64 = dirs
        .iter()
        .map(|d| d["bits_per_second"].as_f64().unwrap())
        .sum();
    assert!((r["bandwidth"]["bits_per_second"].as_f64().unwrap() - total).abs() < 1.0);
}

#[test]
fn parallel_streams_each_carry_their_share() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "p.json",
        &["--streams", "3", "--iterations", "2000", "--warmup", "0"],
    );
    let r = &results(&report)[0];
    assert_eq!(r["streams"], 3);
    let per_stream = r["bandwidth"]["directions"][0]["per_stream"]
        .as_array()
        .unwrap();
    assert_eq!(per_stream.len(), 3);
    for s in per_stream {
        assert_eq!(s["bytes"], 2000 * 131072);
    }
    assert_eq!(r["bytes"], 3 * 2000 * 131072);
}

#[test]
fn latency_records_every_round_trip() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "lat.json",
        &[
            "--test",
            "lat",
            "--iterations",
            "3000",
            "--warmup",
            "0.1",
            "--interval",
            "0.1",
        ],
    );
    let r = &results(&report)[0];
    assert_eq!(r["message_size"], 2);
    let lat = &r["latency"];
    assert_eq!(lat["count"], 3000, "latency count equals iterations");
    assert!(lat["warmup_round_trips"].as_u64().unwrap() > 0);
    let rt = &lat["round_trip_ns"];
    let v = |k: &str| rt[k].as_f64().unwrap();
    assert!(v("min") > 0.0);
    assert!(v("min") <= v("p50") && v("p50") <= v("p90") && v("p90") <= v("p99"));
    assert!(v("p99") <= v("p99_9") && v("p99_9") <= v("p99_99") && v("p99_99") <= v("max"));
    assert!(v("mean") > 0.0 && v("stddev") >= 0.0);
    assert!(lat["histogram"].as_str().unwrap().len() > 20);
    assert_eq!(r["tcp"]["nodelay"], true);
    // Interval counts add up to the total; each interval carries its own percentiles.
    let intervals = r["intervals"].as_array().unwrap();
    let sum: u64 = intervals
        .iter()
        .map(|i| i["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 3000);
    assert!(intervals
        .iter()
        .all(|i| i["latency_round_trip_ns"]["p50"].as_u64().unwrap() > 0));
}

#[test]
fn busy_poll_latency_works() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "bp.json",
        &[
            "--test",
            "lat",
            "--iterations",
            "500",
            "--busy-poll",
            "--warmup",
            "0",
        ],
    );
    let r = &results(&report)[0];
    assert_eq!(r["latency"]["count"], 500);
    assert_eq!(r["tcp"]["busy_poll"], true);
}

#[test]
fn sweep_and_repeat_produce_one_result_per_size_and_trial() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "sweep.json",
        &[
            "--sweep",
            "2:64",
            "--repeat",
            "2",
            "--iterations",
            "200",
            "--warmup",
            "0",
        ],
    );
    let got: Vec<(u64, u64)> = results(&report)
        .iter()
        .map(|r| {
            (
                r["message_size"].as_u64().unwrap(),
                r["trial"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want = Vec::new();
    for size in [2u64, 4, 8, 16, 32, 64] {
        for trial in 0..2 {
            want.push((size, trial));
        }
    }
    assert_eq!(got, want);
    for r in results(&report) {
        assert_eq!(r["messages"], 200);
        assert_eq!(
            r["bytes"].as_u64().unwrap(),
            200 * r["message_size"].as_u64().unwrap()
        );
    }
}

#[test]
fn zerocopy_says_whether_the_kernel_avoided_the_copy() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "zc.json",
        &["--zerocopy", "--iterations", "3000", "--warmup", "0"],
    );
    let r = &results(&report)[0];
    assert_eq!(r["bytes"], 3000 * 131072);
    let zc = &r["zerocopy"];
    let sends = zc["stats"]["sends"].as_u64().unwrap();
    assert!(
        sends >= 3000,
        "every message went out with MSG_ZEROCOPY ({sends} sends)"
    );
    assert_eq!(
        zc["stats"]["completed"], sends,
        "every zero-copy send completed before the stream finished"
    );
    // Loopback always copies: the report must not claim otherwise.
    assert_eq!(zc["kernel_avoided_copy"], false);
    assert_eq!(zc["stats"]["copied"], sends);
}

#[test]
fn pinning_is_recorded_and_requested_cpus_are_used() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = run_ok(
        &server,
        dir.path(),
        "pin.json",
        &[
            "--cpu",
            "0",
            "--server-cpu",
            "0",
            "--iterations",
            "100",
            "--warmup",
            "0",
        ],
    );
    let p = &results(&report)[0]["placement"];
    assert_eq!(p["client"]["cpus"], serde_json::json!([0]));
    assert_eq!(p["client"]["source"], "requested");
    assert_eq!(p["server"]["cpus"], serde_json::json!([0]));
    assert_eq!(p["client_all_pinned"], true);
    assert_eq!(p["server_all_pinned"], true);
}

#[test]
fn live_lines_and_the_table_are_printed() {
    let server = ServerProcess::start(&[]);
    let output = client(&server.addr)
        .args(["--duration", "1", "--warmup", "0.2", "--interval", "0.2"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Gbit/s") && stdout.contains("Mmsg/s"),
        "{stdout}"
    );
    assert!(
        stdout.lines().filter(|l| l.contains("[recv]")).count() >= 2,
        "live interval lines: {stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("128K")),
        "a result row: {stdout}"
    );
}

#[test]
fn a_second_client_gets_a_busy_answer() {
    let server = ServerProcess::start(&[]);
    let mut first = client(&server.addr)
        .args(["--duration", "3", "--warmup", "0", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first client holds the session slot from the moment the server logs its session.
    server.wait_for_log("session started", std::time::Duration::from_secs(30));
    common::assert_told_busy(&server.addr);
    assert!(
        first.wait().unwrap().success(),
        "the first client is not disturbed"
    );
}

#[test]
fn once_exits_after_one_session() {
    let mut server = ServerProcess::start(&["--once"]);
    let output = client(&server.addr)
        .args(["--iterations", "10", "--warmup", "0"])
        .output()
        .unwrap();
    assert!(output.status.success());
    for _ in 0..100 {
        if !server.is_running() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("server with --once still running after its session");
}

#[test]
fn ipv6_loopback_works() {
    // CI (Debian, scripts/deps.sh) has IPv6 loopback: without it this test cannot check anything, so
    // it fails and says so rather than passing without having run.
    if let Err(e) = std::net::TcpListener::bind("[::1]:0") {
        panic!(
            "NOT RUN: this host has no IPv6 loopback (binding [::1]:0: {e}); enable it \
             (sysctl net.ipv6.conf.lo.disable_ipv6=0) to run this test"
        );
    }
    // Port 0: the server binds a free port and prints it.
    let server = ServerProcess::start_on("[::1]:0", &["--once"]);
    assert!(server.addr.starts_with("[::1]:"), "{}", server.addr);
    let output = client(&server.addr)
        .args(["--iterations", "10", "--warmup", "0"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
