"""Settings read once from the environment.

``GCLAB_JIT``: ``0`` runs every phase on its plain-Python twin in ``algorithms/`` (default ``1``:
use the compiled kernels where they exist and numba is importable).
``GCLAB_JIT_MIN``: the size below which the plain twins run and numba is not even imported
(default ``10000``; ``0``: compile from the first call). The process switches to compiled
helpers, once, when a heap's object table reaches this many rows or a compiled helper is
called with an array of this many elements (:mod:`gclab._jit`). Readable and settable at run
time as :data:`JIT_MIN`.
``GCLAB_JIT_AFTER_MS``: milliseconds of wall time spent in plain twins (and the user code they
run) after which the process switches to compiled helpers whatever the heap's size (default
``3000``): a long-running program on a small heap pays the compile step once.
``GCLAB_HUGE_PAGES``: ``1`` lets numpy advise transparent huge pages for the object table's
big arrays as for any other (default ``0``: ordinary pages, whose first writes cost a build
several times less where the kernel compacts memory for huge pages on demand; see
:mod:`gclab.heap.pages`).
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
#: Rows (or array elements) from which compiled helpers run; below it, their plain twins.
#: 10,000 rows: a full collection of that many objects on the twins takes ~0.1-0.3 s,
#: about what loading the compiled kernels from numba's cache costs (``bench/startup.py``).
JIT_MIN: int = _int_env("GCLAB_JIT_MIN", 10_000)
#: Seconds of wall time in plain twins after which the process switches to compiled helpers
#: even on a small heap (GCLAB_JIT_AFTER_MS; many collections add up).
JIT_AFTER: float = float(_int_env("GCLAB_JIT_AFTER_MS", 3_000)) / 1000
DEBUG_LEVEL: int = _int_env("GCLAB_DEBUG", 0)
#: Whether the object table's big arrays may be advised huge pages (GCLAB_HUGE_PAGES).
HUGE_PAGES: bool = _int_env("GCLAB_HUGE_PAGES", 0) != 0

#: gclab's version (``gclab.__version__``; written into snapshot files and JSON output).
VERSION = "0.1.0"
