"""``gclab demo``: the scenarios of a typical GC tutorial, run on a simulated heap and narrated.

Every number printed is computed by the simulation; the differential tests check the same
scenarios against real interpreters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from .simheap import Heap


class Narrator:
    """Prints a scenario's story: headings, the code being run, and what happened."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def title(self, text: str) -> None:
        self.console.rule(f"[bold]{text}")

    def code(self, text: str) -> None:
        self.console.print(f"[cyan]>>> {escape(text)}[/cyan]", highlight=False)

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False)


def refcounts(heap: Heap, n: Narrator) -> None:
    """Reference counts go up with every reference and down when one goes away."""
    n.title("1. Reference counting")
    n.say("heap.getrefcount(x) counts like sys.getrefcount(x): the argument is one more")
    n.code("a = heap.list()")
    a = heap.list()
    n.say(f"heap.getrefcount(a): {heap.getrefcount(a)}  (the variable a and the argument)")
    n.code("b = heap.list([a]); c = heap.dict(x=a)")
    b = heap.list([a])
    c = heap.dict(x=a)
    n.say(f"heap.getrefcount(a): {heap.getrefcount(a)}  (a, b[0], c['x'] and the argument)")
    n.code("del b")
    del b
    n.say(f"heap.getrefcount(a): {heap.getrefcount(a)}  (b was freed at once, releasing a)")
    n.code("c.clear()")
    c.clear()
    n.say(f"heap.getrefcount(a): {heap.getrefcount(a)}  (a and the argument)")
    del a, c


def frame_return(heap: Heap, n: Narrator) -> None:
    """A local dies when its function returns."""
    n.title("2. A local is freed when its frame returns")
    log: list[str] = []

    @heap.cls
    class Resource:
        def __init__(self, name: str) -> None:
            self.name = name

        def __del__(self) -> None:
            log.append(self.name)

    n.code("with heap.frame() as f:  f.r = Resource('temp')")
    with heap.frame() as f:
        f.r = Resource("temp")
        rid = heap.id_of(f.r)
        n.say(f"inside the frame: heap.refcount(id of f.r) = {heap.refcount(rid)} (only the "
              f"frame's local holds it), freed so far: {log}")
    n.say(f"after the return: freed {log} by reference counting, no collection needed")


def dict_cycle(heap: Heap, n: Narrator) -> None:
    """A cycle survives reference counting; the cycle detector finds it."""
    n.title("3. Cycles survive reference counting; collect() finds them")
    gc = heap.gc
    gc.collect()
    n.code("lst = heap.list(); lst.append(lst)")
    lst = heap.list()
    lst.append(lst)
    n.code('a = heap.dict(); b = heap.dict(); a["b"] = b; b["a"] = a')
    a, b = heap.dict(), heap.dict()
    a["b"] = b
    b["a"] = a
    n.code("del lst, a, b")
    del lst, a, b
    n.say(f"after del, {len(gc.get_objects())} tracked objects are still alive: each cycle "
          f"keeps its own reference counts above zero")
    n.say(f"gc.collect() -> {gc.collect()}   (the list and both dicts)")
    n.say(f"gc.collect() -> {gc.collect()}   (nothing left)")


def finalizer_cycle(heap: Heap, n: Narrator) -> None:
    """Two objects with __del__ in a cycle: PEP 442 collects them; 2.7 could not."""
    n.title("4. Finalizers in a cycle (PEP 442)")

    @heap.cls
    class A:
        def __init__(self, b: Any = None) -> None:
            self.b = b

        def __del__(self) -> None:
            n.say("  deleting an A")

    n.code("x = A(); y = A(x); x.b = y; del x, y")
    x = A()
    y = A(x)
    x.b = y
    del x, y
    n.say(f"gc.collect() -> {heap.gc.collect()}; gc.garbage = {heap.gc.garbage}")
    old = Heap(profile="2.7")
    LegacyA = old.cls(_legacy_a())
    x = LegacyA()
    y = LegacyA(x)
    x.b = y
    del x, y
    n.say(f"the same on profile 2.7: gc.collect() -> {old.gc.collect()} (instances and their "
          f"__dict__s), gc.garbage holds {len(old.gc.garbage)} uncollectable A objects")


def _legacy_a() -> type:
    class A:
        def __init__(self, b: Any = None) -> None:
            self.b = b

        def __del__(self) -> None:
            pass

    return A


def weak_reference(heap: Heap, n: Narrator) -> None:
    """A weak reference does not keep its object alive; its callback runs when it dies."""
    n.title("5. Weak references and callbacks")

    @heap.cls
    class Node:
        me: Any

    n.code("node = Node(); node.me = node; r = heap.weakref(node, callback)")
    node = Node()
    node.me = node
    r = heap.weakref(node, lambda wr: n.say(f"  callback: {wr!r} is dead"))
    n.say(f"r() is node: {r() is node}; heap.getrefcount(node): {heap.getrefcount(node)} "
          f"(node, node.me and the argument: a weak reference does not count)")
    n.code("del node; gc.collect()")
    del node
    n.say(f"gc.collect() -> {heap.gc.collect()}; r() -> {r()}")


def thresholds(heap: Heap, n: Narrator) -> None:
    """Automatic collections fire as allocations push count[0] past threshold 0."""
    n.title("6. Thresholds (700, 10, 10) firing as objects are allocated")
    gc = heap.gc
    gc.collect()
    n.say(f"thresholds {gc.get_threshold()}, counts {gc.get_count()}")
    n.code("for i in range(10000): x = Node(); x.me = x   # one garbage cycle per iteration")

    @heap.cls
    class Node:
        me: Any

    for _ in range(10000):
        x = Node()
        x.me = x
    del x
    events = [(r.generation, r.collected) for r in heap.history if r.reason == "automatic"]
    gens = [g for g, _ in events]
    n.say(f"{len(events)} automatic collections: {gens.count(0)} of generation 0, "
          f"{gens.count(1)} of generation 1, {gens.count(2)} of generation 2")
    n.say(f"first ones (generation, collected): {events[:3]}; counts now {gc.get_count()}")


def saveall(heap: Heap, n: Narrator) -> None:
    """DEBUG_SAVEALL keeps what the collector found in gc.garbage instead of freeing it."""
    n.title("7. DEBUG_SAVEALL")
    gc = heap.gc
    gc.set_debug(gc.DEBUG_SAVEALL)
    n.code("gc.set_debug(gc.DEBUG_SAVEALL); l = heap.list(); l.append(l); del l")
    lst = heap.list()
    lst.append(lst)
    del lst
    n.say(f"gc.collect() -> {gc.collect()}; gc.garbage = {gc.garbage}")
    gc.set_debug(0)
    gc.garbage.clear()
    n.say(f"after clearing gc.garbage the cycle is garbage again: gc.collect() -> "
          f"{gc.collect()}")


def manual_collection(heap: Heap, n: Narrator) -> None:
    """Automatic collection off; collect every N simulated seconds, or after an event."""
    n.title("8. Manual collection: time-based and event-based")
    gc = heap.gc
    gc.disable()
    n.code("gc.disable()   # then 30 'requests', each leaving one garbage cycle")
    clock, last, timed = 0.0, 0.0, []
    for request in range(30):
        clock += 0.4  # simulated seconds per request
        junk = heap.dict()
        junk["self"] = junk
        del junk
        if clock - last >= 5.0:
            timed.append((request, gc.collect()))
            last = clock
    n.say(f"time-based (every 5 simulated s): collections after requests "
          f"{[r for r, _ in timed]} freed {[c for _, c in timed]}")
    n.code("on the event 'batch finished': gc.collect()")
    n.say(f"event-based: gc.collect() -> {gc.collect()} (the leftovers)")
    gc.enable()


SCENARIOS: list[Callable[[Heap, Narrator], None]] = [
    refcounts, frame_return, dict_cycle, finalizer_cycle, weak_reference, thresholds, saveall,
    manual_collection,
]


def run_demo(profile: str = "3.12", console: Console | None = None) -> None:
    """Run every scenario on a fresh heap of ``profile``."""
    narrator = Narrator(console or Console())
    for scenario in SCENARIOS:
        scenario(Heap(profile=profile), narrator)
