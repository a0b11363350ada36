"""Interpreter profiles: every behaviour that differs between CPython versions, as data.

Collectors and the heap branch on these fields, never on version strings. The sources for each
field are ``docs/spec/cpython-gc.md`` (section numbers in the comments) and, where it is silent,
measurements of the real interpreters.

>>> get_profile("3.12").thresholds
(700, 10, 10)
>>> get_profile("3.13").thresholds
(2000, 10, 10)
>>> get_profile("2.7").finalizers
'legacy'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .errors import ProfileError

Trigger = Literal["sync", "safepoint"]
Finalizers = Literal["legacy", "pep442"]
InstanceDict = Literal["separate", "inline"]
TupleUntracking = Literal["in_move_unreachable", "after_reachability"]


INT_MAX = 2**31 - 1  # a C int: thresholds, limits and trashcan levels fit one

# The gc module's debug flags (Modules/gcmodule.c), by name: the one place their values are
# written. DEBUG_INSTANCES and DEBUG_OBJECTS exist on 2.7 only, and so does its DEBUG_LEAK with
# them (each profile's ``debug_flags`` lists what its gc module has).
DEBUG_STATS = 1
DEBUG_COLLECTABLE = 2
DEBUG_UNCOLLECTABLE = 4
DEBUG_INSTANCES = 8
DEBUG_OBJECTS = 16
DEBUG_SAVEALL = 32
DEBUG_LEAK = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL
MAX_TUPLE_FREE_LISTS = 10_000  # tuple_max_size sizes an array of free-list counts


def _fail(owner: str, name: str, rule: str, value: object) -> ProfileError:
    return ProfileError(f"{owner}: {name} must be {rule}, got {value!r}")


def _check_int(owner: str, name: str, value: object, low: int = 0, high: int = INT_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(owner, name, f"an int from {low} to {high}", value)
    return value


def _check_ints(owner: str, name: str, value: object, count: int) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) \
            or len(value) != count:
        raise _fail(owner, name, f"{count} ints (a tuple)", value)
    return tuple(_check_int(owner, f"{name}[{i}]", v) for i, v in enumerate(value))


def _check_choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(owner, name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def _check_bool(owner: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(owner, name, "a bool", value)
    return value


@dataclass(frozen=True)
class FreeListLimits:
    """CPython's free lists (spec §2.2): reuse skips count[0]++, a return skips count[0]--.

    Every limit is an int >= 0 (ProfileError otherwise); ``tuple_max_size`` at most 10,000."""

    list: int = 80
    dict: int = 80
    tuple_max_size: int = 19  # sizes 1..tuple_max_size are kept (2.7, 3.10: 19; 3.11+: 20)
    tuple_reuse_max: int = 19  # ... and taken back for sizes 1..tuple_reuse_max (3.13: 20)
    tuple_per_size: int = 2000

    def __post_init__(self) -> None:
        for name in ("list", "dict", "tuple_per_size"):
            _check_int("FreeListLimits", name, getattr(self, name))
        _check_int("FreeListLimits", "tuple_max_size", self.tuple_max_size,
                   high=MAX_TUPLE_FREE_LISTS)


@dataclass(frozen=True)
class Profile:
    """The observable behaviour of one CPython version's memory management.

    Every field is checked when a profile is made (``Profile(...)`` or :meth:`with_changes`):
    a wrong type or an out-of-range value is a :class:`~gclab.errors.ProfileError` naming the
    field. Thresholds are three ints >= 0, trashcan levels satisfy ``deposit_at >= 1`` and
    ``0 <= drain_at < deposit_at``, the instance shift is ``0 <= shift < deposit_at``."""

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
        ("DEBUG_STATS", DEBUG_STATS),
        ("DEBUG_COLLECTABLE", DEBUG_COLLECTABLE),
        ("DEBUG_UNCOLLECTABLE", DEBUG_UNCOLLECTABLE),
        ("DEBUG_SAVEALL", DEBUG_SAVEALL),
        ("DEBUG_LEAK", DEBUG_LEAK),
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
    # The collector gclab.Heap(profile) gets when none is named (a registered name, see
    # gclab.COLLECTORS; checked when a heap is made): the interpreter's own.
    collector: str = "cpython"

    def __post_init__(self) -> None:
        """Check every field (ProfileError naming it); sequences become tuples."""
        if not isinstance(self.name, str) or not self.name:
            raise _fail("profile", "name", "a non-empty str", self.name)
        owner = f"profile {self.name!r}"
        for name, check in _FIELD_CHECKS.items():
            object.__setattr__(self, name, check(owner, name, getattr(self, name)))
        if not self.trashcan_drain_at < self.trashcan_deposit_at:
            raise _fail(owner, "trashcan_drain_at", f"below trashcan_deposit_at "
                        f"({self.trashcan_deposit_at})", self.trashcan_drain_at)
        if not self.trashcan_instance_shift < self.trashcan_deposit_at:
            raise _fail(owner, "trashcan_instance_shift", f"below trashcan_deposit_at "
                        f"({self.trashcan_deposit_at})", self.trashcan_instance_shift)

    @property
    def legacy_finalizers(self) -> bool:
        """True when a Python ``__del__`` is a legacy ``tp_del`` (pre-3.4)."""
        return self.finalizers == "legacy"

    def with_changes(self, **changes: object) -> Profile:
        """A copy with some fields changed (for experiments); checked like a new profile.

        >>> get_profile("3.12").with_changes(thresholds=(100, 5, 5)).thresholds
        (100, 5, 5)
        >>> get_profile("3.12").with_changes(trigger="never")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        gclab.errors.ProfileError: profile '3.12': trigger must be one of 'sync', ...
        """
        known = {f.name for f in fields(self)}
        for name in changes:
            if name not in known:
                raise ProfileError(f"profile {self.name!r}: no field named {name!r}; fields: "
                                   f"{', '.join(sorted(known))}")
        return replace(self, **changes)  # type: ignore[arg-type]


def _check_debug_flags(owner: str, name: str, value: object) -> tuple[tuple[str, int], ...]:
    rule = "(name, int) pairs with distinct names starting with 'DEBUG_'"
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise _fail(owner, name, rule, value)
    pairs = []
    for pair in value:
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not isinstance(pair[0], str) or not pair[0].startswith("DEBUG_")
                or not pair[0].isidentifier()):
            raise _fail(owner, name, rule, value)
        pairs.append((pair[0], _check_int(owner, f"{name}[{pair[0]}]", pair[1])))
    if len({n for n, _ in pairs}) != len(pairs):
        raise _fail(owner, name, rule, value)
    return tuple(pairs)


def _check_name(owner: str, name: str, value: object) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise _fail(owner, name, "a collector's name (a str such as 'cpython')", value)
    return value


def _check_names(owner: str, name: str, value: object) -> frozenset[str]:

    if not isinstance(value, (frozenset, set)) or not all(isinstance(v, str) for v in value):
        raise _fail(owner, name, "a frozenset of str", value)
    return frozenset(value)


def _check_free_lists(owner: str, name: str, value: object) -> FreeListLimits:
    if not isinstance(value, FreeListLimits):
        raise _fail(owner, name, "a FreeListLimits", value)
    return value


_FIELD_CHECKS: dict[str, Callable[[str, str, Any], Any]] = {
    "version": lambda o, n, v: _check_ints(o, n, v, 2),
    "thresholds": lambda o, n, v: _check_ints(o, n, v, 3),
    "trigger": lambda o, n, v: _check_choice(o, n, v, ("sync", "safepoint")),
    "finalizers": lambda o, n, v: _check_choice(o, n, v, ("legacy", "pep442")),
    "instance_dict": lambda o, n, v: _check_choice(o, n, v, ("separate", "inline")),
    "tuple_untracking": lambda o, n, v: _check_choice(
        o, n, v, ("in_move_unreachable", "after_reachability")),
    "clear_garbage_weakrefs": _check_bool,
    "trashcan_deposit_at": lambda o, n, v: _check_int(o, n, v, low=1),
    "trashcan_drain_at": _check_int,
    "trashcan_instance_shift": _check_int,
    "free_lists": _check_free_lists,
    "gc_functions": _check_names,
    "debug_flags": _check_debug_flags,
    "debug_text": lambda o, n, v: _check_choice(o, n, v, ("modern", "2.7")),
    "shutdown_warning": _check_bool,
    "collector": _check_name,

}


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
            ("DEBUG_STATS", DEBUG_STATS),
            ("DEBUG_COLLECTABLE", DEBUG_COLLECTABLE),
            ("DEBUG_UNCOLLECTABLE", DEBUG_UNCOLLECTABLE),
            ("DEBUG_INSTANCES", DEBUG_INSTANCES),
            ("DEBUG_OBJECTS", DEBUG_OBJECTS),
            ("DEBUG_SAVEALL", DEBUG_SAVEALL),
            ("DEBUG_LEAK", DEBUG_LEAK | DEBUG_INSTANCES | DEBUG_OBJECTS),
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
    if not isinstance(profile, str):
        raise ProfileError(f"a profile is a name such as {DEFAULT_PROFILE!r} or a Profile, "
                           f"not {type(profile).__name__} {profile!r}")
    if profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise ProfileError(f"unknown profile {profile!r}; known: {known}")
    return PROFILES[profile]
