#!/usr/bin/env bash
# Runs every check: formatting, clippy with warnings as errors, and all tests (unit, black-box loopback,
# bad input, failure, interop, schema drift). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything: the build tools and the test tools (the demo installs only the former).
scripts/deps.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets 2>&1 | tee target/test.log
# Say the total in one line (cargo prints one summary per test binary).
awk '/^test result:/ {p+=$4; f+=$6} END {printf "all tests: %d passed, %d failed\n", p, f}' target/test.log
