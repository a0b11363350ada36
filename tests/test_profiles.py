"""Profiles and Heap options are checked when made: a wrong type or an out-of-range value is
a ProfileError naming the field (or a TypeError for a Heap option of the wrong type), before
any heap exists (the repro's profiles used to be accepted and misbehave later)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gclab
from gclab.errors import HeapFullError, ProfileError
from gclab.profiles import FreeListLimits, Profile, get_profile

BASE = get_profile("3.12")

BAD_FIELDS: list[tuple[str, Any]] = [
    ("thresholds", ("700", 10, 10)), ("thresholds", (700, 10)), ("thresholds", (-1, 10, 10)),
    ("thresholds", 700), ("thresholds", (True, 1, 1)), ("thresholds", (2**31, 1, 1)),
    ("thresholds", (700.0, 10, 10)),
    ("trigger", "never"), ("trigger", 1), ("finalizers", "bogus"), ("instance_dict", "x"),
    ("tuple_untracking", "later"), ("debug_text", "3.12"),
    ("clear_garbage_weakrefs", 1), ("shutdown_warning", "yes"),
    ("trashcan_deposit_at", -5), ("trashcan_deposit_at", 0), ("trashcan_deposit_at", "50"),
    ("trashcan_deposit_at", 50.0), ("trashcan_drain_at", -1), ("trashcan_drain_at", 50),
    ("trashcan_drain_at", 60), ("trashcan_instance_shift", -1),
    ("trashcan_instance_shift", 50), ("trashcan_instance_shift", None),
    ("free_lists", "yes"), ("free_lists", {"list": 80}),
    ("version", (3,)), ("version", "3.12"), ("version", (3, -1)), ("version", (3, "12")),
    ("debug_flags", (("STATS", 1),)), ("debug_flags", (("DEBUG_X", -1),)),
    ("debug_flags", "DEBUG_STATS"), ("debug_flags", (("DEBUG_A", 1), ("DEBUG_A", 2))),
    ("debug_flags", (("DEBUG_A", 1, 2),)),
    ("gc_functions", ["collect"]), ("gc_functions", "collect"),
    ("gc_functions", frozenset({1})),
    ("name", ""), ("name", None),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS,
                         ids=[f"{f}={v!r}" for f, v in BAD_FIELDS])
def test_with_changes_rejects_bad_values(field: str, value: Any) -> None:
    with pytest.raises(ProfileError, match=field):
        BASE.with_changes(**{field: value})


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS[:8],
                         ids=[f"{f}={v!r}" for f, v in BAD_FIELDS[:8]])
def test_constructor_rejects_bad_values(field: str, value: Any) -> None:
    fields: dict[str, Any] = {"name": "lab", "version": (3, 12), field: value}
    with pytest.raises(ProfileError, match=field):
        Profile(**fields)


@pytest.mark.parametrize("limit", ["list", "dict", "tuple_per_size", "tuple_max_size"])
@pytest.mark.parametrize("value", [-1, "80", 2.0, True])
def test_free_list_limits(limit: str, value: Any) -> None:
    with pytest.raises(ProfileError, match=limit):
        FreeListLimits(**{limit: value})


def test_tuple_free_lists_are_bounded() -> None:
    """tuple_max_size sizes an array of counts: a huge one would allocate it."""
    with pytest.raises(ProfileError, match="tuple_max_size"):
        FreeListLimits(tuple_max_size=10**9)


def test_unknown_field() -> None:
    with pytest.raises(ProfileError, match="'colour'"):
        BASE.with_changes(colour="red")


def test_good_changes_are_normalised() -> None:
    lab = BASE.with_changes(thresholds=[100, 5, 5], version=[3, 99],
                            gc_functions={"collect"}, trashcan_deposit_at=3,
                            trashcan_drain_at=2, trashcan_instance_shift=2)
    assert lab.thresholds == (100, 5, 5) and lab.version == (3, 99)
    assert lab.gc_functions == frozenset({"collect"})
    assert hash(lab) == hash(BASE.with_changes(thresholds=(100, 5, 5), version=(3, 99),
                                               gc_functions=frozenset({"collect"}),
                                               trashcan_deposit_at=3, trashcan_drain_at=2,
                                               trashcan_instance_shift=2))
    heap = gclab.Heap(lab)
    assert heap.gc.get_threshold() == (100, 5, 5)


def test_every_builtin_profile_is_valid() -> None:
    for profile in gclab.PROFILES.values():
        assert profile.with_changes() == profile


@pytest.mark.parametrize(("kwargs", "error", "names"), [
    ({"free_lists": "yes"}, TypeError, "free_lists must be a bool"),
    ({"free_lists": 1}, TypeError, "free_lists must be a bool"),
    ({"free_lists": None}, TypeError, "free_lists must be a bool"),
    ({"profile": 3.12}, ProfileError, "a profile is a name"),
    ({"profile": object()}, ProfileError, "a profile is a name"),
    ({"profile": "9.9"}, ProfileError, "unknown profile '9.9'"),
    ({"capacity": "10"}, TypeError, "capacity"),
    ({"capacity": -1}, ValueError, "capacity"),
    ({"capacity": 2**40}, HeapFullError, "capacity"),
    ({"capacity": True}, TypeError, "capacity"),
], ids=lambda x: repr(x) if isinstance(x, dict) else None)
def test_heap_options(kwargs: dict[str, Any], error: type[Exception], names: str) -> None:
    with pytest.raises(error, match=names):
        gclab.Heap(**kwargs)


def test_numpy_capacity() -> None:
    assert gclab.Heap(capacity=np.int64(5000)).table.capacity == 5000


def test_repro_profiles_are_refused_before_any_heap() -> None:
    """repro_profile_validation: each of these used to make a heap that misbehaved later."""
    for change in ({"trashcan_deposit_at": -5}, {"trigger": "never"},
                   {"finalizers": "bogus"}, {"thresholds": ("700", 10, 10)}):
        with pytest.raises(ProfileError, match=next(iter(change))):
            gclab.Heap(BASE.with_changes(**change))
