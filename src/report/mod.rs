//! Reports: the versioned JSON model (its JSON Schema is generated from these types into
//! `results-schema/report.schema.json`), atomic writing, and the human tables.

pub mod model;
pub mod table;
pub mod write;

pub use model::{Report, Status, TestResult, SCHEMA_VERSION};
pub use write::{write_report_atomically, WriteError};

/// The report's JSON Schema (draft 2020-12), as committed in `results-schema/report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<Report>();
    serde_json::to_value(schema).expect("a generated schema is valid JSON")
}
