"""Settings read once from the environment.

``GCLAB_JIT``: ``0`` runs every phase on its plain-Python twin in ``algorithms/`` (default ``1``:
use the compiled kernels where they exist and numba is importable).
``GCLAB_DEBUG``: ``0`` no checks, ``1`` check the heap invariants after every collection, ``2``
after every heap operation.
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


JIT: bool = _int_env("GCLAB_JIT", 1) != 0
DEBUG_LEVEL: int = _int_env("GCLAB_DEBUG", 0)

#: gclab's version (``gclab.__version__``; written into snapshot files and JSON output).
VERSION = "0.1.0"
