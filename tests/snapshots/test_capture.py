"""The in-process capture (``gclab.snapshot()``) on a planted heap: types, references (checked
against ``gc.get_referents`` here), names, the weak reference, roots, reference counts (checked
against ``sys.getrefcount``), and the converter's rejection of broken raw dumps."""

from __future__ import annotations

import gc
import sys
import types
import weakref

import numpy as np
import pytest

import gclab
from gclab.errors import SnapshotFileError
from gclab.snapshots import PARTIAL, STRONG, TRACKED, WEAK, RootKind, agent, capture


class Planted:
    """A class of the planted graph (instances in a cycle)."""

    def __init__(self) -> None:
        self.partner: object = None


class Leaf:
    pass


def _edges(snap, node):
    """{(target address, kind, name)} of node's references."""
    lo, hi = int(snap.ref_start[node]), int(snap.ref_start[node + 1])
    return {(int(snap.address[t]), int(k), (snap.strings[nm] if nm >= 0 else None))
            for t, k, nm in zip(snap.ref_target[lo:hi].tolist(), snap.ref_kind[lo:hi].tolist(),
                                snap.ref_name[lo:hi].tolist(), strict=True)}


@pytest.fixture
def planted():
    """A cycle of two instances, a dict of lists, a weakref, a module global in a throwaway
    module; yields them and removes the module afterwards."""
    a, b = Planted(), Planted()
    a.partner, b.partner = b, a
    leaf = Leaf()
    table = {"first": [leaf, 7], "second": []}
    ref = weakref.ref(a)
    module = types.ModuleType("gclab_throwaway_capture")
    module.planted_global = table
    sys.modules[module.__name__] = module
    yield {"a": a, "b": b, "leaf": leaf, "table": table, "ref": ref, "module": module}
    del sys.modules[module.__name__]


def test_planted_graph_types_edges_names_roots(planted):
    snap = gclab.snapshot()
    a, table, ref, leaf = planted["a"], planted["table"], planted["ref"], planted["leaf"]
    node = {key: snap.node_of(id(obj)) for key, obj in planted.items()}
    assert snap.type_name(node["a"]) == f"{__name__}.Planted"
    assert snap.type_name(node["table"]) == "builtins.dict"
    assert snap.type_name(node["ref"]) == "weakref.ReferenceType" or \
        snap.type_name(node["ref"]).endswith("ReferenceType")
    # strong references are exactly gc.get_referents (all referents are captured here)
    for key in ("a", "b", "table", "ref"):
        strong = {t for t, k, _ in _edges(snap, node[key]) if k == STRONG}
        assert strong == {id(r) for r in gc.get_referents(planted[key])}, key
    # names: dict keys, list indices, the type
    names = {(t, nm) for t, _, nm in _edges(snap, node["table"])}
    assert (id(table["first"]), "['first']") in names
    assert (id(table["second"]), "['second']") in names
    first = snap.node_of(id(table["first"]))
    assert {(t, nm) for t, _, nm in _edges(snap, first)} == {(id(leaf), "[0]"), (id(7), "[1]")}
    assert (id(Planted), STRONG, "__class__") in _edges(snap, node["a"])
    # the weak reference: a WEAK edge from the weakref to its referent
    assert (id(a), WEAK, None) in _edges(snap, node["ref"])
    assert snap.graph().out_edges(node["ref"]).tolist() == [
        snap.node_of(id(r)) for r in gc.get_referents(ref)]
    # roots: the module global, named
    roots = dict(zip(snap.root_names(), snap.root_node.tolist(), strict=True))
    assert roots["gclab_throwaway_capture.planted_global"] == node["table"]
    assert snap.label_of(node["module"]) == "gclab_throwaway_capture"
    assert snap.flags[node["a"]] & TRACKED and not snap.flags[snap.node_of(id(7))] & TRACKED


def test_reference_counts_are_the_interpreters_without_the_capture():
    leaf = Leaf()
    holders = [leaf, leaf, (leaf,)]
    expected = sys.getrefcount(leaf) - 1  # getrefcount's own argument
    snap = gclab.snapshot()
    assert snap.refcount[snap.node_of(id(leaf))] == expected == 4
    assert snap.refcount[snap.node_of(id(holders))] == sys.getrefcount(holders) - 1


def test_a_frame_local_is_held_from_outside():
    local_only = [Leaf()]  # held by this frame alone
    snap = gclab.snapshot()
    node = snap.node_of(id(local_only))
    kinds = {int(k) for n, k in zip(snap.root_node.tolist(), snap.root_kind.tolist(),
                                    strict=True) if n == node}
    # 3.11/3.12 cannot read a running frame's locals without writing them: EXTERNAL
    expected = RootKind.FRAME if sys.version_info >= (3, 13) else RootKind.EXTERNAL
    assert kinds == {expected}
    # its item is held by it alone: no root, one referrer, the list
    item = snap.node_of(id(local_only[0]))
    assert item not in set(snap.root_node.tolist())


def test_the_capture_leaves_out_its_own_objects():
    snap = gclab.snapshot()
    type_names = {snap.types[i] for i in np.unique(snap.type_index)}
    assert f"{agent.__name__}.Walk" not in type_names
    assert snap.meta["dropped_references"] < 100
    assert snap.meta["capture_seconds"] > 0 and snap.meta["python"].startswith("3.")


def test_external_roots_hand_worked():
    # 0 -> 1 -> 2 -> 1; refcounts 1, 3, 1: node 0 held by one outside reference, node 1 by
    # one besides the two references seen; node 2 by nothing else; node 0 is a named root
    start = np.array([0, 1, 2, 3])
    target = np.array([1, 2, 1])
    kind = np.zeros(3, np.uint8)
    flags = np.full(3, TRACKED, np.uint8)
    got = capture.external_roots(start, target, kind, np.array([1, 3, 1]), flags, np.array([0]))
    assert got.tolist() == [1]
    # a weak reference holds no count and is not subtracted: node 1's second count is outside
    kind[2] = WEAK
    got = capture.external_roots(start, target, kind, np.array([1, 2, 1]), flags, np.array([0]))
    assert got.tolist() == [1]


@pytest.fixture(scope="module")
def raw_dump(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("raw") / "heap.raw")
    agent.dump(path)
    return path


def test_a_raw_dump_converts(raw_dump):
    snap = capture.convert(raw_dump)
    assert snap.n > 1000 and snap.m > snap.n // 2
    assert snap.meta["pid"] > 0 and not (snap.flags & PARTIAL).any()


@pytest.mark.parametrize("damage", ["truncate", "flip", "version", "magic", "tail"])
def test_broken_raw_dumps_are_rejected(raw_dump, tmp_path, damage):
    data = bytearray(open(raw_dump, "rb").read())
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    elif damage == "flip":
        data[-100] ^= 0xFF
    elif damage == "version":
        data = data.replace(b'"version":1', b'"version":9', 1)
    elif damage == "magic":
        data[:4] = b"NOPE"
    else:
        data += b"junk"
    broken = tmp_path / "broken.raw"
    broken.write_bytes(bytes(data))
    with pytest.raises(SnapshotFileError, match=r"broken\.raw"):
        capture.convert(broken)
    with pytest.raises(SnapshotFileError, match="cannot read"):
        capture.convert(tmp_path / "missing.raw")


def test_build_and_from_walk_leave_their_input_and_agree():
    """build() copies nothing back and removes nothing from the caller's arrays (only the
    private in-process path consumes them); from_walk() leaves the walk usable, and building
    the same walk twice gives the same columns."""
    walked = agent.walk()
    first = capture.from_walk(walked)
    assert sorted(walked.arrays) == sorted(capture._walk_arrays(walked, take=False))
    arrays = capture._walk_arrays(walked, take=False)
    names = sorted(arrays)
    second = capture.build(capture._walk_header(walked), arrays)
    assert sorted(arrays) == names
    for column in ("address", "ref_start", "ref_target", "ref_name", "flags", "label"):
        assert np.array_equal(getattr(first, column), getattr(second, column)), column


def test_lookup_matches_a_dict():
    """The chunked address lookup against a Python dict, across several chunks."""
    rng = np.random.default_rng(9)
    known = rng.choice(2 ** 40, size=5000, replace=False).astype(np.uint64) * np.uint64(16)
    order = np.argsort(known).astype(np.int32)
    wanted = np.concatenate([known[rng.integers(0, 5000, 3 * capture.LOOKUP_CHUNK)],
                             np.array([1, 2 ** 63 + 8, 0], np.uint64)])
    rng.shuffle(wanted)
    where = {int(a): i for i, a in enumerate(known)}
    got = capture._lookup(known[order], order, wanted)
    assert got.tolist() == [where.get(int(a), -1) for a in wanted]
