"""The snapshot model keeps its columns consistent: bad columns are typed errors, addresses use
the whole uint64 range, the strong graph has no weak references."""

from __future__ import annotations

import numpy as np
import pytest

from gclab.errors import SnapshotError
from gclab.snapshots import WEAK, RootKind, Snapshot


def test_addresses_past_int64_are_kept_exactly() -> None:
    high = [2**64 - 16, 2**63 + 16, 16]
    snap = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0], address=high)
    assert snap.address.tolist() == high
    assert snap.node_of(2**63 + 16) == 1


@pytest.mark.parametrize("address", [[1.5], ["0x10"], [-1]])
def test_an_address_that_is_not_a_uint64_is_rejected(address: list[object]) -> None:
    with pytest.raises(SnapshotError):
        Snapshot.from_edges(types=["t"], type_index=[0], address=address)  # type: ignore[arg-type]


def test_the_strong_graph_drops_weak_references_only() -> None:
    snap = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0],
                               edges=[(0, 1), (0, 2, WEAK), (2, 0)])
    assert snap.graph().out_edges(0).tolist() == [1]
    assert snap.graph(weak=True).out_edges(0).tolist() == [1, 2]
    assert snap.refcount.tolist() == [1, 1, 0]   # weak references do not count


@pytest.mark.parametrize("change, message", [
    ({"ref_target": [5]}, "ref_target"),
    ({"type_index": [0, 3]}, "type_index"),
    ({"root_kind": [99]}, "root_kind"),
    ({"ref_start": [0, 1]}, "ref_start"),
])
def test_inconsistent_columns_are_rejected(change: dict[str, object], message: str) -> None:
    columns: dict[str, object] = dict(
        address=[16, 32], type_index=[0, 0], size=[8, 8], refcount=[1, 1], generation=[2, 2],
        flags=[1, 1], label=[-1, -1], ref_start=[0, 1, 1], ref_target=[1], ref_kind=[0],
        ref_name=[-1], root_node=[0], root_kind=[int(RootKind.MODULE)], root_name=[-1],
        types=["t"], strings=[])
    columns.update(change)
    with pytest.raises(SnapshotError, match=message):
        Snapshot.from_arrays(**columns)  # type: ignore[arg-type]


def test_columns_are_read_only() -> None:
    snap = Snapshot.from_edges(types=["t"], type_index=[0])
    with pytest.raises(ValueError):
        snap.size[0] = np.int64(1)


def test_the_analysis_methods_answer_a_hand_worked_heap() -> None:
    # app.CACHE (10 B) -> a dict (100 B) -> two 1000 B payloads; a two-list cycle nobody holds
    snap = Snapshot.from_edges(
        types=["module", "dict", "payload", "list"], type_index=[0, 1, 2, 2, 3, 3],
        size=[10, 100, 1000, 1000, 56, 56],
        edges=[(0, 1, 0, "cache"), (1, 2, 0, "[0]"), (1, 3, 0, "[1]"), (4, 5), (5, 4)],
        roots=[(0, RootKind.MODULE, "app.CACHE")])
    assert snap.dominators().retained[:4].tolist() == [2110, 2100, 1000, 1000]
    assert snap.dominators() is snap.dominators()            # computed once
    assert sorted(snap.garbage().unreachable.tolist()) == [4, 5]
    (path,) = snap.why(3)
    assert path.nodes.tolist() == [0, 1, 3] and path.names == ["cache", "[1]"]
    assert snap.why(snap.address[3], address=True)[0].nodes.tolist() == [0, 1, 3]
    assert snap.leaks()[0].accumulation == 1                  # the dict, not its module
    assert snap.diff(snap).new.tolist() == []
    rows = {row.type: row for row in snap.histogram().rows}
    assert (rows["payload"].count, rows["payload"].retained) == (2, 2000)
