#!/usr/bin/env bash
# Regenerates Tests/NTKCoreTests/Fixtures/cnn_kernels.json (infinite-width NNGP/NTK of
# convolutional, pooling and residual networks from neural-tangents' stax) and prints
# a self-check against an independent numpy recursion. Not run in CI: the fixture is
# committed. Needs PyPI the first time (scripts/nt-venv.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$("$here/nt-venv.sh")"
export JAX_PLATFORMS=cpu
export TF_CPP_MIN_LOG_LEVEL=2
exec "$py" "$here/make-cnn-kernel-fixtures.py" "$@"
