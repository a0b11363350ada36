"""The capture agent against hostile objects, a mutating thread, and every local interpreter
(3.8 to 3.13, child processes): it never runs user code, never changes the heap, never
crashes, and its dump converts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import weakref
from pathlib import Path

import pytest

import gclab
from gclab.snapshots import FINALIZER, WEAK, RootKind, agent, capture

AGENT = Path(agent.__file__).resolve()
PYENV = Path("/root/.pyenv/versions")
VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


def interpreter(version: str) -> str | None:
    """The newest local pyenv interpreter of ``version``, or None."""
    found = sorted(PYENV.glob(f"{version}.*/bin/python")) if PYENV.is_dir() else []
    return str(found[-1]) if found else None


CALLS: list[str] = []


class Meta(type):
    def __hash__(cls):
        CALLS.append("meta.__hash__")
        raise RuntimeError("hostile")

    def __eq__(cls, other):
        CALLS.append("meta.__eq__")
        raise RuntimeError("hostile")


class Hostile(metaclass=Meta):
    def __repr__(self):
        CALLS.append("__repr__")
        raise RuntimeError("hostile")

    def __eq__(self, other):
        CALLS.append("__eq__")
        raise RuntimeError("hostile")

    def __hash__(self):
        CALLS.append("__hash__")
        raise RuntimeError("hostile")

    def __getattr__(self, name):
        CALLS.append("__getattr__")
        raise RuntimeError("hostile")

    def __sizeof__(self):
        CALLS.append("__sizeof__")
        return -12345

    @property
    def __class__(self):
        CALLS.append("__class__")
        return int

    def __del__(self):
        pass


class Plain:
    def __del__(self):
        pass


class LyingRef(weakref.ref):
    def __call__(self):
        CALLS.append("LyingRef.__call__")
        return None


def test_hostile_objects_never_run_and_are_reported():
    hostile, target = Hostile(), Plain()
    lying, proxy = LyingRef(target), weakref.proxy(target)
    keep = {"hostile": hostile, "lists": [hostile, [hostile]]}
    CALLS.clear()
    snap = gclab.snapshot()
    assert CALLS == []
    node = snap.node_of(id(hostile))
    assert snap.type_name(node) == f"{__name__}.Hostile"  # not int, whatever __class__ says
    plain = Plain()  # what sys.getsizeof adds to object.__sizeof__ (the GC header)
    header = sys.getsizeof(plain) - object.__sizeof__(plain)
    assert snap.size[node] == object.__sizeof__(hostile) + header  # no __sizeof__ called
    assert snap.flags[node] & FINALIZER
    assert any("Hostile: __sizeof__ is Python code" in w for w in snap.warnings)
    for wr in (lying, proxy):
        lo, hi = snap.ref_start[snap.node_of(id(wr))], snap.ref_start[snap.node_of(id(wr)) + 1]
        weak = [int(snap.address[t]) for t, k in zip(snap.ref_target[lo:hi], snap.ref_kind[lo:hi],
                                                    strict=True) if k == WEAK]
        assert weak == [id(target)]
    assert snap.node_of(id(keep["lists"]))


def test_a_thread_mutating_lists_during_capture():
    shared: list[object] = [[] for _ in range(100)]
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            for i in range(100):
                shared[i] = [i, {"k": [i]}]
                shared[i].append(shared)

    worker = threading.Thread(target=churn, name="churner", daemon=True)
    worker.start()
    try:
        snaps = [gclab.snapshot() for _ in range(3)]
    finally:
        stop.set()
        worker.join(timeout=10)
    for snap in snaps:
        assert snap.node_of(id(shared)) >= 0
        assert "thread churner" in snap.root_names()


CHILD = """
import gc, json, sys
sys.path.insert(0, {agent_dir!r})
import agent

class Leaf:
    pass

class Plain:
    pass

planted = {{"key": [Leaf()]}}
instance = Plain()
instance.x = 1
instance.y = [2]

def census():
    counts = {{}}
    for obj in gc.get_objects():
        name = type(obj).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts

def f(path):
    local_obj = Leaf()
    gc.disable()
    sys._getframe()  # 3.11+: the capture materialises running frames' objects; do it first
    refs_before = [type(r).__name__ for r in gc.get_referents(instance)]
    size_before = sys.getsizeof(instance)
    before = census()
    count_before = len(gc.get_objects())
    agent.dump(path)
    count_after = len(gc.get_objects())
    after = census()
    return dict(planted=id(planted), item=id(planted["key"]), local=id(local_obj),
                count_before=count_before, count_after=count_after,
                census_changes=sorted(k for k in set(before) | set(after)
                                      if before.get(k) != after.get(k)),
                refs_before=refs_before,
                refs_after=[type(r).__name__ for r in gc.get_referents(instance)],
                size_before=size_before, size_after=sys.getsizeof(instance))

print(json.dumps(f(sys.argv[1])))
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_the_agent_in_every_interpreter(version, tmp_path):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no local Python {version}")
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(agent_dir=str(AGENT.parent))))
    raw = tmp_path / "child.raw"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, "-I", str(script), str(raw)], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    # the capture changed nothing: same objects, no __dict__ materialised (3.11+)
    assert facts["count_after"] == facts["count_before"]
    assert facts["census_changes"] == []
    assert facts["refs_after"] == facts["refs_before"]
    assert facts["size_after"] == facts["size_before"]
    snap = capture.convert(raw)
    assert snap.meta["python"].startswith(version + ".")
    node = snap.node_of(facts["planted"])
    assert snap.type_name(node) == "builtins.dict"
    lo, hi = snap.ref_start[node], snap.ref_start[node + 1]
    names = {(int(snap.address[t]), snap.strings[nm]) for t, nm
             in zip(snap.ref_target[lo:hi], snap.ref_name[lo:hi], strict=True) if nm >= 0}
    assert (facts["item"], "['key']") in names
    item = snap.node_of(facts["item"])
    assert [snap.type_name(t) for t in snap.referents(item)] == ["__main__.Leaf"]
    roots = [(name, int(n), int(k)) for name, n, k in zip(
        snap.root_names(), snap.root_node, snap.root_kind, strict=True)]
    assert ("__main__.planted", node, RootKind.MODULE) in roots
    local = snap.node_of(facts["local"])
    local_roots = {(name, k) for name, n, k in roots if n == local}
    kinds = {k for _, k in local_roots}
    if tuple(map(int, version.split("."))) >= (3, 13):
        assert any(name.endswith(" / local_obj") and " / f:" in name
                   for name, _ in local_roots), local_roots
    elif version in ("3.11", "3.12"):
        assert kinds == {RootKind.EXTERNAL}
    else:
        assert RootKind.FRAME in kinds, local_roots
