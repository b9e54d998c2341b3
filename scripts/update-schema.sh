#!/usr/bin/env bash
# Regenerates results-schema/report.schema.json and series.schema.json from the Rust types (src/model/).
# Remember to bump SCHEMA_VERSION (minor for a new optional field, major for anything else).
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_SCHEMA=1 cargo test --quiet --test schema committed_schema_matches_the_report_types
git --no-pager diff --stat -- results-schema/
