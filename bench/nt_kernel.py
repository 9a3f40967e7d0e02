#!/usr/bin/env python3
"""neural-tangents peer for `ntk bench kernel`: times empirical_ntk_fn on an MLP.

Builds a stax MLP in NTK parametrization (Dense(W_std=1, b_std=beta) with the
activation between layers, no activation after the last), random float32
inputs and weights, jits `empirical_ntk_fn(apply_fn, trace_axes, vmap_axes=0,
implementation=...)` for the Gram of all samples with themselves, runs it once
to compile (not timed), then times up to `--repeat` runs with
block_until_ready() (fewer when they pass `--max-seconds` together; at least
one). Prints one JSON line per implementation; a failure (out of memory, an
error inside JAX) is printed as {"impl": ..., "error": ...}, a run skipped
because its estimated memory exceeds `--max-gb` as {"impl": ..., "skipped":
...}, and the others still run.

  averaged: trace_axes=(-1,), an (N, N) kernel, mean over the k outputs
  exact:    trace_axes=(),    the (N, N, k, k) kernel, i.e. (N k) x (N k)

Run it with the venv from scripts/nt-venv.sh (bench/kernel.sh does).
bench/torch_kernel.py imports the helpers below (arguments, timing, rows).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))

IMPLS = {
    "structured": "STRUCTURED_DERIVATIVES",
    "jacobian": "JACOBIAN_CONTRACTION",
    "ntvp": "NTK_VECTOR_PRODUCTS",
}
FLOAT_BYTES = 4


# ---- helpers shared with bench/torch_kernel.py -------------------------------------------------

def common_arguments(description, impls, default_impl):
    """The command line both peers take (same names as `ntk bench kernel`)."""
    ap = argparse.ArgumentParser(description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="64,512,512,1",
                    help="n_0,n_1,...,n_L: input, hidden widths, outputs")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--kernel", choices=("averaged", "exact"), default="averaged")
    ap.add_argument("--impl", choices=tuple(impls) + ("all",), default=default_impl)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs at most (best and median reported)")
    ap.add_argument("--max-seconds", type=float, default=float("inf"),
                    help="stop timing once the timed runs add up to this (at least one run)")
    ap.add_argument("--max-gb", type=float, default=16.0,
                    help="skip an implementation whose estimated peak memory exceeds this many GB")
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    return ap


def parse_widths(text):
    widths = [int(w) for w in text.replace("-", ",").split(",")]
    if len(widths) < 2 or min(widths) < 1:
        raise SystemExit("--widths needs at least input and output widths, all positive")
    return widths


def parameter_count(widths):
    """P: weights and biases of the dense MLP."""
    return sum(widths[l - 1] * widths[l] + widths[l] for l in range(1, len(widths)))


def kernel_bytes(widths, samples, kernel):
    """The Gram itself: (N k)^2 (exact) or N^2 (averaged) floats."""
    side = samples * (widths[-1] if kernel == "exact" else 1)
    return side * side * FLOAT_BYTES


def jacobian_bytes(widths, samples):
    """The dense Jacobian: N k P floats."""
    return samples * widths[-1] * parameter_count(widths) * FLOAT_BYTES


def pairwise_activation_bytes(widths, samples):
    """Forward-mode tangents for every (sample, sample, output) triple: N^2 k sum(hidden widths) floats,
    times 2 (activations and tangents): what a vmap of JVPs over all pairs holds."""
    return 2 * samples * samples * widths[-1] * sum(widths[1:-1] or [1]) * FLOAT_BYTES


def time_runs(fn, repeat, max_seconds):
    """One untimed warm-up (compilation, first-touch allocation), then up to `repeat` timed runs,
    stopping early once they add up to `max_seconds`. A warm-up already longer than `max_seconds`
    is the only run (marked "warm_up_only"): a second one would not change the picture."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > max_seconds:
        return {"compile_and_first_seconds": first, "seconds": first, "median": first,
                "runs": [first], "warm_up_only": True}
    runs = []
    while len(runs) < max(1, repeat) and (not runs or sum(runs) < max_seconds):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"compile_and_first_seconds": first, "seconds": min(runs),
            "median": statistics.median(runs), "runs": runs}


def skipped_row(base, impl, estimate, max_gb, what):
    """None when `estimate` bytes fit under `max_gb`, else the row that says why the run is skipped."""
    if estimate <= max_gb * 1e9:
        return None
    return dict(base, impl=impl, estimated_gb=round(estimate / 1e9, 1),
                skipped=f"{what} needs ~{estimate / 1e9:.1f} GB > --max-gb {max_gb:g}")


def error_row(base, impl, error):
    text = str(error).strip().splitlines()
    return dict(base, impl=impl, error=f"{type(error).__name__}: {text[0] if text else ''}"[:500])


def emit(row):
    print(json.dumps(row), flush=True)


def time_impls(nt, jax, apply_fn, params, x, trace_axes, base, impls, estimate, what, args):
    """One JSON line per neural-tangents implementation in `impls`: skipped when `estimate(impl)` bytes exceed
    --max-gb (`what(impl)` says what they hold), else the jitted Gram of `x` with itself, compiled and run once
    untimed, then timed (time_runs); an exception becomes an error row and the next implementation runs."""
    for impl in impls:
        skip = skipped_row(base, impl, estimate(impl), args.max_gb, what(impl))
        if skip:
            emit(skip)
            continue
        try:
            kfn = nt.empirical_ntk_fn(apply_fn, trace_axes=trace_axes, vmap_axes=0,
                                      implementation=getattr(nt.NtkImplementation, IMPLS[impl]))
            fn = jax.jit(lambda x1, p: kfn(x1, None, p))
            shape = list(fn(x, params).shape)
            row = dict(base, impl=impl, shape=shape, estimated_gb=round(estimate(impl) / 1e9, 1),
                       **time_runs(lambda: fn(x, params).block_until_ready(), args.repeat, args.max_seconds))
        except Exception as e:  # noqa: BLE001 - report and go on with the next impl
            row = error_row(base, impl, e)
        emit(row)


# ---- neural-tangents ---------------------------------------------------------------------------

def estimated_bytes(impl, widths, samples, kernel):
    """Peak memory, roughly: the Gram plus what the implementation materializes on top of it."""
    gram = kernel_bytes(widths, samples, kernel)
    if impl == "jacobian":
        return gram + jacobian_bytes(widths, samples)
    if impl == "ntvp":
        return gram + jacobian_bytes(widths, samples) + pairwise_activation_bytes(widths, samples)
    # structured: per-layer (N, N, k, k) products next to the output. Measured peak RSS for
    # 784-1024-1024-10 exact: 3.0 GB at N = 1000 (Gram 0.4 GB), 11.3 GB at N = 2000 (Gram 1.6 GB).
    return 7 * gram


def act_layer(stax, jnp, name):
    if name == "relu":
        return stax.Relu()
    if name == "erf":
        return stax.Erf()
    if name == "gelu":
        return stax.Gelu(approximate=False)
    if name == "tanh":
        # finite width only: the kernel_fn (quadrature) is never used here
        return stax.Elementwise(fn=jnp.tanh)
    if name == "identity":
        return stax.Identity()
    raise SystemExit(f"unknown activation {name}")


def main():
    args = common_arguments(__doc__, IMPLS, "structured").parse_args()
    widths = parse_widths(args.widths)

    import jax
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp
    import numpy as np
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax

    layers = []
    for ell in range(1, len(widths)):
        layers.append(stax.Dense(widths[ell], W_std=1.0, b_std=args.beta,
                                 parameterization="ntk"))
        if ell < len(widths) - 1:
            layers.append(act_layer(stax, jnp, args.activation))
    init_fn, apply_fn, _ = stax.serial(*layers)

    rng = np.random.default_rng(args.seed)
    x = jnp.asarray(rng.standard_normal((args.samples, widths[0]), dtype=np.float32))
    _, params = init_fn(jax.random.PRNGKey(args.seed), (-1, widths[0]))
    params = jax.tree_util.tree_map(lambda p: p.astype(jnp.float32), params)

    trace_axes = (-1,) if args.kernel == "averaged" else ()
    impls = list(IMPLS) if args.impl == "all" else [args.impl]
    base = {
        "peer": "neural-tangents",
        "kernel": args.kernel,
        "widths": args.widths,
        "samples": args.samples,
        "activation": args.activation,
        "repeat": args.repeat,
        "jax": jax.__version__,
        "neural_tangents": nt.__version__,
        "device": str(jax.devices()[0].platform),
    }
    time_impls(nt, jax, apply_fn, params, x, trace_axes, base, impls,
               estimate=lambda impl: estimated_bytes(impl, widths, args.samples, args.kernel),
               what=lambda impl: "Gram + Jacobian/tangents" if impl != "structured" else "7 Grams (measured)", args=args)

if __name__ == "__main__":
    main()
