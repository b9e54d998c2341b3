//! The report parser (what linkbench-compare and the harness read) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    linkbench::report::parse_untrusted(data);
});
