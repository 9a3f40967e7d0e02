"""Imports neural_tangents without TensorFlow.

neural_tangents/__init__.py imports `neural_tangents.experimental`, whose only
content (empirical_ntk_fn_tf) needs tensorflow and tf2jax. scripts/nt-venv.sh
installs neural-tangents without those, so this module puts an empty stand-in
for that subpackage in sys.modules first. Nothing else is altered.
"""
import sys
import types


def nt():
    name = "neural_tangents.experimental"
    if "neural_tangents" not in sys.modules and name not in sys.modules:
        try:
            import tensorflow  # noqa: F401  (present: use the real package)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__doc__ = "stand-in: TensorFlow support not installed"
            sys.modules[name] = stub
    import neural_tangents
    return neural_tangents
