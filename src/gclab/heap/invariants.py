"""The heap's invariants, checked by the debug levels (``GCLAB_DEBUG``) and by the tests.

``check_invariants(heap)`` raises :class:`~gclab.errors.InvariantViolation` naming the first
object found in a bad state. What it checks (architecture, "Invariants"):

- reference counts: for every live object, ``refcount == references from the slots of live
  objects + external references`` (``table.extern``: proxies, frames, callers of the low-level
  API). Between top-level operations no internal hold may be outstanding, so this is exact;
- collector lists: every list is a well-formed doubly linked list of live, tracked,
  GC-capable objects; every tracked object is in exactly one list, an untracked one in none;
- slots: each value is NULL, a known atom code or the id of a live object (never a freed id
  or a list head); slices lie inside the pool and do not overlap;
- weak references: the side tables (``wr_referent``, ``wr_callback``, ``weaklists``) agree
  with each other and name only live objects;
- layouts (:mod:`gclab.heap.rules`): dicts, frames and modules have an even number of slots,
  no key (name) twice, names are str atoms; sets hold no element twice; a tuple's length is its
  allocated size; an instance's slot count fits its class's layout;
- static references: every object the simulation holds (:attr:`HeapCore.static_refs`) is
  alive and keeps them; the shared empty tuple is an untracked tuple of length 0;
- the collector's own invariants: its ``check`` (heap/observer.py) is called last (CPython's
  "nothing of a collection is left between operations" lives in its collector).

While user code runs in the middle of a heap operation (a ``__del__`` or a weakref callback
during a deallocation cascade or a collection) some of these hold only loosely: objects being
deallocated have count 0 but still own their slots, the collector holds references and uses
its own lists. :func:`is_quiescent` tells the two situations apart; in the loose one the
reference count check becomes a lower bound (no object may have *fewer* references counted
than it has holders).

At rest (:func:`at_rest`: no top-level operation, deallocation, deferred release phase or
collection in progress) nothing may be left over from one: no live object with refcount 0
(except on a heap that defers frees, :mod:`gclab.heap.deferred`, where such objects wait for
their collector), a trashcan nesting of 0, no deferred proxy release. The trashcan's
``delete_later`` stack is empty too, except on profiles whose instances never drain it
themselves (2.7's instance shift: objects deferred under an instance wait there, refcount 0 and
untracked, for the next deallocation that drains, as they do in CPython 2.7).

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> a = heap.alloc("list")
>>> heap.append_slot(a, a)
>>> check_invariants(heap)
>>> heap.table.refcnt[a] += 1          # a reference nobody holds
>>> check_invariants(heap)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gclab.errors.InvariantViolation: <list ...>: refcount 3, but 1 slot reference(s) + 1 external = 2
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvariantViolation
from .flags import ALIVE, TRACKED
from .rules import NAMESPACES, PAIRED
from .table import N_HEADS, NULL
from .types import Kind

if TYPE_CHECKING:
    from .core import HeapCore


def is_quiescent(heap: HeapCore, *, ignore_collecting: bool = False) -> bool:
    """True when no deallocation cascade, deferred-release phase or collection is running:
    then reference counts are exact (and the collector's scratch state is clear).

    ``ignore_collecting`` is for the check at the end of a collection, whose own
    ``collecting`` flag is still set.
    """
    if heap.observer.collecting and not ignore_collecting:
        return False
    return heap._dealloc_depth == 0 and heap._defer_depth == 0


def at_rest(heap: HeapCore, *, ignore_collecting: bool = False) -> bool:
    """True when the heap is quiescent and no top-level operation is in progress: nothing an
    operation leaves behind while it runs may be left then (see the module doc)."""
    return heap._op_depth == 0 and is_quiescent(heap, ignore_collecting=ignore_collecting)


def check_invariants(heap: HeapCore, *, strict: bool | None = None,
                     rest: bool | None = None) -> None:
    """Raise :class:`InvariantViolation` if the heap is inconsistent (see the module doc).

    ``strict`` (default: :func:`is_quiescent`) demands exact reference counts (and of the
    collector, its quiet state); ``rest`` (default: :func:`at_rest`) demands that no operation
    left anything behind.
    """
    if strict is None:
        strict = is_quiescent(heap)
    if rest is None:
        rest = strict and at_rest(heap)
    _check_rows(heap)
    _check_unused(heap)
    _check_lists(heap)
    counted = _check_slots(heap, strict)
    _check_refcounts(heap, counted, strict)
    _check_weakrefs(heap, strict)
    _check_layouts(heap)
    _check_static(heap)
    if rest:
        _check_at_rest(heap)
    heap.observer.check(heap, strict=strict, rest=rest)


def debug_check(heap: HeapCore, level: int, *, after_collection: bool = False) -> None:
    """The debug-level hook: check if ``heap.debug_level >= level``."""
    if getattr(heap, "debug_level", 0) >= level:
        check_invariants(heap, strict=is_quiescent(heap, ignore_collecting=after_collection),
                         rest=at_rest(heap, ignore_collecting=after_collection))


def _fail(message: str) -> None:
    raise InvariantViolation(message)


def _live(heap: HeapCore) -> list[int]:
    t = heap.table
    return [oid for oid in range(N_HEADS, t.top) if t.flags[oid] & ALIVE]


def _check_rows(heap: HeapCore) -> None:
    """Freed rows are fully poisoned; the live count and free-id list agree with the flags."""
    t = heap.table
    live = 0
    free = set(t.free_ids)
    if len(free) != len(t.free_ids):
        _fail("free_ids lists an id twice")
    for oid in range(N_HEADS, t.top):
        if t.flags[oid] & ALIVE:
            live += 1
            if oid in free:
                _fail(f"{heap.describe(oid)} is live but listed in free_ids")
            if not 0 <= int(t.type_id[oid]) < len(heap.types):
                _fail(f"object {oid} has unknown type id {int(t.type_id[oid])}")
        else:
            if oid not in free:
                _fail(f"freed id {oid} is not in free_ids (leaked row)")
            if t.flags[oid] != 0 or t.ref_len[oid] != 0:
                _fail(f"freed id {oid} keeps flags {int(t.flags[oid])} or slots")
            if t.gc_next[oid] != NULL or t.gc_prev[oid] != NULL:
                _fail(f"freed id {oid} is still linked into a collector list")
    if any(not N_HEADS <= oid < t.top for oid in free):
        _fail("free_ids holds an id outside the used rows")
    if live != t.live:
        _fail(f"table.live is {t.live} but {live} rows are alive")


def _check_unused(heap: HeapCore) -> None:
    """Rows from ``top`` on hold each column's fill (NULL links, 0 elsewhere, a collector
    column's own fill) and the pool from ``pool_top`` on is NULL: the bulk allocation writes
    only the columns whose new value differs (heap/bulk.py, ``_fresh_rows``)."""
    t = heap.table
    for name in t.COLUMNS:
        fill = NULL if name in ("gc_next", "gc_prev") else 0
        rest = getattr(t, name)[t.top:]
        if len(rest) and not (rest == fill).all():
            _fail(f"column {name} holds a value other than {fill} past top ({t.top}), at "
                  f"row {t.top + int(np.flatnonzero(rest != fill)[0])}")
    for name, column in t._extra.items():
        if not (column[t.top:] == t._fills[name]).all():
            _fail(f"collector column {name!r} holds a value other than its fill past top")
    if not (t.pool[t.pool_top:] == NULL).all():
        _fail(f"the pool holds a value other than NULL past pool_top ({t.pool_top})")


def _check_lists(heap: HeapCore) -> None:
    """Every list well formed; every tracked object in exactly one, untracked in none."""
    t = heap.table
    owner: dict[int, int] = {}
    for head in range(N_HEADS):
        prev = head
        node = int(t.gc_next[head])
        steps = 0
        while node != head:
            steps += 1
            if steps > t.top:
                _fail(f"list {head} does not return to its head (a loop)")
            if not N_HEADS <= node < t.top:
                _fail(f"list {head} links to {node}, which is not an object row")
            if not t.flags[node] & ALIVE:
                _fail(f"list {head} holds freed id {node}")
            if int(t.gc_prev[node]) != prev:
                _fail(f"{heap.describe(node)} in list {head}: gc_prev is "
                      f"{int(t.gc_prev[node])}, expected {prev}")
            if node in owner:
                _fail(f"{heap.describe(node)} is in list {owner[node]} and list {head}")
            owner[node] = head
            if not t.flags[node] & TRACKED:
                _fail(f"{heap.describe(node)} is in list {head} but not flagged TRACKED")
            if not heap.type_of(node).gc_capable:
                _fail(f"{heap.describe(node)} is tracked but its type is not GC-capable")
            prev, node = node, int(t.gc_next[node])
        if int(t.gc_prev[head]) != prev:
            _fail(f"list {head}: head's gc_prev is {int(t.gc_prev[head])}, expected {prev}")
    for oid in _live(heap):
        tracked = bool(t.flags[oid] & TRACKED)
        if tracked and oid not in owner:
            _fail(f"{heap.describe(oid)} is flagged TRACKED but in no list")
        if not tracked and (t.gc_next[oid] != NULL or t.gc_prev[oid] != NULL):
            _fail(f"{heap.describe(oid)} is untracked but still linked")



def _check_slots(heap: HeapCore, strict: bool) -> Counter[int]:
    """Slot values are valid; slices are sane. Returns the slot references per target id
    (from every live object; in the loose mode only from objects whose count is not 0)."""
    t = heap.table
    counted: Counter[int] = Counter()
    slices: list[tuple[int, int, int]] = []
    for oid in _live(heap):
        start, length, cap = int(t.ref_start[oid]), int(t.ref_len[oid]), int(t.ref_cap[oid])
        if not 0 <= length <= cap or start < 0 or start + cap > t.pool_top:
            _fail(f"{heap.describe(oid)}: bad slice start={start} len={length} cap={cap}")
        if cap:
            slices.append((start, start + cap, oid))
        info = heap.type_of(oid)
        if info.kind is Kind.WEAKREF and length:
            _fail(f"{heap.describe(oid)}: a weakref has {length} slot(s)")
        dying = int(t.refcnt[oid]) == 0
        if not strict and dying:
            continue  # being deallocated: its slots are released one by one
        for index, value in enumerate(t.slot_list(oid)):
            if value == NULL:
                continue
            if value < 0:
                if not heap.atoms.is_live(value):
                    _fail(f"{heap.describe(oid)} slot {index}: unknown atom code {value}")
                continue
            if not N_HEADS <= value < t.top:
                _fail(f"{heap.describe(oid)} slot {index} refers to {value}, not an object")
            if not t.flags[value] & ALIVE:
                _fail(f"{heap.describe(oid)} slot {index} refers to freed id {value}")
            counted[value] += 1
    slices.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(slices):
        if start < end:
            _fail(f"the slices of {heap.describe(a)} and {heap.describe(b)} overlap")
    return counted


def _check_refcounts(heap: HeapCore, counted: Counter[int], strict: bool) -> None:
    """refcount == slot references + external references (strict), or >= (loose)."""
    t = heap.table
    for oid in _live(heap):
        rc, ext, refs = int(t.refcnt[oid]), int(t.extern[oid]), counted.get(oid, 0)
        if ext < 0:
            _fail(f"{heap.describe(oid)}: external reference count {ext} is negative")
        expected = refs + ext
        bad = rc != expected if strict else rc < expected or rc < 0
        if bad:
            _fail(f"{heap.describe(oid)}: refcount {rc}, but {refs} slot reference(s) + "
                  f"{ext} external = {expected}")


def _check_weakrefs(heap: HeapCore, strict: bool) -> None:
    """The weakref side tables agree with each other and with the object table."""
    t = heap.table
    if set(heap.wr_referent) != set(heap.wr_callback):
        _fail("wr_referent and wr_callback have different weakrefs")
    for wr, target in heap.wr_referent.items():
        if not t.is_alive(wr):
            _fail(f"weakref table keeps freed id {wr}")
        if heap.type_of(wr).kind is not Kind.WEAKREF:
            _fail(f"{heap.describe(wr)} is in the weakref table but is not a weakref")
        if target == NULL:
            continue
        if not t.is_alive(target):
            _fail(f"{heap.describe(wr)} refers to freed id {target}")
        if wr not in heap.weaklists.get(target, ()):
            _fail(f"{heap.describe(wr)} refers to {heap.describe(target)} but is not in its "
                  f"weakref list")
    for oid in _live(heap):
        if heap.type_of(oid).kind is Kind.WEAKREF and oid not in heap.wr_referent:
            _fail(f"{heap.describe(oid)} is missing from the weakref table")
    for target, refs in heap.weaklists.items():
        if not t.is_alive(target):
            _fail(f"freed id {target} still has a weakref list")
        if not heap.type_of(target).weakrefable:
            _fail(f"{heap.describe(target)} has weakrefs but its type is not weakrefable")
        if strict and not refs:
            _fail(f"{heap.describe(target)} has an empty weakref list")
        if len(set(refs)) != len(refs):
            _fail(f"{heap.describe(target)}: a weakref is listed twice")
        for position, wr in enumerate(refs):
            if heap.wr_referent.get(wr, NULL) != target:
                _fail(f"{heap.describe(wr)} is in the weakref list of "
                      f"{heap.describe(target)} but refers elsewhere")
            if strict and position > 0 and heap.wr_callback.get(wr) is None:
                _fail(f"{heap.describe(wr)}: a callback-less weakref of "
                      f"{heap.describe(target)} is not first in its list")


def _check_layouts(heap: HeapCore) -> None:
    """Every live object's slots fit its kind's layout (:mod:`gclab.heap.rules`)."""
    t = heap.table
    for oid in _live(heap):
        info = heap.type_of(oid)
        kind, length = info.kind, int(t.ref_len[oid])
        if kind in PAIRED:
            if length % 2:
                _fail(f"{heap.describe(oid)} has {length} slots: a {info.name}'s slots are "
                      f"key/value pairs")
            _check_unique(heap, oid, t.slot_list(oid)[0::2], "key" if kind is Kind.DICT
                          else "name")
            if kind in NAMESPACES:
                _check_names(heap, oid, t.slot_list(oid)[0::2])
        elif kind is Kind.SET:
            _check_unique(heap, oid, t.slot_list(oid), "element")
        elif kind is Kind.TUPLE and length != int(t.ref_cap[oid]):
            _fail(f"{heap.describe(oid)} has {length} items but was allocated with "
                  f"{int(t.ref_cap[oid])}: a tuple's size is fixed")
        elif kind is Kind.INSTANCE:
            low, high = heap.instance_slot_range(info)
            if not low <= length <= high:
                _fail(f"{heap.describe(oid)} has {length} slots; its layout has "
                      f"{low if low == high else f'{low} to {high}'}")


def _check_unique(heap: HeapCore, oid: int, codes: list[int], what: str) -> None:
    present = [c for c in codes if c != NULL]
    if len(set(present)) != len(present):
        twice = next(c for c in present if present.count(c) > 1)
        _fail(f"{heap.describe(oid)} holds the {what} {heap.describe_code(twice)} twice")


def _check_names(heap: HeapCore, oid: int, codes: list[int]) -> None:
    for code in codes:
        if code != NULL and (code >= 0 or not isinstance(heap.atoms.value(code), str)):
            _fail(f"{heap.describe(oid)} has the name {heap.describe_code(code)}: names are "
                  f"str atoms")


def _check_static(heap: HeapCore) -> None:
    """The simulation's static references are held; the empty tuple is what it should be."""
    t = heap.table
    for oid, count in heap.static_refs.items():
        if not t.is_alive(oid):
            _fail(f"object {oid}, held by a static reference, was freed")
        if int(t.extern[oid]) < count:
            _fail(f"{heap.describe(oid)}: {count} static reference(s) but only "
                  f"{int(t.extern[oid])} external")
    empty = heap.empty_tuple
    if heap.static_refs.get(empty, 0) < 1:
        _fail(f"the empty tuple {heap.describe(empty)} has lost its static reference")
    if heap.type_of(empty).kind is not Kind.TUPLE or t.ref_len[empty] != 0:
        _fail(f"the empty tuple is {heap.describe(empty)} with {int(t.ref_len[empty])} slots")
    if t.flags[empty] & TRACKED:
        _fail(f"the empty tuple {heap.describe(empty)} is tracked")


def _check_at_rest(heap: HeapCore) -> None:
    """Nothing an operation leaves behind while it runs is left once it returned."""
    t = heap.table
    if heap.trash_nesting != 0:
        _fail(f"trashcan nesting is {heap.trash_nesting} at rest (a deallocation stopped "
              f"half way)")
    for oid, count in Counter(heap._deferred_releases).items():
        # proxies the host's collector freed: their references go back at the next operation
        if not t.is_alive(oid) or int(t.extern[oid]) < count:
            _fail(f"a deferred proxy release of {heap.describe(oid)} has no external "
                  f"reference left to give back")
    waiting = heap.trash_delete_later.tolist()
    if waiting and not heap.profile.trashcan_instance_shift:
        _fail(f"{len(waiting)} object(s) left in the trashcan's delete_later at rest: "
              f"{', '.join(heap.describe(o) for o in waiting[:5])}")
    if len(set(waiting)) != len(waiting):
        _fail("the trashcan's delete_later holds an object twice")
    for oid in waiting:
        if not t.is_alive(oid) or t.refcnt[oid] != 0 or t.flags[oid] & TRACKED:
            _fail(f"{heap.describe(oid)} waits in delete_later but is not an untracked "
                  f"object with refcount 0")
    if heap.defers_frees:  # count 0 is normal: such objects wait for their collector
        return
    deferred = set(waiting)
    for oid in _live(heap):
        if t.refcnt[oid] == 0 and oid not in deferred:
            _fail(f"{heap.describe(oid)} is alive with refcount 0 at rest")
