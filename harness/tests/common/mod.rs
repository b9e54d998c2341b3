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
