#!/usr/bin/env bash
# Installs the system libraries the package links against, on Debian/Ubuntu:
#   libzmq3-dev      ZeroMQ (transport between ntk-server and ntk-worker)
#   libopenblas-dev  OpenBLAS (cblas: gemm, syrk, gemv)
#   liblapacke-dev   LAPACKE (syevd, potrf/potrs)
#   zlib1g-dev       zlib (compressed .npz archives)
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
packages=(libzmq3-dev libopenblas-dev liblapacke-dev zlib1g-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
