#!/usr/bin/env python3
"""neural-tangents peer for `ntk bench kernel`: times empirical_ntk_fn on an MLP.

Builds a stax MLP in NTK parametrization (Dense(W_std=1, b_std=beta) with the
activation between layers, no activation after the last), random float32
inputs and weights, jits `empirical_ntk_fn(apply_fn, trace_axes, vmap_axes=0,
implementation=...)` for the Gram of all samples with themselves, runs it once
to compile (not timed), then times `--repeat` runs with block_until_ready().
Prints one JSON line per implementation; a failure (out of memory, an error
inside JAX) is printed as {"impl": ..., "error": ...} and the others still run.

  averaged: trace_axes=(-1,), an (N, N) kernel, mean over the k outputs
  exact:    trace_axes=(),    the (N, N, k, k) kernel, i.e. (N k) x (N k)

Run it with the venv from scripts/nt-venv.sh (bench/kernel.sh does).
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widths", default="64,512,512,1",
                    help="n_0,n_1,...,n_L: input, hidden widths, outputs")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--kernel", choices=("averaged", "exact"), default="averaged")
    ap.add_argument("--impl", choices=tuple(IMPLS) + ("all",), default="structured")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import jax
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp
    import numpy as np
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax

    widths = [int(w) for w in args.widths.split(",")]
    if len(widths) < 2:
        raise SystemExit("--widths needs at least input and output widths")
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
    for impl in impls:
        row = dict(base, impl=impl)
        try:
            kfn = nt.empirical_ntk_fn(
                apply_fn, trace_axes=trace_axes, vmap_axes=0,
                implementation=getattr(nt.NtkImplementation, IMPLS[impl]))
            fn = jax.jit(lambda x1, p: kfn(x1, None, p))
            t0 = time.perf_counter()
            out = fn(x, params).block_until_ready()
            row["compile_and_first_seconds"] = time.perf_counter() - t0
            row["shape"] = list(out.shape)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn(x, params).block_until_ready()
                times.append(time.perf_counter() - t0)
            row["seconds"] = min(times)
            row["median"] = statistics.median(times)
        except Exception as e:  # noqa: BLE001 - report and go on with the next impl
            row = {"peer": "neural-tangents", "impl": impl, "kernel": args.kernel,
                   "widths": args.widths, "samples": args.samples,
                   "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
