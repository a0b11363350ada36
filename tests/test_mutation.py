"""The mutation surface (``gclab.heap.mutation``): each event kind, their order, the write
barrier, the compiled paths with and without listeners, listener misuse and listener errors.

Expected event sequences are worked out by hand from CPython's semantics (which reference is
written, held and released when); rewrites of whole lists are checked by replaying their events
on the old slots. ``tests/properties/test_mutation_rebuild.py`` checks random programs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gclab
from gclab.errors import ListenerError
from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.mutation import BaseListener, EventLog, MutationListener, OneAtATimeBarrier
from gclab.heap.table import NULL
from gclab.kernels import ENABLED
from rebuild import Rebuild


def _logged(heap: HeapCore) -> EventLog:
    log = EventLog()
    heap.add_listener(log)
    return log


class Barrier(OneAtATimeBarrier):
    """Records what the barrier is called with (bulk calls as one tuple of lists)."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def write_barrier(self, oid: int, old: int, new: int) -> None:
        self.seen.append((oid, old, new))

    def write_barrier_many(self, oids: Any, olds: Any, news: Any) -> None:
        self.seen.append(("many", oids.tolist(), olds.tolist(), news.tolist()))


@pytest.fixture
def reported() -> Iterator[list[Any]]:
    """What reaches ``sys.unraisablehook`` during the test."""
    seen: list[Any] = []
    old, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        yield seen
    finally:
        sys.unraisablehook = old


# -- each event kind ----------------------------------------------------------------------------


def test_alloc_then_the_callers_reference() -> None:
    """alloc is a row with NULL slots and no reference; the caller's is an incref."""
    heap = HeapCore()
    log = _logged(heap)
    a = heap.alloc("list", 2)
    heap.incref(a)
    heap.decref(a)
    lst = heap.types.by_name("list").type_id
    assert log.events == [("alloc", a, lst, 2), ("incref", a), ("incref", a), ("decref", a)]


def test_insert_delete_and_store_in_the_middle_of_a_list() -> None:
    """A slot inserted before index 1, the first deleted (the others shift), one overwritten;
    an object whose last reference was the deleted slot is freed right after the delete."""
    heap = HeapCore()
    x, y, z = (heap.alloc("list") for _ in range(3))
    a = heap.alloc("list")
    heap.append_slot(a, x)
    heap.append_slot(a, y)
    heap.decref(x)  # x lives by a's slot only
    log = _logged(heap)
    heap.insert_slot(a, 1, z)  # [x, z, y]
    heap.delete_slot(a, 0)  # [z, y]
    heap.set_slot(a, 1, NULL)  # [z, NULL]
    assert log.events == [("insert", a, 1, z), ("delete", a, 0, x), ("free", x),
                          ("store", a, 1, y, NULL)]
    assert heap.slots(a) == [z, NULL]


def test_a_frames_return_deletes_its_slots_last_to_first() -> None:
    """Truncation: the frame's slots (name, value pairs) are deleted from the last one, then the
    values are released in slot order (their frees follow)."""
    heap = gclab.Heap("3.12")
    frame = heap.frame()
    fid = heap.id_of(frame)
    with frame:
        frame.p = heap.list()
        frame.q = heap.list()
        p, q = heap.dict_get(fid, heap.atom("p")), heap.dict_get(fid, heap.atom("q"))
        log = _logged(heap)
    assert log.events == [("delete", fid, 3, q), ("delete", fid, 2, heap.atom("q")),
                          ("delete", fid, 1, p), ("delete", fid, 0, heap.atom("p")),
                          ("free", p), ("free", q)]


@pytest.mark.parametrize("kernel", [True, False])
def test_the_collectors_tp_clear_and_frees_are_heard(kernel: bool) -> None:
    """a -> b -> a dropped and collected: delete_garbage clears a (its slot deleted), b dies
    (its slot is not written: freed), then a once the collector's hold on it goes."""
    heap = gclab.Heap("3.12")
    if not kernel:
        heap.dealloc_kernel = None
    a, b = heap.alloc("list"), heap.alloc("list")
    heap.append_slot(a, b)
    heap.append_slot(b, a)
    heap.decref_many([a, b])
    log = _logged(heap)
    assert heap.gc.collect() == 2
    assert log.events == [("delete", a, 0, b), ("free", b), ("free", a)]


def test_bulk_set_slots_is_one_store_many_before_the_releases() -> None:
    """The kernel's stores arrive as one store_many of read-only arrays in batch order, before
    the overwritten reference is released (and its object freed)."""
    heap = HeapCore()
    x, y = heap.alloc("list"), heap.alloc("list")
    a = heap.alloc("list", 2)
    heap.set_slot(a, 0, x)
    heap.decref(x)

    class Batches(EventLog):
        def store_many(self, oids: Any, indices: Any, olds: Any, news: Any) -> None:
            with pytest.raises(ValueError):
                olds[0] = 7  # read-only
            self.events.append(("store_many", oids.tolist(), indices.tolist(), olds.tolist(),
                                news.tolist()))

    log = Batches()
    heap.add_listener(log)
    heap.set_slots([a, a, a], [0, 1, 1], [y, y, heap.atom(1)])
    assert log.events == [("store_many", [a, a, a], [0, 1, 1], [x, NULL, y],
                           [y, y, heap.atom(1)]), ("free", x)]
    default = EventLog()  # BaseListener's store_many: one store per entry
    heap.add_listener(default)
    heap.set_slots(np.array([a], np.int32), [0], [NULL])
    assert default.events == [("store", a, 0, y, NULL)]


def test_bulk_allocations_and_drops_are_told_one_object_at_a_time() -> None:
    """alloc_many as alloc + incref per object; decref_many as a loop of decref: a drop that
    leaves the count above zero, then the one that frees."""
    heap = HeapCore()
    log = _logged(heap)
    a, b = heap.alloc_many("list", 2, 1).tolist()
    heap.incref(a)
    heap.decref_many([a, b, a])
    lst = heap.types.by_name("list").type_id
    assert log.events == [("alloc", a, lst, 1), ("incref", a), ("alloc", b, lst, 1),
                          ("incref", b), ("incref", a), ("decref", a), ("decref", b),
                          ("free", b), ("decref", a), ("free", a)]


def test_empty_tuples_in_bulk_are_increfs_of_the_shared_one() -> None:
    heap = HeapCore()
    log = _logged(heap)
    heap.alloc_many("tuple", 3, 0)
    assert log.events == [("incref", heap.empty_tuple)] * 3


def test_dict_delete_removes_key_and_value_then_releases_them() -> None:
    """dict_delete: both slots removed (the value shifts into the key's place), then the key
    released, then the value (each freed at its release)."""
    heap = gclab.Heap("3.12")

    @heap.cls
    class Key:
        pass

    d = heap.dict()
    d[Key()] = heap.list()  # key and value live by the dict only
    did = heap.id_of(d)
    k, v = heap.table.slot_list(did)
    log = _logged(heap)
    heap.dict_delete(did, k)
    assert log.events == [("delete", did, 0, k), ("delete", did, 0, v), ("free", k),
                          ("free", v)]


def _replayed(olds: list[int], events: list[tuple[Any, ...]], oid: int) -> list[int]:
    """Apply the slot events of ``oid`` to ``olds`` (a small independent interpreter)."""
    slots = list(olds)
    for event in events:
        if event[0] == "store" and event[1] == oid:
            assert slots[event[2]] == event[3]
            slots[event[2]] = event[4]
        elif event[0] == "insert" and event[1] == oid:
            slots.insert(event[2], event[3])
        elif event[0] == "delete" and event[1] == oid:
            assert slots[event[2]] == event[3]
            del slots[event[2]]
    return slots


REWRITES: dict[str, Callable[[Any, list[Any]], None]] = {
    "sort": lambda lst, items: lst.sort(key=lambda v: -v if isinstance(v, int) else 0),
    "reverse": lambda lst, items: lst.reverse(),
    "slice": lambda lst, items: lst.__setitem__(slice(1, 3), [items[0], 9, 9, 9]),
    "shrink": lambda lst, items: lst.__setitem__(slice(0, 4), [items[1]]),
    "del_step": lambda lst, items: lst.__delitem__(slice(None, None, 2)),
    "extend": lambda lst, items: lst.extend(items),
    "imul": lambda lst, items: lst.__imul__(2),
    "clear": lambda lst, items: lst.clear(),
}


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_list_rewrites_replay_to_the_new_slots(name: str) -> None:
    """A whole-list rewrite's events, applied in order to the old slots, give the new ones."""
    heap = gclab.Heap("3.12")
    items = [heap.list(), heap.dict()]
    lst = heap.list([3, items[0], 1, items[1], 2])
    oid = heap.id_of(lst)
    olds = heap.table.slot_list(oid)
    log = _logged(heap)
    REWRITES[name](lst, items)
    assert heap.table.slot_list(oid) != olds  # every rewrite here changes the list
    assert _replayed(olds, log.events, oid) == heap.table.slot_list(oid)


def test_a_store_is_heard_before_the_old_value_dies() -> None:
    """Py_XSETREF: the store, then the release of the old value (its free)."""
    heap = gclab.Heap("3.12")
    lst = heap.list([heap.list()])
    old = heap.table.slot_list(heap.id_of(lst))[0]
    log = _logged(heap)
    lst[0] = 5
    assert log.events == [("store", heap.id_of(lst), 0, old, heap.atom(5)), ("free", old)]


@pytest.mark.parametrize("kernel", [True, False])
def test_a_cascade_is_heard_free_by_free_in_the_order_of_the_frees(kernel: bool) -> None:
    """A 300-long chain (the trashcan defers part of it): free events in the order of
    ``free_listeners`` (the table's own hook), after the decref that started them."""
    heap = gclab.Heap("3.11")
    if not kernel:
        heap.dealloc_kernel = None
    head = heap.alloc("list")
    prev = head
    for _ in range(300):
        nxt = heap.alloc("list")
        heap.append_slot(prev, nxt)
        heap.decref(nxt)
        prev = nxt
    frees: list[int] = []
    heap.table.free_listeners.append(frees.append)
    log = _logged(heap)
    heap.decref(head)
    assert log.events == [("decref", head)] + [("free", oid) for oid in frees]
    assert len(frees) == 301


def test_replay_describes_the_heap_as_it_stands() -> None:
    """A listener added with replay=True rebuilds the whole heap, then follows it."""
    heap = gclab.Heap("3.10")
    keep = heap.list([heap.dict(a=heap.list()), heap.tuple([1])])
    heap.globals.g = keep

    @heap.cls
    class A:
        pass

    obj = A()
    obj.x = keep
    rebuild = Rebuild()
    heap.add_listener(rebuild, replay=True)
    rebuild.check(heap)
    keep.append(obj)
    del obj
    heap.globals.g = None
    rebuild.check(heap)


# -- the write barrier --------------------------------------------------------------------------


def test_barrier_sees_every_slot_write() -> None:
    """store (oid, old, new); insert (oid, NULL, new); delete (oid, old, NULL); a bulk store
    once with arrays; tp_clear's deletes in a collection. No alloc, free or external event."""
    heap = gclab.Heap("3.12")
    barrier = Barrier()
    heap.barrier = barrier
    a, b = heap.alloc("list"), heap.alloc("list")
    heap.append_slot(a, b)
    heap.insert_slot(a, 0, heap.atom(1))
    heap.set_slot(a, 0, a)
    heap.set_slots([a], [1], [NULL])
    heap.delete_slot(a, 1)
    heap.decref(b)
    heap.decref(a)
    assert heap.gc.collect() == 1
    assert barrier.seen == [(a, NULL, b), (a, NULL, heap.atom(1)), (a, heap.atom(1), a),
                            ("many", [a], [b], [NULL]), (a, NULL, NULL), (a, a, NULL)]
    heap.barrier = None
    heap.append_slot(heap.alloc("list"), heap.atom(2))
    assert len(barrier.seen) == 6


def test_barrier_installation_is_checked() -> None:
    """TypeError for a non-barrier, ListenerError for a second one; nothing changes."""
    heap = HeapCore()
    for bad in (object(), Barrier, EventLog()):
        with pytest.raises(TypeError, match="write barrier"):
            heap.barrier = bad  # type: ignore[assignment]
        assert heap.barrier is None and not heap._watched
    first = Barrier()
    heap.barrier = first
    with pytest.raises(ListenerError, match="already"):
        heap.barrier = Barrier()
    assert heap.barrier is first
    heap.barrier = None
    heap.barrier = None  # removing none is fine
    assert not heap._watched


# -- kernels with and without listeners ---------------------------------------------------------


@pytest.mark.skipif(not ENABLED, reason="the compiled kernels are off (GCLAB_JIT=0)")
def test_compiled_paths_switch_with_the_watchers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody watching: tp_clear compiled. A listener or a barrier: tp_clear on its Python
    twin, while refcount cascades keep running in the kernel."""
    heap = gclab.Heap()
    assert heap._clear_compiled()
    log = _logged(heap)
    assert not heap._clear_compiled()
    kernel_calls: list[int] = []
    resume = type(heap.dealloc_kernel).resume

    def counting(self: Any, heap: Any, base: int) -> tuple[int, int]:
        kernel_calls.append(base)
        return resume(self, heap, base)

    monkeypatch.setattr(type(heap.dealloc_kernel), "resume", counting)
    a = heap.alloc("list")
    heap.append_slot(a, heap.alloc("list"))
    heap.decref(a)
    assert kernel_calls and ("free", a) in log.events
    heap.remove_listener(log)
    assert heap._clear_compiled()
    heap.barrier = Barrier()
    assert not heap._clear_compiled()


# -- misuse and errors --------------------------------------------------------------------------


def test_listener_misuse_is_a_typed_error_and_changes_nothing() -> None:
    heap = HeapCore()

    class NoFree:
        def alloc(self, *args: int) -> None: ...
        def store(self, *args: int) -> None: ...
        def insert(self, *args: int) -> None: ...
        def delete(self, *args: int) -> None: ...
        def incref(self, oid: int) -> None: ...
        def decref(self, oid: int) -> None: ...
        def store_many(self, *args: Any) -> None: ...

    for bad in (object(), EventLog, NoFree(), Barrier()):
        with pytest.raises(TypeError, match="mutation listener"):
            heap.add_listener(bad)  # type: ignore[arg-type]
    assert heap.listeners == () and not heap._watched and heap.table.free_listeners == []
    log = _logged(heap)
    with pytest.raises(ListenerError, match="already"):
        heap.add_listener(log)
    with pytest.raises(ListenerError, match="does not listen"):
        heap.remove_listener(EventLog())
    assert heap.listeners == (log,) and len(heap.table.free_listeners) == 1
    heap.remove_listener(log)
    with pytest.raises(ListenerError, match="does not listen"):
        heap.remove_listener(log)
    assert heap.listeners == () and not heap._watched and heap.table.free_listeners == []
    assert isinstance(BaseListener(), MutationListener)


def test_no_listener_is_added_while_a_deallocation_runs() -> None:
    """From a __del__ run by a cascade: ListenerError (and the listener is not attached); from
    a weakref callback run by a collection before delete_garbage: allowed, and the listener
    hears that collection's tp_clear."""
    heap = gclab.Heap("3.12")
    errors: list[BaseException] = []
    late = EventLog()

    @heap.cls
    class A:
        def __del__(self) -> None:
            try:
                self._heap.add_listener(late)
            except ListenerError as exc:
                errors.append(exc)

    a = A()
    del a
    assert len(errors) == 1 and heap.listeners == ()

    @heap.cls
    class B:
        pass

    b, c = B(), heap.list()
    c.append(c)
    b.c = c
    b.me = b
    cb = heap.weakref(b, lambda ref: ref._heap.add_listener(late))
    c_id = heap.id_of(c)
    del b, c
    heap.gc.collect()
    assert heap.listeners == (late,)
    assert ("delete", c_id, 0, c_id) in late.events
    del cb


def test_a_listener_error_is_reported_and_the_heap_goes_on(reported: list[Any]) -> None:
    """A listener that raises: the exception goes to sys.unraisablehook, the write is done, the
    next listener hears the event, the heap is consistent."""
    heap = HeapCore()

    class Failing(BaseListener):
        def store(self, oid: int, index: int, old: int, new: int) -> None:
            raise KeyError("a broken listener")

    failing, log = Failing(), EventLog()
    heap.add_listener(failing)
    heap.add_listener(log)
    a = heap.alloc("list", 1)
    heap.set_slot(a, 0, a)
    assert heap.slots(a) == [a]
    assert log.events[-1] == ("store", a, 0, NULL, a)
    assert len(reported) == 1 and reported[0].exc_type is KeyError
    assert reported[0].object == failing.store
    check_invariants(heap, strict=True)


def test_a_barrier_error_is_reported_too(reported: list[Any]) -> None:
    heap = HeapCore()

    class Failing(OneAtATimeBarrier):
        def write_barrier(self, oid: int, old: int, new: int) -> None:
            raise RuntimeError("a broken barrier")

    heap.barrier = Failing()
    a = heap.alloc("list")
    heap.append_slot(a, a)
    heap.set_slots([a], [0], [NULL])
    assert heap.slots(a) == [NULL]
    assert [r.exc_type for r in reported] == [RuntimeError, RuntimeError]
    check_invariants(heap, strict=True)


# -- one surface --------------------------------------------------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "gclab"
# Direct writes of slots or external references: allowed only in the surface itself, the table
# (the primitives the surface wraps) and the bulk API and its compiled passes (their writes are
# told afterwards).
DIRECT = re.compile(r"table\.(put|insert|remove|truncate)\(|\.pool\[[^\]]*\]\s*=[^=]"
                    r"|extern\[[^\]]*\]\s*[-+]?=[^=]")
# heap/fastpath.py, heap/fastslots.py: the flat one-object twins write directly, and run only
# while nothing watches (``heap._watched`` false: no listener, no barrier)
ALLOWED = {"heap/mutation.py", "heap/table.py", "heap/bulk.py", "heap/_jit_bulk.py",
           "heap/fastpath.py", "heap/fastslots.py"}


def test_every_path_writes_through_the_surface() -> None:
    """No module outside the surface writes a slot or an external count directly (kernels
    write through arrays passed to them: the cascade's tp_clear is off while watched)."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in ALLOWED or name.startswith("kernels/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DIRECT.search(line.split("#")[0]):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "direct writes outside gclab.heap.mutation:\n" + "\n".join(offenders)
