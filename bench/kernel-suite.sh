#!/usr/bin/env bash
# Benchmark 1 of issue 5: the empirical NTK Gram, ours against every
# neural-tangents implementation and PyTorch torch.func, over a grid of cases
# (MLP × samples × kernel), each case by bench/kernel.sh. Prints one Markdown
# table: seconds (best of R) per implementation, the fastest peer, ratio =
# fastest peer / ours, ours' best run split into factors (forward + backward)
# and Gram (with the Gram's SYRK GFLOP/s), the OpenBLAS core ours used and the
# sgemm GFLOP/s it measured in the same process.
#
# usage: bench/kernel-suite.sh [--nets "64,512,512,1 784,1024,1024,10"] [--samples "1000 4000"]
#                              [--kernels "exact averaged"] [--peers all] [--timeout 600]
#                              [--max-gb 16] [--max-seconds 60] [--jsonl FILE]
#                              [--reuse-peers FILE] [--skip-build]
#   --nets, --samples, --kernels   the grid (space-separated lists), run in that order
#   --peers LIST     as bench/kernel.sh (default all)
#   --timeout S      wall-clock limit of each process, ours and each peer implementation
#   --max-gb G       skip runs whose estimated peak memory exceeds G GB (the machine has 24)
#   --max-seconds S  a peer stops timing once its runs add up to S; a warm-up longer than S
#                    is its only run (marked * in the table)
#   --jsonl FILE     also keep every case's JSON line there (default: a temporary file)
#   --reuse-peers F  rerun ours only and take the peers' rows from F (an earlier --jsonl)
#   --from-jsonl F   run nothing: print the table of the cases in F (earlier --jsonl files
#                    concatenated, say; a later line for the same case replaces an earlier one)
#   --skip-build     do not run `swift build`
# Repeats: R = 5 for N ≤ 1000, 2 above. Run it under `flock /tmp/ntk-bench.lock`
# on a shared machine so that no other benchmark runs at the same time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nets="64,512,512,1 784,1024,1024,10"
sample_counts="1000 4000"
kernels="exact averaged"
peers=all
limit=600
max_gb=16
max_seconds=60
jsonl=""
reuse=""
from=""
build=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --nets) nets="$2"; shift 2 ;;
    --samples) sample_counts="$2"; shift 2 ;;
    --kernels) kernels="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --max-gb) max_gb="$2"; shift 2 ;;
    --max-seconds) max_seconds="$2"; shift 2 ;;
    --jsonl) jsonl="$2"; shift 2 ;;
    --reuse-peers) reuse="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    --from-jsonl) from="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "kernel-suite.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ -n "$from" ]]; then
  jsonl="$from"; build=0; sample_counts=""
fi
if [[ $build == 1 ]]; then
  echo "# swift build -c release --product ntk" >&2
  (cd "$root" && swift build -c release --product ntk) >&2
fi
[[ -n "$jsonl" ]] || { jsonl="$(mktemp)"; trap 'rm -f "$jsonl"' EXIT; }
[[ -n "$from" ]] || : > "$jsonl"
[[ -n "$reuse" ]] && peers=none

for samples in $sample_counts; do
  for widths in $nets; do
    for kernel in $kernels; do
      repeat=5; (( samples > 1000 )) && repeat=2
      echo "# case: MLP $widths, N = $samples, $kernel, best of $repeat ($(date +%T))" >&2
      bash "$root/bench/kernel.sh" --skip-build --widths "$widths" --samples "$samples" --kernel "$kernel" \
        --repeat "$repeat" --peers "$peers" --timeout "$limit" --max-gb "$max_gb" \
        --max-seconds "$max_seconds" > "$jsonl.case" || true
      grep -v '^{' "$jsonl.case" >&2 || true
      grep '^{' "$jsonl.case" | tail -n 1 >> "$jsonl"
    done
  done
done
rm -f "$jsonl.case"

python3 - "$jsonl" "$reuse" <<'PY'
import json, sys

cases = {}
for line in open(sys.argv[1]):
    if line.strip():
        c = json.loads(line)
        cases[(c["widths"], c["samples"], c["kernel"])] = c  # a later run of a case replaces it
cases = sorted(cases.values(), key=lambda c: c["samples"])  # stable: the grid's order within one N
if sys.argv[2]:  # peers from an earlier run, matched by case
    earlier = {(c["widths"], c["samples"], c["kernel"]): c for c in map(json.loads, open(sys.argv[2])) if c}
    for c in cases:
        c["peers"] = earlier.get((c["widths"], c["samples"], c["kernel"]), {}).get("peers", [])
columns = [("neural-tangents", "structured"), ("neural-tangents", "jacobian"), ("neural-tangents", "ntvp"),
           ("torch.func", "jacobian"), ("torch.func", "ntvp")]
notes = {}  # reason -> its note number: one note per distinct reason

def seconds(row):
    v = row.get("seconds")
    return float(v) if isinstance(v, (int, float)) and "error" not in row and "skipped" not in row else None

def cell(row):
    """Seconds, or a short word with a numbered note for why there are none."""
    if row is None:
        return "–"
    s = seconds(row)
    if s is not None:
        return f"{s:.3g}" + ("*" if row.get("warm_up_only") else "")
    why = row.get("skipped") or row.get("error") or "no result"
    number = notes.setdefault(why, len(notes) + 1)
    word = "skipped" if "skipped" in row else ("timeout" if "timed out" in why else "failed")
    return f"{word} [{number}]"

print("| MLP | N | kernel | ours (s) | nt structured | nt jacobian | nt ntvp | torch jacobian | torch ntvp "
      "| fastest peer | peer / ours | ours: factors + Gram (s), Gram GFLOP/s | OpenBLAS core | sgemm GFLOP/s |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|")
for c in cases:
    ours = c["ours"]
    by_name = {(p.get("peer", "neural-tangents"), p.get("impl")): p for p in c["peers"]}
    timed = [(seconds(p), f"{p.get('peer')} {p.get('impl')}") for p in c["peers"] if seconds(p) is not None]
    best = min(timed) if timed else None
    base = seconds(ours)
    ratio = f"{best[0] / base:.2f}" if best and base else "–"
    gflops = ours.get("sgemm_gflops")
    split = (f"{ours['factors_seconds']:.3g} + {ours['gram_seconds']:.3g}, {ours['gram_gflops']:.0f}"
             if seconds(ours) is not None and "gram_seconds" in ours else "–")
    print(f"| {c['widths'].replace(',', '-')} | {c['samples']} | {c['kernel']} | {cell(ours)} | "
          + " | ".join(cell(by_name.get(k)) for k in columns)
          + f" | {best[1] if best else '–'} | {ratio} | {split} | {ours.get('openblas_core', '?')} | "
          + (f"{gflops:.0f}" if isinstance(gflops, (int, float)) else "–") + " |")
print()
print("Seconds: best of the timed runs after one untimed warm-up (neural-tangents: the warm-up includes "
      "XLA compilation). * = the warm-up was longer than --max-seconds and is the only run.")
for why, number in notes.items():
    print(f"[{number}] {why}")
PY
