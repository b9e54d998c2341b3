//! The harness's plan parser (TOML plus its checks) on arbitrary text: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(plan) = linkbench_harness::plan::Plan::parse(text, "fuzz.toml") {
            let sched = linkbench_harness::schedule::schedule(&plan);
            let _ = linkbench_harness::schedule::describe(&plan, &sched);
        }
    }
});
