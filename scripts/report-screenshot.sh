#!/usr/bin/env bash
# Screenshot of an `ntk report` page with headless Chromium, to look at the figures without a browser:
#   bash scripts/report-screenshot.sh runs/digits-noniid/report.html [OUT.png] [WIDTH,HEIGHT]
# Installs Debian's chromium (and the DejaVu fonts the page falls back to) with apt when missing.
# Fails when the PNG is missing or too small to hold a page (Chromium sometimes exits 0 without writing one).
set -euo pipefail
report=${1:?usage: report-screenshot.sh REPORT.html [OUT.png] [WIDTH,HEIGHT]}
out=${2:-${report%.html}.png}
size=${3:-1400,4000}
[ -f "$report" ] || { echo "report-screenshot: no such file: $report" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium fonts-dejavu-core
fi

rm -f "$out"
# --headless (the new headless mode of Chromium ≥ 112) takes --screenshot=FILE and --window-size=W,H;
# --no-sandbox because root (and most containers) cannot use the sandbox; the page needs no network.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --screenshot="$out" --window-size="$size" "file://$(realpath "$report")" 2>/dev/null || true

bytes=$(stat -c %s "$out" 2>/dev/null || echo 0)
if [ "$bytes" -lt 10000 ]; then
  echo "report-screenshot: no usable screenshot ($out: $bytes bytes)" >&2
  exit 1
fi
echo "$out"
