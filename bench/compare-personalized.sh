#!/usr/bin/env bash
# Personalized federation (hypernetwork, configs/digits-hyper-noniid.yaml) vs the shared MLP
# (configs/digits-mlp-noniid-local.yaml) on the same non-IID digits partitions, worker by worker.
# Builds the release binaries when needed (unless --bin DIR), then runs bench/compare-personalized.py.
#
# usage: bench/compare-personalized.sh [--alphas 0.1 0.5] [--rounds R] [--train-fraction F] [--out DIR] [--bin DIR]
#   Each (α, method) is one `ntk run` (server + 4 worker processes over ZeroMQ on loopback), given R + 1 rounds:
#   workers report their held-out split for the weights the round starts from, so round R + 1's report is the
#   accuracy after R rounds. Table: OUT/table.md (OUT defaults to runs/personalized/), raw numbers OUT/personalized.json.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ " $* " != *" --bin "* ]]; then swift build -c release >&2; fi
exec python3 "$root/bench/compare-personalized.py" "$@"
