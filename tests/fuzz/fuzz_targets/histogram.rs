//! The histogram decoder (V2 / V2+DEFLATE, and its base64 form in reports) on arbitrary input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = linkbench::stats::LatencyRecorder::decode_bytes(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = linkbench::stats::LatencyRecorder::decode_base64(text);
    }
});
