# Sourced by bench/kernel.sh and bench/cnn-kernel.sh after their options are read ($root, the repository;
# $build, 0 for --skip-build; $limit, the seconds one run may take). Sets $bin, our `ntk` (NTK_BIN, or
# .build/release/ntk, built first unless --skip-build), and $tmp, a scratch directory removed on exit.
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

# guarded NAME OUT CMD...: runs CMD under the time limit as the OOM killer's first choice and appends its
# stdout to OUT, or one JSON error line (impl NAME) when it timed out or died without a result line (a
# non-zero exit after a result line is noted on stderr).
guarded() {
  local name="$1" out="$2"; shift 2
  local rc=0
  ( echo 1000 > /proc/self/oom_score_adj 2>/dev/null || true; exec timeout "$limit" "$@" ) > "$tmp/run.out" || rc=$?
  cat "$tmp/run.out" >> "$out"
  if ! grep -q '^{' "$tmp/run.out"; then
    local why="exit status $rc"
    [[ $rc == 124 ]] && why="timed out after $limit s"
    [[ $rc == 137 ]] && why="killed (exit 137: out of memory?)"
    printf '{"impl": "%s", "error": "%s"}\n' "$name" "$why" >> "$out"
  elif [[ $rc != 0 ]]; then
    echo "# $name exited with status $rc" >&2
  fi
}
