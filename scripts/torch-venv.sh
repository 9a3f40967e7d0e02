#!/usr/bin/env bash
# Creates (if missing) the Python virtual environment for the PyTorch (torch.func)
# benchmark peer, at <repo>/.venv-torch, and prints the path of its python.
# Idempotent: a second run only checks the stamp of what was installed.
#
# usage: scripts/torch-venv.sh [--help]
#
# A CPU-only PyTorch is wanted. PyPI's default Linux x86_64 wheel is the CUDA
# build: with its dependencies it pulls several GB of nvidia-* packages, and
# installed with --no-deps it does not import (torch/__init__.py preloads
# libcublasLt & co. and raises "libcublasLt.so.*[0-9] not found"; checked with
# torch 2.15.0). PyPI carries no "+cpu" builds, so the script installs, in order:
#   1. TORCH_WHEEL=path/to/torch-*.whl, when given;
#   2. the newest "+cpu" torch wheel in a local wheel folder: pip's own
#      find-links (this machine kind has /opt/wheels/torch-2.13.0+cpu-...whl)
#      or TORCH_WHEEL_DIR;
# each with its pure-Python dependencies from PyPI, then checks that
# `import torch`, a matmul and torch.func work. Without such a wheel it stops
# with status 3 and says why; bench/kernel.sh then reports torch as skipped.
#
# Environment: PYTHON (default python3.11, else python3) picks the interpreter.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/.venv-torch"
stamp="$venv/.torch-stamp"

case "${1:-}" in
  -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
  "") ;;
  *) echo "torch-venv.sh: unknown argument $1" >&2; exit 2 ;;
esac

if [[ -x "$venv/bin/python" && -f "$stamp" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

# The newest torch-*+cpu wheel for this Python in the folders pip is told to look in.
find_cpu_wheel() {
  local dirs=() d
  [[ -n "${TORCH_WHEEL_DIR:-}" ]] && dirs+=("$TORCH_WHEEL_DIR")
  for d in ${PIP_FIND_LINKS:-} $("$1" -m pip config get global.find-links 2>/dev/null || true); do
    dirs+=("$d")
  done
  local tag
  tag="$("$1" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  for d in "${dirs[@]}"; do
    [[ -d "$d" ]] && ls "$d"/torch-*+cpu-"$tag"-"$tag"-*x86_64.whl 2>/dev/null
  done | sort -V | tail -n 1
}

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
fi

{
  wheel="${TORCH_WHEEL:-$(find_cpu_wheel "$py")}"
  if [[ -z "$wheel" || ! -f "$wheel" ]]; then
    echo "torch-venv.sh: no CPU torch wheel found (set TORCH_WHEEL or TORCH_WHEEL_DIR)." >&2
    echo "  PyPI's torch is the CUDA build: several GB of nvidia-* packages, and it does not import without them." >&2
    exit 3
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    "$py" -m venv "$venv"
  fi
  # The wheel's own metadata names only pure-Python dependencies (filelock, sympy, networkx, jinja2, fsspec, ...).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" numpy
  "$venv/bin/python" - <<'PY'
import torch, torch.func
a = torch.randn(256, 256)
err = (a @ a - (a.double() @ a.double()).float()).abs().max().item()
assert err < 1e-3, f"matmul error {err}"
g = torch.func.jacrev(lambda x: (x ** 2).sum())(torch.ones(3))
assert torch.allclose(g, 2 * torch.ones(3)), g
print("torch", torch.__version__, "cuda" if torch.version.cuda else "cpu-only", "threads", torch.get_num_threads())
PY
  basename "$wheel" > "$stamp"
} 1>&2

echo "$venv/bin/python"
