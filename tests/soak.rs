//! Soak (run by scripts/soak.sh, a separate CI stage; ignored by a plain `cargo test`): tests back to
//! back against one server for SOAK_SECONDS (default 180), clients killed at random moments, a hostile
//! client attacking beside them all along, and the server's open file descriptors and resident memory
//! must stay flat.

mod common;

use common::raw::{spec, Raw};
use common::{client, ServerProcess};
use linkbench::control::{frame, ClientMessage, ServerMessage, CONTROL_PREAMBLE, DATA_PREAMBLE};
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Reads until the server closes the connection (or 10 s pass).
fn read_to_close(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// One attack of the hostile client; each ends when the server has closed its connections.
fn attack(addr: &str, which: u32) {
    let connect = || TcpStream::connect(addr).ok();
    match which % 7 {
        0 => {
            if let Some(mut s) = connect() {
                let _ = s.write_all(&[0x5a; 4096]);
                read_to_close(&mut s);
            }
        }
        1 => {
            if let Some(mut s) = connect() {
                let _ = s.write_all(&[CONTROL_PREAMBLE.as_slice(), &[0xff; 4]].concat());
                read_to_close(&mut s);
            }
        }
        2 => {
            // A hello dripped a byte at a time: cut at the handshake deadline.
            if let Some(mut s) = connect() {
                let _ = s.write_all(
                    &[CONTROL_PREAMBLE.as_slice(), &(64u32 << 10).to_be_bytes()].concat(),
                );
                while s.write_all(b" ").is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        3 => {
            if let Some(mut s) = connect() {
                let _ = s.write_all(&[DATA_PREAMBLE.as_slice(), &[7u8; 20]].concat());
                read_to_close(&mut s);
            }
        }
        4 => (0..50).for_each(|_| drop(connect())),
        5 => {
            // A setup with an absurd interval: refused, and the session goes on.
            let (mut raw, first) = Raw::hello(addr);
            if matches!(first, ServerMessage::Welcome { .. }) {
                let mut s = spec(1.0);
                s.interval_s = 1e20;
                raw.send(&ClientMessage::Setup {
                    spec: s,
                    rdma: None,
                });
                assert!(matches!(raw.read(), ServerMessage::Refused { .. }));
                raw.send(&ClientMessage::Bye);
            }
        }
        _ => {
            // A frame other than stop during a trial: the session ends.
            let (mut raw, first) = Raw::hello(addr);
            if matches!(first, ServerMessage::Welcome { .. }) {
                let _data = raw.start(addr, spec(30.0));
                let _ = frame::write_frame(
                    &mut raw.s,
                    &ClientMessage::Setup {
                        spec: spec(1.0),
                        rdma: None,
                    },
                );
                read_to_close(&mut raw.s);
            }
        }
    }
}

/// Attacks the server in a loop until `done`; holds `quiet` during each attack so that samples are
/// taken between attacks; counts them in `made`.
fn hostile_client(
    addr: String,
    done: Arc<AtomicBool>,
    quiet: Arc<Mutex<()>>,
    made: Arc<AtomicU32>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut which = 0u32;
        while !done.load(Ordering::SeqCst) {
            {
                let _attacking = quiet.lock().unwrap_or_else(|p| p.into_inner());
                let addr = addr.clone();
                // An attack that trips on the server's answer is not the soak's failure: the server's
                // health is judged by the legitimate clients, descriptors and memory.
                let _ = std::panic::catch_unwind(move || attack(&addr, which));
            }
            which += 1;
            made.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Runs a short probe until the server has finished with any previous (killed) client, then samples it
/// between two attacks of the hostile client.
fn sample_when_idle(server: &mut ServerProcess, quiet: &Mutex<()>) -> (usize, u64) {
    let _between_attacks = quiet.lock().unwrap_or_else(|p| p.into_inner());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = client(&server.addr)
            .args(["--iterations", "50", "--warmup", "0", "--size", "1K"])
            .output()
            .unwrap();
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server never became free: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.is_running(), "the server died during the soak");
    // Let the finished session's threads and sockets wind down, and refused ones leave the closer (1 s).
    std::thread::sleep(Duration::from_millis(1300));
    let pid = server.child.id();
    (fd_count(pid), rss_kib(pid))
}

#[test]
#[ignore = "minutes long: run by scripts/soak.sh"]
fn soak_with_random_kills_leaks_nothing() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("soak: {seconds} s, seed {seed} (SOAK_SEED={seed} repeats this run)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut server = ServerProcess::start(&[
        "--stall-timeout",
        "2",
        "--idle-timeout",
        "5",
        "--handshake-timeout",
        "3",
    ]);
    let kinds: [&[&str]; 5] = [
        &["--test", "bw"],
        &["--test", "bw", "--reverse"],
        &["--test", "bibw"],
        &["--test", "lat"],
        &["--test", "bw", "--streams", "3", "--zerocopy"],
    ];
    let done = Arc::new(AtomicBool::new(false));
    let quiet = Arc::new(Mutex::new(()));
    let attacks = Arc::new(AtomicU32::new(0));
    let attacker = hostile_client(
        server.addr.clone(),
        Arc::clone(&done),
        Arc::clone(&quiet),
        Arc::clone(&attacks),
    );
    let start = Instant::now();
    let mut baseline = None;
    let (mut runs, mut killed, mut samples) = (0u32, 0u32, Vec::new());
    while start.elapsed() < Duration::from_secs(seconds) {
        let kind = kinds[rng.gen_range(0..kinds.len())];
        let duration = format!("{:.2}", rng.gen_range(0.3..1.5));
        let mut child = client(&server.addr)
            .args(kind)
            .args([
                "--duration",
                &duration,
                "--warmup",
                "0.1",
                "--interval",
                "0.2",
                "--size",
                "16K",
                "-q",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        runs += 1;
        if rng.gen_bool(0.5) {
            // Kill at a random moment: during the handshake, setup, warm-up or the measured phase.
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..1500)));
            let _ = child.kill();
            let _ = child.wait();
            killed += 1;
        } else {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() || err.contains("busy"),
                "run {runs} ({kind:?}) failed: {err}"
            );
        }
        if runs % 10 == 0 {
            let sample = sample_when_idle(&mut server, &quiet);
            samples.push(sample);
            if runs == 20 {
                baseline = Some(sample); // after the allocator and thread pools have warmed up
            }
        }
    }
    done.store(true, Ordering::SeqCst);
    attacker.join().unwrap();
    let end = sample_when_idle(&mut server, &quiet);
    let base = baseline.unwrap_or(samples.first().copied().unwrap_or(end));
    eprintln!(
        "soak: {runs} runs, {killed} clients killed, {} attacks by a hostile client; (fds, RSS KiB) \
         baseline {base:?}, end {end:?}",
        attacks.load(Ordering::SeqCst)
    );
    eprintln!("soak: samples {samples:?}");
    assert!(
        attacks.load(Ordering::SeqCst) >= 7,
        "the hostile client made too few attacks to mean anything"
    );
    assert!(
        runs >= 20,
        "the soak ran too few tests ({runs}) to mean anything"
    );
    assert!(
        end.0 <= base.0 + 2,
        "file descriptors grew from {} to {}",
        base.0,
        end.0
    );
    assert!(
        end.1 <= base.1 + 16 * 1024,
        "resident memory grew from {} KiB to {} KiB",
        base.1,
        end.1
    );
}
