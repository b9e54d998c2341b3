//! Receive modes and CPU accounting, end to end: a real server and client on loopback. Every
//! `--recv-mode` delivers exactly iterations x size x streams (both ways for bibw, either side
//! receiving, with MSG_ZEROCOPY sends too), says how the bytes came off the sockets, and every result
//! carries each side's CPU cost.

mod common;

use common::{client, read_valid_report, ServerProcess};
use serde_json::Value;
use std::path::Path;

const MODES: [&str; 3] = ["copy", "discard", "zerocopy"];

fn run(server: &ServerProcess, dir: &Path, name: &str, args: &[&str]) -> Value {
    let path = dir.join(name);
    let output = client(&server.addr)
        .args(args)
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "client {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = read_valid_report(&path);
    assert_eq!(
        report["status"], "complete",
        "{args:?}: {}",
        report["errors"]
    );
    report["results"][0].clone()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Checks a bandwidth result of `iterations` messages of `size` per stream and direction.
fn check_exact(r: &Value, mode: &str, size: u64, iterations: u64, flows: u64, what: &str) {
    assert_eq!(u(&r["bytes"]), iterations * size * flows, "{what}: bytes");
    assert_eq!(u(&r["messages"]), iterations * flows, "{what}: messages");
    let receive = &r["receive"];
    assert_eq!(receive["mode"], mode, "{what}");
    assert!(!receive["meaning"].as_str().unwrap().is_empty());
    let stats = &receive["stats"];
    let (copied, discarded, mapped) = (
        u(&stats["bytes_copied"]),
        u(&stats["bytes_discarded"]),
        u(&stats["bytes_mapped"]),
    );
    let directions = r["bandwidth"]["directions"].as_array().unwrap();
    let warmup: u64 = directions.iter().map(|d| u(&d["warmup_bytes"])).sum();
    assert_eq!(
        copied + discarded + mapped,
        warmup + u(&r["bytes"]),
        "{what}: every received byte, warm-up included, came one of the three ways"
    );
    match mode {
        "copy" => assert_eq!((discarded, mapped), (0, 0), "{what}"),
        // Only each message's first byte (its phase mark) is read.
        "discard" => {
            assert_eq!(mapped, 0, "{what}");
            assert_eq!(
                copied * size,
                warmup + u(&r["bytes"]),
                "{what}: one byte per message"
            );
        }
        _ => assert_eq!(discarded, 0, "{what}"),
    }
}

#[test]
fn every_receive_mode_delivers_exactly_what_was_sent() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // 1000 bytes: messages straddle every read and every page.
    let cases: [(&[&str], u64, u64, &str); 5] = [
        (&["--test", "bw", "--size", "1000"], 1000, 1, "bw"),
        (
            &["--test", "bw", "--size", "128K", "--reverse"],
            131072,
            1,
            "bw reverse",
        ),
        (
            &["--test", "bibw", "--size", "64K", "--streams", "2"],
            65536,
            4,
            "bibw x2",
        ),
        (
            &["--test", "bw", "--size", "64K", "--zerocopy"],
            65536,
            1,
            "MSG_ZEROCOPY sends",
        ),
        (
            &["--test", "bw", "--size", "4K", "--streams", "3"],
            4096,
            3,
            "bw x3",
        ),
    ];
    for mode in MODES {
        for (i, (args, size, flows, what)) in cases.iter().enumerate() {
            let mut all = args.to_vec();
            all.extend([
                "--iterations",
                "2000",
                "--warmup",
                "0.2",
                "--recv-mode",
                mode,
            ]);
            let r = run(&server, dir.path(), &format!("{mode}-{i}.json"), &all);
            check_exact(&r, mode, *size, 2000, *flows, &format!("{mode} {what}"));
        }
    }
}

#[test]
fn duration_mode_receives_in_every_mode() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for mode in MODES {
        let args = ["--duration", "0.5", "--warmup", "0.2", "--recv-mode", mode];
        let r = run(&server, dir.path(), &format!("{mode}.json"), &args);
        assert!(
            r["bandwidth"]["bits_per_second"].as_f64().unwrap() > 0.0,
            "{mode}"
        );
        assert_eq!(u(&r["bytes"]) % 131072, 0, "{mode}: whole messages only");
        assert_eq!(r["receive"]["mode"], mode);
    }
}

fn side_cpu<'a>(r: &'a Value, side: &str) -> &'a Value {
    let cpu = &r["cpu"][side];
    assert!(
        cpu.is_object(),
        "no CPU figures for the {side}: {}",
        r["cpu"]
    );
    cpu
}

/// The figures a side's CPU entry must hold whatever the test.
fn check_side_cpu(cpu: &Value, span: &str, what: &str) {
    assert_eq!(cpu["span"], span, "{what}");
    let user = cpu["user_s"].as_f64().unwrap();
    let system = cpu["system_s"].as_f64().unwrap();
    assert!(
        user >= 0.0 && system >= 0.0 && user + system > 0.0,
        "{what}: {cpu}"
    );
    let busy = cpu["cores_busy"].as_f64().unwrap();
    // One data thread cannot use more than one core (a little slack for clock granularity).
    let threads = cpu["data_threads"].as_f64().unwrap();
    assert!(
        busy > 0.0 && busy <= threads * 1.05,
        "{what}: cores_busy {busy}"
    );
    let host = &cpu["host"];
    let util = host["utilization_percent"].as_f64().unwrap();
    assert!(
        util > 0.0 && util <= 100.0,
        "{what}: host utilization {util}"
    );
    assert!(u(&host["cpus"]) >= 1);
}

#[test]
fn every_result_carries_each_sides_cpu_cost() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let bw = run(
        &server,
        dir.path(),
        "bw.json",
        &["--duration", "0.5", "--warmup", "0.2"],
    );
    for side in ["client", "server"] {
        let cpu = side_cpu(&bw, side);
        check_side_cpu(cpu, "measured_phase", &format!("bw {side}"));
        let per_gb = cpu["cpu_s_per_gb"].as_f64().unwrap();
        let total = cpu["user_s"].as_f64().unwrap() + cpu["system_s"].as_f64().unwrap();
        let gb = bw["bytes"].as_f64().unwrap() / 1e9;
        assert!(
            (per_gb - total / gb).abs() <= 1e-9 * per_gb.max(1.0),
            "bw {side}: {per_gb}"
        );
        assert!(cpu["cpu_us_per_round_trip"].is_null());
    }
    let args = ["--test", "lat", "--iterations", "2000", "--warmup", "0.1"];
    let lat = run(&server, dir.path(), "lat.json", &args);
    check_side_cpu(side_cpu(&lat, "client"), "measured_phase", "lat client");
    // The echoing server cannot tell warm-up from measured round trips: its whole life, per all of them.
    let server_cpu = side_cpu(&lat, "server");
    check_side_cpu(server_cpu, "whole_trial", "lat server");
    let per_rt = server_cpu["cpu_us_per_round_trip"].as_f64().unwrap();
    let total = server_cpu["user_s"].as_f64().unwrap() + server_cpu["system_s"].as_f64().unwrap();
    let round_trips = 2000 + u(&lat["latency"]["warmup_round_trips"]);
    assert!((per_rt - total * 1e6 / round_trips as f64).abs() < 1e-6 * per_rt.max(1.0));
    assert!(server_cpu["cpu_s_per_gb"].is_null());
    assert!(lat["receive"].is_null(), "latency has no receive mode");
}

#[test]
fn receive_modes_outside_tcp_bandwidth_are_refused_in_one_line() {
    for (args, needle) in [
        (
            &["--test", "lat", "--recv-mode", "discard"][..],
            "--recv-mode applies to TCP bandwidth",
        ),
        (
            &["--transport", "rdma", "--recv-mode", "zerocopy"][..],
            "--recv-mode is a TCP option",
        ),
        (&["--recv-mode", "mmap"][..], "mmap"),
    ] {
        let out = client("127.0.0.1:9").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
