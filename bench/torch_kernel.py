#!/usr/bin/env python3
"""PyTorch torch.func peer for `ntk bench kernel`: the empirical NTK Gram of an MLP.

The network is the one of `ntk bench kernel` and bench/nt_kernel.py: NTK
parametrization, h = W x / sqrt(n_in) + beta b with every parameter N(0, 1),
relu between layers and none after the last, float32, random inputs. Two
implementations, both from the torch.func NTK tutorial
(pytorch.org/tutorials/intermediate/neural_tangent_kernels.html):

  jacobian  vmap(jacrev(f)) over the samples: the per-sample Jacobian of every
            parameter tensor (N, k, *shape), then one matmul per tensor,
            J J^T over the (N k) rows (exact) or over the N rows of the
            (N, k * size) view divided by k (averaged).
  ntvp      NTK-vector products: for every pair of samples, a vjp per output
            basis vector followed by a jvp, vmapped over both sample axes:
            the (N, N, k, k) kernel; averaged = its trace over outputs / k.

  averaged: an (N, N) kernel, the mean over the k outputs
  exact:    the (N, N, k, k) kernel, i.e. (N k) x (N k)

One untimed warm-up, then up to --repeat timed runs (best and median). torch
uses as many threads as the machine has cores (os.cpu_count(); TORCH_THREADS
overrides). Prints one JSON line per implementation; a run that fails (out of
memory included) prints {"impl": ..., "error": ...}; one whose estimated peak
memory exceeds --max-gb prints {"impl": ..., "skipped": ...} without running.
Run it with the venv from scripts/torch-venv.sh (bench/kernel.sh does).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nt_kernel import (common_arguments, emit, error_row, jacobian_bytes, kernel_bytes,  # noqa: E402
                       pairwise_activation_bytes, parse_widths, skipped_row, time_runs)

IMPLS = ("jacobian", "ntvp")


def estimated_bytes(impl, widths, samples, kernel):
    """Peak memory, roughly: the Gram plus the Jacobian (jacobian), or the per-pair vjps and
    tangents of the doubly vmapped jvp (ntvp)."""
    gram = kernel_bytes(widths, samples, kernel)
    if impl == "jacobian":
        return gram + jacobian_bytes(widths, samples)
    return gram + jacobian_bytes(widths, samples) + pairwise_activation_bytes(widths, samples)


def mlp(widths, beta, activation):
    """f(params, x) for one sample x (n_0,) -> (k,), and seeded N(0, 1) parameters."""
    import torch
    act = {"relu": torch.relu, "tanh": torch.tanh, "erf": torch.erf, "identity": lambda h: h,
           "gelu": torch.nn.functional.gelu}[activation]
    L = len(widths) - 1

    def f(params, x):
        h = x
        for ell in range(1, L + 1):
            h = params[f"W{ell}"] @ h / math.sqrt(widths[ell - 1]) + beta * params[f"b{ell}"]
            if ell < L:
                h = act(h)
        return h

    def init(generator):
        params = {}
        for ell in range(1, L + 1):
            params[f"W{ell}"] = torch.randn(widths[ell], widths[ell - 1], generator=generator)
            params[f"b{ell}"] = torch.randn(widths[ell], generator=generator)
        return params

    return f, init


def ntk_jacobian(f, params, x, kernel):
    """Jacobian contraction: J(x) per parameter tensor, then J J^T summed over tensors."""
    from torch.func import jacrev, vmap
    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)  # {name: (N, k, *shape)}
    n, k = x.shape[0], next(iter(jac.values())).shape[1]
    gram = None
    for j in jac.values():
        rows = j.reshape(n * k, -1) if kernel == "exact" else j.reshape(n, -1)
        term = rows @ rows.T
        gram = term if gram is None else gram.add_(term)
    return gram if kernel == "exact" else gram.div_(k)


def ntk_ntvp(f, params, x, kernel):
    """NTK-vector products, as in the torch.func tutorial: vjp with each output basis vector, then jvp."""
    import torch
    from torch.func import jvp, vjp, vmap

    def pair(x1, x2):
        out, vjp_fn = vjp(lambda p: f(p, x1), params)

        def column(vec):
            (cotangent,) = vjp_fn(vec)
            return jvp(lambda p: f(p, x2), (params,), (cotangent,))[1]

        basis = torch.eye(out.numel(), dtype=out.dtype)
        return vmap(column)(basis)

    result = vmap(vmap(pair, (None, 0)), (0, None))(x, x)  # (N, N, k, k)
    return result if kernel == "exact" else torch.einsum("NMKK->NM", result) / result.shape[-1]


def main():
    args = common_arguments(__doc__, IMPLS, "jacobian").parse_args()
    widths = parse_widths(args.widths)

    import torch
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", os.cpu_count() or 1)))
    generator = torch.Generator().manual_seed(args.seed)
    f, init = mlp(widths, args.beta, args.activation)
    params = init(generator)
    x = torch.randn(args.samples, widths[0], generator=generator)

    base = {
        "peer": "torch.func",
        "kernel": args.kernel,
        "widths": args.widths,
        "samples": args.samples,
        "activation": args.activation,
        "repeat": args.repeat,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkl": torch.backends.mkl.is_available(),
    }
    impls = IMPLS if args.impl == "all" else (args.impl,)
    for impl in impls:
        estimate = estimated_bytes(impl, widths, args.samples, args.kernel)
        what = "Gram + Jacobian" if impl == "jacobian" else "Gram + Jacobian + pairwise tangents"
        skip = skipped_row(base, impl, estimate, args.max_gb, what)
        if skip:
            emit(skip)
            continue
        fn = {"jacobian": ntk_jacobian, "ntvp": ntk_ntvp}[impl]
        try:
            with torch.no_grad():
                shape = list(fn(f, params, x, args.kernel).shape)
                row = dict(base, impl=impl, shape=shape, estimated_gb=round(estimate / 1e9, 1),
                           **time_runs(lambda: fn(f, params, x, args.kernel), args.repeat, args.max_seconds))
        except (RuntimeError, MemoryError) as e:  # out of memory included: report, go on
            row = error_row(base, impl, e)
        emit(row)


if __name__ == "__main__":
    main()
