"""The conformance battery can fail: each property, run on a heap or collector broken on
purpose (one fault each, put in with monkeypatch), reports the fault; the same program passes
on the unbroken heap.

Each case is a fixed program that exercises the broken rule, so these tests are fast and
deterministic; the faults are the kind a new collector or a change of the engine could make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import gclab
from gclab.algorithms import cycles as oracle
from gclab.collectors.cpython import phases
from gclab.heap.core import HeapCore
from gclab.heap.flags import COLLECTING, UNREACHABLE
from gclab.heap.table import ObjectTable
from gclab.testing import scenarios
from gclab.testing.conformance import capabilities_of, make_heap, run_program
from gclab.testing.programs import Collect, Drop, Incref, Make, Program, Ring, Weakref

Fault = Callable[[pytest.MonkeyPatch], None]


def miscounts_an_external_reference(patch: pytest.MonkeyPatch) -> None:
    """deduce_unreachable forgets the one external reference of lists (a proxy's)."""
    real = phases.deduce_unreachable

    def broken(heap: Any, young: int, unreachable: int, inline: bool = False) -> Any:
        found = real(heap, young, unreachable, inline)
        t = heap.table
        for oid in t.list_members(young):
            if int(t.refcnt[oid]) == 1 and heap.type_of(oid).name == "list":
                t.list_move(oid, unreachable)
                t.flags[oid] |= COLLECTING | UNREACHABLE
        return found

    patch.setattr(phases, "deduce_unreachable", broken)


def never_clears_garbage(patch: pytest.MonkeyPatch) -> None:
    """delete_garbage keeps every member (as if tp_clear did nothing)."""

    def broken(heap: Any, collectable: int, old: int, garbage: Any, saveall: bool) -> None:
        oracle.clear_collecting(heap, collectable)
        heap.table.list_merge(collectable, old)

    patch.setattr(phases, "delete_garbage", broken)


def finalizes_twice(patch: pytest.MonkeyPatch) -> None:
    """Every ``__del__`` is called twice."""
    real = HeapCore.call_finalizer

    def broken(heap: Any, oid: int, info: Any) -> None:
        real(heap, oid, info)
        real(heap, oid, info)

    patch.setattr(HeapCore, "call_finalizer", broken)


def forgets_weakrefs_on_death(patch: pytest.MonkeyPatch) -> None:
    """A refcount death neither clears the weakrefs nor calls their callbacks."""
    patch.setattr(HeapCore, "clear_weakrefs_with_callbacks", lambda heap, oid: None)


def books_dicts_twice(patch: pytest.MonkeyPatch) -> None:
    """Making a dict's row adds it to ``table.live`` twice."""
    real = ObjectTable.new_row

    def broken(table: ObjectTable, type_id: int, nslots: int) -> int:
        oid = real(table, type_id, nslots)
        if type_id == 2:  # dict
            table.live += 1
        return oid

    patch.setattr(ObjectTable, "new_row", broken)


def increfs_twice(patch: pytest.MonkeyPatch) -> None:
    """``heap.incref`` adds two to the count (one external reference)."""
    real = HeapCore.incref

    def broken(heap: Any, oid: int) -> None:
        real(heap, oid)
        heap.table.refcnt[oid] += 1

    patch.setattr(HeapCore, "incref", broken)


def lists_outlive_their_count(patch: pytest.MonkeyPatch) -> None:
    """A list whose last reference goes is left alive with count 0."""
    real = HeapCore.release

    def broken(heap: Any, code: int) -> None:
        if code >= 0 and heap.type_of(code).name == "list" and int(heap.table.refcnt[code]) == 1:
            heap.table.refcnt[code] -= 1
            return
        real(heap, code)

    patch.setattr(HeapCore, "release", broken)
    # the flat free of an empty container (heap/fastpath.py) does not go through release:
    # send every last reference there, where the fault is
    patch.setattr(HeapCore, "_free_leaf", lambda heap, oid: False)


# property -> (its checks, a program that exercises it, the fault, what the report says)
CASES: dict[str, tuple[str, Program, Fault, str]] = {
    "reachable": ("reachable", Program((Make("list"), Make("list", (0,)), Drop(0), Collect(2))),
                  miscounts_an_external_reference, "freed while reachable"),
    "cycles": ("cycles", Program((Ring(("list", "dict"), keep=-1), Collect(2))),
               never_clears_garbage, "survived a full collection"),
    "finalizers": ("finalizers", Program((Make("fin"), Drop(0))), finalizes_twice,
                   "ran 2 times"),
    "weakrefs": ("weakrefs", Program((Make("set"), Weakref(0, True), Drop(0))),
                 forgets_weakrefs_on_death, "callback ran 0 times"),
    "accounting": ("accounting", Program((Make("dict"),)), books_dicts_twice, "table.live"),
    "invariants": ("invariants", Program((Make("list"), Incref(0))), increfs_twice,
                   "refcount"),
    "refcounts": ("refcounts", Program((Make("list"), Drop(0))), lists_outlive_their_count,
                  "no reference left"),
}


@pytest.mark.parametrize("profile", ["2.7", "3.12"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_property_reports_its_fault(name: str, profile: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    check, program, fault, report = CASES[name]
    run_program("cpython", profile, program, {check})  # passes on the unbroken heap
    fault(monkeypatch)
    with pytest.raises((AssertionError, gclab.InvariantViolation), match=report):
        run_program("cpython", profile, program, {check})


def test_scenario_reports_a_collector_that_keeps_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    never_clears_garbage(monkeypatch)
    heap = make_heap("cpython", "3.12")
    with pytest.raises(AssertionError, match="after a full collection"):
        scenarios.SCENARIOS["self_cycle_and_two_dicts"](heap, capabilities_of(heap))
