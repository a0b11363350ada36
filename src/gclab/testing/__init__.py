"""``gclab.testing``: random heaps for gclab's tests and for anyone writing a collector.

- :mod:`~gclab.testing.builders`: :class:`HeapRecipe` (a heap as plain data) and
  :func:`build`;
- :mod:`~gclab.testing.strategies`: Hypothesis strategies for recipes.

This package imports Hypothesis, a test dependency (the ``test`` extra): import it from tests,
not from library code.

>>> from gclab.testing import HeapRecipe, build
>>> built = build(HeapRecipe(kinds=["list"], edges=[(0, -1, 0)], drops=[True]))
>>> built.heap.is_alive(built.ids[0])      # a list holding itself outlives its last reference
True
"""

from .builders import BuiltHeap, HeapRecipe, build

__all__ = ["BuiltHeap", "HeapRecipe", "build"]
