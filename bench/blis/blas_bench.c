/* The BLAS calls behind ntk's Gram, timed through the CBLAS interface of
 * whichever library this is linked against (bench/blis/run.sh builds it twice:
 * -lopenblas and -lblis). Calls are those of Sources/NTKCore/LinearAlgebra/
 * BLASScalar.swift: row-major, SYRK upper, no transpose.
 *
 * usage: blas_bench [peak|all] [repeat]
 *   peak: sgemm and dgemm 4096³ only; all (default): also ssyrk and sgemm A·Bᵀ
 *   on the Gram shapes r × w (r = 4000, 14380; w = 512, 1024).
 * Prints one line per operation: library, operation, best seconds of `repeat`
 * runs after one warm-up, GFLOP/s (GEMM 2mnk, SYRK n(n+1)k); first a check of
 * sgemm and ssyrk against a double-precision reference loop. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef USE_BLIS
const char *bli_info_get_version_str(void);
int bli_arch_query_id(void);
const char *bli_arch_string(int id);
static void describe(char *out, size_t size) {
  snprintf(out, size, "BLIS %s %s", bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()));
}
#else
char *openblas_get_corename(void);
static void describe(char *out, size_t size) {
  snprintf(out, size, "OpenBLAS %s", openblas_get_corename());
}
#endif

static char library[200];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Uniform values in [-1, 1) from a fixed linear congruential sequence. */
static void *random_matrix(size_t count, int is_double) {
  void *p = malloc(count * (is_double ? sizeof(double) : sizeof(float)));
  unsigned long long s = 12345;
  for (size_t i = 0; i < count; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double v = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
    if (is_double) ((double *)p)[i] = v; else ((float *)p)[i] = (float)v;
  }
  return p;
}

enum op { SGEMM_NN, DGEMM_NN, SGEMM_NT, SSYRK };

/* C (m × n) from A (m × k) and B (k × n, or n × k for SGEMM_NT); SSYRK: C = A Aᵀ upper, m = n. */
static void call(enum op op, int m, int n, int k, const void *a, const void *b, void *c) {
  switch (op) {
  case SGEMM_NN: cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n); break;
  case DGEMM_NN: cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n); break;
  case SGEMM_NT: cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n); break;
  case SSYRK: cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1, a, k, 0, c, n); break;
  }
}

static void bench(const char *name, enum op op, int m, int n, int k, int repeat) {
  int is_double = op == DGEMM_NN;
  void *a = random_matrix((size_t)m * k, is_double), *b = random_matrix((size_t)k * n, is_double);
  void *c = calloc((size_t)m * n, is_double ? sizeof(double) : sizeof(float));
  call(op, m, n, k, a, b, c); /* warm-up: page faults, thread start-up */
  double best = INFINITY;
  for (int r = 0; r < repeat; r++) {
    double t0 = now();
    call(op, m, n, k, a, b, c);
    double t = now() - t0;
    if (t < best) best = t;
  }
  double flops = op == SSYRK ? (double)n * (n + 1) * k : 2.0 * m * n * k;
  printf("%-18s %-8s %6d x %5d x %5d %9.4f s %8.1f GFLOP/s\n", library, name, m, n, k, best, flops / best / 1e9);
  fflush(stdout);
  free(a); free(b); free(c);
}

/* Max |C − C_ref| / max |C_ref| for sgemm A·Bᵀ and ssyrk on 300 × 200 against double loops. */
static void check(void) {
  int n = 300, k = 200;
  float *a = random_matrix((size_t)n * k, 0), *b = random_matrix((size_t)n * k, 0);
  float *g = calloc((size_t)n * n, sizeof(float)), *s = calloc((size_t)n * n, sizeof(float));
  call(SGEMM_NT, n, n, k, a, b, g);
  call(SSYRK, n, n, k, a, NULL, s);
  double gemm_err = 0, syrk_err = 0, scale = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double ab = 0, aa = 0;
      for (int p = 0; p < k; p++) { ab += (double)a[i * k + p] * b[j * k + p]; aa += (double)a[i * k + p] * a[j * k + p]; }
      scale = fmax(scale, fabs(ab));
      gemm_err = fmax(gemm_err, fabs(g[i * n + j] - ab));
      if (j >= i) syrk_err = fmax(syrk_err, fabs(s[i * n + j] - aa));
    }
  printf("%-18s check    sgemm rel. error %.1e, ssyrk rel. error %.1e\n", library, gemm_err / scale, syrk_err / scale);
  free(a); free(b); free(g); free(s);
}

int main(int argc, char **argv) {
  int all = argc < 2 || strcmp(argv[1], "peak") != 0;
  int repeat = argc > 2 ? atoi(argv[2]) : 3;
  describe(library, sizeof library);
  check();
  bench("sgemm", SGEMM_NN, 4096, 4096, 4096, repeat);
  bench("dgemm", DGEMM_NN, 4096, 4096, 4096, repeat);
  if (!all) return 0;
  const int rows[] = {4000, 14380}, widths[] = {512, 1024};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      bench("ssyrk", SSYRK, rows[i], rows[i], widths[j], repeat);
      bench("sgemm-nt", SGEMM_NT, rows[i], rows[i], widths[j], repeat);
    }
  return 0;
}
