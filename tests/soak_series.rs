//! `--soak`: a long bandwidth trial over a real shaped link (veth pair in two network namespaces, tbf),
//! with both sides' links sampled into a JSON Lines series. A real link flap (`ip link set down/up`)
//! must show in the sample where it happened, a tbf rate cut as a throughput step; a killed server
//! leaves the series whole; a full disk (a tiny tmpfs) ends the soak with a clear error; an existing
//! series is never overwritten.

mod common;

use common::{stderr_lines, ShapedLink};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every line of a series, parsed and checked against the committed schema; the file must end with a
/// whole line.
fn series_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the series ends mid-line"
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("results-schema/series.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "line {i}: {errors:#?}");
        assert_eq!(line["sample"], i as u64, "samples are numbered in order");
    }
    lines
}

fn in_ns(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
}

/// The client-to-server rate of a sample, Mbit/s, when it has one.
fn c2s_mbps(line: &Value) -> Option<f64> {
    line["throughput"]
        .as_array()?
        .iter()
        .find(|t| t["direction"] == "client_to_server")
        .and_then(|t| t["bits_per_second"].as_f64())
        .map(|b| b / 1e6)
}

fn flapped(line: &Value, side: &str) -> bool {
    line[side]["interval"]["verdict"]["link_flapped"] == true
}

fn soak_client(
    link: &ShapedLink,
    seconds: &str,
    interval: &str,
    series: &Path,
    json: &Path,
) -> Command {
    let mut c = link.client();
    c.args([
        "--soak",
        seconds,
        "--warmup",
        "0.5",
        "--sample-interval",
        interval,
    ])
    .arg("--series")
    .arg(series)
    .arg("--json")
    .arg(json)
    .arg("-q")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    c
}

#[test]
fn a_flap_and_a_rate_cut_show_in_the_samples_where_they_happened() {
    let link = ShapedLink::new(70, 400);
    let dir = tempfile::tempdir().unwrap();
    let (series, json) = (dir.path().join("soak.jsonl"), dir.path().join("soak.json"));
    let started = Instant::now();
    let client = soak_client(&link, "6", "0.5", &series, &json)
        .spawn()
        .unwrap();
    // The client's end goes down for 0.3 s at ~2.2 s; at ~3.8 s the shaper drops to 100 Mbit/s.
    std::thread::sleep(Duration::from_millis(2200));
    let down_at = started.elapsed().as_secs_f64();
    in_ns(&link.client_ns, &["ip", "link", "set", "veth0", "down"]);
    std::thread::sleep(Duration::from_millis(300));
    in_ns(&link.client_ns, &["ip", "link", "set", "veth0", "up"]);
    std::thread::sleep(Duration::from_millis(1300));
    let cut_at = started.elapsed().as_secs_f64();
    in_ns(
        &link.client_ns,
        &[
            "tc", "qdisc", "change", "dev", "veth0", "root", "tbf", "rate", "100mbit", "burst",
            "400kb", "latency", "50ms",
        ],
    );
    let out = client.wait_with_output().unwrap();
    // The flap fails the built-in default (no flap); so does a 10 Gbit/s veth port run at 400 Mbit/s.
    assert_eq!(out.status.code(), Some(1), "{:?}", stderr_lines(&out));
    let verdict_line = stderr_lines(&out)
        .into_iter()
        .find(|l| l.contains("soak verdict: FAIL"))
        .unwrap_or_else(|| panic!("{:?}", stderr_lines(&out)));
    assert!(
        verdict_line.contains("client max_link_flaps 1 flaps"),
        "{verdict_line}"
    );

    let lines = series_lines(&series);
    // 6.5 s of trial at 0.5 s: 13 samples, give or take the last partial interval.
    assert!((11..=14).contains(&lines.len()), "{} samples", lines.len());
    eprintln!(
        "{:?}",
        lines
            .iter()
            .map(|l| (
                l["elapsed_s"].as_f64().unwrap(),
                c2s_mbps(l),
                flapped(l, "client")
            ))
            .collect::<Vec<_>>()
    );
    // The flap: in the samples that cover it (elapsed is the client's clock, which started a little
    // after this test's), on both ends of the veth pair, and nowhere else.
    let flap_samples: Vec<f64> = lines
        .iter()
        .filter(|l| flapped(l, "client"))
        .map(|l| l["elapsed_s"].as_f64().unwrap())
        .collect();
    assert!(!flap_samples.is_empty(), "no sample shows the flap");
    for at in &flap_samples {
        assert!(
            *at >= down_at - 0.5 && *at <= down_at + 0.3 + 1.5,
            "flap shown at {at} s, it happened at {down_at} s"
        );
    }
    assert!(
        lines.iter().any(|l| flapped(l, "server")),
        "the peer lost carrier too"
    );
    // The step: full rate before the flap, a quarter of it once the cut has taken effect.
    let rate_between = |from: f64, to: f64| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| (from..to).contains(&l["elapsed_s"].as_f64().unwrap()))
            .filter_map(c2s_mbps)
            .collect()
    };
    let before = rate_between(1.4, down_at - 0.1);
    let after = rate_between(cut_at + 1.2, 100.0);
    assert!(
        !before.is_empty() && !after.is_empty(),
        "{before:?} {after:?}"
    );
    assert!(
        before.iter().all(|&r| r > 300.0),
        "before the cut: {before:?}"
    );
    assert!(after.iter().all(|&r| r < 120.0), "after the cut: {after:?}");

    let report = common::read_valid_report(&json);
    let soak = &report["results"][0]["soak"];
    assert_eq!(soak["samples"], lines.len() as u64);
    assert_eq!(soak["series"], series.display().to_string());
    assert!(soak["link_flaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["side"] == "client"));
    assert_eq!(soak["client_link"]["link_flapped"], true);
    assert_eq!(soak["verdict"]["pass"], false);
    let flaps = soak["verdict"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "max_link_flaps" && t["side"] == "client")
        .unwrap();
    assert_eq!(flaps["result"], "fail", "{flaps}");
    assert_eq!(flaps["source"], "built-in default");
    assert_eq!(soak["client_figures"]["link_flaps"], 1);
    for side in ["client", "server"] {
        let listed = soak["link_flaps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["side"] == side)
            .count() as u64;
        assert_eq!(
            Some(listed),
            soak[format!("{side}_figures")]["link_flaps"].as_u64(),
            "the list and the count agree: {soak}"
        );
    }
    let extremes = &soak["throughput"][0];
    assert!(
        extremes["min_bits_per_second"].as_f64().unwrap() < 120e6,
        "{extremes}"
    );
    assert!(
        extremes["max_bits_per_second"].as_f64().unwrap() > 300e6,
        "{extremes}"
    );
}

#[test]
fn a_killed_server_leaves_the_series_whole_and_the_report_incomplete() {
    let mut link = ShapedLink::new(71, 200);
    let dir = tempfile::tempdir().unwrap();
    let (series, json) = (dir.path().join("soak.jsonl"), dir.path().join("soak.json"));
    let client = soak_client(&link, "30", "0.2", &series, &json)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    link.kill_server();
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", stderr_lines(&out));
    let lines = series_lines(&series);
    assert!(lines.len() >= 5, "{} samples before the kill", lines.len());
    let report = common::read_valid_report(&json);
    assert_eq!(report["status"], "incomplete");
    let result = &report["results"][0];
    assert_eq!(result["complete"], false);
    let soak = &result["soak"];
    assert_eq!(soak["samples"], lines.len() as u64);
    // A soak cut short never passes, and says why it ended.
    assert!(
        soak["ended_early"].as_str().is_some_and(|w| !w.is_empty()),
        "{soak}"
    );
    assert_eq!(soak["verdict"]["pass"], false);
    assert_eq!(soak["verdict"]["incomplete"], soak["ended_early"]);
}

/// A tmpfs of `kib` KiB mounted on a new directory, unmounted when dropped.
struct TinyDisk(tempfile::TempDir);

impl TinyDisk {
    fn new(kib: u32) -> TinyDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "mount tmpfs (needs root): {out:?}");
        TinyDisk(dir)
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).output();
    }
}

#[test]
fn a_full_disk_ends_the_soak_with_a_clear_error_and_whole_lines() {
    let link = ShapedLink::new(72, 200);
    let disk = TinyDisk::new(16);
    let dir = tempfile::tempdir().unwrap();
    let (series, json) = (
        disk.0.path().join("soak.jsonl"),
        dir.path().join("soak.json"),
    );
    let out = soak_client(&link, "30", "0.1", &series, &json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", stderr_lines(&out));
    let errors: Vec<String> = stderr_lines(&out)
        .into_iter()
        .filter(|l| l.contains("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("could not be written") && errors[0].contains("No space left"),
        "{}",
        errors[0]
    );
    let lines = series_lines(&series);
    assert!(!lines.is_empty());
    let report = common::read_valid_report(&json);
    assert_eq!(report["status"], "incomplete");
    let soak = &report["results"][0]["soak"];
    assert_eq!(soak["samples"], lines.len() as u64, "{soak}");
    assert!(soak["ended_early"]
        .as_str()
        .unwrap()
        .contains("No space left"));
}

fn one_line_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(needle), "{lines:?}");
}

#[test]
fn an_existing_series_is_never_overwritten_and_bad_soak_flags_are_one_line_errors() {
    let link = ShapedLink::new(73, 200);
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("old.jsonl");
    std::fs::write(&series, "hours of samples\n").unwrap();
    let json = dir.path().join("r.json");
    let out = soak_client(&link, "5", "1", &series, &json)
        .output()
        .unwrap();
    one_line_error(&out, "already exists");
    assert_eq!(
        std::fs::read_to_string(&series).unwrap(),
        "hours of samples\n"
    );
    let fresh = dir.path().join("new.jsonl");
    for (args, needle) in [
        (
            vec!["--soak", "5", "--test", "lat"],
            "--soak runs bandwidth traffic",
        ),
        (
            vec!["--soak", "5", "--sample-interval", "0.05"],
            "--sample-interval",
        ),
        (vec!["--soak", "5", "--duration", "3"], "--duration"),
        (vec!["--soak", "5h5"], "invalid duration"),
        (
            vec!["--soak", "5", "--replay-link", "/nonexistent"],
            "--replay-link: replay /nonexistent",
        ),
    ] {
        let out = link
            .client()
            .args(&args)
            .arg("--series")
            .arg(&fresh)
            .output()
            .unwrap();
        one_line_error(&out, needle);
        assert!(!fresh.exists(), "{args:?} created the series");
    }
    let out = link.client().args(["--soak", "5"]).output().unwrap();
    one_line_error(&out, "--series");
}

#[test]
fn a_profile_layers_its_thresholds_and_a_steady_soak_passes() {
    let link = ShapedLink::new(74, 400);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("qual.toml");
    // veth says 10000 Mbit/s, so [speed.10] is this port's layer; no module, so [media.*] never is.
    std::fs::write(
        &profile,
        "[default]\nmin_throughput_fraction = 0.9\nmax_temperature_c = 70.0\n\n\
         [speed.10]\nmin_throughput_fraction = 0.02\n\n[media.optical]\nmax_link_flaps = 3\n",
    )
    .unwrap();
    let (series, json) = (dir.path().join("s.jsonl"), dir.path().join("r.json"));
    let out = soak_client(&link, "3", "0.5", &series, &json)
        .arg("--profile")
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    let report = common::read_valid_report(&json);
    let verdict = &report["results"][0]["soak"]["verdict"];
    assert_eq!(verdict["pass"], true, "{verdict}");
    assert_eq!(verdict["profile"], profile.display().to_string());
    let find = |name: &str, side: Value| {
        verdict["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name && t["side"] == side)
            .unwrap_or_else(|| panic!("{name}: {verdict}"))
            .clone()
    };
    let throughput = find("min_throughput_fraction", Value::Null);
    assert_eq!(throughput["source"], "[speed.10]", "{throughput}");
    assert_eq!(throughput["value"], 0.02);
    assert_eq!(throughput["result"], "pass");
    let measured = throughput["measured"].as_f64().unwrap();
    assert!(measured > 0.02 && measured < 0.0401, "{throughput}");
    let flaps = find("max_link_flaps", "client".into());
    assert_eq!(
        (flaps["source"].as_str(), flaps["result"].as_str()),
        (Some("built-in default"), Some("pass"))
    );
    let hot = find("max_temperature_c", "server".into());
    assert_eq!(hot["source"], "[default]");
    assert_eq!(hot["result"], "not_measured", "veth has no module: {hot}");
}

#[test]
fn a_bad_profile_is_a_one_line_error_before_any_traffic() {
    let link = ShapedLink::new(75, 200);
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("s.jsonl");
    for (text, needle) in [
        (
            "[default]\nmax_flaps = 0\n",
            "line 2: unknown field `max_flaps`",
        ),
        ("[default]\nmax_pre_fec_ber = 2.0\n", "a bit error ratio"),
        ("[default]\nmax_link_flaps = \"none\"\n", "line 2"),
        (
            "[media.fibre]\nmax_link_flaps = 1\n",
            "media is optical or copper",
        ),
        (
            "[default]\nmin_rx_power_dbm = 2.0\nmax_rx_power_dbm = -1.0\n",
            "is not below",
        ),
    ] {
        let profile = dir.path().join("bad.toml");
        std::fs::write(&profile, text).unwrap();
        let out = soak_client(&link, "5", "1", &series, &dir.path().join("r.json"))
            .arg("--profile")
            .arg(&profile)
            .output()
            .unwrap();
        one_line_error(&out, needle);
        assert!(
            stderr_lines(&out)[0].contains("bad.toml"),
            "{:?}",
            stderr_lines(&out)
        );
        assert!(!series.exists(), "{text}: the soak started");
    }
}

#[test]
fn a_replayed_module_heating_up_fails_the_thresholds_it_crosses() {
    // The client's link samples come from tests/fixtures/replay/lr4-heating (scripts/make-replay.py:
    // the real CIG TRD5H20ENF-LF dump heating 47.7 -> 67.5 C, lane 3 sagging, FEC bins creeping, 10 s a
    // step); the traffic and the server's link are live.
    let link = ShapedLink::new(76, 400);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("qual.toml");
    std::fs::write(
        &profile,
        "[default]\nmin_throughput_fraction = 0.02\n\n[media.optical]\nmin_rx_power_dbm = -2.0\n\
         max_rx_power_drift_db = 1.0\n\n[part.\"TRD5H20ENF-LF000\"]\nmax_temperature_c = 60.0\n\
         max_fec_bin = 5\nmax_pre_fec_ber = 1e-6\nmax_vdm_pre_fec_ber = 1e-7\n",
    )
    .unwrap();
    let (series, json) = (dir.path().join("s.jsonl"), dir.path().join("r.json"));
    let replay = common::repo_root().join("tests/fixtures/replay/lr4-heating");
    let out = soak_client(&link, "4", "0.2", &series, &json)
        .arg("--profile")
        .arg(&profile)
        .arg("--replay-link")
        .arg(&replay)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", stderr_lines(&out));
    let lines = series_lines(&series);
    for line in &lines {
        assert!(line["client"]["replayed_from"].as_str().is_some(), "{line}");
        assert!(
            line["server"].get("replayed_from").is_none(),
            "the server's link is live"
        );
    }
    let report = common::read_valid_report(&json);
    let soak = &report["results"][0]["soak"];
    assert!(
        soak["replayed"].as_str().unwrap().contains("replayed"),
        "{soak}"
    );
    let verdict = &soak["verdict"];
    let find = |name: &str| {
        verdict["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name && t["side"] == "client")
            .unwrap_or_else(|| panic!("{name}: {verdict}"))
            .clone()
    };
    let hot = find("max_temperature_c");
    assert_eq!(
        (hot["result"].as_str(), hot["source"].as_str()),
        (Some("fail"), Some("[part.\"TRD5H20ENF-LF000\"]")),
        "{hot}"
    );
    assert!(hot["measured"].as_f64().unwrap() > 60.0, "{hot}");
    let drift = find("max_rx_power_drift_db");
    assert_eq!(drift["result"], "fail", "{drift}");
    assert!(
        drift["detail"].as_str().unwrap().starts_with("lane 3"),
        "{drift}"
    );
    assert_eq!(find("max_fec_bin")["result"], "fail");
    let ber = find("max_pre_fec_ber");
    assert_eq!(ber["result"], "pass", "{ber}");
    assert!(ber["measured"].as_f64().unwrap() > 1e-8, "{ber}");
    assert_eq!(find("min_rx_power_dbm")["result"], "pass");
    assert_eq!(find("max_link_flaps")["result"], "pass");
    // The module's own per-lane BER (CMIS VDM, decoded from pages 20h-2Fh): lane 3, the one losing
    // light, crosses 1e-7 first; every sample carries each lane's observables.
    let vdm = find("max_vdm_pre_fec_ber");
    assert_eq!(vdm["result"], "fail", "{vdm}");
    assert!(
        vdm["detail"].as_str().unwrap().starts_with("lane 3"),
        "{vdm}"
    );
    for line in &lines[1..] {
        let observables = line["client"]["module"]["vdm"].as_array().unwrap();
        assert_eq!(observables.len(), 16, "4 media BER, 4 eSNR, 8 host BER");
        assert!(observables.iter().all(|o| o.get("thresholds").is_none()));
    }
}

/// linkbench-compare with ARGS.
fn compare(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linkbench-compare"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_soak_page_draws_every_figure_and_overlays_soaks_listing_a_half_line() {
    // The client's module is replayed (tests/fixtures/replay/lr4-heating), so every module chart has
    // data; the traffic, the probe and the server's link are live.
    let link = ShapedLink::new(77, 400);
    let dir = tempfile::tempdir().unwrap();
    let (series, json) = (dir.path().join("optical.jsonl"), dir.path().join("r.json"));
    let page = dir.path().join("soak.html");
    let replay = common::repo_root().join("tests/fixtures/replay/lr4-heating");
    let out = soak_client(&link, "3", "0.2", &series, &json)
        .args(["--probe-rate", "100", "--replay-link"])
        .arg(&replay)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    // A 100G module's port speed against a 400 Mbit/s veth fails the throughput fraction: exit 1.
    assert_eq!(out.status.code(), Some(1), "{:?}", stderr_lines(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    common::assert_self_contained(&html);
    for title in [
        "throughput per direction",
        "latency probe round trip under load",
        "pre-FEC BER per lane",
        "FEC codewords per histogram bin",
        "module temperature",
        "Rx optical power per lane",
        "Tx optical power per lane",
        "Tx bias current per lane",
        "Rx power against module temperature",
    ] {
        assert!(html.contains(title), "the page has no chart '{title}'");
    }
    // Nine charts, none left out for lack of data; the verdict and the replay are said on the page.
    assert_eq!(html.matches("<svg").count(), 9, "{html}");
    assert!(!html.contains("class=\"missing\""));
    assert!(html.contains("FAIL") && html.contains("replayed"));
    // Every lane of the module is drawn: eight lanes of Rx power on the client side.
    for lane in 1..=8 {
        assert!(html.contains(&format!("client lane {lane}")), "lane {lane}");
    }

    // The same soak's first samples as a crash at sample 5 leaves them (mid-line): the overlay draws
    // both and says which line it left out.
    let crashed = dir.path().join("crashed.jsonl");
    let text = std::fs::read_to_string(&series).unwrap();
    let keep: Vec<&str> = text.lines().take(5).collect();
    let half = &text.lines().nth(5).unwrap()[..40];
    std::fs::write(&crashed, format!("{}\n{half}", keep.join("\n"))).unwrap();
    let overlay = dir.path().join("overlay.html");
    let out = compare(&[
        series.as_os_str(),
        crashed.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--output".as_ref(),
        overlay.as_os_str(),
    ]);
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    let html = std::fs::read_to_string(&overlay).unwrap();
    assert!(
        html.contains("optical.jsonl client lane 3")
            && html.contains("crashed.jsonl client lane 3")
    );
    assert!(
        html.contains("crashed.jsonl: left out line 6"),
        "the half line is listed"
    );
    let shot = common::repo_root().join("target/soak-page-screenshot.png");
    let png = common::chromium_screenshot(&overlay, &shot);
    assert!(
        png.len() > 60_000,
        "screenshot is {} bytes: is the page blank?",
        png.len()
    );

    // Series and reports do not mix, and series are drawn, not tested.
    for (args, needle) in [
        (vec![series.as_os_str(), json.as_os_str()], "not both"),
        (vec![series.as_os_str()], "--format html"),
    ] {
        let out = compare(&args);
        assert_eq!(out.status.code(), Some(2));
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(needle), "{}", lines[0]);
    }
}

#[test]
fn a_server_may_refuse_link_sampling_or_limit_its_rate_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let soak = |server: &common::ServerProcess, interval: &str, name: &str| {
        common::client(&server.addr)
            .args([
                "--soak",
                "1",
                "--warmup",
                "0.1",
                "--sample-interval",
                interval,
                "-q",
            ])
            .arg("--series")
            .arg(dir.path().join(name))
            .output()
            .unwrap()
    };
    let refusing = common::ServerProcess::start(&["--no-link-samples"]);
    let out = soak(&refusing, "0.5", "a.jsonl");
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    let refusal = lines.iter().find(|l| l.contains("error")).unwrap();
    assert!(
        refusal.contains("refuses link sampling") && refusal.contains("--no-link-samples"),
        "{lines:?}"
    );
    assert!(
        !dir.path().join("a.jsonl").exists(),
        "a refused soak leaves no series"
    );
    // The same server still runs ordinary trials.
    let plain = common::client(&refusing.addr)
        .args(["--duration", "0.3", "--warmup", "0.1", "-q"])
        .output()
        .unwrap();
    assert!(plain.status.success(), "{:?}", stderr_lines(&plain));
    let slow = common::ServerProcess::start(&["--min-sample-interval", "1"]);
    let out = soak(&slow, "0.5", "b.jsonl");
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert!(
        lines.iter().any(|l| l.contains("--min-sample-interval")),
        "{lines:?}"
    );
    let out = soak(&slow, "1", "c.jsonl");
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
}
