#!/usr/bin/env bash
# FedAvg vs the NTK method on the default run (configs/digits-noniid*.yaml): builds the release
# binaries when needed, then runs bench/compare-strategies.py with the given arguments.
#
# usage: bench/compare-strategies.sh --tune [options]   # FedAvg grid on seed 0
#        bench/compare-strategies.sh [options]          # 3-seed comparison with the tuned FedAvg
#   bench/compare-strategies.sh --help lists the options (--target, --seeds, --rounds-ntk,
#   --rounds-fedavg, --lr, --epochs, --out, ...). Results: OUT/compare.md, OUT/compare.json
#   (OUT defaults to runs/compare/).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# `swift build` is incremental (a no-op when up to date) and waits for another build's lock.
# With --bin DIR the binaries come from DIR (e.g. a build of a fixed commit): nothing is built.
if [[ " $* " != *" --bin "* ]]; then swift build -c release >&2; fi
exec python3 "$root/bench/compare-strategies.py" "$@"
