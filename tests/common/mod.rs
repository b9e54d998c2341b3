//! Helpers shared by the black-box tests: a real linkbench-server on a free loopback port, killed when
//! the test ends, and the report schema.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running linkbench-server; killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    pub log: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `linkbench-server --bind 127.0.0.1:0 ARGS` and waits for its "listening on" line.
    pub fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start linkbench-server");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                return ServerProcess {
                    child,
                    addr: addr.trim().to_string(),
                    log: rx,
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("linkbench-server did not print its address within 20 s");
    }

    /// Lines the server logged so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client command against `addr` with fast test timings unless overridden.
pub fn client(addr: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linkbench-client"));
    c.arg(addr);
    c
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads a report and validates it against the committed schema.
pub fn read_valid_report(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let report: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    let schema_text =
        std::fs::read_to_string(repo_root().join("results-schema/report.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema: {errors:#?}"
    );
    report
}

/// Lines of stderr that are not empty.
pub fn stderr_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}
