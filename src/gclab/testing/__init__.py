"""``gclab.testing``: random heaps, random programs and the conformance battery.

For gclab's own tests and for anyone writing a collector:

- :mod:`~gclab.testing.builders`: :class:`HeapRecipe` (a heap as plain data) and
  :func:`build`;
- :mod:`~gclab.testing.strategies`: Hypothesis strategies for recipes and programs;
- :mod:`~gclab.testing.programs`, :mod:`~gclab.testing.model`, :mod:`~gclab.testing.runner`:
  random heap programs, the program's own model of the heap, and the runner that checks one
  against the other after every heap call;
- :mod:`~gclab.testing.ledger`: memory accounting as an outside ledger;
- :mod:`~gclab.testing.conformance` and :mod:`~gclab.testing.scenarios`: the battery every
  collector runs (``docs/design/conformance.md``).

This package imports Hypothesis and pytest, which are test dependencies (the ``test`` extra):
import it from tests, not from library code.

>>> from gclab.testing import HeapRecipe, build
>>> built = build(HeapRecipe(kinds=["list"], edges=[(0, -1, 0)], drops=[True]))
>>> built.heap.is_alive(built.ids[0])      # a list holding itself outlives its last reference
True
"""

from .builders import BuiltHeap, HeapRecipe, build
from .conformance import ConformanceBattery, capabilities_of, make_heap

__all__ = ["BuiltHeap", "ConformanceBattery", "HeapRecipe", "build", "capabilities_of",
           "make_heap"]
