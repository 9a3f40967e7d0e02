#!/usr/bin/env bash
# OpenBLAS against BLIS on the BLAS calls behind ntk's Gram: builds
# bench/blis/blas_bench.c twice (-lopenblas, -lblis; both through CBLAS) and
# runs it on 2 threads:
#   - OpenBLAS with its own core choice (OPENBLAS_CORETYPE as the environment has it), peaks only
#   - OpenBLAS with OPENBLAS_CORETYPE=SkylakeX (what ntk selects on AVX-512), everything
#   - BLIS (Debian's libblis-dev, OpenMP build; BLIS_NUM_THREADS), everything
# The last two alternate for `passes` passes, so that a change in the load of a
# shared machine hits both; the summary keeps each library's best per operation.
# usage: bench/blis/run.sh [repeat] [passes]   (defaults 3 and 2; needs gcc, libopenblas-dev, libblis-dev)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repeat="${1:-3}"
passes="${2:-2}"
threads=2
blis_dir=/usr/lib/x86_64-linux-gnu/blis-openmp
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

gcc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread "$here/blas_bench.c" -o "$tmp/bench-openblas" -lopenblas -lm
gcc -O2 -DUSE_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp "$here/blas_bench.c" -o "$tmp/bench-blis" \
  -L"$blis_dir" -Wl,-rpath,"$blis_dir" -lblis -lm

grep -m1 "model name" /proc/cpuinfo
echo "threads: $threads; OPENBLAS_CORETYPE in the environment: ${OPENBLAS_CORETYPE:-(unset)}"
OPENBLAS_NUM_THREADS=$threads "$tmp/bench-openblas" peak "$repeat" | tee "$tmp/all.txt"
for pass in $(seq "$passes"); do
  echo "# pass $pass"
  OPENBLAS_NUM_THREADS=$threads OPENBLAS_CORETYPE=SkylakeX "$tmp/bench-openblas" all "$repeat" | tee -a "$tmp/all.txt"
  BLIS_NUM_THREADS=$threads "$tmp/bench-blis" all "$repeat" | tee -a "$tmp/all.txt"
done

echo
echo "# best over $passes passes (seconds, GFLOP/s)"
# Lines: LIBRARY... OP M x N x K SECONDS s GFLOPS GFLOP/s; the library name is everything before OP.
awk '$NF == "GFLOP/s" {
       lib = $1; for (i = 2; i <= NF - 10; i++) lib = lib " " $i
       op = $(NF - 9) " " $(NF - 8) "x" $(NF - 6) "x" $(NF - 4); key = lib "|" op
       if (!(key in best) || $(NF - 3) < best[key]) { best[key] = $(NF - 3); rate[key] = $(NF - 1) }
       if (!(key in seen)) { seen[key] = 1; order[++count] = key }
     }
     END { for (i = 1; i <= count; i++) { split(order[i], part, "|")
             printf "%-20s %-28s %9.4f %8.1f\n", part[1], part[2], best[order[i]], rate[order[i]] } }' "$tmp/all.txt"
