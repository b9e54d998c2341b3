//! Peers that die: a server killed mid-test leaves the client with a report of what it measured, marked
//! incomplete; a client killed mid-test leaves the server ready for the next one.

mod common;

use common::{client, read_valid_report, Lines, ServerProcess};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_server_killed_mid_test_leaves_an_incomplete_report_with_earlier_trials() {
    let mut server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    // Four 2-second trials; the server dies in the middle of the second, about a second away from any
    // trial boundary: at the second trial's first live line (half-second intervals: the first line
    // comes once two intervals have passed).
    let mut child = client(&server.addr)
        .args([
            "--reverse",
            "--repeat",
            "4",
            "--duration",
            "2",
            "--warmup",
            "0",
            "--interval",
            "0.5",
            "--stall-timeout",
            "2",
            "--json",
        ])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Lines::stdout_of(&mut child);
    stdout.wait_for(
        "the first trial's result row",
        Duration::from_secs(60),
        |l| l.trim_start().starts_with("128K"),
    );
    stdout.wait_for_traffic(Duration::from_secs(60));
    server.child.kill().unwrap();
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the client ended within its timeouts"
    );
    assert_eq!(output.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    let results = report["results"].as_array().unwrap();
    let complete: Vec<_> = results.iter().filter(|r| r["complete"] == true).collect();
    assert!(
        !complete.is_empty(),
        "the first trial is kept: {}",
        results.len()
    );
    assert!(complete
        .iter()
        .all(|r| r["bandwidth"]["bits_per_second"].as_f64().unwrap() > 0.0));
    // The interrupted trial keeps what the client itself received before the server died.
    let partial = results
        .iter()
        .find(|r| r["complete"] == false)
        .expect("the interrupted trial is reported");
    assert!(
        partial["bandwidth"]["directions"][0]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(!report["errors"].as_array().unwrap().is_empty());
}

#[test]
fn a_client_killed_mid_test_leaves_the_server_ready() {
    let server = ServerProcess::start(&["--stall-timeout", "2"]);
    for args in [
        &["--duration", "10", "--warmup", "0"][..],
        &["--reverse", "--duration", "10", "--warmup", "0"][..],
        &["--test", "lat", "--duration", "10", "--warmup", "0"][..],
    ] {
        let mut victim = client(&server.addr)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed in the measured phase, with data moving.
        Lines::stdout_of(&mut victim).wait_for_traffic(Duration::from_secs(60));
        victim.kill().unwrap();
        victim.wait().unwrap();
        // The server notices within its stall timeout and serves the next client.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let output = client(&server.addr)
                .args(["--iterations", "100", "--warmup", "0"])
                .output()
                .unwrap();
            if output.status.success() {
                break;
            }
            let err = String::from_utf8_lossy(&output.stderr).to_string();
            assert!(
                err.contains("busy"),
                "only 'busy' is acceptable while the old session winds down: {err}"
            );
            assert!(
                Instant::now() < deadline,
                "server still busy long after the client died ({args:?})"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}
