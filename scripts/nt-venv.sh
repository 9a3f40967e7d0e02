#!/usr/bin/env bash
# Creates (if missing) the Python virtual environment used for neural-tangents
# reference fixtures and the benchmark peer, at <repo>/.venv-nt, and prints the
# path of its python. Idempotent: a second run only checks the pinned versions.
#
# neural-tangents 0.6.5 is installed with --no-deps: its metadata pulls in
# tensorflow (>2 GB) and tf2jax only for `neural_tangents.experimental`
# (TensorFlow model support), which we never use. scripts/ntimport.py
# registers an empty stand-in for that one subpackage before importing
# neural_tangents; everything else (stax, empirical, predict) is the real code.
#
# Environment: PYTHON (default python3.11, else python3) picks the interpreter.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/.venv-nt"

# Pinned set, tested together on Python 3.11 (x86_64 Linux, CPU only).
# jax 0.4.25 is the newest that runs every neural-tangents 0.6.5 code path:
# from 0.4.26 on, jax.interpreters.ad.source_info_util is gone and
# NtkImplementation.STRUCTURED_DERIVATIVES / NTK_VECTOR_PRODUCTS fail
# (AttributeError), although import, stax and JACOBIAN_CONTRACTION still work.
pins=(
  "jax==0.4.25"
  "jaxlib==0.4.25"
  "numpy==1.26.4"
  "scipy==1.13.1"
  "ml_dtypes==0.4.1"
  "opt_einsum==3.3.0"
  "frozendict==2.4.4"
)
nt_pin="neural-tangents==0.6.5"
stamp="$venv/.nt-pins"
want="$(printf '%s\n' "${pins[@]}" "$nt_pin")"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
fi

{
  if [[ ! -x "$venv/bin/python" ]]; then
    "$py" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # jax[cpu] at this version is just jax + jaxlib: they are pinned directly.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$nt_pin"
  PYTHONPATH="$here" "$venv/bin/python" -c \
    'import ntimport; nt = ntimport.nt(); import jax; print("neural-tangents", nt.__version__, "jax", jax.__version__)'
} 1>&2

printf '%s\n' "$want" > "$stamp"
echo "$venv/bin/python"
