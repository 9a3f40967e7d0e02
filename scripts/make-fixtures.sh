#!/usr/bin/env bash
# Regenerates Tests/NTKCoreTests/Fixtures/*.npz from neural-tangents and prints
# the self-check report. Needs PyPI the first time (scripts/nt-venv.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$("$here/nt-venv.sh")"
# Keep XLA on the CPU and quiet; the fixtures are CPU float32/float64 results.
export JAX_PLATFORMS=cpu
export TF_CPP_MIN_LOG_LEVEL=2
exec "$py" "$here/make-fixtures.py" "$@"
