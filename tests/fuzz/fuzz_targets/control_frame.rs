//! The control-frame decoder on arbitrary bytes, as both sides read them: never a panic, never an
//! allocation beyond the frame limit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    linkbench::control::frame::decode_untrusted(data);
});
