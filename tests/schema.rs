//! The committed JSON Schema is exactly what the Rust types generate. Run with UPDATE_SCHEMA=1 (or
//! scripts/update-schema.sh) after changing the report model, and bump SCHEMA_VERSION as semver says.

mod common;

/// Compares (or with UPDATE_SCHEMA=1 writes) one committed schema with what the types generate.
fn committed_matches(file: &str, generated: &serde_json::Value) {
    let generated = serde_json::to_string_pretty(generated).unwrap() + "\n";
    let path = common::repo_root().join("results-schema").join(file);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "results-schema/{file} is out of date with the model in src/model: run scripts/update-schema.sh"
    );
}

#[test]
fn committed_schema_matches_the_report_types() {
    committed_matches("report.schema.json", &linkbench::report::json_schema());
    committed_matches(
        "series.schema.json",
        &linkbench::report::series_json_schema(),
    );
}

#[test]
fn the_example_series_lines_are_valid() {
    let schema_text =
        std::fs::read_to_string(common::repo_root().join("results-schema/series.schema.json"))
            .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let dir = common::repo_root().join("results-schema/examples");
    let mut lines = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
                assert_eq!(
                    value["schema_version"],
                    linkbench::model::SERIES_SCHEMA_VERSION
                );
                lines += 1;
            }
        }
    }
    assert!(
        lines > 0,
        "results-schema/examples holds no series (.jsonl)"
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
    let (mut seen, mut current) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let report = common::read_valid_report(&path);
            // An example keeps the version that wrote it: a minor version only adds fields, so an
            // older minor of the same major still validates; at least one shows the current one.
            let version = report["schema_version"].as_str().unwrap().to_string();
            let (major, current_major) = (
                version.split('.').next().unwrap(),
                linkbench::report::SCHEMA_VERSION.split('.').next().unwrap(),
            );
            assert_eq!(major, current_major, "{}", path.display());
            current += usize::from(version == linkbench::report::SCHEMA_VERSION);
            seen += 1;
        }
    }
    assert!(seen > 0, "results-schema/examples holds no example report");
    assert!(
        current > 0,
        "no example report is at the current schema version {}",
        linkbench::report::SCHEMA_VERSION
    );
}
