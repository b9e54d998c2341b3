//! The report's histogram is readable by the reference HdrHistogram implementation for Python
//! (`hdrhistogram` on PyPI, installed by scripts/deps.sh): same count, same p50.

mod common;

use common::{client, read_valid_report, ServerProcess};
use std::process::Command;

const DECODE: &str = r#"
import sys
from hdrh.histogram import HdrHistogram
h = HdrHistogram.decode(sys.stdin.read().strip())
print(h.get_total_count(), h.get_value_at_percentile(50.0), h.get_max_value())
"#;

#[test]
fn python_hdrhistogram_decodes_the_report_histogram() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lat.json");
    let output = client(&server.addr)
        .args([
            "--test",
            "lat",
            "--iterations",
            "5000",
            "--warmup",
            "0",
            "--json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = read_valid_report(&path);
    let latency = &report["results"][0]["latency"];
    let encoded = latency["histogram"].as_str().unwrap();

    let mut python = Command::new("python3")
        .args(["-c", DECODE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is installed (scripts/deps.sh)");
    use std::io::Write;
    python
        .stdin
        .take()
        .unwrap()
        .write_all(encoded.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Python could not decode the histogram (is the PyPI package hdrhistogram installed? scripts/deps.sh \
         installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields[0], 5000, "count");
    assert_eq!(fields[0], latency["count"].as_u64().unwrap());
    assert_eq!(
        fields[1],
        latency["round_trip_ns"]["p50"].as_u64().unwrap(),
        "p50"
    );
    assert_eq!(
        fields[2],
        latency["round_trip_ns"]["max"].as_u64().unwrap(),
        "max"
    );
}
