#!/usr/bin/env bash
# Dense linear algebra: ours (`ntk bench linalg`) against numpy/scipy
# (bench/linalg_peer.py), run one after the other on this machine.
#
# usage: bench/linalg.sh [--sizes n,...] [--gram-rows r,...] [--gram-widths w,...]
#                        [--sections gram,eigen,lanczos] [--repeat R] [--skip-build]
#   defaults: those of `ntk bench linalg` (sizes 1000,2000,4000; rows
#   1000,4000,14380; widths 512,1024; all sections; repeat 3)
#   --skip-build  do not run `swift build` (use the binary already built)
#   NTK_BIN=path  use this executable instead of .build/release/ntk (implies --skip-build)
#
# The peer runs twice: as installed (numpy and scipy each bundle an OpenBLAS
# and pick its core themselves), and with OPENBLAS_CORETYPE set to the core
# ours reports, i.e. on the same kernels; the second run is skipped when the
# environment already sets OPENBLAS_CORETYPE (then both sides use it). The
# eigen inputs are the very matrices ours used (written with --save-matrices).
# Prints one markdown table (seconds = best of R; ratio = peer / ours, > 1
# means ours is faster; % peak = GFLOP/s over ours' measured sgemm or dgemm
# peak) and, last, one JSON line with everything.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
args=()
build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes|--gram-rows|--gram-widths|--sections|--repeat) args+=("$1" "$2"); shift 2 ;;
    --skip-build) build=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "linalg.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

py="$("$root/scripts/nt-venv.sh")"
bin="${NTK_BIN:-$root/.build/release/ntk}"
if [[ $build == 1 && -z "${NTK_BIN:-}" ]]; then
  (cd "$root" && swift build -c release --product ntk) >&2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "# ours: $bin bench linalg ${args[*]:-} --json --save-matrices $tmp/matrices" >&2
"$bin" bench linalg "${args[@]}" --json --save-matrices "$tmp/matrices" > "$tmp/ours.json"
core="$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["openblas_core"])' "$tmp/ours.json")"

echo "# peer as installed: bench/linalg_peer.py ${args[*]:-} --matrices $tmp/matrices" >&2
"$py" "$root/bench/linalg_peer.py" "${args[@]}" --matrices "$tmp/matrices" --label "as installed" > "$tmp/peer.json"
if [[ -z "${OPENBLAS_CORETYPE:-}" ]]; then
  echo "# peer on ours' core: OPENBLAS_CORETYPE=$core bench/linalg_peer.py ..." >&2
  OPENBLAS_CORETYPE="$core" "$py" "$root/bench/linalg_peer.py" "${args[@]}" --matrices "$tmp/matrices" \
    --label "OPENBLAS_CORETYPE=$core" > "$tmp/peer-core.json"
else
  echo "{}" > "$tmp/peer-core.json"
fi

"$py" - "$tmp/ours.json" "$tmp/peer.json" "$tmp/peer-core.json" <<'EOF'
import json, sys

def last_json(path):
    return json.loads(open(path).read().strip().splitlines()[-1])

ours, peer, peer_core = (last_json(p) for p in sys.argv[1:])
peak = {"f32": ours["sgemm_peak_gflops"], "f64": ours["dgemm_peak_gflops"]}

def cores(run):
    return ", ".join(f"{b['path'].split('/')[-1]} {b.get('core', '?')}" for b in run.get("openblas", [])) or "-"

def by_key(run):
    rows = {}
    for m in run.get("measurements", []):
        rows.setdefault(m["key"], []).append(m)
    return rows

def num(v, spec):
    return "" if v is None else format(v, spec)

peer_rows, core_rows = by_key(peer), by_key(peer_core)
print(f"ours: OpenBLAS core {ours['openblas_core']}, {ours['threads']} threads; "
      f"measured peak sgemm {peak['f32']:.1f}, dgemm {peak['f64']:.1f} GFLOP/s; best of {ours['repeat']}")
print(f"peer as installed: numpy {peer['numpy']}, scipy {peer['scipy']}; {cores(peer)}")
if peer_core:
    print(f"peer on ours' core ({peer_core['impl']}): {cores(peer_core)}")
print()
print("| operation | peer call | ours s | ours GFLOP/s | ours % peak | peer s | peer % peak | peer/ours "
      "| peer@core s | peer@core/ours |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for m in ours["measurements"]:
    key, s = m["key"], m["seconds"]
    precision = "f32" if " f32 " in key else "f64"
    name = key + (f" ({m['iterations']} iterations)" if m.get("iterations") else "")
    pct = lambda g: num(None if g is None else 100 * g / peak[precision], ".1f")
    variants = peer_rows.get(key) or [None]
    for i, p in enumerate(variants):
        c = next((x for x in core_rows.get(key, []) if p and x["variant"] == p["variant"]), None)
        cells = [name, p["variant"] if p else "-",
                 num(s, ".4f") if i == 0 else "", num(m.get("gflops"), ".1f") if i == 0 else "",
                 pct(m.get("gflops")) if i == 0 else "",
                 num(p and p["seconds"], ".4f"), pct(p and p.get("gflops")), num(p and p["seconds"] / s, ".2f"),
                 num(c and c["seconds"], ".4f"), num(c and c["seconds"] / s, ".2f")]
        print("| " + " | ".join(cells) + " |")
print()
print(json.dumps({"benchmark": "linalg", "ours": ours, "peer": peer, "peer_on_ours_core": peer_core}))
EOF
