"""The garbage dry run against real interpreters: a child process on every local interpreter
(2.7, 3.8 to 3.13 under /root/.pyenv; missing ones skip) builds a heap with garbage cycles (of
instances, __slots__ objects, dicts, lists, closures; some with ``__del__``, some holding weak
references or held only weakly, one reachable from a live global), dumps it with the standard
library (``tests/garbage_child.py``), then runs ``gc.set_debug(gc.DEBUG_SAVEALL);
gc.collect()`` and writes the ``id()``s of ``gc.garbage``. The dry run on the dump must name
exactly those objects (by address): that is what the real collector found unreachable. The
same is checked on 3.8+ with the heap dumped by gclab's own capture agent
(``snapshots/agent.py``) and converted by ``capture.convert``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gclab.snapshots import FINALIZED, FINALIZER, GC_TYPE, IMMORTAL, TRACKED, Snapshot
from gclab.snapshots.garbage import dry_run

nx = pytest.importorskip("networkx")

CHILD = Path(__file__).with_name("garbage_child.py")
VERSIONS = ["2.7.18", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
PYENV = Path("/root/.pyenv/versions")


def interpreter(version: str) -> str:
    """The interpreter's path, or skip the test when it is not installed."""
    path = PYENV / version / "bin" / "python"
    if not path.exists():
        pytest.skip(f"Python {version} is not installed under {PYENV}")
    return str(path)


def run_child(python: str, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], set[int]]:
    """The child's dump and the addresses its real collection put in gc.garbage."""
    dump, freed = tmp_path / "dump.json", tmp_path / "freed.json"
    subprocess.run([python, str(CHILD), str(dump), str(freed), *extra], check=True,
                   timeout=120, capture_output=True)
    return json.loads(dump.read_text()), set(json.loads(freed.read_text()))


def to_snapshot(raw: dict[str, Any]) -> Snapshot:
    """The child's dump as a Snapshot (no roots: reference counts say what is held)."""
    types = sorted(set(raw["type"]))
    position = {name: i for i, name in enumerate(types)}
    refcount = np.array(raw["refcount"], np.int64)
    immortal = refcount >= 2**29  # 3.12+: immortal objects' counts mean nothing
    flags = (np.array(raw["tracked"]) * TRACKED | np.array(raw["finalizer"]) * FINALIZER
             | np.array(raw["finalized"]) * FINALIZED | immortal * IMMORTAL | GC_TYPE)
    m = len(raw["ref_target"])
    return Snapshot.from_arrays(
        address=np.array(raw["address"], np.uint64),
        type_index=[position[t] for t in raw["type"]], size=raw["size"],
        refcount=refcount, generation=raw["generation"], flags=flags.astype(np.uint8),
        label=[-1] * len(refcount), ref_start=raw["ref_start"], ref_target=raw["ref_target"],
        ref_kind=np.zeros(m, np.uint8), ref_name=np.full(m, -1, np.int32), root_node=[],
        root_kind=[], root_name=[], types=types, strings=[], meta={"python": raw["python"]})


@pytest.mark.parametrize("version", VERSIONS)
def test_dry_run_equals_real_collection(version: str, tmp_path: Path) -> None:
    raw, collected = run_child(interpreter(version), tmp_path)
    snap = to_snapshot(raw)
    report = dry_run(snap)
    predicted = {int(a) for a in snap.address[report.unreachable]}
    assert predicted == collected
    names = {snap.type_name(int(v)) for v in report.unreachable}
    assert {"__main__.Node", "__main__.Slotted", "__main__.Finalized", "builtins.dict"
            if version != "2.7.18" else "__builtin__.dict"} <= names
    finalizer_types = {snap.type_name(int(v)) for v in report.finalizers}
    assert finalizer_types == {"__main__.Finalized"}
    if version == "2.7.18":  # before PEP 442: __del__ in a cycle is uncollectable
        assert {snap.type_name(int(v)) for v in report.uncollectable} >= {"__main__.Finalized"}
    else:
        assert len(report.uncollectable) == 0


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_dry_run_on_the_capture_agent_equals_real_collection(version: str,
                                                             tmp_path: Path) -> None:
    """The same heap dumped by gclab's own capture agent (snapshots/agent.py, 3.8+) and
    converted (capture.convert): the dry run names exactly what gc.collect() freed."""
    from gclab.snapshots import agent, capture

    python = interpreter(version)
    raw, freed = tmp_path / "dump.raw", tmp_path / "freed.json"
    subprocess.run([python, str(CHILD), str(raw), str(freed), f"agent={agent.__file__}"],
                   check=True, timeout=120, capture_output=True)
    collected = set(json.loads(freed.read_text()))
    snap = capture.convert(raw)
    report = dry_run(snap)
    # gc.garbage also holds cyclic garbage the agent made after its walk (on 3.11: ctypes
    # array types with their StgDicts and descriptors, about 660 objects): not in the dump
    dumped = {int(a) for a in snap.address}
    assert {int(a) for a in snap.address[report.unreachable]} == collected & dumped
    names = {snap.type_name(int(v)) for v in report.unreachable}
    assert {"__main__.Node", "__main__.Slotted", "__main__.Finalized"} <= names
    assert {snap.type_name(int(v)) for v in report.finalizers} == {"__main__.Finalized"}


@pytest.mark.parametrize("version", ["3.8.18", "3.11.7", "3.13.0"])
def test_resurrecting_finalizers(version: str, tmp_path: Path) -> None:
    """A cycle whose ``__del__`` stores ``self`` in a class list: the dry run names the
    finalizers that may resurrect; the real collection then keeps them and all they reach
    (3.9+), or keeps the whole unreachable set (3.8: ``check_garbage`` fails)."""
    raw, collected = run_child(interpreter(version), tmp_path, "resurrect")
    snap = to_snapshot(raw)
    report = dry_run(snap)
    resurrectors = [int(v) for v in report.finalizers
                    if snap.type_name(int(v)) == "__main__.Resurrector"]
    assert len(resurrectors) == 2
    if version == "3.8.18":
        assert collected == set()
        return
    members = set(report.unreachable.tolist())
    inside = nx.DiGraph()
    inside.add_nodes_from(members)
    inside.add_edges_from((a, int(b)) for a in members for b in snap.referents(a)
                          if int(b) in members)
    revived = set(resurrectors).union(*(nx.descendants(inside, r) for r in resurrectors))
    assert collected == {int(snap.address[v]) for v in members - revived}
