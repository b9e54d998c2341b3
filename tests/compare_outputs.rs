//! The outputs of linkbench-compare on committed fixtures (tests/fixtures/compare: five trials each of a
//! 16K..64K sweep and a 64-byte latency test, measured over namespace links shaped to 2 Gbit/s (baseline)
//! and 1 Gbit/s (candidate)): snapshot tests of the table, Markdown and JSON, and the HTML page rendered
//! by headless Chromium into a screenshot (kept in target/compare-screenshot.png to look at).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixtures() -> [PathBuf; 2] {
    let dir = PathBuf::from("tests/fixtures/compare");
    [dir.join("baseline.json"), dir.join("candidate.json")]
}

fn compare(extra: &[&str]) -> Output {
    let [base, cand] = fixtures();
    Command::new(env!("CARGO_BIN_EXE_linkbench-compare"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(base)
        .arg(cand)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn table_snapshot() {
    let out = compare(&[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the 1 Gbit/s candidate regressed"
    );
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn markdown_snapshot() {
    let out = compare(&["--format", "markdown"]);
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn json_snapshot() {
    let out = compare(&["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
}

#[test]
fn html_page_has_the_plots_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("compare.html");
    let out = compare(&["--format", "html", "--output", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    common::assert_self_contained(&html);
    // One per-trial scatter per matched result, the latency spectrum, and bandwidth by message size.
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "4 scatters + 1 latency spectrum + 1 bandwidth plot"
    );
    assert!(html.contains("round-trip latency by percentile"));
    assert!(html.contains("bandwidth by message size"));
    assert!(html.contains("class=\"regression\""));
    // Axis text a person reads: whole trial numbers (never -0.5, 0.5, ...), the sizes that ran, units.
    let texts: Vec<&str> = html
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .map(str::trim)
        .collect();
    for half in ["-0.5", "0.5", "1.5", "2.5", "3.5", "4.5"] {
        assert!(!texts.contains(&half), "a trial tick at {half}");
    }
    for tick in ["0", "1", "2", "3", "4", "16K", "32K", "64K"] {
        assert!(texts.contains(&tick), "no axis label {tick}: {texts:?}");
    }
    for axis in [
        "bandwidth (Gbit/s)",
        "latency p50 (us)",
        "round trip (us)",
        "message size (bytes)",
    ] {
        assert!(texts.contains(&axis), "no axis '{axis}'");
    }

    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare-screenshot.png");
    let png = common::chromium_screenshot(&page, &shot);
    // A blank page of this size compresses to a few KiB; plots and tables make it far larger.
    assert!(
        png.len() > 60_000,
        "screenshot is {} bytes: is the page blank?",
        png.len()
    );
}
