#!/usr/bin/env bash
# A short smoke run of the stable-toolchain fuzzer (fuzz/, its own workspace) over every target:
# envelope classifier, every method's response/result decoder, the common types. Exits non-zero
# on any panic or broken invariant (the input is saved under fuzz/crashes/).
# Longer runs: cargo run --release --manifest-path fuzz/Cargo.toml -- --runs 4000000 --seed N
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --manifest-path fuzz/Cargo.toml -- --target all --runs "${FUZZ_RUNS:-20000}" --seed "${FUZZ_SEED:-$RANDOM}"
