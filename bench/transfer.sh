#!/usr/bin/env bash
# Benchmark 3: blocks per second and GB/s from 4 worker processes to the server over tcp loopback,
# unencrypted and with CURVE, for 16, 64 and 256 MiB float32 blocks (64 MiB also chunked at a 16 MiB
# message limit; 256 MiB exceeds the default 256 MiB limit and travels in 2 chunks). Every row runs
# `ntk bench transfer` (real separate processes, real block messages) --repeat times under
# /tmp/ntk-bench.lock, next to the in-process TransferBenchmark as a reference; prints a Markdown table.
#
# usage: bench/transfer.sh [--senders 4] [--repeat 3] [--scale 1] [--out runs/bench-transfer]
#   NTK_BIN_DIR=DIR uses binaries from DIR (nothing is built). Raw results: OUT/results.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/run-python.sh"
run_benchmark transfer.py "$@"
