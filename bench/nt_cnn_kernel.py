#!/usr/bin/env python3
"""neural-tangents peer for `ntk bench cnn-kernel`: times empirical_ntk_fn on a network written in
our spec grammar (Sources/NTKCore/Architectures/NetworkSpec.swift), e.g.
conv(32,3)-relu-conv(32,3)-relu-gap-dense(10), on random float32 inputs of shape H x W x C (NHWC).

Translation (NTK parametrization, as scripts/make-cnn-kernel-fixtures.py does):
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
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))

from nt_kernel import IMPLS, FLOAT_BYTES, common_arguments, emit, error_row, skipped_row, time_runs  # noqa: E402


def tokenize(text):
    return re.findall(r"[A-Za-z_]+|[0-9.]+(?:[eE][-+]?[0-9]+)?|[(),=\-]", text.replace(" ", ""))


class Parser:
    def __init__(self, text):
        self.t, self.i = tokenize(text), 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expected=None):
        tok = self.t[self.i]
        if expected is not None and tok != expected:
            raise SystemExit(f"spec: expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def network(self):
        layers = [self.layer()]
        while self.peek() == "-":
            self.take("-")
            layers.append(self.layer())
        return layers

    def args(self):
        self.take("(")
        pos, opts = [], {}
        while True:
            a = self.take()
            if self.peek() == "=":
                self.take("=")
                opts[a] = self.take()
            else:
                pos.append(a)
            if self.peek() == ",":
                self.take(",")
                continue
            self.take(")")
            return pos, opts

    def layer(self):
        name = self.take()
        if name == "res":
            self.take("(")
            branch = self.network()
            scale = 1.0
            if self.peek() == ",":
                self.take(",")
                self.take("scale")
                self.take("=")
                scale = float(self.take())
            self.take(")")
            return ("res", branch, scale)
        if name in ("conv", "dense", "avgpool"):
            pos, opts = self.args()
            return (name, [int(p) for p in pos], opts)
        return (name,)


def to_stax(stax, jnp, layers, beta, scale=1.0):
    last_affine = max((i for i, l in enumerate(layers) if l[0] in ("conv", "dense")), default=None)
    out = []
    for i, l in enumerate(layers):
        a = scale if i == last_affine else 1.0
        kind = l[0]
        if kind == "conv":
            (c, k), opts = l[1], l[2]
            s = int(opts.get("stride", 1))
            out.append(stax.Conv(c, (k, k), (s, s), opts.get("pad", "same").upper(), W_std=a, b_std=a * beta,
                                 parameterization="ntk"))
        elif kind == "dense":
            out.append(stax.Dense(l[1][0], W_std=a, b_std=a * beta, parameterization="ntk"))
        elif kind == "avgpool":
            (k,), opts = l[1], l[2]
            s = int(opts.get("stride", k))
            out.append(stax.AvgPool((k, k), (s, s), "VALID"))
        elif kind == "gap":
            out.append(stax.GlobalAvgPool())
        elif kind == "flatten":
            out.append(stax.Flatten())
        elif kind == "relu":
            out.append(stax.Relu())
        elif kind == "erf":
            out.append(stax.Erf())
        elif kind == "gelu":
            out.append(stax.Gelu(approximate=False))
        elif kind == "tanh":
            out.append(stax.Elementwise(fn=jnp.tanh))
        elif kind == "identity":
            out.append(stax.Identity())
        elif kind == "res":
            if l[2] != 1.0 and last_affine_of(l[1]) is None:
                raise SystemExit("a scaled residual branch needs an affine layer")
            branch = stax.serial(*to_stax(stax, jnp, l[1], beta, l[2]))
            out.append(stax.serial(stax.FanOut(2), stax.parallel(branch, stax.Identity()), stax.FanInSum()))
        else:
            raise SystemExit(f"unknown layer {kind}")
    return out


def last_affine_of(layers):
    return max((i for i, l in enumerate(layers) if l[0] in ("conv", "dense")), default=None)


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

    init_fn, apply_fn, _ = stax.serial(*to_stax(stax, jnp, Parser(args.network).network(), args.beta))
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
    for impl in impls:
        # structured: a few Gram-sized intermediates; jacobian: the Jacobian too; ntvp: pairwise tangents besides.
        estimate = 7 * gram if impl == "structured" else gram + jac * (1 if impl == "jacobian" else 3)
        skip = skipped_row(base, impl, estimate, args.max_gb, "Gram + intermediates")
        if skip:
            emit(skip)
            continue
        try:
            kfn = nt.empirical_ntk_fn(apply_fn, trace_axes=trace_axes, vmap_axes=0,
                                      implementation=getattr(nt.NtkImplementation, IMPLS[impl]))
            fn = jax.jit(lambda x1, q: kfn(x1, None, q))
            shape = list(fn(x, params).shape)
            row = dict(base, impl=impl, shape=shape, estimated_gb=round(estimate / 1e9, 1),
                       **time_runs(lambda: fn(x, params).block_until_ready(), args.repeat, args.max_seconds))
        except Exception as e:  # noqa: BLE001 - report and go on with the next impl
            row = error_row(base, impl, e)
        emit(row)


if __name__ == "__main__":
    main()
