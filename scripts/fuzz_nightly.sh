#!/usr/bin/env bash
# The long fuzzing run, for a machine with hours to spare (not CI, which runs scripts/fuzz.sh
# for 20 s a target): every target for an hour by default, one after another. Crashes are copied
# to build-fuzz-crashes/<target>/; each one found becomes a regression input in
# tests/fuzz/regressions/<target>/, which the ordinary build replays (docs/testing.md).
# Usage: bash scripts/fuzz_nightly.sh [seconds per target, default 3600] [target...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-3600}
shift || true
FUZZ_JOBS="$(nproc)" exec bash scripts/fuzz.sh "$secs" "$@"
