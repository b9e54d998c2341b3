//! A server's frames as the client reads them during a trial (bounded frames, live updates and the result
//! checked for plausibility): never a panic, never an allocation beyond the trial's result limit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    linkbench::client::trust::decode_untrusted(data);
});
