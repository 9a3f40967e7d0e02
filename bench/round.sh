#!/usr/bin/env bash
# Benchmark 4: end-to-end federated rounds. For each variant (digits-noniid factored f32/bf16; digits
# 64-128-128-10 factored vs dense, f32/bf16; synthetic 20 000 × 784, MLP 784-1024-1024-10, 4 workers,
# factored f32/bf16) it starts ntk-server and one ntk-worker per worker itself, each under
# /usr/bin/time -v, for a couple of rounds, and prints seconds per phase (rounds.jsonl) and the peak
# resident memory of the server and of the largest worker as a Markdown table.
#
# usage: bench/round.sh [--rounds 2] [--samples 20000] [--only NAME...] [--out runs/bench-rounds]
#   Each federation holds /tmp/ntk-bench.lock while it runs. NTK_BIN_DIR=DIR uses binaries from DIR
#   (nothing is built). Raw results: OUT/results.json; logs and time reports: OUT/<variant>/logs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/run-python.sh"
run_benchmark rounds.py "$@"
