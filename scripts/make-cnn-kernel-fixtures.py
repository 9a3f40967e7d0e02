#!/usr/bin/env python3
"""Writes neural-tangents (stax) infinite-width NNGP/NTK fixtures for convolutional,
pooling and residual networks, for the Swift tests of InfiniteWidthNetworkKernel.

Output: Tests/NTKCoreTests/Fixtures/cnn_kernels.json and a self-check report on
stdout. Run through scripts/make-cnn-kernel-fixtures.sh (pinned environment from
scripts/nt-venv.sh). Not run in CI: the JSON is committed.

Every network is written in our spec grammar (Sources/NTKCore/Architectures/
NetworkSpec.swift) and translated here into stax layers:

  conv(c,k[,stride=s][,pad=same|valid]) -> stax.Conv(c, (k,k), (s,s), 'SAME'|'VALID',
                                                     W_std=1, b_std=beta, parameterization='ntk')
  dense(n)                               -> stax.Dense(n, W_std=1, b_std=beta, parameterization='ntk')
  avgpool(k[,stride=s])                  -> stax.AvgPool((k,k), (s,s), 'VALID')
  gap                                    -> stax.GlobalAvgPool()
  flatten                                -> stax.Flatten()
  relu / erf                             -> stax.Relu() / stax.Erf()
  res(branch, scale=a)                   -> serial(FanOut(2), parallel(branch_a, Identity()), FanInSum())

where branch_a is the branch with its LAST affine layer's W_std and b_std multiplied
by a: in NTK parametrization a * (W x / sqrt(n) + beta b) is exactly that layer with
W_std = a, b_std = a * beta (same function, same parameter gradients), so
x + a * branch(x) needs no separate scaling layer (stax's FanInSum wants Gaussian
inputs, which a scaling nonlinearity would not give).

Inputs are H x W x C images stored row-major per sample (one row of an m x (H*W*C)
matrix), i.e. numpy's (m, H, W, C) in C order, which is stax's NHWC.
"""
import json
import os
import warnings
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "Tests", "NTKCoreTests", "Fixtures", "cnn_kernels.json")
sys.path.insert(0, HERE)
from ntspec import Parser, to_stax  # noqa: E402  (the spec reader, shared with bench/nt_cnn_kernel.py)

BETA = 0.1     # the project's default bias multiplier (MLPArchitecture.biasScale)
W_STD = 1.0    # sigma_w, NTK parametrization

# (spec, input shape H x W x C, samples in x1, samples in x2)
CASES = [
    ("conv(8,3)-relu-conv(8,3)-relu-flatten-dense(1)", (5, 5, 2)),
    ("conv(8,3)-erf-conv(8,3)-erf-gap-dense(1)", (5, 5, 2)),
    ("conv(8,3,pad=valid)-relu-avgpool(2,stride=1)-conv(8,2,stride=2)-relu-flatten-dense(3)", (6, 5, 2)),
    ("conv(8,3)-res(relu-conv(8,3)-relu-conv(8,3),scale=0.5)-relu-gap-dense(1)", (5, 5, 2)),
    ("conv(8,3)-res(erf-conv(8,3),scale=1.5)-erf-flatten-dense(1)", (5, 5, 2)),
    ("conv(8,3,stride=2)-relu-flatten-dense(16)-erf-dense(1)", (5, 5, 2)),
    ("avgpool(2)-conv(8,2)-relu-avgpool(2)-gap-dense(2)", (6, 6, 2)),
    ("conv(8,3)-res(relu-conv(8,3))-relu-conv(8,3,stride=2)-res(relu-conv(8,1),scale=0.7)-relu-gap-dense(1)", (5, 4, 2)),
    ("flatten-dense(32)-relu-dense(32)-relu-dense(1)", (5, 5, 2)),
]
M1, M2 = 6, 3   # x1: 6 samples (self kernel 6 x 6), x2: 3 samples (cross kernel 6 x 3)


# ---------------------------------------------------------------------------
# An independent numpy implementation of the same limit (full position-pair
# covariances, forward NTK propagation), used as a self-check of the fixtures.
def np_kernels(layers, x1, x2, shape):
    H, W, C = shape
    a = x1.reshape(len(x1), H * W, C)
    b = x2.reshape(len(x2), H * W, C)
    # cov[i, j, s, t] with s, t flattened (h, w) positions
    def cov(p, q):
        return np.einsum("isc,jtc->ijst", p, q) / C
    state = {"k12": cov(a, b), "k11": cov(a, a), "k22": cov(b, b), "hw": (H, W)}
    ntk = {"k12": np.zeros_like(state["k12"]), "k11": np.zeros_like(state["k11"]), "k22": np.zeros_like(state["k22"])}

    def spatial_op(K, hw, op):
        h, w = hw
        K4 = K.reshape(K.shape[:2] + (h, w, h, w))
        return op(K4)

    def conv_matrix(n, k, s, pad):
        """(out, offset) -> input index or -1, for one axis."""
        if pad == "same":
            out = (n + s - 1) // s
            total = max((out - 1) * s + k - n, 0)
            lo = total // 2
        else:
            out = (n - k) // s + 1
            lo = 0
        idx = np.full((out, k), -1)
        for o in range(out):
            for kk in range(k):
                u = o * s + kk - lo
                if 0 <= u < n:
                    idx[o, kk] = u
        return out, idx

    def conv4(K4, h, w, k, s, pad):
        oh, ih = conv_matrix(h, k, s, pad)
        ow, iw = conv_matrix(w, k, s, pad)
        out = np.zeros(K4.shape[:2] + (oh, ow, oh, ow))
        for a1 in range(oh):
            for b1 in range(ow):
                for a2 in range(oh):
                    for b2 in range(ow):
                        acc = 0.0
                        for ka in range(k):
                            u1, u2 = ih[a1, ka], ih[a2, ka]
                            if u1 < 0 or u2 < 0:
                                continue
                            for kb in range(k):
                                v1, v2 = iw[b1, kb], iw[b2, kb]
                                if v1 < 0 or v2 < 0:
                                    continue
                                acc = acc + K4[:, :, u1, v1, u2, v2]
                        out[:, :, a1, b1, a2, b2] = acc / (k * k)
        return out, (oh, ow)

    def pool4(K4, h, w, k, s):
        A = lambda n: np.array([[1.0 / k if o * s <= u < o * s + k else 0.0 for u in range(n)]
                                for o in range((n - k) // s + 1)])
        Ah, Aw = A(h), A(w)
        out = np.einsum("ap,bq,ijpqrt,cr,dt->ijabcd", Ah, Aw, K4, Ah, Aw)
        return out, (Ah.shape[0], Aw.shape[0])

    def vt(act, k11, k12, k22):
        if act == "relu":
            s = np.sqrt(k11 * k22)
            c = np.clip(k12 / s, -1, 1)
            th = np.arccos(c)
            return s / (2 * np.pi) * (np.sin(th) + (np.pi - th) * c), (np.pi - th) / (2 * np.pi)
        p = (1 + 2 * k11) * (1 + 2 * k22)
        return 2 / np.pi * np.arcsin(2 * k12 / np.sqrt(p)), 4 / np.pi / np.sqrt(p - 4 * k12 ** 2)

    def run(layers, st, nt):
        for l in layers:
            kind = l[0]
            h, w = st["hw"]
            P = h * w
            if kind in ("conv", "dense"):
                if kind == "conv":
                    (c, k), opts = l[1], l[2]
                    s, pad = int(opts.get("stride", 1)), opts.get("pad", "same")
                else:
                    k, s, pad = 1, 1, "valid"
                sc = l[3] if len(l) > 3 else 1.0
                for key in ("k12", "k11", "k22"):
                    K4 = st[key].reshape(st[key].shape[:2] + (h, w, h, w))
                    T4 = nt[key].reshape(K4.shape)
                    cK, hw = conv4(K4, h, w, k, s, pad)
                    cT, _ = conv4(T4, h, w, k, s, pad)
                    P2 = hw[0] * hw[1]
                    cK = cK.reshape(cK.shape[:2] + (P2, P2))
                    cT = cT.reshape(cT.shape[:2] + (P2, P2))
                    newK = sc ** 2 * (W_STD ** 2 * cK + BETA ** 2)
                    nt[key] = sc ** 2 * W_STD ** 2 * cT + newK
                    st[key] = newK
                st["hw"] = hw
            elif kind == "avgpool":
                (k,), opts = l[1], l[2]
                s = int(opts.get("stride", k))
                for d in (st, nt):
                    for key in ("k12", "k11", "k22"):
                        K4 = d[key].reshape(d[key].shape[:2] + (h, w, h, w))
                        pK, hw = pool4(K4, h, w, k, s)
                        d[key] = pK.reshape(pK.shape[:2] + (hw[0] * hw[1],) * 2)
                st["hw"] = hw
            elif kind == "gap":
                for d in (st, nt):
                    for key in ("k12", "k11", "k22"):
                        d[key] = d[key].mean(axis=(2, 3), keepdims=True)
                st["hw"] = (1, 1)
            elif kind == "flatten":
                for d in (st, nt):
                    for key in ("k12", "k11", "k22"):
                        dd = np.einsum("ijss->ij", d[key]) / d[key].shape[-1]
                        d[key] = dd[:, :, None, None]
                st["hw"] = (1, 1)
            elif kind in ("relu", "erf"):
                v1 = np.einsum("iiss->is", st["k11"])
                v2 = np.einsum("iiss->is", st["k22"])
                new = {}
                for key, (p, q) in (("k12", (v1, v2)), ("k11", (v1, v1)), ("k22", (v2, v2))):
                    val, der = vt(kind, p[:, None, :, None], st[key], q[None, :, None, :])
                    new[key] = val
                    nt[key] = nt[key] * der
                st.update(new)
            elif kind == "res":
                branch = [tuple(x) for x in l[1]]
                ia = max(i for i, x in enumerate(branch) if x[0] in ("conv", "dense"))
                branch[ia] = branch[ia] + (l[2],)   # (kind, numbers, options, scale)
                st2 = dict(st)
                nt2 = dict(nt)
                run(branch, st2, nt2)
                for key in ("k12", "k11", "k22"):
                    st[key] = st[key] + st2[key]
                    nt[key] = nt[key] + nt2[key]
            else:
                raise ValueError(kind)

    run(layers, state, ntk)
    return (state["k12"][:, :, 0, 0], ntk["k12"][:, :, 0, 0])


def main():
    import ntimport
    # Every residual branch here ends in a Conv (fresh weights): the FanIn independence
    # assumption holds, so stax's reminder about it is silenced.
    warnings.filterwarnings("ignore", message="`FanIn` layers assume independent inputs")
    from jax import config
    config.update("jax_enable_x64", True)
    nt = ntimport.nt()
    stax = nt.stax
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(20261129)
    cases = []
    worst = 0.0
    for spec, shape in CASES:
        layers = Parser(spec).network()
        # dense layers read flat inputs in stax; the layer after flatten/gap already is.
        _, _, kernel_fn = stax.serial(*to_stax(stax, layers, BETA, W_STD))
        H, W, C = shape
        x1 = rng.standard_normal((M1, H * W * C))
        x2 = rng.standard_normal((M2, H * W * C))
        k11 = kernel_fn(jnp.asarray(x1.reshape(M1, H, W, C)), None, ("nngp", "ntk"))
        k12 = kernel_fn(jnp.asarray(x1.reshape(M1, H, W, C)), jnp.asarray(x2.reshape(M2, H, W, C)), ("nngp", "ntk"))
        nngp11, ntk11 = np.asarray(k11.nngp, np.float64), np.asarray(k11.ntk, np.float64)
        nngp12, ntk12 = np.asarray(k12.nngp, np.float64), np.asarray(k12.ntk, np.float64)
        # self-check against the independent numpy recursion
        rn11, rt11 = np_kernels(layers, x1, x1, shape)
        rn12, rt12 = np_kernels(layers, x1, x2, shape)
        def rel(a, b):
            return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        err = max(rel(nngp11, rn11), rel(ntk11, rt11), rel(nngp12, rn12), rel(ntk12, rt12))
        worst = max(worst, err)
        print(f"{spec}  {H}x{W}x{C}: nngp11 range [{nngp11.min():.4f}, {nngp11.max():.4f}], "
              f"ntk11 [{ntk11.min():.4f}, {ntk11.max():.4f}], stax vs numpy {err:.2e}", flush=True)
        cases.append({
            "spec": spec, "input_shape": list(shape), "beta": BETA, "w_std": W_STD,
            "x1": x1.tolist(), "x2": x2.tolist(),
            "nngp_11": nngp11.tolist(), "ntk_11": ntk11.tolist(),
            "nngp_12": nngp12.tolist(), "ntk_12": ntk12.tolist(),
        })
    doc = {
        "made_by": "scripts/make-cnn-kernel-fixtures.sh (neural-tangents 0.6.5, jax 0.4.25, x64)",
        "conventions": "stax kernel_fn(x1, x2, ('nngp','ntk')), NTK parametrization, W_std=1, b_std=beta; "
                       "inputs row-major H x W x C per sample (NHWC); res(b, scale=a) = x + a*b(x) via the last "
                       "affine layer of b with W_std=a, b_std=a*beta",
        "max_relative_difference_stax_vs_numpy": worst,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); stax vs independent numpy recursion: max {worst:.2e}")
    print("jax", jax.__version__, "neural-tangents", nt.__version__)


if __name__ == "__main__":
    main()
