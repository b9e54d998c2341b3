//! The committed JSON Schema is exactly what the Rust types generate. Run with UPDATE_SCHEMA=1 (or
//! scripts/update-schema.sh) after changing the report model, and bump SCHEMA_VERSION as semver says.

mod common;

#[test]
fn committed_schema_matches_the_report_types() {
    let generated = serde_json::to_string_pretty(&linkbench::report::json_schema()).unwrap() + "\n";
    let path = common::repo_root().join("results-schema/report.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "results-schema/report.schema.json is out of date with src/report/model.rs: run scripts/update-schema.sh"
    );
}

#[test]
fn schema_is_draft_2020_12_and_names_the_fixed_fields() {
    let schema = linkbench::report::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in [
        "schema_version",
        "status",
        "errors",
        "tool",
        "started_at",
        "labels",
        "client",
        "server",
        "results",
    ] {
        assert!(required.contains(&field), "{field} must be required");
    }
}

#[test]
fn the_example_report_is_valid() {
    let dir = common::repo_root().join("results-schema/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let report = common::read_valid_report(&path);
            assert_eq!(report["schema_version"], linkbench::report::SCHEMA_VERSION);
            seen += 1;
        }
    }
    assert!(seen > 0, "results-schema/examples holds no example report");
}
