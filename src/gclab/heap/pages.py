"""Memory for the table's big arrays: ordinary pages, not transparent huge pages.

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel compacts memory synchronously for such regions
(``/sys/kernel/mm/transparent_hugepage/defrag`` = ``madvise``, the usual default) the first
write to each 2 MiB page waits for compaction. On the machine gclab is measured on (a VM,
2 CPUs) a first write of fresh memory cost 2.5-6 s per GiB with huge pages and 0.5-1.2 s per
GiB without (``bench/run.py --cases scale`` prints its own figure), while the full collection
of a 50M-object heap took the same time either way (0.66 s without, 0.76 s with). A build
writes every column of every new row once, so the table's columns, its pool and the ids the
bulk calls return are allocated inside :func:`small_pages`. ``GCLAB_HUGE_PAGES=1`` keeps
numpy's advice (:data:`gclab.config.HUGE_PAGES`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import config


def _numpy_switch() -> Callable[[bool], bool] | None:
    """numpy's switch for its huge-page advice (private, present since numpy 1.20): it sets
    the advice for arrays allocated from then on and returns the previous setting."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - another numpy
            continue
        switch = getattr(module, "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None  # pragma: no cover


_SWITCH = None if config.HUGE_PAGES else _numpy_switch()
_ADVISED = 1 << 22  # numpy advises huge pages for arrays of this many bytes or more


_LOCK = threading.Lock()
_depth = 0  # small_pages blocks running now, in any thread
_advised_before = True  # numpy's setting before the first of them


@contextmanager
def small_pages() -> Iterator[None]:
    """Arrays numpy allocates inside the block get no huge-page advice; afterwards numpy's
    setting is what it was (also when the block raises). The setting is numpy's, for the
    whole process: blocks in several threads at once switch it off once and back once the
    last one ends (an unrelated array allocated meanwhile also gets no advice, nothing
    worse)."""
    global _depth, _advised_before
    if _SWITCH is None:
        yield
        return
    with _LOCK:
        if not _depth:
            _advised_before = _SWITCH(False)
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if not _depth:
                _SWITCH(_advised_before)


def filled(size: int, dtype: npt.DTypeLike, fill: Any) -> npt.NDArray[Any]:
    """A new array of ``size`` elements, each ``fill``, on ordinary pages. A zero fill comes
    from ``np.zeros``, whose pages the kernel maps only when they are first written."""
    with small_pages():
        if fill == 0:
            return np.zeros(size, dtype)
        return np.full(size, fill, dtype)


def grown(array: npt.NDArray[Any], size: int, fill: Any) -> npt.NDArray[Any]:
    """A copy of ``array`` grown to ``size`` elements on ordinary pages, the new ones
    ``fill`` (those of a zero fill are not written: np.zeros' pages are zero already)."""
    with small_pages():
        out = np.zeros(size, array.dtype) if fill == 0 else np.empty(size, array.dtype)
    out[: len(array)] = array
    if fill != 0:
        out[len(array):] = fill
    return out


def empty(size: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """``np.empty(size, dtype)`` on ordinary pages."""
    if size * np.dtype(dtype).itemsize < _ADVISED:  # numpy would not advise: no switching
        return np.empty(size, dtype)
    with small_pages():
        return np.empty(size, dtype)


__all__ = ["empty", "filled", "grown", "small_pages"]
