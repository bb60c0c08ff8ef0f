#!/usr/bin/env bash
# Builds the libFuzzer target for the board protocol and engine and runs it for a while.
# Usage: Firmware/Fuzz/run.sh [seconds]   (default 60). Crashes are kept in fuzz-artifacts/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
seconds=${1:-60}
build="$root/.build/fuzz"
mkdir -p "$build/corpus" "$root/fuzz-artifacts"
cp "$here"/Fuzz/corpus/* "$build/corpus/" 2>/dev/null || true
export SWIFT_BACKTRACE=enable=no
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name FuzzBoardProtocol \
  $(find "$here/LandauerFirmware" -name '*.swift' | sort) "$here/Fuzz/FuzzBoardProtocol.swift" \
  -o "$build/fuzz-board-protocol" 2> "$build/build.log" || { cat "$build/build.log"; exit 1; }
"$build/fuzz-board-protocol" -max_total_time="$seconds" -seed=1 -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$root/fuzz-artifacts/" "$build/corpus" 2>&1 | tail -n 12
