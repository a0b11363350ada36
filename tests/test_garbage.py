"""The garbage dry run (snapshots/garbage.py) on hand-worked snapshots: what is unreachable,
the components (largest first) and their sources, finalizers, frozen objects, pre-3.4
uncollectable, the untracked objects freed with the garbage, unknown reference counts, and
bad input. The check against real interpreters is tests/test_garbage_real.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from gclab.errors import SnapshotError
from gclab.snapshots import (
    FINALIZED,
    FINALIZER,
    FROZEN,
    GC_TYPE,
    IMMORTAL,
    TRACKED,
    WEAK,
    RootKind,
    Snapshot,
)
from gclab.snapshots.garbage import by_type, candidates, describe_cycle, dry_run

T = TRACKED | GC_TYPE


def chain_of_cycles() -> Snapshot:
    """A 3-cycle 0 -> 1 -> 2 -> 0 that references a 2-cycle 3 <-> 4, which references a list
    5 holding a str 6 (untracked) also held by live 7; 7 is a module global; 8 <-> 9 live
    (8 is held by 7); 10 refers to itself, and a weak reference from 7 to 0 holds nothing."""
    edges = [(0, 1, 0, "next"), (1, 2, 0, "next"), (2, 0, 0, "next"), (2, 3, 0, "peer"),
             (3, 4, 0, "b"), (4, 3, 0, "a"), (4, 5, 0, "items"), (5, 6, 0, "[0]"),
             (7, 6, 0, "name"), (7, 8, 0, "child"), (8, 9, 0, "x"), (9, 8, 0, "y"),
             (10, 10, 0, "me"), (7, 0, WEAK, "ref")]
    types = ["m.Node", "m.Pair", "builtins.list", "builtins.str", "m.Holder"]
    return Snapshot.from_edges(types=types, type_index=[0, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0],
                               size=[48, 48, 48, 56, 56, 88, 60, 48, 48, 48, 40],
                               edges=edges, roots=[(7, RootKind.MODULE, "m.holder")],
                               flags=[T] * 6 + [0] + [T] * 4)


def test_unreachable_components_sources_freed() -> None:
    snap = chain_of_cycles()
    report = dry_run(snap)
    assert sorted(report.unreachable.tolist()) == [0, 1, 2, 3, 4, 5, 10]
    assert [c.tolist() for c in report.components] == [[0, 1, 2], [3, 4], [5], [10]]
    assert report.component[[0, 3, 5, 6, 10]].tolist() == [0, 1, 2, -1, 3]
    assert report.sources.tolist() == [0, 3]     # the 3-cycle keeps the rest; 10 alone
    assert report.freed.tolist() == []           # the str is also held by live 7
    assert report.bytes == 48 * 3 + 56 * 2 + 88 + 40
    assert report.freed_bytes == report.bytes
    assert describe_cycle(snap, report, 0) == "Node.next → Node.next → Node.next → Node"
    assert describe_cycle(snap, report, 1) == "Pair.b → Pair.a → Pair"
    assert describe_cycle(snap, report, 2) == "list"
    assert describe_cycle(snap, report, 3) == "Node.me → Node"
    assert by_type(snap, report.unreachable)[0] == ("m.Node", 4, 184)


def test_untracked_freed_only_when_garbage_holds_every_reference() -> None:
    # 0 <-> 1 garbage; 0 -> tuple 2 (untracked) -> str 3 (untracked); 1 -> 3 as well;
    # 4 (untracked int, immortal) referenced by 2; 5 (unknown count) referenced by 1
    snap = Snapshot.from_edges(
        types=["m.A", "builtins.tuple", "builtins.str", "builtins.int"],
        type_index=[0, 0, 1, 2, 3, 2], size=[50, 50, 40, 30, 28, 35],
        edges=[(0, 1), (1, 0), (0, 2), (2, 3), (1, 3), (2, 4), (1, 5)],
        refcount=[1, 1, 1, 2, 1000, -1], flags=[T, T, GC_TYPE, 0, IMMORTAL, 0])
    report = dry_run(snap)
    assert sorted(report.unreachable.tolist()) == [0, 1]
    assert report.freed.tolist() == [2, 3]
    assert report.freed_bytes == 50 + 50 + 40 + 30


def test_candidate_order_is_generations_then_capture_order() -> None:
    snap = Snapshot.from_arrays(
        address=[16, 32, 48, 64, 80], type_index=[0] * 5, size=[1] * 5,
        refcount=[0] * 5, generation=[2, 0, 1, 0, 3], flags=[T, T, T, 0, T | FROZEN],
        label=[-1] * 5, ref_start=[0] * 6, ref_target=[], ref_kind=[], ref_name=[],
        root_node=[], root_kind=[], root_name=[], types=["t"], strings=[])
    assert candidates(snap).tolist() == [1, 2, 0]
    report = dry_run(snap)
    assert report.unreachable.tolist() == [1, 2, 0]  # move_unreachable keeps list order here
    assert report.frozen.tolist() == [4]


def test_finalizers_and_pre_pep442_uncollectable() -> None:
    edges = [(0, 1), (1, 0), (1, 2), (3, 4), (4, 3)]
    flags = [T | FINALIZER, T, T, T | FINALIZER | FINALIZED, T]
    new = Snapshot.from_edges(types=["t"], type_index=[0] * 5, edges=edges, flags=flags,
                              meta={"python": "3.12.1"})
    old = Snapshot.from_edges(types=["t"], type_index=[0] * 5, edges=edges, flags=flags,
                              meta={"python": "2.7.18"})
    report = dry_run(new)
    assert report.finalizers.tolist() == [0]         # 3 has been finalized already
    assert report.uncollectable.tolist() == []
    legacy = dry_run(old)
    assert legacy.finalizers.tolist() == [0, 3]      # no PEP 442: no finalized bit either
    assert legacy.uncollectable.tolist() == [0, 1, 2, 3, 4]


def test_unknown_and_inconsistent_refcounts_are_warned_and_held() -> None:
    snap = Snapshot.from_edges(types=["t"], type_index=[0] * 4,
                               edges=[(0, 1), (1, 0), (2, 3), (3, 2)], refcount=[-1, 1, 0, 1])
    report = dry_run(snap)
    assert report.unreachable.tolist() == [2, 3]     # 0's count unknown: held from outside
    assert len(report.warnings) == 2
    assert "unknown reference count" in report.warnings[0]
    assert "changed during the capture" in report.warnings[1]


def test_empty_and_all_live() -> None:
    empty = dry_run(Snapshot.from_edges(types=["t"], type_index=[]))
    assert empty.unreachable.tolist() == [] and empty.components == []
    assert empty.sources.tolist() == [] and empty.freed_bytes == 0
    live = dry_run(Snapshot.from_edges(types=["t"], type_index=[0, 0], edges=[(0, 1)],
                                       roots=[(0, RootKind.FRAME, "main / f:1 / x")]))
    assert live.unreachable.tolist() == [] and len(live.component_start) == 1


def test_bad_input_changes_nothing() -> None:
    with pytest.raises(SnapshotError):
        dry_run("a snapshot")  # type: ignore[arg-type]
    snap = Snapshot.from_edges(types=["t"], type_index=[0], meta={"python": "three"})
    with pytest.raises(SnapshotError, match="not a version"):
        dry_run(snap)
    assert snap._cache.keys() <= {"graph.strong"}


def test_snapshot_method_caches() -> None:
    snap = chain_of_cycles()
    assert snap.garbage() is snap.garbage()
    assert np.array_equal(snap.garbage().unreachable, dry_run(snap).unreachable)
