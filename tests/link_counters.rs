//! Link facts and counters on a real kernel interface: two network namespaces joined by a veth pair
//! (shaped to 1 Gbit/s with tbf), a server in one and a client in the other. Both sides' reports must
//! name their veth, its MTU, and netdev counter deltas that account for the bytes the test moved.
//! Needs root and iproute2 (scripts/deps.sh).

mod common;

use common::ShapedLink;
use serde_json::Value;
use std::process::Command;

/// Payload plus warm-up bytes that crossed the link in one direction of a trial.
fn moved(result: &Value) -> u64 {
    let dir = &result["bandwidth"]["directions"][0];
    dir["bytes"].as_u64().unwrap() + dir["warmup_bytes"].as_u64().unwrap()
}

fn delta(link: &Value, name: &str) -> u64 {
    link["counters"]["delta"]["netdev"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no netdev.{name} delta in {link}"))
}

/// Frames carry TCP/IP/Ethernet headers (66 bytes per <= 1448-byte segment at MTU 1500, ~4.6%) plus
/// the control connection; the counters must lie between the payload and that overhead.
fn assert_accounts_for(counted: u64, payload: u64, what: &str) {
    let upper = (payload as f64 * 1.06) as u64 + 2_000_000;
    assert!(
        counted >= payload && counted <= upper,
        "{what}: counter delta {counted} outside [{payload}, {upper}] (payload + headers)"
    );
}

fn run_client(link: &ShapedLink, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    run_client_to(link, "1", extra, &path)
}

/// The arguments of a 64K bandwidth test of `duration` seconds (0.3 s warm-up).
fn bw_args(duration: &str) -> [&str; 8] {
    [
        "--test",
        "bw",
        "--size",
        "64K",
        "--warmup",
        "0.3",
        "--duration",
        duration,
    ]
}

/// A 64K bandwidth test of `duration` seconds (0.3 s warm-up) whose report goes to `path`.
fn run_client_to(
    link: &ShapedLink,
    duration: &str,
    extra: &[&str],
    path: &std::path::Path,
) -> Value {
    let out = link
        .client()
        .args(bw_args(duration))
        .args(extra)
        .arg("--json")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::read_valid_report(path)
}

#[test]
fn both_sides_name_the_veth_and_counters_match_the_bytes_moved() {
    let link = ShapedLink::new(61, 1000);
    for reverse in [false, true] {
        let report = run_client(&link, if reverse { &["--reverse"] } else { &[] });
        let r = &report["results"][0];
        let (client, server) = (&r["link"]["client"], &r["link"]["server"]);
        assert_eq!(client["interface"], "veth0", "{client}");
        assert_eq!(server["interface"], "veth1", "{server}");
        for side in [client, server] {
            assert_eq!(side["mtu"], 1500);
            assert_eq!(side["driver"], "veth");
            assert_eq!(side["verdict"]["link_flapped"], false);
            assert_eq!(
                side["verdict"]["error_counters_increased"]
                    .as_array()
                    .unwrap()
                    .len(),
                0
            );
            assert!(side["module"].is_null() && side["module_unavailable"].is_string());
            assert!(
                side["counters"]["before"]["ethtool"].is_object(),
                "veth has ethtool statistics"
            );
        }
        let payload = moved(r);
        assert!(
            payload > 50_000_000,
            "a 1 Gbit/s second moves > 50 MB: {payload}"
        );
        let (sender, receiver) = if reverse {
            (server, client)
        } else {
            (client, server)
        };
        assert_accounts_for(delta(sender, "tx_bytes"), payload, "sender tx_bytes");
        assert_accounts_for(delta(receiver, "rx_bytes"), payload, "receiver rx_bytes");
        // The veth pair is one wire: what one end sent, the other received.
        let (tx, rx) = (delta(sender, "tx_bytes"), delta(receiver, "rx_bytes"));
        assert!(tx.abs_diff(rx) < 1_000_000, "tx {tx} vs rx {rx}");
    }
}

#[test]
fn inspect_reads_the_veth_inside_its_namespace() {
    let link = ShapedLink::new(62, 1000);
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &link.client_ns,
            env!("CARGO_BIN_EXE_linkbench-inspect"),
            "--interface",
            "veth0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["interface"], "veth0");
    assert_eq!(v["mtu"], 1500);
    assert_eq!(v["driver"], "veth");
    assert_eq!(v["speed_mbps"], 10000, "veth reports 10 Gbit/s");
    assert!(v["counters"]["netdev"]["tx_bytes"].is_u64());
    let why = v["module_unavailable"].as_str().unwrap();
    assert!(why.contains("no module EEPROM"), "{why}");
    let all = Command::new("ip")
        .args([
            "netns",
            "exec",
            &link.client_ns,
            env!("CARGO_BIN_EXE_linkbench-inspect"),
            "--format",
            "table",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&all.stdout);
    assert!(
        table.contains("veth0") && table.contains("not available: rdma"),
        "{table}"
    );
}

#[test]
fn a_link_flap_during_a_test_is_reported_and_fails_the_comparison() {
    let link = ShapedLink::new(63, 1000);
    let dir = tempfile::tempdir().unwrap();
    let (base_path, cand_path) = (dir.path().join("base.json"), dir.path().join("cand.json"));
    let baseline = run_client_to(&link, "1", &[], &base_path);
    assert_eq!(
        baseline["results"][0]["link"]["server"]["verdict"]["link_flapped"],
        false
    );
    // Take the server's end of the wire down for 200 ms in the middle of a 4 s test: a real flap. It
    // goes down at the client's first live line (2 s into the trial, as the second interval ends: the
    // measured phase runs), which leaves about 2 s for the flap to end before the trial does.
    let mut cand = link
        .client()
        .args(bw_args("4"))
        .arg("--json")
        .arg(&cand_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::Lines::stdout_of(&mut cand).wait_for_traffic(std::time::Duration::from_secs(60));
    for state in ["down", "up"] {
        let ok = Command::new("ip")
            .args(["-n", &link.server_ns, "link", "set", "veth1", state])
            .status()
            .unwrap();
        assert!(ok.success());
        // The flap itself: the link stays down this long (part of what is tested, not a wait).
        if state == "down" {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    let out = cand.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let candidate = common::read_valid_report(&cand_path);
    let r = &candidate["results"][0];
    for side in ["client", "server"] {
        let l = &r["link"][side];
        assert_eq!(
            l["verdict"]["link_flapped"], true,
            "{side}: {}",
            l["verdict"]
        );
        assert!(
            l["counters"]["delta"]["netdev"]["carrier_changes"]
                .as_u64()
                .unwrap()
                >= 2
        );
    }
    let warnings = candidate["warnings"].to_string();
    assert!(
        warnings.contains("server link veth1: the link went down"),
        "{warnings}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_linkbench-compare"))
        .arg(&base_path)
        .arg(&cand_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("LINK FAILURE") && text.contains("the link went down"),
        "{text}"
    );
    // The flap is the candidate's: the other way round there is nothing to fail on.
    let back = Command::new(env!("CARGO_BIN_EXE_linkbench-compare"))
        .arg(&cand_path)
        .arg(&base_path)
        .output()
        .unwrap();
    assert_eq!(
        back.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&back.stdout)
    );
}
