//! A 6,000-host all-pairs plan (17,997,000 pairs in 5,999 rounds of 3,000): `linkbench-harness check`
//! must count and describe its schedule without holding it (issue 12, finding 15d: it took over 120 s
//! and 1.5 GB). Asserted on the child's peak resident memory from the kernel (wait4's rusage), never
//! on time.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Peak resident memory allowed, in KiB. Even two u32 host indices per pair, the most compact list of
/// every pair, take 17,997,000 x 8 B = 144 MB; holding them as names took 1.5 GB. What `check` needs
/// is the plan (about 150 KB of text, a few MB parsed), one round of 3,000 pairs at a time and 1.9 MB
/// of output: 13.6 MB measured for a debug build. 64 MiB leaves room for allocator and build
/// differences and is still below any list of all the pairs.
const PEAK_KIB: i64 = 64 * 1024;

/// The plan: h1..hN on made-up addresses, one all-pairs suite with one 1 s test (0.5 s warm-up).
fn plan_text(n: usize) -> String {
    let mut text = String::from("name = \"big\"\n[launcher]\nkind = \"slurm\"\n[hosts]\n");
    for i in 1..=n {
        text += &format!(
            "h{i} = \"10.{}.{}.{}\"\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        );
    }
    text + "[[suite]]\ntopology = \"all-pairs\"\ntests = [{ test = \"bw\", duration = \"1s\", warmup = \"0.5s\" }]\n"
}

#[test]
#[allow(clippy::zombie_processes)] // the child is reaped by wait4, which Child does not know of
fn checking_a_6000_host_all_pairs_plan_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("big.toml");
    std::fs::write(&plan, plan_text(6000)).unwrap();
    let out_path = dir.path().join("out.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linkbench-harness"));
    cmd.args(["check", plan.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::piped());
    // A hard ceiling as well (4x the assertion), so that a regression fails here instead of taking
    // the machine's memory: allocations beyond it fail and the child aborts.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256 << 20,
                rlim_max: 256 << 20,
            };
            match libc::setrlimit(libc::RLIMIT_DATA, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    // wait4 rather than Child::wait: the kernel's peak resident set of this child.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "check failed (status {status:#x}): {err}"
    );
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        out.contains("suite suite0: 17997000 pairs in 5999 rounds"),
        "{}",
        &out[..out.len().min(300)]
    );
    assert_eq!(out.matches("\n  round ").count(), 50, "the first 50 rounds");
    assert!(out.contains("  round 1: h1->h6000 h2->h5999 "));
    assert!(out.contains("  ... 5949 more rounds\n"));
    // (1 s + 0.5 s + 2 s) x 5999 rounds.
    assert!(
        out.contains("estimated time: 20996 s (349.9 min)"),
        "{out:.300}"
    );
    let peak_kib = usage.ru_maxrss;
    assert!(
        peak_kib < PEAK_KIB,
        "check held {peak_kib} KiB at its peak, more than {PEAK_KIB} KiB"
    );
}
