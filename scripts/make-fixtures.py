#!/usr/bin/env python3
"""Writes neural-tangents reference fixtures for the Swift tests.

Output: Tests/NTKCoreTests/Fixtures/*.npz (uncompressed, deterministic bytes)
and a sanity-check report on stdout. Run through scripts/make-fixtures.sh,
which provides the pinned virtual environment.

The float32 part runs in its own process (x64 disabled); the float64 part
enables x64 before JAX creates any array. `--part all` (default) runs both as
subprocesses. Every random draw comes from numpy with a fixed seed, so a rerun
writes byte-identical files (on the same CPU kind: XLA's float32 results may
differ in the last bits between CPU generations).

Conventions (see Fixtures/README.md): our weights are W^l (n_l, n_{l-1}) and
b^l (n_l,); stax wants W (n_{l-1}, n_l) and b (1, n_l). Kernels are sample-major:
row (i, a) -> i*k + a.
"""
import argparse
import io
import os
import subprocess
import sys
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "Tests", "NTKCoreTests", "Fixtures")
sys.path.insert(0, HERE)

# Gauss-Hermite degree for the tanh infinite-width kernels (stax has no closed
# form for tanh). Convergence is checked against TANH_DEG_CHECK below.
TANH_DEG = 160
TANH_DEG_CHECK = 240

ACTIVATIONS = ("relu", "erf", "tanh", "gelu", "identity")

report = []  # (name, max relative difference) pairs for the summary


def note(name, value):
    report.append((name, float(value)))
    print(f"  {name}: {value:.3e}", flush=True)


def rel_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------------------
# Deterministic, uncompressed .npz writer.
#
# np.savez stores the current time in every zip entry, so reruns would change
# the committed bytes. This writes the same format (a ZIP archive of .npy
# files, method STORED, readable by np.load) with a fixed timestamp, no zip64
# extras and the keys in the given order.
def save_npz(name, arrays):
    path = os.path.join(FIXTURES, name)
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            arr = np.asarray(value)
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            arr = np.array(arr, order="C", copy=True)  # keeps 0-d arrays 0-d
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, version=(1, 0),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)
    size = os.path.getsize(path)
    assert size < 200_000, f"{name} is {size} bytes"
    back = np.load(path)
    for key, value in arrays.items():
        assert np.array_equal(back[key], np.asarray(value)), (name, key)
        assert back[key].dtype == np.asarray(value).dtype, (name, key)
        assert back[key].shape == np.asarray(value).shape, (name, key)
    print(f"wrote {os.path.relpath(path, ROOT)} ({size} bytes)", flush=True)


# ---------------------------------------------------------------------------
# Network helpers (stax side).
def act_layer(stax, jnp, name, tanh_deg=TANH_DEG):
    if name == "relu":
        return stax.Relu()
    if name == "erf":
        return stax.Erf()  # erf(x): a=1, b=1, c=0
    if name == "tanh":
        return stax.ElementwiseNumerical(
            jnp.tanh, deg=tanh_deg, df=lambda x: 1.0 - jnp.tanh(x) ** 2)
    if name == "gelu":
        return stax.Gelu(approximate=False)
    if name == "identity":
        return stax.Identity()
    raise ValueError(name)


def mlp(stax, jnp, widths, act, beta, tanh_deg=TANH_DEG):
    """stax MLP in NTK parametrization; widths = [n_0, n_1, ..., n_L]."""
    layers = []
    for ell in range(1, len(widths)):
        layers.append(stax.Dense(widths[ell], W_std=1.0, b_std=beta,
                                 parameterization="ntk"))
        if ell < len(widths) - 1:
            layers.append(act_layer(stax, jnp, act, tanh_deg))
    return stax.serial(*layers)


def random_weights(rng, widths, dtype):
    """Our layout: W^l (n_l, n_{l-1}), b^l (n_l,), entries N(0, 1)."""
    Ws, bs = [], []
    for ell in range(1, len(widths)):
        Ws.append(rng.standard_normal((widths[ell], widths[ell - 1])).astype(dtype))
        bs.append(rng.standard_normal((widths[ell],)).astype(dtype))
    return Ws, bs


def to_stax_params(jnp, Ws, bs):
    """Our (W, b) list -> stax.serial params (Dense, act, Dense, act, ..., Dense)."""
    params = []
    for ell, (W, b) in enumerate(zip(Ws, bs)):
        params.append((jnp.asarray(W.T), jnp.asarray(b.reshape(1, -1))))
        if ell < len(Ws) - 1:
            params.append(())
    return params


def weights_dict(Ws, bs):
    out = {}
    for ell, (W, b) in enumerate(zip(Ws, bs), start=1):
        out[f"W{ell}"] = W
        out[f"b{ell}"] = b
    return out


def to_ours(k4):
    """neural-tangents (m1, m2, k, k) -> ours (m1*k, m2*k), sample-major."""
    k4 = np.asarray(k4)
    m1, m2, k, _ = k4.shape
    return k4.transpose(0, 2, 1, 3).reshape(m1 * k, m2 * k)


# ---------------------------------------------------------------------------
# Independent numpy references (float64).
def sigma(name, h):
    from scipy.special import erf
    if name == "relu":
        return np.maximum(h, 0.0)
    if name == "erf":
        return erf(h)
    if name == "tanh":
        return np.tanh(h)
    if name == "gelu":
        return 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
    if name == "identity":
        return h
    raise ValueError(name)


def dsigma(name, h):
    if name == "relu":
        return (h > 0).astype(h.dtype)
    if name == "erf":
        return 2.0 / np.sqrt(np.pi) * np.exp(-h * h)
    if name == "tanh":
        return 1.0 - np.tanh(h) ** 2
    if name == "gelu":
        from scipy.special import erf
        return 0.5 * (1.0 + erf(h / np.sqrt(2.0))) + h * np.exp(-0.5 * h * h) / np.sqrt(2.0 * np.pi)
    if name == "identity":
        return np.ones_like(h)
    raise ValueError(name)


def factored_gram(Ws, bs, beta, act, x1, x2):
    """Sum over layers of (X X'^T / n + beta^2) o (Delta Delta'^T), sample-major.

    Forward: h^l = x^{l-1} W^l^T / sqrt(n_{l-1}) + beta b^l, x^l = sigma(h^l).
    Backward per output a: delta^L = e_a; delta^l = (delta^{l+1} W^{l+1} / sqrt(n_l)) o sigma'(h^l).
    """
    Ws = [np.asarray(W, np.float64) for W in Ws]
    bs = [np.asarray(b, np.float64) for b in bs]
    L = len(Ws)
    k = Ws[-1].shape[0]

    def passes(x):
        xs, hs = [np.asarray(x, np.float64)], []
        for ell in range(L):
            h = xs[-1] @ Ws[ell].T / np.sqrt(Ws[ell].shape[1]) + beta * bs[ell]
            hs.append(h)
            if ell < L - 1:
                xs.append(sigma(act, h))
        m = x.shape[0]
        # deltas[l] has shape (m, k, n_l): row (i, a)
        deltas = [None] * L
        deltas[L - 1] = np.broadcast_to(np.eye(k), (m, k, k)).copy()
        for ell in range(L - 2, -1, -1):
            back = deltas[ell + 1] @ Ws[ell + 1] / np.sqrt(Ws[ell + 1].shape[1])
            deltas[ell] = back * dsigma(act, hs[ell])[:, None, :]
        return xs, deltas, hs[-1]

    xs1, d1, f1 = passes(x1)
    xs2, d2, f2 = passes(x2)
    m1, m2 = x1.shape[0], x2.shape[0]
    G = np.zeros((m1 * k, m2 * k))
    for ell in range(L):
        n_in = xs1[ell].shape[1]
        fwd = xs1[ell] @ xs2[ell].T / n_in + beta ** 2          # (m1, m2)
        D1 = d1[ell].reshape(m1 * k, -1)
        D2 = d2[ell].reshape(m2 * k, -1)
        G += np.repeat(np.repeat(fwd, k, axis=0), k, axis=1) * (D1 @ D2.T)
    return G, f1, f2


def gauss_expectations(act, q11, q22, c, deg=200):
    """E[s(u)s(v)], E[s'(u)s'(v)] for (u, v) ~ N(0, [[q11, c], [c, q22]])."""
    if act == "relu":
        # arc-cosine kernels of degree 1 and 0
        norm = np.sqrt(q11 * q22)
        cos = np.clip(c / norm, -1.0, 1.0)
        th = np.arccos(cos)
        e = norm * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)
        ed = (np.pi - th) / (2 * np.pi)
        return e, ed
    if act == "identity":
        return c, np.ones_like(c)
    z, w = np.polynomial.hermite.hermgauss(deg)  # weight exp(-z^2)
    z = z * np.sqrt(2.0)
    w = w / np.sqrt(np.pi)                      # now for N(0, 1)
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    Wt = np.outer(w, w)
    q11, q22, c = np.broadcast_arrays(q11, q22, c)
    e = np.zeros(c.shape)
    ed = np.zeros(c.shape)
    for idx in np.ndindex(c.shape):
        a, b, r = q11[idx], q22[idx], c[idx]
        u = np.sqrt(a) * Z1
        v = r / np.sqrt(a) * Z1 + np.sqrt(max(b - r * r / a, 0.0)) * Z2
        e[idx] = np.sum(Wt * sigma(act, u) * sigma(act, v))
        ed[idx] = np.sum(Wt * dsigma(act, u) * dsigma(act, v))
    return e, ed


def analytic_reference(act, x1, x2, beta, hidden):
    """DESIGN.md section 1 recursion, in numpy (W_std = 1)."""
    n0 = x1.shape[1]
    S12 = x1 @ x2.T / n0 + beta ** 2
    S11 = np.sum(x1 * x1, 1) / n0 + beta ** 2
    S22 = np.sum(x2 * x2, 1) / n0 + beta ** 2
    T12 = S12.copy()
    for _ in range(hidden):
        Q11 = np.broadcast_to(S11[:, None], S12.shape)
        Q22 = np.broadcast_to(S22[None, :], S12.shape)
        e12, ed12 = gauss_expectations(act, Q11, Q22, S12)
        e11, _ = gauss_expectations(act, S11, S11, S11)
        e22, _ = gauss_expectations(act, S22, S22, S22)
        S12 = e12 + beta ** 2
        T12 = T12 * ed12 + S12
        S11 = e11 + beta ** 2
        S22 = e22 + beta ** 2
    return S12, T12


# ---------------------------------------------------------------------------
def part_f32():
    import jax
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax

    print("== float32 empirical kernels (x64 disabled)", flush=True)
    widths = [6, 48, 48, 3]
    beta = 0.5
    for act, seed in (("relu", 1001), ("erf", 1002)):
        rng = np.random.default_rng(seed)
        Ws, bs = random_weights(rng, widths, np.float32)
        x = rng.standard_normal((7, widths[0])).astype(np.float32)
        _, apply_fn, _ = mlp(stax, jnp, widths, act, beta)
        params = to_stax_params(jnp, Ws, bs)
        xj = jnp.asarray(x)
        f0 = np.asarray(apply_fn(params, xj))
        impl = nt.NtkImplementation.JACOBIAN_CONTRACTION
        exact4 = nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                     implementation=impl)(xj, None, params)
        avg = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0,
                                  implementation=impl)(xj, None, params)
        exact = to_ours(exact4)
        avg = np.asarray(avg)
        assert exact.dtype == np.float32 and avg.dtype == np.float32 and f0.dtype == np.float32
        assert exact.shape == (21, 21) and avg.shape == (7, 7) and f0.shape == (7, 3)

        G, f_np, _ = factored_gram(Ws, bs, beta, act, x.astype(np.float64), x.astype(np.float64))
        print(f"[empirical_f32_{act}]")
        note(f"f32 {act}: ntk_exact vs numpy factored Gram (f64)", rel_diff(exact, G))
        note(f"f32 {act}: f0 vs numpy forward (f64)", rel_diff(f0, f_np))
        k = widths[-1]
        blocks = np.mean([G[a::k, a::k] for a in range(k)], axis=0)
        note(f"f32 {act}: ntk_averaged vs mean of diagonal output blocks", rel_diff(avg, blocks))
        # also: the same with the two other neural-tangents implementations
        for other in (nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
                      nt.NtkImplementation.STRUCTURED_DERIVATIVES):
            e2 = to_ours(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                             implementation=other)(xj, None, params))
            note(f"f32 {act}: ntk_exact JACOBIAN_CONTRACTION vs {other.name}", rel_diff(exact, e2))

        arrays = weights_dict(Ws, bs)
        arrays.update({
            "x": x,
            "beta": np.array(beta, dtype=np.float64),
            "ntk_exact": exact,
            "ntk_averaged": avg,
            "f0": f0,
        })
        save_npz(f"empirical_f32_{act}.npz", arrays)


def part_f64():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import ntimport
    nt = ntimport.nt()
    from neural_tangents import stax
    import warnings
    warnings.filterwarnings("ignore", message=".*Numerical Activation Layer.*")

    print("== float64 analytic kernels", flush=True)
    cases = [(act, act, 2, 0.5, 2001 + i) for i, act in enumerate(ACTIVATIONS)]
    cases.append(("relu_deep", "relu", 4, 0.1, 2101))
    for fname, act, hidden, beta, seed in cases:
        rng = np.random.default_rng(seed)
        x1 = rng.standard_normal((5, 4))
        x2 = rng.standard_normal((3, 4))
        widths = [4] + [512] * hidden + [1]
        _, _, kernel_fn = mlp(stax, jnp, widths, act, beta)
        k12 = kernel_fn(jnp.asarray(x1), jnp.asarray(x2), ("nngp", "ntk"))
        k11 = kernel_fn(jnp.asarray(x1), None, ("nngp", "ntk"))
        nngp, ntk = np.asarray(k12.nngp), np.asarray(k12.ntk)
        nngp11, ntk11 = np.asarray(k11.nngp), np.asarray(k11.ntk)
        assert nngp.shape == (5, 3) and ntk11.shape == (5, 5) and nngp.dtype == np.float64
        print(f"[analytic_{fname}]")
        ref_nngp, ref_ntk = analytic_reference(act, x1, x2, beta, hidden)
        note(f"analytic {fname}: nngp vs numpy recursion", rel_diff(nngp, ref_nngp))
        note(f"analytic {fname}: ntk vs numpy recursion", rel_diff(ntk, ref_ntk))
        ref11_nngp, ref11_ntk = analytic_reference(act, x1, x1, beta, hidden)
        note(f"analytic {fname}: nngp_11 vs numpy recursion", rel_diff(nngp11, ref11_nngp))
        note(f"analytic {fname}: ntk_11 vs numpy recursion", rel_diff(ntk11, ref11_ntk))
        arrays = {
            "x1": x1, "x2": x2,
            "beta": np.array(beta, dtype=np.float64),
            "hidden_layers": np.array(hidden, dtype=np.int64),
            "nngp": nngp, "ntk": ntk, "nngp_11": nngp11, "ntk_11": ntk11,
        }
        if act == "tanh":
            _, _, kfn_hi = mlp(stax, jnp, widths, act, beta, tanh_deg=TANH_DEG_CHECK)
            hi12 = kfn_hi(jnp.asarray(x1), jnp.asarray(x2), ("nngp", "ntk"))
            hi11 = kfn_hi(jnp.asarray(x1), None, ("nngp", "ntk"))
            conv = max(rel_diff(nngp, hi12.nngp), rel_diff(ntk, hi12.ntk),
                       rel_diff(nngp11, hi11.nngp), rel_diff(ntk11, hi11.ntk))
            note(f"analytic tanh: deg {TANH_DEG} vs deg {TANH_DEG_CHECK}", conv)
            assert conv < 1e-9, conv
            arrays["quadrature_degree"] = np.array(TANH_DEG, dtype=np.int64)
        save_npz(f"analytic_{fname}.npz", arrays)

    print("== float64 predict (gradient_descent_mse)", flush=True)
    widths = [4, 32, 32, 2]
    beta = 0.3
    eta = 0.7
    times = np.array([0.0, 0.5, 3.0, 20.0, 1e4])
    for act, seed in (("relu", 3001), ("tanh", 3002)):
        rng = np.random.default_rng(seed)
        Ws, bs = random_weights(rng, widths, np.float64)
        x_train = rng.standard_normal((10, 4))
        y_train = rng.standard_normal((10, 2))
        x_test = rng.standard_normal((5, 4))
        m, k = y_train.shape
        _, apply_fn, _ = mlp(stax, jnp, widths, act, beta)
        params = to_stax_params(jnp, Ws, bs)
        ntk_fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                     implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION)
        xtr, xte, ytr = jnp.asarray(x_train), jnp.asarray(x_test), jnp.asarray(y_train)
        k_tt = ntk_fn(xtr, None, params)      # (10, 10, 2, 2)
        k_st = ntk_fn(xte, xtr, params)       # (5, 10, 2, 2)
        f0_train = np.asarray(apply_fn(params, xtr))
        f0_test = np.asarray(apply_fn(params, xte))
        H = to_ours(k_tt)
        Hst = to_ours(k_st)

        print(f"[predict_{act}]")
        G, _, _ = factored_gram(Ws, bs, beta, act, x_train, x_train)
        note(f"predict {act}: ntk_train vs numpy factored Gram", rel_diff(H, G))
        Gst, _, _ = factored_gram(Ws, bs, beta, act, x_test, x_train)
        note(f"predict {act}: ntk_test_train vs numpy factored Gram", rel_diff(Hst, Gst))

        for rho, suffix in ((0.0, ""), (0.05, "_ridge")):
            nt_lr, nt_times, nt_reg = eta, times * k, rho * m
            predict_fn = nt.predict.gradient_descent_mse(
                k_tt, ytr, learning_rate=nt_lr, diag_reg=nt_reg,
                diag_reg_absolute_scale=True, trace_axes=())
            fx_train_t, fx_test_t = predict_fn(jnp.asarray(nt_times), jnp.asarray(f0_train),
                                               jnp.asarray(f0_test), k_st)
            # train set passed as a "test" set: f0 + K (K + rI)^-1 (I - e^..)(y - f0),
            # the linearized network's train outputs (see README).
            _, fx_train_lin_t = predict_fn(jnp.asarray(nt_times), jnp.asarray(f0_train),
                                           jnp.asarray(f0_train), k_tt)
            fx_train_t, fx_test_t = np.asarray(fx_train_t), np.asarray(fx_test_t)
            fx_train_lin_t = np.asarray(fx_train_lin_t)
            assert fx_train_t.shape == (len(times), 10, 2) and fx_test_t.shape == (len(times), 5, 2)

            # Our closed form, our convention.
            A = H / m + rho * np.eye(m * k)
            lam, V = np.linalg.eigh(A)
            r0 = (y_train - f0_train).reshape(-1)
            u_ours, test_ours, nt_style_train, betas = [], [], [], []
            for t in times:
                phi = -np.expm1(-eta * t * lam) / lam
                beta_t = V @ (phi * (V.T @ r0)) / m
                betas.append(beta_t)
                u_ours.append(f0_train + (H @ beta_t).reshape(m, k))
                test_ours.append(f0_test + (Hst @ beta_t).reshape(-1, k))
                # what neural-tangents' train output is, in our terms:
                # y + e^{-eta t A} (u0 - y)
                e = V @ (np.exp(-eta * t * lam) * (V.T @ (-r0)))
                nt_style_train.append(y_train + e.reshape(m, k))
            u_ours, test_ours = np.array(u_ours), np.array(test_ours)
            nt_style_train = np.array(nt_style_train)
            tag = f"predict{suffix} {act} rho={rho}"
            note(f"{tag}: nt test vs our closed form", rel_diff(fx_test_t, test_ours))
            note(f"{tag}: nt train-as-test vs our u_t", rel_diff(fx_train_lin_t, u_ours))
            note(f"{tag}: nt train vs y + e^(-eta t A)(u0 - y)", rel_diff(fx_train_t, nt_style_train))
            if rho == 0:
                note(f"{tag}: nt train vs our u_t", rel_diff(fx_train_t, u_ours))
            else:
                # nt's train output is u_t + (rho m) beta_t (K + rI outside the
                # exponent instead of K): not the linearized network's outputs.
                gap = rel_diff(fx_train_t, u_ours)
                print(f"  {tag}: |nt train - our u_t| / |our u_t| = {gap:.3e} (not a check)")
                shifted = u_ours + rho * m * np.array(betas).reshape(u_ours.shape)
                note(f"{tag}: nt train vs u_t + rho m beta_t", rel_diff(fx_train_t, shifted))

            arrays = weights_dict(Ws, bs)
            arrays.update({
                "beta": np.array(beta, dtype=np.float64),
                "x_train": x_train, "y_train": y_train, "x_test": x_test,
                "ntk_train": H, "ntk_test_train": Hst,
                "f0_train": f0_train, "f0_test": f0_test,
                "eta": np.array(eta, dtype=np.float64),
                "times": times,
                "rho": np.array(rho, dtype=np.float64),
                "nt_learning_rate": np.array(nt_lr, dtype=np.float64),
                "nt_times": np.asarray(nt_times, dtype=np.float64),
                "nt_diag_reg": np.array(nt_reg, dtype=np.float64),
                "fx_train_t": fx_train_t,
                "fx_test_t": fx_test_t,
                "fx_train_lin_t": fx_train_lin_t,
            })
            save_npz(f"predict_{act}{suffix}.npz", arrays)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("all", "f32", "f64"), default="all")
    args = ap.parse_args()
    os.makedirs(FIXTURES, exist_ok=True)
    if args.part == "all":
        for part in ("f32", "f64"):
            subprocess.run([sys.executable, os.path.abspath(__file__), "--part", part],
                           check=True)
        return
    import jax
    # x64 must be set before neural_tangents (or anything) creates arrays.
    jax.config.update("jax_enable_x64", args.part == "f64")
    import ntimport
    nt = ntimport.nt()
    print(f"jax {jax.__version__}, jaxlib {jax.lib.__version__}, "
          f"neural-tangents {nt.__version__}, numpy {np.__version__}", flush=True)
    if args.part == "f32":
        part_f32()
    else:
        part_f64()
    worst = max(v for _, v in report)
    print(f"== {args.part}: {len(report)} checks, largest relative difference {worst:.3e}")


if __name__ == "__main__":
    main()
