"""Our network spec grammar (Sources/NTKCore/Architectures/NetworkSpec.swift), read in Python, and its
translation to neural-tangents stax layers in NTK parametrization. Shared by the CNN kernel fixture
generator (scripts/make-cnn-kernel-fixtures.py) and the CNN Gram benchmark peer (bench/nt_cnn_kernel.py).

  conv(c,k[,stride=s][,pad=same|valid]) -> stax.Conv(c, (k,k), (s,s), 'SAME'|'VALID', W_std, b_std=beta, 'ntk')
  dense(n)                               -> stax.Dense(n, W_std, b_std=beta, parameterization='ntk')
  avgpool(k[,stride=s])                  -> stax.AvgPool((k,k), (s,s), 'VALID')
  gap / flatten                          -> stax.GlobalAvgPool() / stax.Flatten()
  relu, erf, tanh, gelu, identity        -> stax activations
  res(branch, scale=a)                   -> FanOut(2), parallel(branch with its last affine layer scaled by a, Identity), FanInSum

Errors (a malformed spec, an unknown layer) are ValueError.
"""
import re


def tokenize(text):
    return re.findall(r"[A-Za-z_]+|[0-9.]+(?:[eE][-+]?[0-9]+)?|[(),=\-]", text.replace(" ", ""))


class Parser:
    """`Parser(spec).network()`: a list of layers, each `(name,)`, `(name, [ints], {option: value})` or
    `("res", branch layers, scale)`."""

    def __init__(self, text):
        self.t, self.i = tokenize(text), 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expected=None):
        tok = self.t[self.i]
        if expected is not None and tok != expected:
            raise ValueError(f"expected {expected!r}, got {tok!r}")
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


def to_stax(stax, layers, beta, w_std=1.0, scale=1.0):
    """stax layers for `layers` (weights W_std = w_std, biases b_std = beta); `scale` multiplies the last
    affine layer's W_std and b_std (a residual branch's scale)."""
    last_affine = max((i for i, l in enumerate(layers) if l[0] in ("conv", "dense")), default=None)
    if scale != 1.0 and last_affine is None:
        raise ValueError("a scaled residual branch needs an affine layer")
    out = []
    for i, l in enumerate(layers):
        a = scale if i == last_affine else 1.0
        kind = l[0]
        if kind == "conv":
            (c, k), opts = l[1], l[2]
            s = int(opts.get("stride", 1))
            out.append(stax.Conv(c, (k, k), (s, s), opts.get("pad", "same").upper(), W_std=a * w_std, b_std=a * beta,
                                 parameterization="ntk"))
        elif kind == "dense":
            out.append(stax.Dense(l[1][0], W_std=a * w_std, b_std=a * beta, parameterization="ntk"))
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
            import jax.numpy as jnp
            out.append(stax.Elementwise(fn=jnp.tanh))
        elif kind == "identity":
            out.append(stax.Identity())
        elif kind == "res":
            branch = stax.serial(*to_stax(stax, l[1], beta, w_std, l[2]))
            out.append(stax.serial(stax.FanOut(2), stax.parallel(branch, stax.Identity()), stax.FanInSum()))
        else:
            raise ValueError(f"unknown layer {kind}")
    return out
