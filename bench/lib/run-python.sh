# Sourced by bench/transfer.sh, bench/round.sh and bench/scaling.sh: `run_benchmark PROGRAM ARGS...`
# prints the caller's header comment for -h/--help, builds the release binaries (unless NTK_BIN_DIR
# names binaries built elsewhere, e.g. from a fixed commit) and runs bench/lib/PROGRAM with ARGS.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

run_benchmark() {
  local program="$1"; shift
  if [[ " $* " == *" -h "* || " $* " == *" --help "* ]]; then
    sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
    PYTHONPATH="$bench_root/bench/lib" python3 "$bench_root/bench/lib/$program" --help
    return 0
  fi
  if [[ -z "${NTK_BIN_DIR:-}" ]]; then (cd "$bench_root" && swift build -c release) >&2; fi
  PYTHONPATH="$bench_root/bench/lib" exec python3 "$bench_root/bench/lib/$program" "$@"
}
