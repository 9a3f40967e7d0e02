#!/usr/bin/env bash
# Issue 7's benchmark, MNIST with 20 (or, --scale, 300) logical clients: the NTK method and the NTK-FL
# preset against FedAvg, FedProx and SCAFFOLD. Builds the release binaries when needed (not with
# --bin DIR, nor --selftest), then runs bench/compare-federations.py with the given arguments.
#
# usage: bench/compare-federations.sh --selftest           # checks against a stand-in binary, ~30 s
#        bench/compare-federations.sh --tune [options]     # baselines' grids, seed 0, α = 0.1
#        bench/compare-federations.sh [options]            # every method × α {0.1, 0.5} × seeds 0,1,2
#        bench/compare-federations.sh --scale [options]    # 300 clients, ntk and fedavg, 5 rounds
#   bench/compare-federations.sh --help lists the options (--methods, --alphas, --seeds, --rounds-ntk,
#   --rounds-baseline, --out, --bin, --reuse, ...). Results: OUT/compare.md, OUT/compare.json,
#   OUT/tuning.json, OUT/accuracy-*.svg (OUT defaults to runs/compare-federations/).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# `swift build` is incremental (a no-op when up to date) and waits for another build's lock.
if [[ " $* " != *" --bin "* && " $* " != *" --selftest "* && " $* " != *" --help "* && " $* " != *" -h "* ]]; then
  swift build -c release >&2
fi
exec python3 "$root/bench/compare-federations.py" "$@"
