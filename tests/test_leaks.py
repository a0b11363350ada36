"""Leak suspects (MAT's rules) and growth across snapshots (snapshots/leaks.py) on planted
leaks: hand-built heaps with hand-worked answers, and Hypothesis heaps with a cache planted
in random background objects."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.errors import SnapshotError
from gclab.snapshots.leaks import growth, suspects
from gclab.snapshots.model import WEAK, RootKind, Snapshot

TYPES = ["builtins.module", "builtins.dict", "app.Session", "builtins.list", "builtins.str"]
MODULE, DICT, SESSION, LIST, STR = range(5)


def service(sessions: int, *, cache_is_root: bool = False, time: float = 0.0) -> Snapshot:
    """A module (root) -> its dict -> a cache dict -> ``sessions`` sessions, each with a
    str; a config dict (root) with 4 strs beside it. Node ids: 0 module, 1 module dict,
    2 cache, 3 config, 4 .. 7 config strs, then per session k: 8 + 2k, its str 9 + 2k.
    Addresses are stable across calls (the same process at several moments)."""
    n = 8 + 2 * sessions
    types = [MODULE, DICT, DICT, DICT] + [STR] * 4 + [SESSION, STR] * sessions
    size = [72, 640, 1200, 232] + [60] * 4 + [400, 100] * sessions
    edges = [(0, 1, 0, "__dict__"), (1, 2, 0, "['CACHE']"), (1, 3, 0, "['CONFIG']")]
    edges += [(3, 4 + k, 0, f"['k{k}']") for k in range(4)]
    for k in range(sessions):
        edges += [(2, 8 + 2 * k, 0, f"['user{k}']"), (8 + 2 * k, 9 + 2 * k, 0, "name")]
    roots = [(0, RootKind.MODULE, "sys.modules['app']"), (3, RootKind.MODULE, "app.CONFIG")]
    if cache_is_root:
        roots.append((2, RootKind.MODULE, "app.CACHE"))
    return Snapshot.from_edges(types=TYPES, type_index=types[:n], size=size[:n], edges=edges,
                               roots=roots, meta={"time": time})


def test_a_cache_retaining_half_the_heap_is_the_accumulation_point() -> None:
    snap = service(6)  # the cache holds 1200 + 6 * 500 = 4200 of 5384 bytes
    total = int(snap.size.sum())
    assert 0.5 <= (1200 + 6 * 500) / total < 0.9
    found = suspects(snap)
    assert len(found) == 1
    leak = found[0]
    assert (leak.node, leak.kind, leak.type) == (0, "object", "builtins.module")
    assert leak.accumulation == 2  # the cache dict, not the module that owns it
    assert leak.retained == 72 + 640 + 1200 + 6 * 500
    assert leak.share == pytest.approx(leak.retained / total)
    assert leak.path is not None
    assert leak.path.nodes.tolist() == [0, 1, 2] and leak.path.root == 0
    assert leak.path.names == ["__dict__", "['CACHE']"]
    assert [(row.type, row.count) for row in leak.top_types][:2] == [
        ("builtins.module", 1), ("builtins.dict", 2)]
    assert {row.type: row.retained for row in leak.top_types}["app.Session"] == 6 * 500


def test_a_cache_that_is_a_named_root_is_its_own_suspect() -> None:
    snap = service(6, cache_is_root=True)
    found = suspects(snap)
    # the module keeps only itself and its dict now: 712 bytes, 13 %, a smaller suspect
    assert [(s.node, s.accumulation) for s in found] == [(2, 2), (0, 1)]
    assert found[0].retained == 1200 + 6 * 500
    assert found[0].path is not None and found[0].path.nodes.tolist() == [2]
    assert snap.root_names()[found[0].path.root] == "app.CACHE"


def test_a_heap_without_suspects_reports_none() -> None:
    # twenty roots of twenty types, each 5 % of the heap: no object and no type reaches 10 %
    snap = Snapshot.from_edges(types=[f"t{k}" for k in range(20)], type_index=list(range(20)),
                               size=[100] * 20,
                               roots=[(k, RootKind.MODULE, f"m.v{k}") for k in range(20)])
    assert suspects(snap) == []
    assert suspects(snap, share=0.05)[0].share == pytest.approx(0.05)
    assert suspects(Snapshot.from_edges(types=["t"], type_index=[0])) == []  # no roots


def test_many_instances_held_from_two_places_are_a_type_suspect() -> None:
    # a list (root) and a dict (root) both hold 40 sessions: none is dominated by either, no
    # session retains 10 %, but the sessions together retain 87 %; their common path is the
    # list (every shortest path runs through it: it is the first root)
    n = 42
    edges = [(0, 2 + k) for k in range(40)] + [(1, 2 + k) for k in range(40)]
    snap = Snapshot.from_edges(types=TYPES, type_index=[LIST, DICT] + [SESSION] * 40,
                               size=[2000, 1000] + [500] * 40, edges=edges,
                               roots=[(0, RootKind.MODULE, "app.LIST"),
                                      (1, RootKind.MODULE, "app.INDEX")])
    found = suspects(snap)
    assert [(s.kind, s.type, s.count, s.retained) for s in found] == [
        ("type", "app.Session", 40, 20000)]
    assert found[0].share == pytest.approx(20000 / 23000)
    assert found[0].accumulation == 0
    assert found[0].node in range(2, n)
    assert found[0].path is not None and found[0].path.nodes.tolist() == [0]


def test_weak_references_do_not_make_suspects() -> None:
    # the only reference to a big list is weak: it is not reachable, so it retains nothing
    snap = Snapshot.from_edges(types=TYPES, type_index=[DICT, LIST], size=[100, 10_000],
                               edges=[(0, 1, WEAK)], roots=[(0, RootKind.MODULE, "m.d")])
    found = suspects(snap)
    assert [(s.node, s.retained, s.share) for s in found] == [(0, 100, 1.0)]


@st.composite
def planted(draw: st.DrawFn) -> tuple[Snapshot, int]:
    """Random background objects (random references among them, random roots) and a planted
    leak: an owner (referred to from anywhere in the background, or a root) -> a cache ->
    entries of random sizes that together hold at least 80 % of the heap, none more than
    half the cache. Returns the snapshot and the cache's node id."""
    b = draw(st.integers(1, 12))
    entries = draw(st.lists(st.integers(50, 100), min_size=2, max_size=10))
    owner, cache = b, b + 1
    n = b + 2 + len(entries)
    size = [*draw(st.lists(st.integers(0, 40), min_size=b, max_size=b)), 16, 8, *entries]
    while sum(entries) < 0.8 * sum(size):
        size[:b] = [s // 2 for s in size[:b]]  # shrink the background
    edges = draw(st.lists(st.tuples(st.integers(0, b - 1), st.integers(0, b)), max_size=3 * b))
    edges += [(owner, cache)] + [(cache, b + 2 + k) for k in range(len(entries))]
    roots = draw(st.lists(st.integers(0, b), min_size=1, max_size=4))
    if owner not in roots and not any(t == owner for _, t in edges):
        roots.append(owner)
    types = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    return Snapshot.from_edges(types=TYPES, type_index=types, size=size, edges=edges,
                               roots=[(r, RootKind.MODULE, f"m.r{r}") for r in roots]), cache


@settings(max_examples=150, deadline=None)
@given(planted())
def test_a_planted_cache_is_found_in_random_heaps(case: tuple[Snapshot, int]) -> None:
    snap, cache = case
    found = suspects(snap)
    points = [s.accumulation for s in found if s.kind == "object"]
    if snap.dominators().reachable[cache]:
        assert cache in points
        leak = found[points.index(cache)]
        assert cache in snap.dominators().subtree(leak.node).tolist()
        assert leak.path is not None and leak.path.nodes[-1] == cache
        assert int(leak.path.nodes[0]) in snap.root_node.tolist()


def test_growth_across_three_snapshots() -> None:
    first, second, third = service(2, time=10.0), service(4, time=20.0), service(7, time=30.0)
    found = growth([third, first, second])  # ordered by meta["time"], not as given
    keys = [(g.kind, g.key) for g in found]
    cache = ("accumulation", f"builtins.dict at {0x1000 + 16 * 2:#x}")
    assert keys[0] == cache
    assert found[0].sizes == [1200 + 2 * 500, 1200 + 4 * 500, 1200 + 7 * 500]
    assert found[0].counts == [1 + 2 * 2, 1 + 4 * 2, 1 + 7 * 2]
    assert found[0].node == 2 and found[0].grown == 5 * 500
    by_key = {g.key: g for g in found}
    assert by_key["app.Session"].counts == [2, 4, 7]
    assert by_key["app.Session"].sizes == [800, 1600, 2800]
    assert by_key["builtins.str"].counts == [6, 8, 11]
    assert "builtins.module" not in by_key and "builtins.dict" not in by_key  # steady
    assert [g.grown for g in found] == sorted((g.grown for g in found), reverse=True)


def test_growth_needs_growth_at_every_step() -> None:
    # the cache grows, shrinks, grows: no step-by-step growth, nothing reported for it
    snaps = [service(2, time=1), service(5, time=2), service(3, time=3), service(6, time=4)]
    assert growth(snaps) == []


def test_bad_input_raises_snapshot_errors() -> None:
    snap = service(2)
    for share in (0, -0.1, 1.5, "0.1", True, float("nan")):
        with pytest.raises(SnapshotError, match="share"):
            suspects(snap, share=share)  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        suspects("app.gcsnap")  # type: ignore[arg-type]
    with pytest.raises(SnapshotError, match="two or more"):
        growth([snap])
    with pytest.raises(SnapshotError):
        growth([snap, None])  # type: ignore[list-item]
    np.testing.assert_array_equal(snap.size[:3], [72, 640, 1200])  # unchanged
