//! Issue 12's hostile clients, one regression test each, against the real linkbench-server on loopback:
//! a setup with absurd numbers, a flood of frames during a trial, a hello dripped a byte at a time, a
//! flood from outside --allow, a client that trickles past its trial's end, a client that reconnects at
//! once, IPv4-mapped --allow lists, and control characters in what a client sends. After each, the same
//! server still runs a real test and stays small. Each of these failed on 8fb13e6.

mod common;

use common::raw::{spec, Raw};
use common::{client, open_fds, proc_status, still_serves, ServerProcess};
use linkbench::control::{frame, ClientMessage, RefusalReason, ServerMessage, CONTROL_PREAMBLE};
use linkbench::plan::{StopCondition, TrialSpec};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Waits for a log line containing `needle`.
fn logged(server: &ServerProcess, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "the server never logged {needle:?}: {lines:#?}"
        );
        lines.extend(server.drain_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    lines
}

#[test]
fn absurd_numbers_in_a_setup_are_refused_and_the_server_stays_free() {
    let mut server = ServerProcess::start(&[]);
    type Mutation = fn(&mut TrialSpec);
    let cases: [(&str, Mutation); 8] = [
        ("interval 1e20", |s| s.interval_s = 1e20),
        ("interval 1e-300", |s| s.interval_s = 1e-300),
        ("warm-up 1e300", |s| s.warmup_s = 1e300),
        ("duration 1e308", |s| {
            s.stop = StopCondition::Duration { seconds: 1e308 }
        }),
        ("8.6 million intervals", |s| {
            s.interval_s = 0.01;
            s.stop = StopCondition::Duration { seconds: 86_400.0 }
        }),
        ("CPU usize::MAX", |s| s.server_cpus = Some(vec![usize::MAX])),
        ("message size u64::MAX", |s| s.message_size = u64::MAX),
        ("streams u32::MAX", |s| s.streams = u32::MAX),
    ];
    for (name, mutate) in cases {
        let mut raw = Raw::welcomed(&server.addr);
        let mut s = spec(1.0);
        mutate(&mut s);
        raw.send(&ClientMessage::Setup {
            spec: s,
            rdma: None,
        });
        match raw.read() {
            ServerMessage::Refused { reason, message } => {
                assert_eq!(reason, RefusalReason::Limit, "{name}: {message}")
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        raw.send(&ClientMessage::Bye);
        still_serves(&mut server, &[]);
    }
}

#[test]
fn a_flood_of_frames_during_a_trial_ends_the_session_not_the_server() {
    let mut server = ServerProcess::start(&[]);
    let mut raw = Raw::welcomed(&server.addr);
    let _data = raw.start(&server.addr, spec(60.0));
    // Valid 60 KB frames (a setup with a long CPU list), 512 MiB of them: a server that queued what a
    // client sends during a trial held them all.
    let mut big = spec(1.0);
    big.server_cpus = Some(vec![1; 30_000]);
    let frame = frame::encode_frame(&ClientMessage::Setup {
        spec: big,
        rdma: None,
    })
    .unwrap();
    assert!(frame.len() < 64 * 1024);
    raw.s
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut written = 0usize;
    while written < 512 << 20 {
        match raw.s.write_all(&frame) {
            Ok(()) => written += frame.len(),
            Err(_) => break,
        }
    }
    let rss = proc_status(server.child.id(), "VmRSS");
    assert!(
        rss < common::RSS_LIMIT_KIB,
        "the server holds {rss} KiB after {written} bytes of frames"
    );
    logged(&server, "during a trial, where only one stop is allowed");
    drop(raw);
    still_serves(&mut server, &[]);
}

#[test]
fn a_dripping_hello_never_holds_the_slot_and_is_cut_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "correct-horse-battery-staple\n").unwrap();
    let key = key.to_str().unwrap();
    let mut server = ServerProcess::start(&["--psk-file", key, "--handshake-timeout", "2"]);
    let addr = server.addr.clone();
    // A 64 KiB frame announced, then one byte every 200 ms: inside any per-read timeout.
    let dripper = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(CONTROL_PREAMBLE).unwrap();
        s.write_all(&(64u32 << 10).to_be_bytes()).unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(200));
            if s.write_all(b" ").is_err() || closed(&mut s) {
                return Some(started.elapsed());
            }
        }
        None
    });
    std::thread::sleep(Duration::from_millis(500));
    // While the hello drips, a client with the key is served at once: never "busy".
    let output = client(&server.addr)
        .args([
            "--iterations",
            "200",
            "--warmup",
            "0",
            "--size",
            "4K",
            "--psk-file",
            key,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a real client during the drip: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    still_serves(&mut server, &["--psk-file", key]);
    let cut_after = dripper.join().unwrap();
    let cut_after = cut_after.expect("the dripping hello was never cut");
    assert!(
        cut_after < Duration::from_secs(10),
        "cut after {cut_after:?}"
    );
}

/// Whether the peer has closed (without blocking).
fn closed(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 64];
    let closed = match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn a_flood_from_outside_allow_costs_bounded_threads_and_descriptors() {
    let mut server = ServerProcess::start(&["--allow", "127.0.0.1/32"]);
    let target: SocketAddr = server.addr.parse().unwrap();
    // 400 connections from 127.0.0.2 (outside --allow), each saying it is a control connection and then
    // sending a byte every 200 ms, for 6 s.
    let outsider: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let mut flood: Vec<TcpStream> = (0..400)
        .filter_map(|_| {
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
            sock.bind(&outsider.into()).ok()?;
            sock.connect(&target.into()).ok()?;
            let mut s: TcpStream = sock.into();
            s.write_all(CONTROL_PREAMBLE).ok()?;
            Some(s)
        })
        .collect();
    assert!(flood.len() > 300, "only {} connections", flood.len());
    let pid = server.child.id();
    let (mut threads, mut fds) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        for s in &mut flood {
            let _ = s.write(b"x");
        }
        threads = threads.max(proc_status(pid, "Threads"));
        fds = fds.max(open_fds(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
    // An allowed client is served while the flood goes on.
    still_serves(&mut server, &[]);
    assert!(threads <= 16, "{threads} server threads during the flood");
    assert!(fds <= 200, "{fds} server descriptors during the flood");
    let log = server.drain_log();
    let refusals = log.iter().filter(|l| l.contains("not in --allow")).count();
    assert!((1..=100).contains(&refusals), "{refusals} refusal lines");
    assert!(
        log.iter().any(|l| l.contains("similar lines left out")),
        "{log:#?}"
    );
}

#[test]
fn a_client_that_trickles_is_cut_by_the_servers_own_clock() {
    let server = ServerProcess::start(&["--stall-timeout", "2"]);
    let mut raw = Raw::welcomed(&server.addr);
    let mut data = raw.start(&server.addr, spec(1.0));
    // A measured message begun, then a byte a second: never stalled, never finished.
    data[0].write_all(b"M").unwrap();
    let trickle = data.remove(0);
    let trickler = std::thread::spawn(move || {
        let mut t = trickle;
        for _ in 0..60 {
            std::thread::sleep(Duration::from_secs(1));
            if t.write_all(b"x").is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    match raw.read_past_intervals() {
        ServerMessage::TrialResult { report } => {
            assert!(
                report.errors.iter().any(|e| e.contains("own deadline")),
                "{:?}",
                report.errors
            );
        }
        other => panic!("expected the trial's result, got {other:?}"),
    }
    // 1 s trial + (2 s stall + 10 s) grace.
    assert!(started.elapsed() < Duration::from_secs(30));
    raw.send(&ClientMessage::Bye);
    trickler.join().unwrap();
}

#[test]
fn a_stop_right_after_start_ends_a_reverse_trial_at_once() {
    let mut server = ServerProcess::start(&[]);
    let mut raw = Raw::welcomed(&server.addr);
    let mut s = spec(30.0);
    s.reverse = true;
    let data = raw.start(&server.addr, s);
    raw.send(&ClientMessage::Stop);
    let drains: Vec<_> = data
        .into_iter()
        .map(|mut d| std::thread::spawn(move || std::io::copy(&mut d, &mut std::io::sink())))
        .collect();
    let started = Instant::now();
    match raw.read_past_intervals() {
        ServerMessage::TrialResult { .. } => {}
        other => panic!("expected the trial's result, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the 30 s trial ran {:?} after its stop",
        started.elapsed()
    );
    raw.send(&ClientMessage::Bye);
    drains.into_iter().for_each(|d| {
        let _ = d.join();
    });
    still_serves(&mut server, &[]);
}

#[test]
fn a_client_that_reconnects_at_once_is_never_told_busy() {
    let server = ServerProcess::start(&[]);
    for i in 0..300 {
        let (mut raw, first) = Raw::hello(&server.addr);
        assert!(
            matches!(first, ServerMessage::Welcome { .. }),
            "session {i}: {first:?}"
        );
        raw.send(&ClientMessage::Bye);
    }
}

#[test]
fn allow_lists_in_ipv4_mapped_form_match_ipv4_clients() {
    for allow in ["::ffff:127.0.0.1/128", "::ffff:0:0/96", "::/0"] {
        let mut server = ServerProcess::start(&["--allow", allow]);
        still_serves(&mut server, &[]);
    }
    let server = ServerProcess::start(&["--allow", "::ffff:10.0.0.0/104"]);
    let output = client(&server.addr)
        .args(["--iterations", "10"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "127.0.0.1 is not in 10.0.0.0/8"
    );
}

#[test]
fn control_characters_a_client_sends_reach_the_log_escaped() {
    let server = ServerProcess::start(&[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    // JSON escapes that decode to ESC, BEL and a newline in the variant name the decoder complains about.
    let body = r#"{"type":"\u001b[2J\u001b]0;owned\u0007\nforged"}"#;
    s.write_all(CONTROL_PREAMBLE).unwrap();
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let lines = logged(&server, "owned");
    let line = lines.iter().find(|l| l.contains("owned")).unwrap();
    assert!(
        !line.chars().any(|c| c.is_control()),
        "a control character reached the log: {line:?}"
    );
    assert!(line.contains("\\u{1b}"), "{line}");
}
