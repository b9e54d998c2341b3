#!/usr/bin/env bash
# Soak stage: tests back to back against one server for SECONDS (default 180) with clients killed at
# random moments; fails if the server's file descriptors or memory grow. SOAK_SEED=N repeats a run.
# Usage: scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${1:-180} cargo test --release --test soak -- --ignored --nocapture 2>&1 | tee target/soak.log
