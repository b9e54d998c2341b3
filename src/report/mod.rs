//! Reports: the versioned JSON model (its JSON Schema is generated from these types into
//! `results-schema/report.schema.json`), atomic writing, and the human tables.

pub mod table;
pub mod write;

/// The report's types live in [`crate::model::report`]; this path is kept for the harness and tests.
pub use crate::model::report as model;
pub use crate::model::report::{Report, Status, TestResult, SCHEMA_VERSION};
pub use write::{write_report_atomically, WriteError};

/// The largest report file read back (linkbench-compare, the harness): 256 MiB.
///
/// Per-interval figures dominate a long trial: about 255 bytes each, pretty-printed, once for the trial
/// and once per direction. A day-long trial (the server's default `--max-duration`, 86400 s) at the
/// default 1 s interval is about 45 MiB (bw) to 70 MiB (bibw); the server's side of a trial arrives in
/// one control frame of at most 16 MiB (`control::ABSOLUTE_MAX_FRAME_BYTES`). An ordinary
/// trial is 2-10 KiB, so the most trials one run may plan (`plan::MAX_TRIALS`) stay under
/// 100 MiB. A larger file is not a report linkbench writes for a sane run, and parsing it would take
/// gigabytes; it is refused with its size (split very long runs: compare pools a directory of reports).
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// [`MAX_REPORT_BYTES`] for [`crate::files::read_regular`].
pub const REPORT_LIMIT: crate::files::Limit = crate::files::Limit {
    bytes: MAX_REPORT_BYTES,
    what: "a linkbench report",
};

/// Parses a report from untrusted bytes and, when it parses, checks it survives a round trip; the fuzz
/// target and its regression test call this. Never panics.
pub fn parse_untrusted(data: &[u8]) {
    if let Ok(report) = serde_json::from_slice::<Report>(data) {
        let text = serde_json::to_vec(&report).expect("a parsed report serialises");
        let again: Report = serde_json::from_slice(&text).expect("a serialised report parses");
        // NaN never survives JSON, so only compare what can round-trip exactly.
        if text == serde_json::to_vec(&again).expect("serialises") {
            for r in &report.results {
                if let Some(l) = &r.latency {
                    let _ = crate::stats::LatencyRecorder::decode_base64(&l.histogram);
                }
            }
        }
    }
}

/// The report's JSON Schema (draft 2020-12), as committed in `results-schema/report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    schema_of::<Report>()
}

/// The JSON Schema of one line of a soak's series (`--series`), as committed in
/// `results-schema/series.schema.json`.
pub fn series_json_schema() -> serde_json::Value {
    schema_of::<crate::model::SeriesLine>()
}

fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("a generated schema is valid JSON")
}
