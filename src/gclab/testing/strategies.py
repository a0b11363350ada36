"""Hypothesis strategies for random heaps (:func:`heap_recipes`) and random programs
(:func:`gclab.testing.programs.programs`, re-exported here).

Every knob of :func:`heap_recipes` turns on one feature of :class:`~.builders.HeapRecipe`, so
each test draws the heaps its property needs and shrinks to the smallest failing one.

>>> from hypothesis import given, settings
>>> from gclab.testing.builders import build
>>> @settings(max_examples=5, deadline=None, database=None)
... @given(heap_recipes(max_objects=4))
... def test(recipe):
...     built = build(recipe)
...     assert len(built.ids) == len(recipe.kinds)
>>> test()
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from .builders import ATOMS, KINDS, HeapRecipe
from .programs import programs

LAYOUTS = ("random", "ascending", "descending", "pairs")


@st.composite
def heap_recipes(draw: st.DrawFn, *, kinds: Sequence[str] = KINDS, max_objects: int = 30,
                 edges_per_object: int = 3, dense: bool = False,
                 drops: Sequence[bool] | None = (True, True, True, False),
                 sizes: bool = True, places: Sequence[int] | None = None,
                 layouts: bool = False, root: bool = False, freeze: bool = False,
                 chains: int = 0, chain_kinds: Sequence[str] = ("list",),
                 chain_length: int = 140, weakrefs: int = 0,
                 profiles: Sequence[str] = ("3.12",), slots: Sequence[int] = (3,)) -> HeapRecipe:
    """A :class:`HeapRecipe` of 1 to ``max_objects`` objects of ``kinds``.

    - each object gets up to ``edges_per_object`` edges whose codes are NULL, an atom or any
      object; ``dense``: half the heaps have at most 6 objects, up to 5 edges each, every code
      an object (every slot points somewhere);
    - ``drops``: each object's reference is dropped with a draw from these (None: all kept);
    - ``sizes``: lists, tuples, sets and frames get 0 to 4 slots (False: ``slots``);
    - ``places``: each object's place is drawn from these (None: left where allocated), moved
      in a random order; ``layouts``: the order is often ascending, descending or pairs of ids
      (the walks' runs), sometimes with one place for all;
    - ``root``: a list at the tail of gen0 refers to up to 4 objects;
    - ``freeze``: ``gc.freeze()`` before the drops, half the time;
    - ``chains`` deep chains of ``chain_kinds``, up to ``chain_length`` long;
    - ``weakrefs`` extra weakrefs, each with or without a callback;
    - ``profiles``, ``slots``: drawn from these.
    """
    n = draw(st.integers(1, max_objects))
    per_object, code = edges_per_object, st.integers(-1 - len(ATOMS), n - 1)
    if dense and draw(st.booleans()):  # few objects, many edges: every slot points somewhere
        n = min(n, 6)
        per_object, code = 5, st.integers(0, n - 1)
    edge_lists = [draw(st.lists(st.tuples(code, code), max_size=per_object)) for _ in range(n)]
    edges = [(src, key, value) for src in range(n) for key, value in edge_lists[src]]
    recipe = HeapRecipe(
        kinds=draw(st.lists(st.sampled_from(kinds), min_size=n, max_size=n)),
        edges=edges,
        sizes=draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)) if sizes else None,
        drops=None if drops is None else draw(st.lists(st.sampled_from(drops), min_size=n,
                                                       max_size=n)),
        profile=draw(st.sampled_from(profiles)),
        slots=draw(st.sampled_from(slots)),
    )
    if places is not None:
        recipe.places = draw(st.lists(st.sampled_from(places), min_size=n, max_size=n))
        recipe.order = draw(st.permutations(range(n)))
        if layouts:
            _draw_layout(draw, recipe)
    if root:
        recipe.root = draw(st.lists(st.integers(0, n - 1), max_size=4))
    recipe.freeze = freeze and draw(st.booleans())
    link_kind = st.sampled_from(chain_kinds)
    recipe.chains = draw(st.lists(st.lists(link_kind, min_size=1, max_size=chain_length),
                                  max_size=chains))
    recipe.weakrefs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.booleans()),
                                    max_size=weakrefs))
    return recipe


def _draw_layout(draw: st.DrawFn, recipe: HeapRecipe) -> None:
    """Ids a guessable step apart in list order (the kernels' runs): ascending, descending,
    or pairs taken from a LIFO stack (steps 1, -3, 1, -3 ...); sometimes all in one place."""
    assert recipe.order is not None and recipe.places is not None
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "random":
        return
    n = len(recipe.order)
    order = sorted(recipe.order, reverse=layout == "descending")
    if layout == "pairs":
        order = [i for start in range(0, n, 2)[::-1] for i in order[start:start + 2]]
    recipe.order = order
    if draw(st.booleans()):
        recipe.places = [recipe.places[0]] * n


__all__ = ["LAYOUTS", "heap_recipes", "programs"]
