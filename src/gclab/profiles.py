"""Interpreter profiles: every behaviour that differs between CPython versions, as data.

Collectors and the heap branch on these fields, never on version strings. The sources for each
field are ``shared/spec/cpython-gc.md`` (section numbers in the comments) and, where it is silent,
measurements of the real interpreters.

>>> get_profile("3.12").thresholds
(700, 10, 10)
>>> get_profile("3.13").thresholds
(2000, 10, 10)
>>> get_profile("2.7").finalizers
'legacy'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from .errors import ProfileError

Trigger = Literal["sync", "safepoint"]
Finalizers = Literal["legacy", "pep442"]
InstanceDict = Literal["separate", "inline"]
TupleUntracking = Literal["in_move_unreachable", "after_reachability"]


@dataclass(frozen=True)
class FreeListLimits:
    """CPython's free lists (spec §2.2): reuse skips count[0]++, a return skips count[0]--."""

    list: int = 80
    dict: int = 80
    tuple_max_size: int = 19  # sizes 1..tuple_max_size are kept (2.7, 3.10: 19; 3.11+: 20)
    tuple_reuse_max: int = 19  # ... and taken back for sizes 1..tuple_reuse_max (3.13: 20)
    tuple_per_size: int = 2000


@dataclass(frozen=True)
class Profile:
    """The observable behaviour of one CPython version's memory management."""

    name: str
    version: tuple[int, int]
    thresholds: tuple[int, int, int] = (700, 10, 10)
    # §2.3: "sync" collects inside the allocation (new object excluded); "safepoint" sets a flag
    # and collects at the next safe point (the end of the heap operation that allocated).
    trigger: Trigger = "sync"
    # §8: "legacy" = pre-3.4 (a __del__ in a cycle makes it uncollectable); "pep442" = 3.4+.
    finalizers: Finalizers = "pep442"
    # ≤3.10: an instance's attributes live in a separate dict object, made at the first
    # attribute store; 3.11+: inline values, one object per instance (§4.1, e2).
    instance_dict: InstanceDict = "inline"
    # 2.7: a reachable tuple is untracked inside move_unreachable right after its traversal;
    # 3.x: untrack_tuples() walks the survivors after the reachability pass (§3.2 step 5).
    tuple_untracking: TupleUntracking = "after_reachability"
    # bpo-38006 (3.9+): a weakref object that is itself garbage is cleared in handle_weakrefs.
    clear_garbage_weakrefs: bool = True
    # §7.2 trashcan: defer a dealloc when nesting >= deposit_at; drain when nesting <= drain_at.
    trashcan_deposit_at: int = 50
    trashcan_drain_at: int = 0
    # 2.7: subtype_dealloc adds 1 to the nesting around its trashcan check and its drain.
    trashcan_instance_shift: int = 0
    # 2.7, 3.10: frame_dealloc is bracketed by the trashcan: a function's locals are released
    # one nesting level deeper than a ``del``, and a return at nesting 0 drains the trashcan.
    frame_trashcan: bool = False
    # 3.11+ inline values: SHARED_KEYS_MAX_SIZE, the usable entries of a class's shared keys
    # when the class is made (gclab.heap.containers has the rule).
    shared_keys_max: int = 30
    # A failed ``del obj.x`` makes the __dict__: 3.10 always, 3.11/3.12 when the shared keys
    # are full and lack the name; 2.7 and 3.13 never.
    failed_delete_makes_dict: bool = False
    # PyObject_ClearWeakRefs puts the weakrefs with callbacks in a (ref, callback) tuple when
    # at least this many are left: 2 (2.7, 3.10-3.12), 1 (3.13).
    weakref_tuple_min: int = 2
    free_lists: FreeListLimits = field(default_factory=FreeListLimits)
    # Names the gc module of this version has (the facade hides the others).
    gc_functions: frozenset[str] = frozenset()
    debug_flags: tuple[tuple[str, int], ...] = (
        ("DEBUG_STATS", 1),
        ("DEBUG_COLLECTABLE", 2),
        ("DEBUG_UNCOLLECTABLE", 4),
        ("DEBUG_SAVEALL", 32),
        ("DEBUG_LEAK", 38),
    )
    # "modern" (3.x) or "2.7" format of the DEBUG_STATS lines (§4.3).
    debug_text: Literal["modern", "2.7"] = "modern"
    # "modern": an exception in a __del__ or callback reaches sys.unraisablehook as
    # "Exception ignored in: <obj>"; "2.7": PyErr_WriteUnraisable's one line
    # "Exception T: T(args) in <obj> ignored" (docs/design/user-code.md).
    unraisable_text: Literal["modern", "2.7"] = "modern"
    # sys.getrecursionlimit() of the simulated program: nested __del__/callback calls past it
    # are reported as RecursionError instead of being made (3.13 runs 999 levels of a __del__
    # chain; older versions' trashcan defers such chains at nesting 50 first).
    recursion_limit: int = 1000
    # §4.4: 3.x warns (ResourceWarning) about uncollectable garbage at shutdown; 2.7 does not.
    shutdown_warning: bool = True

    @property
    def legacy_finalizers(self) -> bool:
        """True when a Python ``__del__`` is a legacy ``tp_del`` (pre-3.4)."""
        return self.finalizers == "legacy"

    def with_changes(self, **changes: object) -> Profile:
        """A copy with some fields changed (for experiments)."""
        return replace(self, **changes)  # type: ignore[arg-type]


_GC_COMMON = frozenset(
    {
        "enable", "disable", "isenabled", "collect", "get_count", "get_threshold",
        "set_threshold", "get_debug", "set_debug", "get_objects", "get_referrers",
        "get_referents", "is_tracked", "garbage",
    }
)
# Tuple free lists (measured, docs/cpython-gaps.md): 2.7 and 3.10 keep and reuse sizes 1..19
# (``len < PyTuple_MAXSAVESIZE``); 3.11 and 3.12 keep a freed 20-tuple (push: ``size - 1 <
# PyTuple_NFREELISTS``) but never take it back (pop: ``size < PyTuple_MAXSAVESIZE``); 3.13 does
# both for sizes 1..20.
_FREE_LISTS_311 = FreeListLimits(tuple_max_size=20)
_FREE_LISTS_313 = FreeListLimits(tuple_max_size=20, tuple_reuse_max=20)
_GC_3X = _GC_COMMON | {
    "callbacks", "get_stats", "freeze", "unfreeze", "get_freeze_count", "is_finalized",
}

PROFILES: dict[str, Profile] = {
    "2.7": Profile(
        name="2.7",
        version=(2, 7),
        finalizers="legacy",
        instance_dict="separate",
        tuple_untracking="in_move_unreachable",
        trashcan_instance_shift=1,
        frame_trashcan=True,
        clear_garbage_weakrefs=False,
        gc_functions=_GC_COMMON,
        debug_flags=(
            ("DEBUG_STATS", 1),
            ("DEBUG_COLLECTABLE", 2),
            ("DEBUG_UNCOLLECTABLE", 4),
            ("DEBUG_INSTANCES", 8),
            ("DEBUG_OBJECTS", 16),
            ("DEBUG_SAVEALL", 32),
            ("DEBUG_LEAK", 62),
        ),
        debug_text="2.7",
        unraisable_text="2.7",
        shutdown_warning=False,
    ),
    "3.10": Profile(name="3.10", version=(3, 10), instance_dict="separate", frame_trashcan=True,
                    failed_delete_makes_dict=True, gc_functions=_GC_3X),
    "3.11": Profile(name="3.11", version=(3, 11), failed_delete_makes_dict=True,
                    free_lists=_FREE_LISTS_311, gc_functions=_GC_3X),
    "3.12": Profile(name="3.12", version=(3, 12), trigger="safepoint",
                    failed_delete_makes_dict=True, free_lists=_FREE_LISTS_311,
                    gc_functions=_GC_3X),
    "3.13": Profile(
        name="3.13",
        version=(3, 13),
        thresholds=(2000, 10, 10),
        trigger="safepoint",
        # §7.2: 3.13 defers when the C recursion budget (10000) has <= 50 left, drains > 100.
        trashcan_deposit_at=9950,
        trashcan_drain_at=9899,
        weakref_tuple_min=1,
        free_lists=_FREE_LISTS_313,
        gc_functions=_GC_3X,
    ),
}
DEFAULT_PROFILE = "3.12"


def get_profile(profile: str | Profile | None = None) -> Profile:
    """The profile named ``profile`` (default ``"3.12"``); a :class:`Profile` is returned as is.

    >>> get_profile("4.0")
    Traceback (most recent call last):
    ...
    gclab.errors.ProfileError: unknown profile '4.0'; known: 2.7, 3.10, 3.11, 3.12, 3.13
    """
    if profile is None:
        return PROFILES[DEFAULT_PROFILE]
    if isinstance(profile, Profile):
        return profile
    if not isinstance(profile, str) or profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise ProfileError(f"unknown profile {profile!r}; known: {known}")
    return PROFILES[profile]
