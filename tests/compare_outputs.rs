//! The outputs of linkbench-compare on committed fixtures (tests/fixtures/compare: five trials each of a
//! 16K..64K sweep and a 64-byte latency test, measured over namespace links shaped to 2 Gbit/s (baseline)
//! and 1 Gbit/s (candidate)): snapshot tests of the table, Markdown and JSON, and the HTML page rendered
//! by headless Chromium into a screenshot (kept in target/compare-screenshot.png to look at).

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
    // Self-contained: no scripts, stylesheets or images fetched from anywhere (the SVG namespace URI is a
    // name, not a fetch).
    for external in [
        "<script",
        "<link",
        "src=\"",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(
            !html.contains(external),
            "the page refers to something external: {external}"
        );
    }
    // One per-trial scatter per matched result, the latency spectrum, and bandwidth by message size.
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "4 scatters + 1 latency spectrum + 1 bandwidth plot"
    );
    assert!(html.contains("round-trip latency by percentile"));
    assert!(html.contains("bandwidth by message size"));
    assert!(html.contains("class=\"regression\""));

    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let chromium = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed (scripts/deps.sh installs Debian's chromium)");
    assert!(
        chromium.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&chromium.stderr)
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page of this size compresses to a few KiB; plots and tables make it far larger.
    assert!(
        png.len() > 60_000,
        "screenshot is {} bytes: is the page blank?",
        png.len()
    );
}
