"""Constructor and decorator arguments are checked; a host exit with live proxies is silent."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gclab


@pytest.mark.parametrize(("capacity", "error"), [("x", TypeError), (True, TypeError),
                                                 (2.0, TypeError), (-5, ValueError)])
def test_heap_capacity_is_checked(capacity: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="capacity"):
        gclab.Heap(capacity=capacity)  # type: ignore[arg-type]


def test_cls_needs_a_class() -> None:
    heap = gclab.Heap()
    with pytest.raises(TypeError, match="decorates a class"):
        heap.cls(42)  # type: ignore[arg-type]
    assert len(heap.types) == len(gclab.Heap().types)  # nothing was registered


def test_exit_with_live_proxies_prints_nothing() -> None:
    """Proxies still alive when the host interpreter exits must not run the simulation while
    the interpreter (and numpy) are being torn down."""
    script = ("import gclab\n"
              "heap = gclab.Heap()\n"
              "keep = [heap.list() for _ in range(50)]\n"
              "keep[0].append(keep[1]); keep[1].append(keep[0])\n"
              "cycle = heap.dict(); cycle['me'] = cycle\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0
    assert done.stderr == ""
