//! Soak (run by scripts/soak.sh, a separate CI stage; ignored by a plain `cargo test`): tests back to
//! back against one server for SOAK_SECONDS (default 180), clients killed at random moments, and the
//! server's open file descriptors and resident memory must stay flat.

mod common;

use common::{client, ServerProcess};
use rand::{Rng, SeedableRng};
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// Runs a short probe until the server has finished with any previous (killed) client, then samples it.
fn sample_when_idle(server: &mut ServerProcess) -> (usize, u64) {
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
    // Let the finished session's threads and sockets wind down.
    std::thread::sleep(Duration::from_millis(300));
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
            let sample = sample_when_idle(&mut server);
            samples.push(sample);
            if runs == 20 {
                baseline = Some(sample); // after the allocator and thread pools have warmed up
            }
        }
    }
    let end = sample_when_idle(&mut server);
    let base = baseline.unwrap_or(samples.first().copied().unwrap_or(end));
    eprintln!(
        "soak: {runs} runs, {killed} clients killed; (fds, RSS KiB) baseline {base:?}, end {end:?}"
    );
    eprintln!("soak: samples {samples:?}");
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
