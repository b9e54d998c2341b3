//! Several sessions on one server (`linkbench-server --max-sessions N`): real clients at once on
//! loopback, the server-wide budget of streams, and what a shared server's report says.

mod common;

use common::{client, read_valid_report, Lines, ServerProcess};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A bandwidth client writing its report to `json`, running in the background with its live lines on
/// a pipe.
fn spawn_client(server: &ServerProcess, json: &Path, args: &[&str]) -> (Child, Lines) {
    let mut child = client(&server.addr)
        .args(["--test", "bw", "--warmup", "0", "--json"])
        .arg(json)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Lines::stdout_of(&mut child);
    (child, lines)
}

/// Waits until the client's trial moves data (its server side holds its share of the server by then).
fn measuring(mut started: (Child, Lines)) -> Child {
    started.1.wait_for_traffic(Duration::from_secs(60));
    started.0
}

fn finished(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

fn sharing(report: &Value) -> &Value {
    &report["results"][0]["placement"]["server_sharing"]
}

fn server_cpus(report: &Value) -> Vec<u64> {
    report["results"][0]["placement"]["server"]["cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

#[test]
fn two_sessions_run_at_once_a_third_is_told_busy_and_each_report_says_it_shared() {
    let server = ServerProcess::start(&["--max-sessions", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let (a_json, b_json, alone_json) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("alone.json"),
    );
    // Alone first: nothing shared, nothing said.
    finished(spawn_client(&server, &alone_json, &["--duration", "0.5"]).0);
    let alone = read_valid_report(&alone_json);
    assert!(sharing(&alone).is_null(), "{}", sharing(&alone));

    let a = measuring(spawn_client(&server, &a_json, &["--duration", "12"]));
    let b = measuring(spawn_client(&server, &b_json, &["--duration", "8"]));
    // Both slots are held: a third client is told "busy", as with one slot (after the 2 s a client
    // waits for a slot that is being freed, which these trials outlast).
    common::assert_told_busy(&server.addr);

    let b_err = finished(b);
    let a_err = finished(a);
    let (ra, rb) = (read_valid_report(&a_json), read_valid_report(&b_json));
    for (name, report, err) in [("a", &ra, &a_err), ("b", &rb, &b_err)] {
        let s = sharing(report);
        assert_eq!(s["other_trials"], 1, "{name}: {s}");
        assert_eq!(s["most_at_once"], 1, "{name}: {s}");
        assert!(
            err.contains("the server ran 1 other session's trial(s) beside this one"),
            "{name}: the warning is on screen: {err}"
        );
        assert!(
            report["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().contains("other session's trial")),
            "{name}: and in the report"
        );
    }
    // The CPUs each report names as shared are exactly the two trials' common server CPUs (none when
    // the server had a CPU to spare for the second, which takes CPUs the first does not use).
    let (cpus_a, cpus_b) = (server_cpus(&ra), server_cpus(&rb));
    let common: Vec<u64> = cpus_b
        .iter()
        .filter(|c| cpus_a.contains(c))
        .copied()
        .collect();
    assert_eq!(sharing(&ra)["cpus_shared"], serde_json::json!(common));
    assert_eq!(sharing(&rb)["cpus_shared"], serde_json::json!(common));
}

#[test]
fn the_stream_budget_holds_for_all_sessions_together() {
    let server = ServerProcess::start(&["--max-sessions", "2", "--max-streams", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let a_json = dir.path().join("a.json");
    let a = measuring(spawn_client(
        &server,
        &a_json,
        &["--duration", "10", "--streams", "2"],
    ));
    let refused = client(&server.addr)
        .args(["--test", "bw", "--duration", "0.5", "--streams", "2", "-q"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("hold 2 of its 3 streams") && lines[0].contains("ask for at most 1"),
        "{err}"
    );
    // One stream fits beside the first client's two.
    let b_json = dir.path().join("b.json");
    finished(spawn_client(&server, &b_json, &["--duration", "0.5", "--streams", "1"]).0);
    assert_eq!(sharing(&read_valid_report(&b_json))["other_trials"], 1);
    finished(a);
}

#[test]
fn once_cannot_end_other_sessions() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
        .args(["--bind", "127.0.0.1:0", "--once", "--max-sessions", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--once"), "{err}");
}
