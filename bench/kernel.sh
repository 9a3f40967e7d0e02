#!/usr/bin/env bash
# Empirical NTK Gram: ours (`ntk bench kernel`) against neural-tangents, run
# one after the other on this machine with the same settings.
#
# usage: bench/kernel.sh [--samples N] [--widths n0,n1,...,k] [--kernel averaged|exact]
#                        [--repeat R] [--all-peers] [--skip-build]
#   defaults: --samples 1000 --widths 64,512,512,1 --kernel averaged --repeat 5
#   --all-peers   time all neural-tangents implementations (structured,
#                 jacobian, ntvp), not only structured derivatives
#   --skip-build  do not run `swift build` (use the binary already built)
#   NTK_BIN=path  use this executable instead of .build/release/ntk (implies --skip-build)
#
# Prints a table (seconds = best of R runs, ratio = peer / ours) and, last, one
# JSON line with every row. OPENBLAS_CORETYPE is left as the environment has it;
# the core OpenBLAS uses is reported by ours. neural-tangents runs on XLA's own
# CPU kernels (JAX_PLATFORMS=cpu unless set), not on OpenBLAS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
samples=1000
widths=64,512,512,1
kernel=averaged
repeat=5
peer_impl=structured
build=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --samples) samples="$2"; shift 2 ;;
    --widths) widths="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --all-peers) peer_impl=all; shift ;;
    --skip-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "kernel.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$kernel" in averaged|exact) ;; *) echo "kernel.sh: --kernel averaged|exact" >&2; exit 2 ;; esac

py="$("$root/scripts/nt-venv.sh")"

bin="${NTK_BIN:-}"
if [[ -z "$bin" ]]; then
  bin="$root/.build/release/ntk"
  if [[ $build == 1 ]]; then
    echo "# swift build -c release --product ntk" >&2
    (cd "$root" && swift build -c release --product ntk) >&2
  fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "# ours: $bin bench kernel --widths $widths --samples $samples --kernel $kernel --repeat $repeat --json" >&2
ours_rc=0
"$bin" bench kernel --widths "$widths" --samples "$samples" --kernel "$kernel" \
  --repeat "$repeat" --json > "$tmp/ours.out" || ours_rc=$?
if [[ $ours_rc != 0 ]]; then
  echo "# ours exited with status $ours_rc" >&2
fi

echo "# peer: neural-tangents --impl $peer_impl" >&2
JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}" TF_CPP_MIN_LOG_LEVEL=2 \
  "$py" "$root/bench/nt_kernel.py" --widths "$widths" --samples "$samples" \
  --kernel "$kernel" --impl "$peer_impl" --repeat "$repeat" > "$tmp/peer.out" || true

"$py" - "$tmp/ours.out" "$tmp/peer.out" "$ours_rc" "$widths" "$samples" "$kernel" "$repeat" <<'EOF'
import json, os, sys

ours_path, peer_path, ours_rc, widths, samples, kernel, repeat = sys.argv[1:]

def last_json(path):
    lines = [l.strip() for l in open(path, encoding="utf-8", errors="replace") if l.strip()]
    if not lines:
        return None, "no output"
    try:
        obj = json.loads(lines[-1])
        return (obj, None) if isinstance(obj, dict) else (None, "last line is not a JSON object")
    except json.JSONDecodeError:
        return None, "last line is not JSON: " + lines[-1][:200]

ours, why = last_json(ours_path)
if ours is None:
    ours = {"impl": "ntk-swift", "error": f"exit status {ours_rc}, {why}"}
elif ours_rc != "0" and "error" not in ours:
    ours["error"] = f"exit status {ours_rc}"

peers = []
for line in open(peer_path, encoding="utf-8", errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            peers.append(json.loads(line))
        except json.JSONDecodeError:
            pass
if not peers:
    peers.append({"peer": "neural-tangents", "impl": "?", "error": "no output from bench/nt_kernel.py"})

def secs(row):
    v = row.get("seconds")
    return float(v) if isinstance(v, (int, float)) else None

def fmt(v, spec):
    width = int(spec.split(".")[0])
    return "-".rjust(width) if v is None else format(v, spec)

base = secs(ours)
core = ours.get("openblas_core", "?")
env_core = os.environ.get("OPENBLAS_CORETYPE")
print(f"kernel {kernel}, widths {widths}, samples {samples}, best of {repeat}; "
      f"OpenBLAS core (ours): {core}"
      + (f" (OPENBLAS_CORETYPE={env_core})" if env_core else " (OPENBLAS_CORETYPE unset)"))
rows = [("ours", ours.get("impl", "ntk-swift"), ours)]
rows += [("peer", f"{p.get('peer', 'neural-tangents')} {p.get('impl', '?')}", p) for p in peers]
print(f"{'':5} {'implementation':<36} {'seconds':>10} {'median':>10} {'peer/ours':>10}")
for who, name, row in rows:
    s = secs(row)
    med = row.get("median")
    med = float(med) if isinstance(med, (int, float)) else None
    ratio = s / base if (s is not None and base) else None
    line = f"{who:5} {name:<36} {fmt(s, '10.4f')} {fmt(med, '10.4f')} {fmt(ratio, '10.2f')}"
    if "error" in row:
        line += f"  error: {row['error']}"
    print(line)
print(json.dumps({"benchmark": "kernel", "kernel": kernel, "widths": widths,
                  "samples": int(samples), "repeat": int(repeat), "openblas_core": core,
                  "ours": ours, "peers": peers,
                  "ratios": {p.get("impl", "?"): (secs(p) / base if secs(p) and base else None)
                             for p in peers}}))
sys.exit(1 if "error" in ours else 0)
EOF
