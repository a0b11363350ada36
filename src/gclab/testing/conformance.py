"""The conformance battery: what every collector must do, on every profile.

The shape is PyPy's ``GCTest``: the properties live here, once; a collector's test module is
five lines that name the collector (``tests/collectors/test_conformance_cpython.py``)::

    from gclab.testing.conformance import ConformanceBattery

    class TestCPythonConformance(ConformanceBattery):
        COLLECTOR = "cpython"

Every test runs on each profile (``gclab.PROFILES``) and reads the collector's
:class:`~gclab.collectors.base.Capabilities` to skip what does not apply (a collector that
never collects cycles is not asked to free them). The properties (:data:`PROPERTIES`; the
exact rules are in :mod:`gclab.testing.model` and :mod:`gclab.testing.runner`, where they
come from in ``docs/design/conformance.md``):

- no reachable object is ever freed;
- a full collection frees every unreachable cycle (legacy profiles: cycles with ``__del__`` go
  to ``gc.garbage`` instead);
- a finalizer runs at most once per object (legacy profiles: once per death);
- weakrefs are cleared before their referent is freed, each callback runs at most once, and
  exactly once when the weakref outlives its referent;
- memory accounting balances (objects and bytes, against an outside ledger);
- the heap's and the collector's own invariant check passes after every operation;
- a collector that uses reference counts frees at once what nothing refers to.

Each is checked on random programs (:mod:`gclab.testing.programs`, over the proxy and the
low-level API, with collections at random points) and by fixed, hand-worked scenarios
(:mod:`gclab.testing.scenarios`).

>>> heap = make_heap("cpython", "2.7")
>>> capabilities_of(heap).collects_cycles, heap.profile.name
(True, '2.7')
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings

import gclab

from ..collectors.base import Capabilities, collector_names
from . import scenarios
from .programs import Program, programs
from .runner import ProgramRunner

#: property name -> (the checks it turns on, the operation weights its programs use).
PROPERTIES: dict[str, tuple[frozenset[str], dict[str, int]]] = {
    "reachable": (frozenset({"reachable"}), {}),
    "cycles": (frozenset({"cycles"}), {"ring": 6, "collect": 4, "store": 10}),
    "finalizers": (frozenset({"finalizers"}), {"ring": 6, "bury": 3}),
    "weakrefs": (frozenset({"weakrefs"}), {"weakref": 6, "ring": 4}),
    "accounting": (frozenset({"accounting"}), {"alloc": 4, "decref_many": 3}),
    "invariants": (frozenset({"invariants"}), {}),
    "refcounts": (frozenset({"refcounts"}), {"drop": 8, "remove": 4}),
}


def collectors() -> tuple[str, ...]:
    """The collectors the battery runs on: every registered one."""
    return collector_names()


def make_heap(collector: str, profile: str, **kwargs: Any) -> gclab.Heap:
    """A :class:`gclab.Heap` of ``profile`` whose collector is ``collector`` (a registered
    name); ``kwargs`` go to the heap (``capacity``, ``free_lists``).

    Unknown names raise :class:`~gclab.collectors.base.UnknownCollectorError`, unknown
    profiles :class:`~gclab.errors.ProfileError`; nothing is built then."""
    if not isinstance(collector, str):
        raise TypeError(f"collector must be a str naming a registered collector, got "
                        f"{type(collector).__name__} {collector!r}")
    return gclab.Heap(profile, collector=collector, **kwargs)


def capabilities_of(heap: Any) -> Capabilities:
    """The capabilities of ``heap``'s collector."""
    found = heap.collector.capabilities
    if not isinstance(found, Capabilities):
        raise TypeError(f"{type(heap.collector).__name__}.capabilities is "
                        f"{type(found).__name__}, not Capabilities")
    return found


def run_program(collector: str, profile: str, program: Program,
                checks: frozenset[str] | set[str]) -> None:
    """Run ``program`` on a new heap, checking ``checks`` after every heap call and
    operation (AssertionError or InvariantViolation names the first violation)."""
    heap = make_heap(collector, profile)
    runner = ProgramRunner(heap, capabilities_of(heap), checks)
    try:
        runner.run(program)
    finally:
        runner.close()


class ConformanceBattery:
    """The battery, parametrised over the profiles; subclass it with ``COLLECTOR`` set.

    ``PROFILES``: the profiles to run (None: every profile); ``EXAMPLES``: random programs
    per property and profile; ``MAX_OPS``: operations per program."""

    COLLECTOR: ClassVar[str] = "cpython"
    PROFILES: ClassVar[tuple[str, ...] | None] = None
    EXAMPLES: ClassVar[int] = 20
    MAX_OPS: ClassVar[int] = 40

    def pytest_generate_tests(self, metafunc: Any) -> None:
        """Every test taking ``profile`` runs once per profile."""
        if "profile" in metafunc.fixturenames:
            metafunc.parametrize("profile", self.PROFILES or tuple(gclab.PROFILES))

    def heap(self, profile: str) -> gclab.Heap:
        """A new heap of this collector."""
        return make_heap(self.COLLECTOR, profile)

    def capabilities(self, profile: str) -> Capabilities:
        """This collector's capabilities."""
        return capabilities_of(self.heap(profile))

    def check_programs(self, profile: str, name: str) -> None:
        """Random programs checked for property ``name`` (:data:`PROPERTIES`)."""
        checks, weights = PROPERTIES[name]

        @settings(max_examples=self.EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(programs(self.MAX_OPS, weights))
        def check(program: Program) -> None:
            run_program(self.COLLECTOR, profile, program, checks)

        check()

    # -- random programs -------------------------------------------------------------------------

    def test_no_reachable_object_is_freed(self, profile: str) -> None:
        self.check_programs(profile, "reachable")

    def test_full_collection_frees_unreachable_cycles(self, profile: str) -> None:
        if not self.capabilities(profile).collects_cycles:
            pytest.skip("the collector does not collect cycles")
        self.check_programs(profile, "cycles")

    def test_finalizers_run_at_most_once(self, profile: str) -> None:
        self.check_programs(profile, "finalizers")

    def test_weakrefs_cleared_before_free_and_called_back_once(self, profile: str) -> None:
        self.check_programs(profile, "weakrefs")

    def test_memory_accounting_balances(self, profile: str) -> None:
        self.check_programs(profile, "accounting")

    def test_invariants_hold_after_every_operation(self, profile: str) -> None:
        self.check_programs(profile, "invariants")

    def test_reference_counting_frees_at_once(self, profile: str) -> None:
        if not self.capabilities(profile).uses_refcounts:
            pytest.skip("the collector does not use reference counts")
        self.check_programs(profile, "refcounts")

    # -- fixed scenarios -------------------------------------------------------------------------

    @pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
    def test_scenario(self, profile: str, name: str) -> None:
        heap = self.heap(profile)
        scenarios.SCENARIOS[name](heap, capabilities_of(heap))


__all__ = ["PROPERTIES", "ConformanceBattery", "capabilities_of",
           "collectors", "make_heap", "run_program"]
