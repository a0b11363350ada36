"""The battery's entry points: make_heap, capabilities_of, collectors, run_program, and the
rule that every registered collector runs the battery."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import gclab
from gclab.collectors.base import UnknownCollectorError
from gclab.testing.conformance import capabilities_of, collectors, make_heap, run_program
from gclab.testing.programs import WEIGHTS, Make, Program, programs

HERE = Path(__file__).resolve().parent


def test_every_collector_runs_the_battery() -> None:
    """Each registered collector has its five-line module here (docs/design/conformance.md)."""
    assert "cpython" in collectors()
    for name in collectors():
        module = HERE / f"test_conformance_{name}.py"
        assert module.is_file(), f"collector {name!r} has no {module.name}"
        text = module.read_text(encoding="utf-8")
        assert "(ConformanceBattery)" in text and f'COLLECTOR = "{name}"' in text


@pytest.mark.parametrize("profile", sorted(gclab.PROFILES))
def test_make_heap_gives_the_profile_and_the_cpython_collector(profile: str) -> None:
    heap = make_heap("cpython", profile)
    caps = capabilities_of(heap)
    assert heap.profile.name == profile
    # CPython's collector: reference counting plus a generational, stop-the-world cycle
    # collector without a write barrier (docs/spec/cpython-gc.md §2, §3)
    assert (caps.collects_cycles, caps.generational, caps.incremental, caps.write_barrier,
            caps.uses_refcounts) == (True, True, False, False, True)


def test_make_heap_rejects_unknown_collectors_and_profiles() -> None:
    with pytest.raises(UnknownCollectorError, match="'nope'"):
        make_heap("nope", "3.12")
    with pytest.raises(TypeError, match="collector must be a str"):
        make_heap(3, "3.12")  # type: ignore[arg-type]
    with pytest.raises(gclab.ProfileError):
        make_heap("cpython", "4.0")
    assert issubclass(UnknownCollectorError, gclab.GCLabError)


def test_capabilities_of_rejects_a_collector_declaring_something_else() -> None:
    heap = SimpleNamespace(collector=SimpleNamespace(capabilities={"collects_cycles": True}))
    with pytest.raises(TypeError, match="not Capabilities"):
        capabilities_of(heap)


def test_run_program_and_programs_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown checks"):
        run_program("cpython", "3.12", Program((Make("list"),)), {"everything"})
    with pytest.raises(ValueError, match="unknown operations"):
        programs(weights={"teleport": 3})
    with pytest.raises(ValueError, match="weight 0"):
        programs(weights=dict.fromkeys(WEIGHTS, 0))
