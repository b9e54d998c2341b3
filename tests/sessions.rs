//! Several sessions on one server (`linkbench-server --max-sessions N`): real clients at once on
//! loopback, the server-wide budget of streams, and what a shared server's report says.

mod common;

use common::{client, read_valid_report, ServerProcess};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A bandwidth client writing its report to `json`, running in the background.
fn spawn_client(server: &ServerProcess, json: &Path, args: &[&str]) -> Child {
    client(&server.addr)
        .args(["--test", "bw", "--warmup", "0", "-q", "--json"])
        .arg(json)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
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
    finished(spawn_client(&server, &alone_json, &["--duration", "0.5"]));
    let alone = read_valid_report(&alone_json);
    assert!(sharing(&alone).is_null(), "{}", sharing(&alone));
    server.wait_for_log("session ended", Duration::from_secs(30));

    let a = spawn_client(&server, &a_json, &["--duration", "6"]);
    server.wait_for_log("session started", Duration::from_secs(30));
    let b = spawn_client(&server, &b_json, &["--duration", "4"]);
    server.wait_for_log("session started", Duration::from_secs(30));
    // Both slots are held: a third client is told "busy", as with one slot (after the 2 s a client
    // waits for a slot that is being freed, which these trials outlast).
    let third = client(&server.addr)
        .args(["--iterations", "10"])
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(1));
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(err.contains("busy"), "{err}");

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
    // With CPUs to spare, the second session's server thread avoids the first's CPU, and neither
    // report names a shared CPU; on one CPU they share it and both say so.
    let (cpus_a, cpus_b) = (server_cpus(&ra), server_cpus(&rb));
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        assert!(
            cpus_a.iter().all(|c| !cpus_b.contains(c)),
            "{cpus_a:?} {cpus_b:?}"
        );
        assert_eq!(sharing(&rb)["cpus_shared"], serde_json::json!([]));
    } else {
        assert_eq!(sharing(&rb)["cpus_shared"], serde_json::json!(cpus_b));
    }
}

#[test]
fn the_stream_budget_holds_for_all_sessions_together() {
    let server = ServerProcess::start(&["--max-sessions", "2", "--max-streams", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let a_json = dir.path().join("a.json");
    let a = spawn_client(&server, &a_json, &["--duration", "4", "--streams", "2"]);
    server.wait_for_log("session started", Duration::from_secs(30));
    // The first client's trial is set up within moments of its session's start.
    std::thread::sleep(Duration::from_millis(1000));
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
    finished(spawn_client(
        &server,
        &b_json,
        &["--duration", "0.5", "--streams", "1"],
    ));
    assert_eq!(sharing(&read_valid_report(&b_json))["other_trials"], 1);
    finished(a);
}
