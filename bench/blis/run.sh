#!/usr/bin/env bash
# OpenBLAS against BLIS on the BLAS calls behind ntk's Gram: builds
# bench/blis/blas_bench.c twice (-lopenblas, -lblis; both through CBLAS) and
# runs it on 2 threads:
#   1. OpenBLAS with its own core choice (OPENBLAS_CORETYPE as the environment has it), peaks only
#   2. OpenBLAS with OPENBLAS_CORETYPE=SkylakeX (what ntk selects on AVX-512), everything
#   3. BLIS (Debian's libblis-dev, OpenMP build; BLIS_NUM_THREADS), everything
# usage: bench/blis/run.sh [repeat]     (default 3; needs gcc, libopenblas-dev, libblis-dev)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repeat="${1:-3}"
threads=2
blis_dir=/usr/lib/x86_64-linux-gnu/blis-openmp
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

gcc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread "$here/blas_bench.c" -o "$tmp/bench-openblas" -lopenblas -lm
gcc -O2 -DUSE_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp "$here/blas_bench.c" -o "$tmp/bench-blis" \
  -L"$blis_dir" -Wl,-rpath,"$blis_dir" -lblis -lm

grep -m1 "model name" /proc/cpuinfo
echo "threads: $threads; OPENBLAS_CORETYPE in the environment: ${OPENBLAS_CORETYPE:-(unset)}"
OPENBLAS_NUM_THREADS=$threads "$tmp/bench-openblas" peak "$repeat"
OPENBLAS_NUM_THREADS=$threads OPENBLAS_CORETYPE=SkylakeX "$tmp/bench-openblas" all "$repeat"
BLIS_NUM_THREADS=$threads "$tmp/bench-blis" all "$repeat"
