//! Bad input: every invalid flag value, an unreachable server, something that is not a linkbench server,
//! a server of another protocol version, a request over the server's limits. Each must end with exactly
//! one line on stderr naming the problem, and a non-zero exit.

mod common;

use common::{client, stderr_lines, ServerProcess};
use linkbench::control::{
    frame, ClientMessage, RefusalReason, ServerMessage, CONTROL_PREAMBLE, SERVER_PREAMBLE,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

fn assert_one_line_error(output: &std::process::Output, code: i32, needle: &str) {
    let lines = stderr_lines(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; stderr: {lines:?}"
    );
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got {lines:?}");
    assert!(lines[0].contains("error"), "{lines:?}");
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "{:?} should mention {needle}",
        lines[0]
    );
}

#[test]
fn every_invalid_client_flag_is_a_one_line_error() {
    let cases: &[(&[&str], &str)] = &[
        (&["--size", "0"], "at least 1 byte"),
        (&["--size", "12Q"], "invalid size"),
        (&["--size", "-5"], "invalid size"),
        (&["--sweep", "8M:2"], "invalid sweep"),
        (&["--sweep", "2"], "invalid sweep"),
        (&["--duration", "abc"], "invalid duration"),
        (&["--duration", "0"], "more than 0"),
        (&["--duration", "-1"], "invalid duration"),
        (&["--iterations", "0"], "at least 1"),
        (&["--iterations", "many"], "invalid count"),
        (&["--warmup", "x"], "invalid duration"),
        (&["--repeat", "0"], "from 1 to"),
        (&["--interval", "0"], "more than 0"),
        (&["--interval", "0.001"], "at least 0.01"),
        (&["--streams", "0"], "from 1 to"),
        (&["--streams", "lots"], "invalid count"),
        (&["--test", "throughput"], "invalid value"),
        (&["--transport", "udp"], "invalid value"),
        (&["--cpu", "a-b"], "invalid cpu list"),
        (&["--cpu", "99999"], "invalid cpu list"),
        (&["--cpu", "4000"], "not available"),
        (&["--server-cpu", "3-1"], "invalid cpu list"),
        (&["--label", "novalue"], "KEY=VALUE"),
        (&["--test", "lat", "--reverse"], "--reverse applies"),
        (&["--test", "lat", "--zerocopy"], "--zerocopy applies"),
        (&["--size", "1K", "--sweep", "2:8"], "cannot be used with"),
        (
            &["--duration", "1", "--iterations", "9"],
            "cannot be used with",
        ),
        (&["--json", "/nonexistent-dir/r.json"], "does not exist"),
        (&["--bogus-flag"], "unexpected argument"),
    ];
    // A server is running, so only the flag can be at fault.
    let server = ServerProcess::start(&[]);
    for (args, needle) in cases {
        let output = client(&server.addr).args(*args).output().unwrap();
        assert_one_line_error(&output, 2, needle);
    }
}

#[test]
fn invalid_server_flags_are_one_line_errors() {
    for (args, needle) in [
        (vec!["--bind", "nonsense"], "invalid value"),
        (vec!["--max-message-size", "0"], "at least 1 byte"),
        (vec!["--max-streams", "0"], "from 1 to"),
        (vec!["--max-duration", "forever"], "invalid duration"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
            .args(&args)
            .output()
            .unwrap();
        assert_one_line_error(&output, 2, needle);
    }
}

#[test]
fn a_port_in_use_is_a_clear_server_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
        .args(["--bind", &addr])
        .output()
        .unwrap();
    assert_one_line_error(&output, 1, "cannot listen");
}

#[test]
fn an_unreachable_server_is_a_one_line_error() {
    // Bind then drop a listener to find a loopback port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = client(&format!("127.0.0.1:{port}")).output().unwrap();
    assert_one_line_error(&output, 1, "cannot reach linkbench-server");
    let output = client("no-such-host.invalid").output().unwrap();
    assert_one_line_error(&output, 1, "cannot resolve");
}

#[test]
fn the_report_of_a_failed_run_is_still_written() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let output = client(&format!("127.0.0.1:{port}"))
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = common::read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    assert!(report["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot reach"));
    assert!(report["server"].is_null());
}

/// A server that answers like an HTTP server.
#[test]
fn something_that_is_not_linkbench_is_named() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let output = client(&addr).output().unwrap();
    fake.join().unwrap();
    assert_one_line_error(&output, 1, "is not a linkbench server");
    assert!(stderr_lines(&output)[0].contains("HTTP/1.1"));
}

/// A fake server of protocol version 99 that otherwise speaks correctly.
#[test]
fn a_server_of_another_protocol_version_is_named() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut preamble = [0u8; 8];
        s.read_exact(&mut preamble).unwrap();
        assert_eq!(&preamble, CONTROL_PREAMBLE);
        let _hello: ClientMessage = frame::read_frame(&mut s, 65536).unwrap();
        s.write_all(SERVER_PREAMBLE).unwrap();
        let welcome = ServerMessage::Welcome {
            protocol_version: 99,
            tool_version: "99.0.0".into(),
            host: Box::default(),
            clock: linkbench::clock::measure(std::path::Path::new("/")),
            limits: Default::default(),
            server_proof: None,
        };
        frame::write_frame(&mut s, &welcome).unwrap();
    });
    let output = client(&addr).output().unwrap();
    fake.join().unwrap();
    assert_one_line_error(&output, 1, "protocol 99");
}

/// The real server refuses a client that says it speaks another version, and names both versions.
#[test]
fn the_server_refuses_another_protocol_version() {
    let server = ServerProcess::start(&[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(CONTROL_PREAMBLE).unwrap();
    frame::write_frame(
        &mut s,
        &ClientMessage::Hello {
            protocol_version: 99,
            tool_version: "99.0.0".into(),
            client_nonce: None,
        },
    )
    .unwrap();
    let mut preamble = [0u8; 8];
    s.read_exact(&mut preamble).unwrap();
    assert_eq!(&preamble, SERVER_PREAMBLE);
    match frame::read_frame::<ServerMessage>(&mut s, 65536).unwrap() {
        ServerMessage::Refused { reason, message } => {
            assert_eq!(reason, RefusalReason::ProtocolVersion);
            assert!(
                message.contains("protocol 1") && message.contains("protocol 99"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_size_over_the_server_limit_is_refused_by_name() {
    let server = ServerProcess::start(&["--max-message-size", "1M"]);
    let output = client(&server.addr)
        .args(["--size", "2M", "--iterations", "1"])
        .output()
        .unwrap();
    assert_one_line_error(&output, 2, "exceeds the server's limit");
    assert!(stderr_lines(&output)[0].contains("--max-message-size"));
    // The server is still serving.
    let ok = client(&server.addr)
        .args(["--size", "1M", "--iterations", "10", "--warmup", "0"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn too_many_streams_and_too_long_durations_are_refused() {
    let server = ServerProcess::start(&["--max-streams", "2", "--max-duration", "10"]);
    let output = client(&server.addr)
        .args(["--streams", "3"])
        .output()
        .unwrap();
    assert_one_line_error(&output, 2, "--max-streams");
    let output = client(&server.addr)
        .args(["--duration", "20"])
        .output()
        .unwrap();
    assert_one_line_error(&output, 2, "--max-duration");
    let output = client(&server.addr)
        .args(["--server-cpu", "4000"])
        .output()
        .unwrap();
    assert_one_line_error(&output, 2, "not available");
}
