"""freed_with: the reference-counting cascade after a collection (algorithms/cascade.py and
kernels/cascade.py) agrees between the twins and with a fixpoint computed here the slow way
(recount every node's references from freed nodes until nothing changes) and with a
hand-worked example. Also run under GCLAB_JIT=0 by ./run tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.algorithms import cascade as oracle
from gclab.errors import InvalidGraphError
from gclab.graphview import GraphView
from gclab.kernels import cascade as kernel


def fixpoint(n: int, edges: list[tuple[int, int]], counts: list[int], dead: list[bool],
             eligible: list[bool]) -> list[bool]:
    """Freed nodes by brute force: grow the freed set until no eligible node has all its
    references from freed nodes."""
    gone = list(dead)
    changed = True
    while changed:
        changed = False
        for node in range(n):
            if gone[node] or not eligible[node]:
                continue
            incoming = sum(1 for a, b in edges if b == node and gone[a])
            if incoming and incoming >= counts[node]:
                gone[node] = changed = True
    return [gone[i] and not dead[i] for i in range(n)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[GraphView, list[tuple[int, int]], list[int], list[bool],
                                    list[bool]]:
    n = draw(st.integers(1, 25))
    slots = [draw(st.lists(st.integers(-2, n - 1), max_size=4)) for _ in range(n)]
    indptr = np.cumsum([0] + [len(s) for s in slots])
    view = GraphView(indptr[:-1], np.diff(indptr),
                     np.array([t for s in slots for t in s], np.int64), n)
    edges = [(i, t) for i in range(n) for t in slots[i] if t >= 0]
    extra = draw(st.lists(st.sampled_from([0, 0, 0, 1, 3]), min_size=n, max_size=n))
    counts = [sum(1 for _, b in edges if b == i) + extra[i] for i in range(n)]
    dead = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    eligible = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return view, edges, counts, dead, eligible


@settings(max_examples=300, deadline=None)
@given(cases())
def test_twins_agree_with_fixpoint(case: tuple[GraphView, list[tuple[int, int]], list[int],
                                               list[bool], list[bool]]) -> None:
    view, edges, counts, dead, eligible = case
    found = [twin.freed_with(view, counts, dead, eligible).tolist() for twin in (oracle, kernel)]
    assert found[0] == found[1]
    assert found[0] == fixpoint(view.n, edges, counts, dead, eligible)


def test_hand_worked_chain_and_shared() -> None:
    # 0 (dead) -> 1 -> 2 -> 3; 4 (alive) -> 3; 0 -> 5 twice with refcount 2; 6 eligible, held
    view = GraphView.from_edges(7, [0, 1, 2, 4, 0, 0, 0], [1, 2, 3, 3, 5, 5, 6])
    counts = [0, 1, 1, 2, 2, 2, 1]
    eligible = [False, True, True, True, True, True, False]
    for twin in (oracle, kernel):
        assert twin.freed_with(view, counts, [True] + [False] * 6, eligible).tolist() == \
            [False, True, True, False, False, True, False]


def test_bad_input() -> None:
    view = GraphView.from_edges(2, [0], [1])
    for twin in (oracle, kernel):
        with pytest.raises(InvalidGraphError):
            twin.freed_with(view, [1], [True, False], [True, True])
        with pytest.raises(InvalidGraphError):
            twin.freed_with(view, [1.0, 1.0], [True, False], [True, True])
