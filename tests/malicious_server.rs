//! Issue 12's malicious server: a fake linkbench server in this test process speaks the protocol to the
//! real linkbench-client and breaks it the ways a hostile or broken server could. The client must end
//! within its deadlines, never trust figures no trial could produce, escape the server's text, and write
//! its report as incomplete with the reason. Each of these failed on 8fb13e6.

mod common;

use common::read_valid_report;
use linkbench::control::{
    frame, ClientMessage, RefusalReason, ServerLimits, ServerMessage, SideReport, CONTROL_PREAMBLE,
    DATA_PREAMBLE, SERVER_PREAMBLE,
};
use linkbench::engine::pinning::{CpuChoice, CpuSource};
use linkbench::report::model::{Direction, DirectionFigures};
use linkbench::stats::IntervalFigures;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What the fake server does once the client said `start` (or, for `Handshake`, instead of welcoming).
type Act = Box<dyn FnOnce(&mut TcpStream) + Send>;

enum Script {
    /// Replaces the whole handshake after the hello.
    Handshake(Act),
    /// Welcomes with this CPU governor, takes the setup, then acts.
    Trial { governor: String, act: Act },
}

/// Starts the fake server on a free loopback port; returns its address.
fn fake_server(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut control, _) = listener.accept().unwrap();
        control
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut preamble = [0u8; 8];
        control.read_exact(&mut preamble).unwrap();
        assert_eq!(&preamble, CONTROL_PREAMBLE);
        let _hello: ClientMessage = frame::read_frame(&mut control, 1 << 20).unwrap();
        match script {
            Script::Handshake(act) => act(&mut control),
            Script::Trial { governor, act } => {
                control.write_all(SERVER_PREAMBLE).unwrap();
                frame::write_frame(&mut control, &welcome(&governor)).unwrap();
                trial(&listener, &mut control);
                act(&mut control);
            }
        }
        // Keep the connection open until the client leaves.
        let _ = control.read(&mut [0u8; 1]);
    });
    addr
}

fn welcome(governor: &str) -> ServerMessage {
    let mut host = linkbench::diag::HostFacts::collect(Path::new("/"));
    host.cpu_governor = Some(governor.into());
    ServerMessage::Welcome {
        protocol_version: linkbench::control::PROTOCOL_VERSION,
        tool_version: "fake".into(),
        host: Box::new(host),
        clock: linkbench::clock::measure(Path::new("/")),
        limits: ServerLimits::default(),
        server_proof: None,
    }
}

/// Takes the setup, answers ready, drains the data connections, waits for start.
fn trial(listener: &TcpListener, control: &mut TcpStream) {
    let ClientMessage::Setup { spec, .. } = frame::read_frame(control, 1 << 20).unwrap() else {
        panic!("no setup")
    };
    frame::write_frame(
        control,
        &ServerMessage::Ready {
            cookie: "00".repeat(16),
            cpus: CpuChoice {
                cpus: vec![0],
                source: CpuSource::Spread,
            },
            rdma: None,
        },
    )
    .unwrap();
    for _ in 0..spec.streams {
        let (mut data, _) = listener.accept().unwrap();
        let reverse = spec.reverse;
        std::thread::spawn(move || {
            let mut head = [0u8; 28];
            data.read_exact(&mut head).unwrap();
            assert_eq!(&head[..8], DATA_PREAMBLE);
            if reverse {
                // A measured message begun, then a byte a second for a minute: never stalled, never done.
                let _ = data.write_all(b"M");
                for _ in 0..60 {
                    std::thread::sleep(Duration::from_secs(1));
                    if data.write_all(b"x").is_err() {
                        return;
                    }
                }
                return;
            }
            let mut sink = vec![0u8; 1 << 16];
            while matches!(data.read(&mut sink), Ok(n) if n > 0) {}
        });
    }
    let start: ClientMessage = frame::read_frame(control, 1 << 20).unwrap();
    assert_eq!(start, ClientMessage::Start);
}

/// A plausible result for a 1-second trial, with `intervals` and `errors`.
fn result(intervals: Vec<IntervalFigures>, errors: Vec<String>) -> ServerMessage {
    let bytes = intervals.iter().map(|i| i.bytes).sum();
    ServerMessage::TrialResult {
        report: Box::new(SideReport {
            cpus: None,
            all_pinned: true,
            received: Some(DirectionFigures {
                direction: Direction::ClientToServer,
                bytes,
                messages: 1,
                warmup_bytes: 0,
                duration_s: 1.0,
                bits_per_second: bytes as f64 * 8.0,
                messages_per_second: 1.0,
                sent_bytes: bytes,
                per_stream: Vec::new(),
                intervals,
            }),
            errors,
            ..SideReport::default()
        }),
    }
}

fn interval(start_s: f64, end_s: f64) -> IntervalFigures {
    IntervalFigures {
        start_s,
        end_s,
        bytes: 1000,
        messages: 1,
        bits_per_second: 8000.0,
        messages_per_second: 1.0,
        latency_round_trip_ns: None,
    }
}

/// Runs linkbench-client for one 1-second trial against `addr`; fails the test if it runs past `limit`.
fn run_client(addr: &str, report: &Path, limit: Duration) -> Output {
    run_client_with(addr, report, limit, &[])
}

fn run_client_with(addr: &str, report: &Path, limit: Duration, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkbench-client"))
        .args(extra)
        .args([addr, "--duration", "1", "--warmup", "0", "--json"])
        .arg(report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            panic!(
                "the client was still running after {limit:?}: {}",
                stderr.chars().take(2000).collect::<String>()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The report's first error message.
fn first_error(report: &serde_json::Value) -> String {
    report["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_server_that_drips_its_welcome_is_given_up_at_the_handshake_deadline() {
    let addr = fake_server(Script::Handshake(Box::new(|control| {
        control.write_all(SERVER_PREAMBLE).unwrap();
        let welcome = frame::encode_frame(&welcome("performance")).unwrap();
        for byte in welcome {
            if control.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    assert!(first_error(&report).contains("timed out"), "{report}");
}

#[test]
fn endless_live_updates_end_the_trial_as_incomplete() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            for i in 0u64.. {
                let live = ServerMessage::Interval {
                    elapsed_s: 0.5,
                    measuring: true,
                    bytes: i,
                    messages: i,
                    link: None,
                };
                if frame::write_frame(control, &live).is_err() {
                    return;
                }
            }
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert!(first_error(&report).contains("live updates"), "{report}");
}

#[test]
fn a_padded_result_is_refused_and_the_report_stays_small() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1500));
            let padded = result(vec![interval(0.0, 1.0)], vec!["x".repeat(15 << 20)]);
            let _ = frame::write_frame(control, &padded);
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(1));
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 2 << 20, "the report is {size} bytes");
    let report = read_valid_report(&path);
    assert!(
        first_error(&report).contains("control frame of"),
        "{report}"
    );
}

#[test]
fn intervals_beyond_the_trial_are_implausible() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1500));
            let far = result(vec![interval(0.0, 1.0), interval(1e6, 1e6 + 1.0)], vec![]);
            let _ = frame::write_frame(control, &far);
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    assert!(first_error(&report).contains("implausible"), "{report}");
}

#[test]
fn counters_that_run_backwards_never_make_a_live_line() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            for (elapsed_s, bytes) in [(1.0, 1u64 << 60), (2.0, 5)] {
                std::thread::sleep(Duration::from_millis(1000));
                let live = ServerMessage::Interval {
                    elapsed_s,
                    measuring: true,
                    bytes,
                    messages: 1,
                    link: None,
                };
                let _ = frame::write_frame(control, &live);
            }
            std::thread::sleep(Duration::from_millis(500));
            let _ = frame::write_frame(control, &result(vec![interval(0.0, 1.0)], vec![]));
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("[recv]"),
        "a live line from counters that went backwards: {stdout}"
    );
    let report = read_valid_report(&path);
    assert!(first_error(&report).contains("backwards"), "{report}");
}

#[test]
fn a_failure_during_the_trial_is_not_called_a_setup_failure() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1500));
            let stalled = "the peer sent nothing for 10.0 s (timed out); is it still running?";
            let _ = frame::write_frame(
                control,
                &result(vec![interval(0.0, 1.0)], vec![stalled.into()]),
            );
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client(&addr, &path, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    let error = first_error(&report);
    assert!(
        error.contains("while it ran") && !error.contains("setup"),
        "{error}"
    );
}

#[test]
fn a_result_followed_by_a_trickle_does_not_hold_the_client() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1500));
            let _ = frame::write_frame(control, &result(vec![interval(0.0, 1.0)], vec![]));
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let extra = ["--reverse", "--stall-timeout", "2"];
    let out = run_client_with(&addr, &path, Duration::from_secs(40), &extra);
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert!(
        first_error(&report).contains("kept the data connections open"),
        "{report}"
    );
}

/// A forged line: what a server could make the client's terminal show.
const FORGED: &str = "busy\nlinkbench-client: report written to forged.json (complete)\u{1b}[2J";

#[test]
fn a_servers_text_reaches_the_terminal_escaped() {
    let refusing = fake_server(Script::Handshake(Box::new(|control| {
        control.write_all(SERVER_PREAMBLE).unwrap();
        let refusal = ServerMessage::Refused {
            reason: RefusalReason::Busy,
            message: FORGED.into(),
        };
        frame::write_frame(control, &refusal).unwrap();
    })));
    let governing = fake_server(Script::Trial {
        governor: FORGED.into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1500));
            let _ = frame::write_frame(control, &result(vec![interval(0.0, 1.0)], vec![]));
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    for addr in [refusing, governing] {
        let out = run_client(&addr, &dir.path().join("r.json"), Duration::from_secs(40));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached the terminal: {stderr:?}"
        );
        assert!(
            !stderr
                .lines()
                .any(|l| l.starts_with("linkbench-client: report written to forged.json")),
            "a forged line: {stderr}"
        );
        assert!(stderr.contains("busy\\nlinkbench-client"), "{stderr}");
    }
}

/// A server from before receive modes ignores `recv_mode` and receives with recv(): its result has no
/// `receive` figures, and the client must not label the trial with the mode it asked for.
#[test]
fn a_server_without_receive_modes_is_named_not_trusted() {
    let addr = fake_server(Script::Trial {
        governor: "performance".into(),
        act: Box::new(|control| {
            std::thread::sleep(Duration::from_millis(1100));
            let _ = frame::write_frame(control, &result(vec![interval(0.0, 1.0)], Vec::new()));
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let out = run_client_with(
        &addr,
        &path,
        Duration::from_secs(40),
        &["--recv-mode", "discard"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    let error = first_error(&report);
    assert!(
        error.contains("not --recv-mode discard") && error.contains("upgrade linkbench-server"),
        "{error}"
    );
}
