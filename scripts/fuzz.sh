#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz) for a bounded time each. A crash is copied into
# tests/fuzz/regressions/TARGET/ (where tests/fuzz_regressions.rs replays it on every test run) and the
# script fails, so the input gets committed with its fix.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# cargo fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
failed=0
for target in control_frame server_frames report histogram units module_eeprom plan; do
  corpus=target/fuzz-corpus/$target
  mkdir -p "$corpus"
  echo "== fuzz $target for ${seconds}s"
  if ! cargo fuzz run --fuzz-dir tests/fuzz "$target" "$corpus" "tests/fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>"target/fuzz-$target.log"; then
    failed=1
    echo "fuzz: $target FAILED; last lines:" >&2
    tail -30 "target/fuzz-$target.log" >&2
    for crash in tests/fuzz/artifacts/"$target"/*; do
      [ -f "$crash" ] || continue
      cp "$crash" "tests/fuzz/regressions/$target/$(basename "$crash")"
      echo "fuzz: kept $crash as tests/fuzz/regressions/$target/$(basename "$crash"): fix it and commit it" >&2
    done
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "target/fuzz-$target.log" | tr '\n' ' '; echo
  fi
done
exit $failed
