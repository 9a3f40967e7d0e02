#!/usr/bin/env bash
# Empirical NTK Gram of a convolutional network, one case: ours (`ntk bench cnn-kernel`) against
# every neural-tangents implementation, run one after the other on this machine with the same
# network (spec grammar of Sources/NTKCore/Architectures/NetworkSpec.swift), input shape,
# samples and kernel.
#
# usage: bench/cnn-kernel.sh [--network SPEC] [--input-shape HxWxC] [--samples N]
#                            [--kernel averaged|exact] [--repeat R] [--peers LIST]
#                            [--timeout S] [--max-seconds S] [--max-gb G] [--skip-build]
#   defaults: --network conv(32,3)-relu-conv(32,3)-relu-gap-dense(10) --input-shape 8x8x1
#             --samples 1000 --kernel averaged --repeat 5 --peers nt --timeout 600 --max-gb 16
#   --peers LIST    comma-separated from structured, jacobian, ntvp; "nt" = all three, "none" = ours only
#   NTK_BIN=path    use this executable instead of .build/release/ntk (implies --skip-build)
#
# Prints a table (seconds = best of R runs, ratio = peer / ours) and, last, one JSON line with
# every row, the fastest peer and its ratio. OPENBLAS_CORETYPE is left as the environment has it;
# ours reports the OpenBLAS core in use. neural-tangents runs on XLA's CPU kernels (JAX_PLATFORMS=cpu).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
network='conv(32,3)-relu-conv(32,3)-relu-gap-dense(10)'
input_shape=8x8x1
samples=1000
kernel=averaged
repeat=5
peers=nt
limit=600
max_seconds=inf
max_gb=16
build=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --network) network="$2"; shift 2 ;;
    --input-shape) input_shape="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --max-seconds) max_seconds="$2"; shift 2 ;;
    --max-gb) max_gb="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "cnn-kernel.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$kernel" in averaged|exact) ;; *) echo "cnn-kernel.sh: --kernel averaged|exact" >&2; exit 2 ;; esac

impls=""
for item in ${peers//,/ }; do
  case "$item" in
    none) ;;
    nt|all) impls="$impls structured jacobian ntvp" ;;
    structured|jacobian|ntvp) impls="$impls $item" ;;
    *) echo "cnn-kernel.sh: unknown peer $item" >&2; exit 2 ;;
  esac
done

source "$root/bench/lib/gram-bench.sh"   # $bin, $tmp, guarded

: > "$tmp/ours.out"; : > "$tmp/peer.out"
echo "# ours: $bin bench cnn-kernel --network '$network' --input-shape $input_shape --samples $samples --kernel $kernel --repeat $repeat --json" >&2
guarded "ntk-swift" "$tmp/ours.out" "$bin" bench cnn-kernel --network "$network" --input-shape "$input_shape" \
  --samples "$samples" --kernel "$kernel" --repeat "$repeat" --json

if [[ -n "${impls// /}" ]]; then
  nt_py="$("$root/scripts/nt-venv.sh")"
  for impl in $impls; do
    echo "# peer: neural-tangents --impl $impl" >&2
    guarded "$impl" "$tmp/peer.out" env JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}" TF_CPP_MIN_LOG_LEVEL=2 \
      "$nt_py" "$root/bench/nt_cnn_kernel.py" --impl "$impl" --network "$network" --input-shape "$input_shape" \
      --samples "$samples" --kernel "$kernel" --repeat "$repeat" --max-seconds "$max_seconds" --max-gb "$max_gb"
  done
fi

python3 - "$root/bench/lib" "$tmp/ours.out" "$tmp/peer.out" "$network" "$input_shape" "$samples" "$kernel" "$repeat" <<'EOF'
import json, os, sys

lib, ours_path, peer_path, network, shape, samples, kernel, repeat = sys.argv[1:]
sys.path.insert(0, lib)
from gramtable import print_rows, rows, secs

ours = (rows(ours_path) or [{"impl": "ntk-swift", "error": "no output"}])[-1]
peers = rows(peer_path)

base = secs(ours)
timed = [p for p in peers if secs(p) is not None]
fastest = min(timed, key=secs) if timed else None
core = ours.get("openblas_core", "?")
env_core = os.environ.get("OPENBLAS_CORETYPE")
print(f"{network} on {shape}, N = {samples}, kernel {kernel}, best of {repeat}; OpenBLAS core (ours): {core}"
      + (f" (OPENBLAS_CORETYPE={env_core})" if env_core else " (OPENBLAS_CORETYPE unset)")
      + f", sgemm {ours.get('sgemm_gflops', float('nan')):.0f} GFLOP/s; our layer methods: {','.join(ours.get('layer_methods', []))}")
print_rows([("ours", "ntk-swift (factors + Gram)", ours)] + [("peer", f"neural-tangents {p.get('impl', '?')}", p) for p in peers],
           base, 32)
if fastest and base:
    print(f"fastest peer: neural-tangents {fastest['impl']} {secs(fastest):.4f} s; ours {base:.4f} s; ratio {secs(fastest) / base:.2f}x")
print(json.dumps({"benchmark": "cnn-kernel", "network": network, "input_shape": shape, "samples": int(samples),
                  "kernel": kernel, "repeat": int(repeat), "openblas_core": core, "ours": ours, "peers": peers,
                  "fastest_peer": fastest["impl"] if fastest else None,
                  "fastest_ratio": secs(fastest) / base if (fastest and base) else None}))
sys.exit(1 if "error" in ours else 0)
EOF
