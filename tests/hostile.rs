//! A server must survive any client: garbage, huge length prefixes, truncated handshakes, HTTP, floods of
//! idle and short connections, wrong keys, addresses outside --allow, frozen clients. After each, the same
//! server process still runs a real test, and its resident memory stays under 200 MiB.

mod common;

use common::{client, read_valid_report, still_serves, Lines, ServerProcess};
use linkbench::control::{
    frame, ClientMessage, RefusalReason, ServerMessage, CONTROL_PREAMBLE, SERVER_PREAMBLE,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn connect(server: &ServerProcess) -> TcpStream {
    let s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// Reads until the server closes (or 15 s pass); returns what it sent.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn garbage_of_every_kind_is_dropped_and_the_server_keeps_serving() {
    let mut server = ServerProcess::start(&["--handshake-timeout", "2"]);
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        (
            "random bytes",
            (0..65536u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "TLS ClientHello",
            vec![
                0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
            ],
        ),
        (
            "4 GiB length prefix",
            [CONTROL_PREAMBLE.as_slice(), &[0xff, 0xff, 0xff, 0xff]].concat(),
        ),
        (
            "length 0",
            [CONTROL_PREAMBLE.as_slice(), &[0, 0, 0, 0]].concat(),
        ),
        (
            "over the frame limit",
            [CONTROL_PREAMBLE.as_slice(), &(1u32 << 20).to_be_bytes()].concat(),
        ),
        (
            "more announced than sent",
            [CONTROL_PREAMBLE.as_slice(), &[0, 0, 0, 100], b"{\"type\":"].concat(),
        ),
        ("truncated preamble", b"LNKB".to_vec()),
        (
            "malformed JSON",
            [CONTROL_PREAMBLE.as_slice(), &[0, 0, 0, 5], b"{{{{{"].concat(),
        ),
        ("wrong types", {
            let body = br#"{"type":"hello","protocol_version":"one","tool_version":7}"#;
            [
                CONTROL_PREAMBLE.as_slice(),
                &(body.len() as u32).to_be_bytes(),
                body,
            ]
            .concat()
        }),
        (
            "data connection with a bad cookie",
            [b"LNKBDATA".as_slice(), &[7u8; 20]].concat(),
        ),
    ];
    for (name, bytes) in attacks {
        let mut s = connect(&server);
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let answer = read_to_close(&mut s);
        assert!(
            answer.len() < 4096,
            "{name}: the server answered {} bytes",
            answer.len()
        );
        still_serves(&mut server, &[]);
    }
    // Every refused connection is one line in the log.
    let log = server.drain_log();
    assert!(
        log.iter().any(|l| l.contains("unknown preamble")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("exceeds the limit")),
        "{log:#?}"
    );
}

#[test]
fn a_silent_client_is_cut_off_by_the_handshake_timeout() {
    let mut server = ServerProcess::start(&["--handshake-timeout", "1"]);
    let mut silent = connect(&server);
    let mut slow = connect(&server);
    slow.write_all(CONTROL_PREAMBLE).unwrap();
    let started = Instant::now();
    assert!(read_to_close(&mut silent).is_empty());
    let answer = read_to_close(&mut slow);
    assert_eq!(
        &answer[..],
        SERVER_PREAMBLE,
        "a hello that never comes ends the session"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    still_serves(&mut server, &[]);
}

#[test]
fn floods_of_idle_and_short_connections_do_not_block_a_real_test() {
    let mut server = ServerProcess::start(&["--handshake-timeout", "5"]);
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    still_serves(&mut server, &[]);
    for _ in 0..500 {
        let s = TcpStream::connect(&server.addr).unwrap();
        drop(s);
    }
    still_serves(&mut server, &[]);
    drop(idle);
    still_serves(&mut server, &[]);
}

#[test]
fn more_connections_than_the_admission_limit_are_closed_not_queued() {
    // A handshake timeout far longer than the wait below: a connection seen closed within it was
    // closed at once, not queued and then cut by the timeout.
    let mut server =
        ServerProcess::start(&["--max-connections", "20", "--handshake-timeout", "60"]);
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    for s in &idle {
        s.set_nonblocking(true).unwrap();
    }
    let mut closed = vec![false; idle.len()];
    let deadline = Instant::now() + Duration::from_secs(20);
    while closed.iter().filter(|&&c| c).count() < 20 && Instant::now() < deadline {
        for (mut s, c) in idle.iter().zip(closed.iter_mut()) {
            let mut b = [0u8; 1];
            *c = *c || matches!(s.read(&mut b), Ok(0));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let closed = closed.iter().filter(|&&c| c).count();
    assert!(
        closed >= 20,
        "connections over --max-connections are closed at once ({closed} of 40)"
    );
    server.wait_for_log("--max-connections", Duration::from_secs(10));
    // The admitted ones leave when their client closes them.
    drop(idle);
    still_serves(&mut server, &[]);
}

#[test]
fn pre_shared_keys_are_checked_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let wrong = dir.path().join("wrong");
    std::fs::write(&key, "correct-horse-battery-staple\n").unwrap();
    std::fs::write(&wrong, "incorrect-horse-battery-staple\n").unwrap();
    let (key, wrong) = (key.to_str().unwrap(), wrong.to_str().unwrap());
    let mut server = ServerProcess::start(&["--psk-file", key]);

    let output = client(&server.addr)
        .args(["--iterations", "10", "--psk-file", wrong])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("authentication failed"));
    let output = client(&server.addr)
        .args(["--iterations", "10"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("requires a pre-shared key"));
    assert!(server
        .drain_log()
        .iter()
        .any(|l| l.contains("refused session") && l.contains("keys differ")));

    // Nothing but the proof is accepted before authentication: a setup in its place is refused.
    let mut s = connect(&server);
    s.write_all(CONTROL_PREAMBLE).unwrap();
    frame::write_frame(
        &mut s,
        &ClientMessage::Hello {
            protocol_version: 1,
            tool_version: "x".into(),
            client_nonce: Some("ab".repeat(32)),
        },
    )
    .unwrap();
    let mut p = [0u8; 8];
    s.read_exact(&mut p).unwrap();
    assert!(matches!(
        frame::read_frame::<ServerMessage>(&mut s, 1 << 20).unwrap(),
        ServerMessage::Challenge { .. }
    ));
    frame::write_frame(&mut s, &ClientMessage::Bye).unwrap();
    match frame::read_frame::<ServerMessage>(&mut s, 1 << 20).unwrap() {
        ServerMessage::Refused { reason, .. } => assert_eq!(reason, RefusalReason::Protocol),
        other => panic!("expected a refusal, got {other:?}"),
    }

    still_serves(&mut server, &["--psk-file", key]);

    // A client with a key refuses a server that cannot prove it has one.
    let open = ServerProcess::start(&[]);
    let output = client(&open.addr)
        .args(["--iterations", "10", "--psk-file", key])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did not authenticate itself"));
}

#[test]
fn a_short_key_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "short").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
        .args(["--psk-file", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 16"));
}

#[test]
fn a_client_outside_allow_is_refused_by_name() {
    let server = ServerProcess::start(&["--allow", "10.0.0.0/8", "--allow", "fd00::/8"]);
    let output = client(&server.addr)
        .args(["--iterations", "10"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--allow") && err.contains("127.0.0.1"),
        "{err}"
    );
    // The server logs the refusal after sending it, so the line may trail the client's exit.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut logged = Vec::new();
    while !logged.iter().any(|l: &String| l.contains("not in --allow")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never logged the refusal: {logged:?}"
        );
        logged.extend(server.drain_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let mut server = ServerProcess::start(&["--allow", "127.0.0.0/8"]);
    still_serves(&mut server, &[]);
}

#[test]
fn ctrl_c_ends_the_trial_and_writes_what_was_measured() {
    let mut server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        (
            "reverse",
            &["--reverse", "--duration", "60", "--warmup", "0"][..],
        ),
        ("bw", &["--duration", "60", "--warmup", "0"][..]),
        (
            "lat",
            &["--test", "lat", "--duration", "60", "--warmup", "0"][..],
        ),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        let mut child = client(&server.addr)
            .args(args)
            .args(["--repeat", "3", "--json"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Interrupted in the measured phase, once the client has measured something.
        Lines::stdout_of(&mut child).wait_for_traffic(Duration::from_secs(60));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let started = Instant::now();
        let output = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: the client stopped promptly"
        );
        assert_eq!(
            output.status.code(),
            Some(130),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = read_valid_report(&path);
        assert_eq!(report["status"], "incomplete");
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{name}: the later trials did not run");
        assert_eq!(results[0]["complete"], false);
        assert!(
            results[0]["messages"].as_u64().unwrap() > 0,
            "{name}: what was measured is kept"
        );
        assert!(report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("interrupted"));
        still_serves(&mut server, &[]);
    }
}

#[test]
fn a_frozen_server_ends_the_test_within_the_timeout() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let mut child = client(&server.addr)
        .args([
            "--reverse",
            "--duration",
            "30",
            "--warmup",
            "0",
            "--stall-timeout",
            "2",
            "--json",
        ])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Frozen in the measured phase, once the client has received something.
    Lines::stdout_of(&mut child).wait_for_traffic(Duration::from_secs(60));
    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(
        waited < Duration::from_secs(25),
        "client gave up on a frozen server in {waited:?}"
    );
    assert_eq!(output.status.code(), Some(1));
    let report = read_valid_report(&path);
    assert_eq!(report["status"], "incomplete");
    assert!(
        report["results"][0]["bandwidth"]["directions"][0]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn a_frozen_client_frees_the_server_within_bounded_time() {
    let mut server = ServerProcess::start(&["--stall-timeout", "2", "--idle-timeout", "3"]);
    for args in [
        &["--duration", "30", "--warmup", "0"][..],
        &["--reverse", "--duration", "30", "--warmup", "0"][..],
    ] {
        let mut frozen = client(&server.addr)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Frozen in the measured phase, with data moving.
        Lines::stdout_of(&mut frozen).wait_for_traffic(Duration::from_secs(60));
        let pid = nix::unistd::Pid::from_raw(frozen.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
        // The client's sockets stay open but nothing moves: the server's stall and idle timeouts end the
        // session (a half-open connection looks the same to the server).
        let started = Instant::now();
        still_serves(&mut server, &[]);
        assert!(started.elapsed() < Duration::from_secs(20));
        let _ = frozen.kill();
        let _ = frozen.wait();
    }
}
