#!/usr/bin/env bash
# Empirical NTK Gram, one case: ours (`ntk bench kernel`) against neural-tangents
# and PyTorch torch.func, run one after the other on this machine with the same
# network, samples and kernel.
#
# usage: bench/kernel.sh [--samples N] [--widths n0,n1,...,k] [--kernel averaged|exact]
#                        [--repeat R] [--peers LIST | --all-peers] [--timeout S]
#                        [--max-seconds S] [--max-gb G] [--skip-build]
#   defaults: --samples 1000 --widths 64,512,512,1 --kernel averaged --repeat 5
#             --peers nt-structured --timeout 600 --max-gb 16
#   --peers LIST    comma-separated, from nt-structured, nt-jacobian, nt-ntvp,
#                   torch-jacobian, torch-ntvp; "nt" = the three nt ones,
#                   "torch" = both torch ones, "all" = every one, "none" = ours only
#   --all-peers     the same as --peers nt (all neural-tangents implementations)
#   --timeout S     wall-clock limit of each process (ours, each peer implementation)
#   --max-seconds S a peer stops its timed runs once they add up to S (at least one)
#   --max-gb G      skip a run whose estimated peak memory exceeds G GB (the
#                   peers estimate their own; ours: result + one layer's Gram)
#   --skip-build    do not run `swift build` (use the binary already built)
#   NTK_BIN=path    use this executable instead of .build/release/ntk (implies --skip-build)
#
# Prints a table (seconds = best of R runs, ratio = peer / ours) and, last, one
# JSON line with every row, the fastest peer and its ratio. Every process runs
# with oom_score_adj 1000, so that if memory runs out it is the one the kernel
# ends, not someone else's. OPENBLAS_CORETYPE is left as the environment has
# it; the core OpenBLAS uses is reported by ours. neural-tangents runs on XLA's
# own CPU kernels (JAX_PLATFORMS=cpu unless set), torch on its own (MKL), not
# on OpenBLAS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
samples=1000
widths=64,512,512,1
kernel=averaged
repeat=5
peers=nt-structured
limit=600
max_seconds=inf
max_gb=16
build=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --samples) samples="$2"; shift 2 ;;
    --widths) widths="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --all-peers) peers=nt; shift ;;
    --timeout) limit="$2"; shift 2 ;;
    --max-seconds) max_seconds="$2"; shift 2 ;;
    --max-gb) max_gb="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "kernel.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$kernel" in averaged|exact) ;; *) echo "kernel.sh: --kernel averaged|exact" >&2; exit 2 ;; esac

# The peer list, expanded: "nt" → nt-structured,nt-jacobian,nt-ntvp and so on.
expand_peers() {
  local item
  for item in ${1//,/ }; do
    case "$item" in
      none) ;;
      all) echo nt-structured nt-jacobian nt-ntvp torch-jacobian torch-ntvp ;;
      nt) echo nt-structured nt-jacobian nt-ntvp ;;
      torch) echo torch-jacobian torch-ntvp ;;
      nt-structured|nt-jacobian|nt-ntvp|torch-jacobian|torch-ntvp) echo "$item" ;;
      *) echo "kernel.sh: unknown peer $item" >&2; exit 2 ;;
    esac
  done
}
peer_list="$(expand_peers "$peers")"

source "$root/bench/lib/gram-bench.sh"   # $bin, $tmp, guarded

# Ours: skip when the result plus one layer's backward Gram (same size) would not fit.
out="$tmp/ours.out"; : > "$out"
k="${widths##*[,-]}"
side=$samples
[[ $kernel == exact ]] && side=$(( samples * k ))
ours_gb="$(awk -v s="$side" 'BEGIN { printf "%.1f", 2 * s * s * 4 / 1e9 }')"
if awk -v a="$ours_gb" -v b="$max_gb" 'BEGIN { exit !(a > b) }'; then
  printf '{"impl": "ntk-swift factored", "skipped": "result + one layer Gram need ~%s GB > --max-gb %s"}\n' "$ours_gb" "$max_gb" > "$out"
else
  echo "# ours: $bin bench kernel --widths $widths --samples $samples --kernel $kernel --repeat $repeat --json" >&2
  guarded "ntk-swift factored" "$out" "$bin" bench kernel --widths "$widths" --samples "$samples" --kernel "$kernel" \
    --repeat "$repeat" --json
fi

# Peers: one process per implementation (a timeout or a crash costs only that one).
out="$tmp/peer.out"; : > "$out"
peer_args=(--widths "$widths" --samples "$samples" --kernel "$kernel" --repeat "$repeat"
           --max-seconds "$max_seconds" --max-gb "$max_gb")
nt_py="" torch_py="" torch_why=""
for peer in $peer_list; do
  impl="${peer#*-}"
  case "$peer" in
    nt-*)
      [[ -n "$nt_py" ]] || nt_py="$("$root/scripts/nt-venv.sh")"
      echo "# peer: neural-tangents --impl $impl" >&2
      guarded "$impl" "$out" env JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}" TF_CPP_MIN_LOG_LEVEL=2 \
        "$nt_py" "$root/bench/nt_kernel.py" --impl "$impl" "${peer_args[@]}" ;;
    torch-*)
      if [[ -z "$torch_py" && -z "$torch_why" ]]; then
        torch_py="$("$root/scripts/torch-venv.sh")" || torch_why="scripts/torch-venv.sh found no CPU PyTorch"
      fi
      if [[ -n "$torch_why" ]]; then
        printf '{"peer": "torch.func", "impl": "%s", "skipped": "%s"}\n' "$impl" "$torch_why" >> "$out"
        continue
      fi
      echo "# peer: torch.func --impl $impl" >&2
      guarded "$impl" "$out" "$torch_py" "$root/bench/torch_kernel.py" --impl "$impl" "${peer_args[@]}" ;;
  esac
done

python3 - "$root/bench/lib" "$tmp/ours.out" "$tmp/peer.out" "$widths" "$samples" "$kernel" "$repeat" <<'EOF'
import json, os, sys

lib, ours_path, peer_path, widths, samples, kernel, repeat = sys.argv[1:]
sys.path.insert(0, lib)
from gramtable import print_rows, rows, secs

ours = (rows(ours_path) or [{"impl": "ntk-swift factored", "error": "no output"}])[-1]
peers = rows(peer_path)

def name(row):
    return f"{row.get('peer', 'neural-tangents')} {row.get('impl', '?')}"

base = secs(ours)
timed = [p for p in peers if secs(p) is not None]
fastest = min(timed, key=secs) if timed else None
core = ours.get("openblas_core", "?")
env_core = os.environ.get("OPENBLAS_CORETYPE")
print(f"kernel {kernel}, widths {widths}, samples {samples}, best of {repeat}; "
      f"OpenBLAS core (ours): {core}"
      + (f" (OPENBLAS_CORETYPE={env_core})" if env_core else " (OPENBLAS_CORETYPE unset)")
      + f", sgemm {ours.get('sgemm_gflops', float('nan')):.0f} GFLOP/s")
print_rows([("ours", ours.get("impl", "ntk-swift"), ours)] + [("peer", name(p), p) for p in peers], base, 36)
print(json.dumps({"benchmark": "kernel", "kernel": kernel, "widths": widths,
                  "samples": int(samples), "repeat": int(repeat), "openblas_core": core,
                  "ours": ours, "peers": peers,
                  "fastest_peer": name(fastest) if fastest else None,
                  "fastest_ratio": secs(fastest) / base if (fastest and base) else None,
                  "ratios": {name(p): secs(p) / base for p in timed if base}}))
sys.exit(1 if "error" in ours else 0)
EOF
