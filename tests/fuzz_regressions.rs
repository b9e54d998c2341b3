//! Every input in tests/fuzz/regressions/TARGET/ goes through the same entry point its fuzz target
//! calls: inputs that once crashed (scripts/fuzz.sh files them here) and the hostile shapes peers were
//! broken by (a 4 GiB length, NaN, deep nesting, bad histograms). None may panic.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target);
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    all.sort();
    assert!(!all.is_empty(), "no regression inputs for {target}");
    all
}

#[test]
fn control_frame_regressions() {
    for (name, data) in inputs("control_frame") {
        eprintln!("control_frame/{name}");
        linkbench::control::frame::decode_untrusted(&data);
    }
}

#[test]
fn server_frames_regressions() {
    for (name, data) in inputs("server_frames") {
        eprintln!("server_frames/{name}");
        linkbench::client::trust::decode_untrusted(&data);
    }
}

#[test]
fn report_regressions() {
    for (name, data) in inputs("report") {
        eprintln!("report/{name}");
        linkbench::report::parse_untrusted(&data);
    }
}

#[test]
fn histogram_regressions() {
    for (name, data) in inputs("histogram") {
        eprintln!("histogram/{name}");
        let decoded = linkbench::stats::LatencyRecorder::decode_bytes(&data);
        let text = String::from_utf8_lossy(&data);
        let from_text = linkbench::stats::LatencyRecorder::decode_base64(&text);
        assert!(
            decoded.is_err() && from_text.is_err(),
            "{name} is not a valid histogram and must not decode"
        );
    }
}

#[test]
fn units_regressions() {
    for (name, data) in inputs("units") {
        eprintln!("units/{name}");
        let text = String::from_utf8_lossy(&data);
        linkbench::units::parse_untrusted(&text);
        let _ = linkbench::control::allow::parse_allow(&text);
    }
}

#[test]
fn module_eeprom_regressions() {
    for (name, data) in inputs("module_eeprom") {
        eprintln!("module_eeprom/{name}");
        if let Ok(m) = linkbench::diag::module::decode(&data) {
            assert_eq!(m.dump_bytes, data.len());
        }
        let mut out = std::collections::BTreeMap::new();
        linkbench::diag::netlink::parse_fec_stats(&data, &mut out);
    }
}
