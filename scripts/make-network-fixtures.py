#!/usr/bin/env python3
"""Writes neural-tangents fixtures for `Network` (Sources/NTKCore/Architectures/): for small convolutional,
pooling and residual networks at given parameters θ, stax's outputs and exact empirical NTK (Float64,
JACOBIAN_CONTRACTION), so that the Swift tests check our conventions (SAME padding split, NHWC order,
weight layout, NTK multipliers, residual scale) against neural-tangents itself, not only against themselves.

Output: Tests/NTKCoreTests/Fixtures/network_<n>.npz with
  theta   (P,)            θ in OUR flat layout (per affine layer W as C_out x (kh*kw*C_in) row-major, then b)
  x       (N, H*W*C)      inputs, each sample H x W x C row-major (NHWC)
  outputs (N, k)          stax apply_fn(params(θ), x)
  ntk     (N*k, N*k)      exact empirical NTK, row i*k + a
Run with the pinned environment: `$(scripts/nt-venv.sh) scripts/make-network-fixtures.py`.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import numpy as np  # noqa: E402

import importlib.util  # noqa: E402

BETA = 0.3
# (spec, H x W x C, samples): Tests/NTKCoreTests/Architectures/NetworkFixtureTests.swift lists the same.
CASES = [
    ("conv(3,3)-relu-conv(4,3,stride=2)-erf-gap-dense(2)", (6, 5, 2), 3),
    ("conv(3,2,pad=valid)-relu-avgpool(2,stride=1)-conv(3,4,stride=2)-gelu-flatten-dense(3)", (7, 6, 2), 3),
    ("conv(3,3)-res(relu-conv(3,3),scale=0.5)-relu-gap-dense(2)", (4, 4, 2), 3),
]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assign(layers, params, theta, offset):
    """stax params for `layers` from our flat θ (walks our layer list and stax's param tree together)."""
    out = []
    for layer, p in zip(layers, params):
        kind = layer[0]
        if kind == "conv":
            w_shape = p[0].shape                        # HWIO
            kh, kw, cin, cout = w_shape
            n = cout * kh * kw * cin
            w = theta[offset:offset + n].reshape(cout, kh, kw, cin).transpose(1, 2, 3, 0)
            offset += n
            b = theta[offset:offset + cout].reshape(p[1].shape)
            offset += cout
            out.append((w, b))
        elif kind == "dense":
            nin, nout = p[0].shape
            w = theta[offset:offset + nout * nin].reshape(nout, nin).T
            offset += nout * nin
            b = theta[offset:offset + nout].reshape(p[1].shape)
            offset += nout
            out.append((w, b))
        elif kind == "res":
            fan_out, (branch, ident), fan_in = p
            inner, offset = assign(layer[1], branch, theta, offset)
            out.append([fan_out, (inner, ident), fan_in])
        else:
            out.append(p)
    return out, offset


def main():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax
    peer = load("nt_cnn_kernel", os.path.join(ROOT, "bench", "nt_cnn_kernel.py"))
    fixtures = load("make_fixtures", os.path.join(HERE, "make-fixtures.py"))

    rng = np.random.default_rng(20261129)
    for n, (spec, (h, w, c), samples) in enumerate(CASES, start=1):
        layers = peer.Parser(spec).network()
        init_fn, apply_fn, _ = stax.serial(*peer.to_stax(stax, jnp, layers, BETA))
        _, params = init_fn(jax.random.PRNGKey(0), (-1, h, w, c))
        p = int(sum(np.prod(v.shape) for v in jax.tree_util.tree_leaves(params)))
        theta = rng.standard_normal(p)
        ours, used = assign(layers, params, theta, 0)
        assert used == p, (spec, used, p)
        x = rng.standard_normal((samples, h, w, c))
        outputs = np.asarray(apply_fn(ours, x))
        k = outputs.shape[1]
        kfn = nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                  implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION)
        ntk = np.asarray(kfn(x, None, ours)).transpose(0, 2, 1, 3).reshape(samples * k, samples * k)
        fixtures.save_npz(f"network_{n}.npz", {"theta": theta, "x": x.reshape(samples, -1),
                                               "outputs": outputs, "ntk": ntk})


if __name__ == "__main__":
    main()
