#!/usr/bin/env python3
"""numpy/scipy peer of `ntk bench linalg`: the same operations, sizes and keys.

Each measurement is the best of --repeat runs (GEMM-shaped ones after one
untimed warm-up) and carries the key `ntk bench linalg` uses, plus a `variant`
naming the numpy/scipy call, so bench/linalg.sh can put both in one table:

  gemm f32 NxNxN          a @ b                       (peak)
  syrk f32 RxW            scipy.linalg.blas.ssyrk (upper triangle, as ours) and numpy A @ A.T
  gemm-nt f32 RxRxW       A @ B.T
  gram-exact f32 NET m=M  numpy factored exact Gram: Σ_ℓ (X Xᵀ + β²) ⊗ 1 ∘ Δ Δᵀ, random factors
  eigh f32|f64 N          scipy.linalg.eigh, default driver (evr) and driver='evd'
  dense-filter f64 N      eigh(driver='evd') + V φ_τ(Λ) Vᵀ r for every τ

There is no Lanczos row: scipy has no φ(τA)r-for-many-τ from one Krylov basis;
the dense route is what a numpy user writes for the same output. With
--matrices DIR the eigen inputs are read from the .npy files that
`ntk bench linalg --save-matrices DIR` wrote (the very same matrices);
otherwise they are built the same way from numpy's generator.

Prints one JSON object on the last stdout line; progress goes to stderr.
"""
import argparse
import ctypes
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.linalg
import scipy.linalg.blas


def counts(text):
    return [int(v) for v in text.split(",") if v.strip()]


def say(line):
    print(line, file=sys.stderr, flush=True)


def openblas_libraries():
    """Each OpenBLAS loaded in this process (numpy and scipy bundle their own): path, core, threads."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if "/" in line else ""
            if "openblas" in os.path.basename(path).lower() and ".so" in path:
                paths.add(path)
    found = []
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        entry = {"path": path}
        # Wheels rename the symbols (suffix 64_ for ILP64, prefix scipy_); threadpoolctl tries the same names.
        for prefix in ("", "scipy_"):
            for suffix in ("", "64_"):
                name = f"{prefix}openblas_get_corename{suffix}"
                if hasattr(lib, name):
                    getattr(lib, name).restype = ctypes.c_char_p
                    entry["core"] = getattr(lib, name)().decode()
                    threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                    entry["threads"] = threads() if threads else None
                    config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
                    if config:
                        config.restype = ctypes.c_char_p
                        entry["config"] = config().decode()
        found.append(entry)
    return found


def numpy_blas():
    """numpy's build-time BLAS (numpy.show_config)."""
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        return {k: deps[k].get("name", "?") + " " + deps[k].get("version", "?") for k in ("blas", "lapack") if k in deps}
    except Exception as error:  # older numpy: no mode="dicts"
        return {"error": str(error)}


class Recorder:
    """Times operations and collects measurements in the JSON layout of `ntk bench linalg`."""

    def __init__(self, repeat):
        self.repeat = repeat
        self.measurements = []

    def time(self, key, variant, body, warm_up=False, flops=None):
        if warm_up:
            body()
        runs = []
        for _ in range(self.repeat):
            start = time.perf_counter()
            body()
            runs.append(time.perf_counter() - start)
        best = min(runs)
        gflops = flops / best / 1e9 if flops else None
        self.measurements.append({"key": key, "variant": variant, "seconds": best, "runs": runs,
                                  "flops": flops, "gflops": gflops})
        extra = f"  {gflops:7.1f} GFLOP/s" if gflops else ""
        say(f"{key:<36} {best:9.4f} s{extra}  ({variant})")


def kernel_like(n, precision, matrices, seed):
    """K = A Aᵀ/n + diag(0, 1/n, …), from `ntk bench linalg --save-matrices` when available."""
    path = os.path.join(matrices or "", f"eigen-{precision}-{n}.npy")
    if matrices and os.path.exists(path):
        return np.load(path)
    a = np.random.default_rng(seed).standard_normal((n, n))
    k = a @ a.T / n + np.diag(np.arange(n) / n)
    return k.astype(np.float32 if precision == "f32" else np.float64)


def right_hand_side(n, matrices, seed):
    path = os.path.join(matrices or "", f"lanczos-rhs-{n}.npy")
    if matrices and os.path.exists(path):
        return np.load(path)
    return np.random.default_rng(seed + 1).standard_normal(n)


def flow_filter(mu, tau):
    """Gradient flow φ_τ(μ) = (1 − e^{−τμ})/μ, with φ_τ(0) = τ (SpectralFilter.flow)."""
    mu = np.maximum(mu, 0)
    safe = np.where(mu > 0, mu, 1)
    return np.where(mu > 0, -np.expm1(-tau * mu) / safe, tau)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,2000,4000", help="orders n of eigh and the dense filter")
    p.add_argument("--gram-rows", default="1000,4000,14380", help="rows r of the Gram pieces")
    p.add_argument("--gram-widths", default="512,1024", help="inner dimensions of the Gram pieces")
    p.add_argument("--network", default="64,512,512,10", help="widths of the whole factored Gram (0: skip)")
    p.add_argument("--samples", type=int, default=1438, help="samples m of that Gram (mk × mk)")
    p.add_argument("--times", default="1,10,100", help="gradient-flow times τ of the dense filter")
    p.add_argument("--peak-size", type=int, default=4096, help="n of the n×n×n GEMM peak")
    p.add_argument("--sections", default="gram,eigen,lanczos", help="besides the peak: gram, eigen, lanczos")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (best reported)")
    p.add_argument("--seed", type=int, default=0, help="seed of numpy's generator")
    p.add_argument("--matrices", help="directory of eigen-f32-N.npy, eigen-f64-N.npy, lanczos-rhs-N.npy")
    p.add_argument("--label", default="numpy/scipy", help="name of this run in the output (e.g. the core setting)")
    args = p.parse_args()
    sections = set(args.sections.split(","))
    rng = np.random.default_rng(args.seed)
    rec = Recorder(args.repeat)

    blas = openblas_libraries()
    say(f"{args.label}: numpy {np.__version__}, scipy {scipy.__version__}, OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
        + "; ".join(f"{os.path.basename(b['path'])}: core {b.get('core', '?')}, {b.get('threads', '?')} threads" for b in blas))

    for dtype, short in ((np.float32, "f32"), (np.float64, "f64")):
        n = args.peak_size
        a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
        rec.time(f"gemm {short} {n}x{n}x{n}", "a @ b", lambda: a @ b, warm_up=True, flops=2.0 * n ** 3)

    if "gram" in sections:
        for r in counts(args.gram_rows):
            for w in counts(args.gram_widths):
                a, b = (rng.standard_normal((r, w)).astype(np.float32) for _ in range(2))
                # a.T is Fortran-ordered w × r: trans=1 gives (a.T)ᵀ a.T = A Aᵀ without a copy.
                rec.time(f"syrk f32 {r}x{w}", "scipy.linalg.blas.ssyrk",
                         lambda: scipy.linalg.blas.ssyrk(1.0, a.T, trans=1), warm_up=True, flops=r * (r + 1.0) * w)
                rec.time(f"syrk f32 {r}x{w}", "numpy A @ A.T (syrk + mirror)",
                         lambda: a @ a.T, warm_up=True, flops=r * (r + 1.0) * w)
                rec.time(f"gemm-nt f32 {r}x{r}x{w}", "A @ B.T", lambda: a @ b.T, warm_up=True, flops=2.0 * r * r * w)
        if args.network != "0":
            widths = counts(args.network)
            m, k = args.samples, widths[-1]
            xs = [rng.standard_normal((m, n)).astype(np.float32) for n in widths[:-1]]
            deltas = [rng.standard_normal((m * k, n)).astype(np.float32) for n in widths[1:]]

            def factored_gram():
                h = np.zeros((m * k, m * k), np.float32)
                for x, delta in zip(xs, deltas):
                    forward = x @ x.T / x.shape[1] + np.float32(0.01)   # s_w² X Xᵀ + s_b² (β = 0.1)
                    backward = delta @ delta.T
                    blocks = backward.reshape(m, k, m, k)             # a view: (i, a, j, b)
                    blocks *= forward[:, None, :, None]
                    h += backward
                return h

            flops = sum(m * (m + 1.0) * x.shape[1] + m * k * (m * k + 1.0) * d.shape[1] for x, d in zip(xs, deltas))
            rec.time(f"gram-exact f32 {args.network.replace(',', '-')} m={m}", "numpy factored (X@X.T, Δ@Δ.T, in-place ∘)",
                     factored_gram, warm_up=True, flops=flops)

    for n in counts(args.sizes):
        if "eigen" in sections:
            for short in ("f32", "f64"):
                k = kernel_like(n, short, args.matrices, args.seed)
                rec.time(f"eigh {short} {n}", "scipy.linalg.eigh default driver (evr)", lambda: scipy.linalg.eigh(k))
                rec.time(f"eigh {short} {n}", "scipy.linalg.eigh driver='evd'", lambda: scipy.linalg.eigh(k, driver="evd"))
        if "lanczos" in sections:
            k = kernel_like(n, "f64", args.matrices, args.seed)
            rhs = right_hand_side(n, args.matrices, args.seed)
            taus = [float(t) for t in args.times.split(",")]

            def dense_filter():
                w, v = scipy.linalg.eigh(k, driver="evd")
                c = v.T @ rhs
                return [v @ (flow_filter(w, tau) * c) for tau in taus]

            rec.time(f"dense-filter f64 {n}", "eigh(driver='evd') + V φ(Λ) Vᵀ r", dense_filter)

    print(json.dumps({"impl": args.label, "numpy": np.__version__, "scipy": scipy.__version__,
                      "python": platform.python_version(), "numpy_blas": numpy_blas(), "openblas": blas,
                      "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"), "repeat": args.repeat,
                      "measurements": rec.measurements}))


if __name__ == "__main__":
    main()
