#!/usr/bin/env bash
# Fuzzes the C ABI (fuzz/fuzz_targets/c_abi.rs: random call sequences from two threads,
# random scripts, wire-format bytes and paths) for a bounded time:
#
#   bash tests/fuzz.sh [seconds]      (default 60; tests/run_all.sh runs a short one)
#
# Needs a nightly toolchain and cargo-fuzz (both installed here when missing). New inputs
# go to fuzz/target/corpus (the committed seeds in fuzz/corpus/c_abi are only read); a
# crash leaves its input in fuzz/artifacts/c_abi/ and fails the run: add it to
# fuzz/corpus/c_abi as a regression seed once fixed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/v8_archive.sh
seconds=${1:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cd fuzz
mkdir -p target/corpus
# -s none: libFuzzer's coverage guidance without ASan (V8's C++ is not instrumented);
# crashes, aborts, panics across the boundary, hangs and leaked handles all fail.
cargo +nightly fuzz run c_abi -s none -O target/corpus corpus/c_abi -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=6144 -print_final_stats=1 2>&1 |
    tee target/fuzz.log | { grep -E "^#[0-9]+ *(INITED|DONE)|stat::|ERROR|panicked|SUMMARY" || true; }
