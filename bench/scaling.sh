#!/usr/bin/env bash
# Benchmark 5: round time and its phases against the number of samples (1k, 2k, 5k, 10k, 20k at 4
# workers) and against the number of workers (1, 2, 4, 8 at 5 000 samples in total), on synthetic data
# (bench/make_synthetic.py) with factored blocks, one round per point by default. Every point is a real
# federation (ntk-server + workers, each under /usr/bin/time -v) holding /tmp/ntk-bench.lock. Prints
# the phases per point and the log-log slope of each phase between neighbouring points.
#
# usage: bench/scaling.sh [--samples 1000,2000,...] [--workers 1,2,4,8] [--fixed-samples 5000]
#                         [--widths 784,512,512,10] [--rounds 1] [--out runs/bench-scaling]
#   NTK_BIN_DIR=DIR uses binaries from DIR (nothing is built). Raw results: OUT/results.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/run-python.sh"
run_benchmark scaling.py "$@"
