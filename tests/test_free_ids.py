"""The free-id set (gclab.heap.freeids): lowest-first reuse against a sorted-set model.

Random programs of pushes (from Python, and in bulk into the log as the compiled cascade
does), single pops and bulk pops run on :class:`FreeIds` and on a plain ``set``; every pop must
return the model's lowest ids in ascending order, and ``len``/``tolist`` must agree. The test
runs on the compiled helpers and on their plain-Python twins (``py_func``; with
``GCLAB_JIT=0`` both are the twins).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gclab.heap import _jit_ids, freeids
from gclab.heap.freeids import FRONT_MAX, REFILL, FreeIds

TWINS = ("highest", "set_bits", "set_ids", "take_lowest")


@pytest.fixture(params=["compiled", "twin"])
def flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run on the compiled helpers, or on their Python twins."""
    if request.param == "twin":
        for name in TWINS:
            fn = getattr(_jit_ids, name)
            monkeypatch.setattr(_jit_ids, name, getattr(fn, "py_func", fn))
    return str(request.param)


def _log_push(free: FreeIds, ids: list[int]) -> None:
    """Push ``ids`` the way compiled code does: into ``items[size:]``, then set ``size``."""
    free.grow(free.size + len(ids))
    free.items[free.size : free.size + len(ids)] = ids
    free.size += len(ids)


OPS = st.lists(st.tuples(st.sampled_from(["append", "log", "pop", "pop_many", "check"]),
                         st.integers(0, 3000)), max_size=60)


def _run(ops: list[tuple[str, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    free, model = FreeIds(), set()
    used = set(range(16, 5000))  # ids not free
    for op, arg in ops:
        if op in ("append", "log"):
            count = 1 if op == "append" else arg % 2000
            chosen = rng.choice(sorted(used), size=min(count, len(used)), replace=False)
            ids = [int(x) for x in chosen]
            if op == "append":
                for oid in ids:
                    free.append(oid)
            else:
                _log_push(free, ids)
            model.update(ids)
            used.difference_update(ids)
        elif op == "pop":
            if not model:
                with pytest.raises(IndexError):
                    free.pop()
                continue
            low = min(model)
            assert free.pop() == low
            model.remove(low)
            used.add(low)
        elif op == "pop_many":
            got = free.pop_many(arg).tolist()
            want = sorted(model)[:arg]
            assert got == want
            model.difference_update(got)
            used.update(got)
        assert len(free) == len(model)
        assert bool(free) == bool(model)
        if op == "check":
            assert free.tolist() == sorted(model)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, seed=st.integers(0, 2**16))
def test_free_ids_follow_a_sorted_set(flavour: str, ops: list[tuple[str, int]],
                                      seed: int) -> None:
    _run(ops, seed)


def test_single_pops_cross_refills_and_spills(flavour: str) -> None:
    """Enough ids that the front refills and spills many times, pushed every way."""
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(16, 16 + 8 * (REFILL + FRONT_MAX))).tolist()
    free, half = FreeIds(), len(ids) // 2
    _log_push(free, ids[:half])
    for oid in ids[half:]:
        free.append(oid)
    out = [free.pop() for _ in range(REFILL + 3)]
    for oid in out[::-2]:  # some lower ids come back while the front is full
        free.append(oid)
    rest = sorted(set(ids) - set(out) | set(out[::-2]))
    assert [free.pop() for _ in range(len(rest))] == rest
    assert not free and free.tolist() == []


def test_pop_into_writes_ascending_and_counts(flavour: str) -> None:
    free = FreeIds()
    _log_push(free, [900, 20, 7000, 64, 65])
    free.append(3)
    out = np.full(4, -1, np.int32)
    assert free.pop_into(out) == 4
    assert out.tolist() == [3, 20, 64, 65]
    assert free.pop_into(out) == 2 and out[:2].tolist() == [900, 7000]
    assert free.pop_into(out) == 0


def test_twins_are_the_compiled_sources() -> None:
    """Every compiled helper has a plain-Python twin (the identity without numba)."""
    for name in TWINS:
        fn = getattr(_jit_ids, name)
        assert callable(getattr(fn, "py_func", fn))
    assert freeids.EMPTY > 2**31
