//! Helpers shared by the harness's tests: the repository root and the linkbench binaries of the same
//! build.

#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (the workspace).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// linkbench-server/-client from the same build as the running test (target/debug).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} missing: build the workspace first (cargo test --workspace)",
        path.display()
    );
    path
}

/// Fails the test at once, naming what is missing, unless this runs as root with the testbed's programs
/// on PATH (`SLURM`: the Slurm and munge ones too). The testbed tests never skip: CI runs them as root
/// after scripts/deps.sh, which installs all of these, so a missing one is a broken setup to be told
/// about, not a reason to pass.
pub fn require_testbed(slurm: bool) {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (network namespaces, veth links, tc)".to_string());
    }
    let mut programs = vec![
        "ip",
        "ss",
        "tc",
        "nsenter",
        "sshd",
        "ssh",
        "ssh-keygen",
        "pdsh",
    ];
    if slurm {
        programs.extend(["slurmctld", "slurmd", "srun", "sinfo", "munged"]);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .collect();
    for p in programs {
        if !dirs.iter().any(|d| d.join(p).is_file()) {
            missing.push(p.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "NOT SKIPPED, FAILED: this test needs the harness testbed (harness/testbed/testbed.sh), and \
         this machine lacks: {}. Run scripts/deps.sh as root (slurm-wlm, munge, pdsh, openssh-server, \
         iproute2), then run the tests as root, as CI does.",
        missing.join(", ")
    );
}
