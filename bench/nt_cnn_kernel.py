#!/usr/bin/env python3
"""neural-tangents peer for `ntk bench cnn-kernel`: times empirical_ntk_fn on a network written in
our spec grammar (Sources/NTKCore/Architectures/NetworkSpec.swift), e.g.
conv(32,3)-relu-conv(32,3)-relu-gap-dense(10), on random float32 inputs of shape H x W x C (NHWC).

Translation (NTK parametrization, scripts/ntspec.py, shared with scripts/make-cnn-kernel-fixtures.py):
  conv(c,k[,stride=s][,pad=same|valid]) -> stax.Conv(c, (k,k), (s,s), 'SAME'|'VALID', W_std=1, b_std=beta, parameterization='ntk')
  dense(n)                               -> stax.Dense(n, W_std=1, b_std=beta, parameterization='ntk')
  avgpool(k[,stride=s])                  -> stax.AvgPool((k,k), (s,s), 'VALID')
  gap / flatten                          -> stax.GlobalAvgPool() / stax.Flatten()
  relu, erf, tanh, gelu, identity        -> stax activations
  res(branch, scale=a)                   -> FanOut(2), parallel(branch with its last affine layer scaled by a, Identity), FanInSum

Jits `empirical_ntk_fn(apply_fn, trace_axes, vmap_axes=0, implementation=...)` for the Gram of all
samples with themselves, runs it once to compile (not timed), then times up to --repeat runs with
block_until_ready(). One JSON line per implementation (bench/nt_kernel.py's format and helpers).

  averaged: trace_axes=(-1,), an (N, N) kernel, mean over the k outputs
  exact:    trace_axes=(),    the (N, N, k, k) kernel, i.e. (N k) x (N k)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))

from nt_kernel import IMPLS, FLOAT_BYTES, common_arguments, time_impls  # noqa: E402
from ntspec import Parser, to_stax  # noqa: E402  (scripts/ntspec.py: the spec reader, shared with the fixtures)


def main():
    ap = common_arguments(__doc__, IMPLS, "structured")
    ap.add_argument("--network", default="conv(32,3)-relu-conv(32,3)-relu-gap-dense(10)")
    ap.add_argument("--input-shape", default="8x8x1", help="H x W x C of one sample")
    args = ap.parse_args()
    h, w, c = (int(v) for v in args.input_shape.lower().split("x"))

    import jax
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp
    import numpy as np
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax

    try:
        layers = to_stax(stax, Parser(args.network).network(), args.beta)
    except ValueError as e:
        raise SystemExit(f"spec: {e}")
    init_fn, apply_fn, _ = stax.serial(*layers)
    rng = np.random.default_rng(args.seed)
    x = jnp.asarray(rng.standard_normal((args.samples, h, w, c), dtype=np.float32))
    out_shape, params = init_fn(jax.random.PRNGKey(args.seed), (-1, h, w, c))
    k = out_shape[-1]
    leaves = jax.tree_util.tree_leaves(params)
    p = int(sum(np.prod(v.shape) for v in leaves))
    params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float32), params)

    trace_axes = (-1,) if args.kernel == "averaged" else ()
    side = args.samples * (k if args.kernel == "exact" else 1)
    gram = side * side * FLOAT_BYTES
    jac = args.samples * k * p * FLOAT_BYTES
    impls = list(IMPLS) if args.impl == "all" else [args.impl]
    base = {"peer": "neural-tangents", "kernel": args.kernel, "network": args.network, "input_shape": args.input_shape,
            "samples": args.samples, "outputs": k, "parameters": p, "repeat": args.repeat,
            "jax": jax.__version__, "neural_tangents": nt.__version__, "device": str(jax.devices()[0].platform)}
    # structured: a few Gram-sized intermediates; jacobian: the Jacobian too; ntvp: pairwise tangents besides.
    time_impls(nt, jax, apply_fn, params, x, trace_axes, base, impls,
               estimate=lambda impl: 7 * gram if impl == "structured" else gram + jac * (1 if impl == "jacobian" else 3),
               what=lambda impl: "Gram + intermediates", args=args)

if __name__ == "__main__":
    main()
