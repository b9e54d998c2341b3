//! The command-line parsers (sizes, durations, sweeps, CPU lists, --allow networks) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        linkbench::units::parse_untrusted(text);
        let _ = linkbench::control::allow::parse_allow(text);
    }
});
