"""``gclab demo``: the scenarios of a typical GC tutorial, run on a simulated heap and narrated.

Every number printed is computed by the simulation; the differential tests check the same
scenarios against real interpreters. The narration follows the profile: on ``2.7`` it tells
what Python 2.7 does and names nothing 2.7 lacks.

Each scenario is also recorded: its name, its title, and one step per piece of code shown, with
what the simulated program printed and the values the narration reports. ``gclab demo --json``
prints that record; :func:`record_demo` returns it.

>>> record = record_demo("3.12")
>>> [s["name"] for s in record["scenarios"]][:3]
['refcounts', 'frame_return', 'dict_cycle']
>>> cycle = record["scenarios"][2]
>>> [(step["code"], step["values"]) for step in cycle["steps"]][-2:]
[('gc.collect()', {'collected': 3}), ('gc.collect()', {'collected': 0})]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from rich.console import Console
from rich.text import Text

from . import __version__
from .simheap import Heap

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
_C = TypeVar("_C", bound=type)


def to_json(value: object) -> JSON:
    """``value`` as JSON data: numbers, strings, booleans and None as they are, host lists and
    tuples as lists, host dicts with string keys as objects, anything else (a heap object, a
    weak reference) as its repr — the text the narration shows for it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: to_json(item) for key, item in value.items()}
    return repr(value)


class Narrator:
    """Tells a scenario's story and records it.

    ``code`` shows a piece of the tutorial's program and opens a step; ``printed`` is what the
    simulated program itself prints (a ``__del__``, a weakref callback); ``say`` explains a
    result and records the values it quotes under the current step. With ``console=None``
    nothing is printed, only recorded.
    """

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.scenarios: list[dict[str, JSON]] = []
        self._steps: list[JSON] = []
        self._step: dict[str, JSON] | None = None

    def begin(self, name: str, title: str) -> None:
        """Start scenario ``name`` under the heading ``title``."""
        number = len(self.scenarios) + 1
        self._steps = []
        self._step = None
        self.scenarios.append({"name": name, "title": title, "steps": self._steps})
        if self.console is not None:
            self.console.rule(Text(f"{number}. {title}", style="bold"))

    def code(self, source: str) -> None:
        """Show ``source`` (lines after the first are continuation lines) and open a step."""
        self._step = {"code": source, "output": [], "values": {}}
        self._steps.append(self._step)
        if self.console is not None:
            lines = source.split("\n")
            shown = "\n".join([f">>> {lines[0]}", *(f"... {line}" for line in lines[1:])])
            self.console.print(Text(shown, style="cyan"), soft_wrap=True)

    def printed(self, text: str) -> None:
        """A line the simulated program printed while the current step ran."""
        output = self._current()["output"]
        assert isinstance(output, list)
        output.append(text)
        if self.console is not None:
            self.console.print(Text(f"  {text}"), soft_wrap=True)

    def say(self, template: str, **values: object) -> None:
        """Explain a result: ``template`` formatted with ``values``, which are recorded."""
        recorded = self._current()["values"]
        assert isinstance(recorded, dict)
        for key, value in values.items():
            if key in recorded:
                raise ValueError(f"step {self._current()['code']!r} already has {key!r}")
            recorded[key] = to_json(value)
        if self.console is not None:
            self.console.print(Text(template.format(**values)))

    def _current(self) -> dict[str, JSON]:
        if self._step is None:
            raise RuntimeError("a scenario shows its code before it reports a result")
        return self._step


def _script_class(cls: _C) -> _C:
    """Name a class defined inside a scenario as a tutorial script's own class is named
    (``__main__.A``), so its instances' reprs read ``<__main__.A object at 0x..>`` rather than
    showing the host function it was defined in."""
    cls.__module__ = "__main__"
    cls.__qualname__ = cls.__name__
    return cls


def _class(heap: Heap, name: str) -> str:
    """The header of a class statement as the profile's Python writes it: on 2.7 a class
    derives from object (``class A:`` would make an old-style class, which gclab does not
    simulate)."""
    return f"class {name}(object):" if heap.profile.version < (3, 0) else f"class {name}:"


def _separate_dicts(heap: Heap) -> bool:
    """True when an instance keeps its attributes in a separate __dict__ object (≤3.10)."""
    return heap.profile.instance_dict == "separate"


def refcounts(heap: Heap, n: Narrator) -> None:
    """Reference counts go up with every reference and down when one goes away."""
    n.begin("refcounts", "Reference counting")
    n.code("a = heap.list()")
    a = heap.list()
    n.say("heap.getrefcount(a): {refcount}  (the variable a and the argument: it counts like "
          "sys.getrefcount)", refcount=heap.getrefcount(a))
    n.code("b = heap.list([a]); c = heap.dict(x=a)")
    b = heap.list([a])
    c = heap.dict(x=a)
    n.say("heap.getrefcount(a): {refcount}  (a, b[0], c['x'] and the argument)",
          refcount=heap.getrefcount(a))
    n.code("del b")
    del b
    n.say("heap.getrefcount(a): {refcount}  (b was freed at once, releasing a)",
          refcount=heap.getrefcount(a))
    n.code("c.clear()")
    c.clear()
    n.say("heap.getrefcount(a): {refcount}  (a and the argument)", refcount=heap.getrefcount(a))
    del a, c


def frame_return(heap: Heap, n: Narrator) -> None:
    """A local dies when its function returns."""
    n.begin("frame_return", "A local is freed when its frame returns")
    log: list[str] = []

    @heap.cls
    @_script_class
    class Resource:
        def __init__(self, name: str) -> None:
            self.name = name

        def __del__(self) -> None:
            log.append(self.name)

    n.code("log = []")
    n.code("@heap.cls\n"
           f"{_class(heap, 'Resource')}\n"
           "    def __init__(self, name): self.name = name\n"
           "    def __del__(self): log.append(self.name)")
    n.code("with heap.frame() as f:\n    f.r = Resource('temp')")
    with heap.frame() as f:
        f.r = Resource("temp")
        rid = heap.id_of(f.r)
        n.say("inside the frame: heap.refcount(id of f.r) = {refcount} (only the frame's "
              "local holds it), freed so far: {freed_inside}",
              refcount=heap.refcount(rid), freed_inside=list(log))
    n.say("after the return: freed {freed_after} by reference counting, no collection needed",
          freed_after=list(log))


def dict_cycle(heap: Heap, n: Narrator) -> None:
    """A cycle survives reference counting; the cycle detector finds it."""
    n.begin("dict_cycle", "Cycles survive reference counting; collect() finds them")
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
    n.code("len(gc.get_objects())")
    n.say("{tracked} tracked objects are still alive on the heap: each cycle keeps its own "
          "reference counts above zero", tracked=len(gc.get_objects()))
    n.code("gc.collect()")
    n.say("{collected}   (the list and both dicts)", collected=gc.collect())
    n.code("gc.collect()")
    n.say("{collected}   (nothing left)", collected=gc.collect())


def finalizer_cycle(heap: Heap, n: Narrator) -> None:
    """Two objects with __del__ in a cycle: PEP 442 (3.4+) collects them; 2.7 cannot."""
    legacy = heap.profile.legacy_finalizers
    n.begin("finalizer_cycle", "Finalizers in a cycle: uncollectable" if legacy
            else "Finalizers in a cycle (PEP 442)")
    source = ("@heap.cls\n"
              f"{_class(heap, 'A')}\n"
              "    def __init__(self, b=None): self.b = b\n"
              "    def __del__(self): print('deleting an A')")

    @heap.cls
    @_script_class
    class A:
        def __init__(self, b: Any = None) -> None:
            self.b = b

        def __del__(self) -> None:
            n.printed("deleting an A")

    n.code(source)
    n.code("x = A(); y = A(x); x.b = y; del x, y")
    x = A()
    y = A(x)
    x.b = y
    del x, y
    what = ("the two A objects and their __dict__s" if _separate_dicts(heap)
            else "the two A objects")
    n.code("gc.collect(); gc.garbage")
    collected = heap.gc.collect()
    garbage = list(heap.gc.garbage)
    if legacy:
        n.say(f"gc.collect() -> {{collected}} ({what}), gc.garbage = {{garbage}}: the "
              f"collector cannot know in which order to call the __del__ methods, so it calls "
              f"none and leaves the cycle in gc.garbage, uncollectable", collected=collected,
              garbage=garbage)
        return
    n.say(f"gc.collect() -> {{collected}} ({what}); gc.garbage = {{garbage}}: each __del__ "
          f"ran once, then the cycle was freed", collected=collected, garbage=garbage)
    old = Heap(profile="2.7")
    LegacyA = old.cls(_legacy_a())
    x = LegacyA()
    y = LegacyA(x)
    x.b = y
    del x, y
    n.say("the same code on profile 2.7 (before PEP 442, Python 3.4): gc.collect() -> "
          "{collected_on_2_7} (instances and their __dict__s), no __del__ runs, gc.garbage "
          "holds {garbage_on_2_7} uncollectable A objects", collected_on_2_7=old.gc.collect(),
          garbage_on_2_7=len(old.gc.garbage))


def _legacy_a() -> type:
    @_script_class
    class A:
        def __init__(self, b: Any = None) -> None:
            self.b = b

        def __del__(self) -> None:
            pass

    return A


def weak_reference(heap: Heap, n: Narrator) -> None:
    """A weak reference does not keep its object alive; its callback runs when it dies."""
    n.begin("weak_reference", "Weak references and callbacks")

    @heap.cls
    @_script_class
    class Node:
        me: Any

    n.code(f"@heap.cls\n{_class(heap, 'Node')} pass")
    n.code("def callback(wr): print('callback: %r is dead' % wr)")
    n.code("node = Node(); node.me = node; r = heap.weakref(node, callback)")
    node = Node()
    node.me = node
    r = heap.weakref(node, lambda wr: n.printed(f"callback: {wr!r} is dead"))
    n.say("r() is node: {alive}; heap.getrefcount(node): {refcount} (node, node.me and the "
          "argument: a weak reference does not count)", alive=r() is node,
          refcount=heap.getrefcount(node))
    n.code("del node; gc.collect()")
    del node
    what = "node and its __dict__" if _separate_dicts(heap) else "node"
    n.say(f"gc.collect() -> {{collected}} ({what}); r() -> {{referent}}",
          collected=heap.gc.collect(), referent=r())


def thresholds(heap: Heap, n: Narrator) -> None:
    """Automatic collections fire as allocations push count[0] past threshold 0."""
    gc = heap.gc
    limits = gc.get_threshold()
    n.begin("thresholds", f"Thresholds {limits} firing as objects are allocated")
    gc.collect()
    n.code("gc.collect(); gc.get_threshold(), gc.get_count()")
    n.say(f"thresholds {{thresholds}}, counts {{count}}: a generation-0 collection runs when "
          f"count[0] (allocations minus deallocations) passes {limits[0]}", thresholds=limits,
          count=gc.get_count())

    @heap.cls
    @_script_class
    class Node:
        me: Any

    n.code(f"@heap.cls\n{_class(heap, 'Node')} pass")
    n.code("for i in range(10000): x = Node(); x.me = x   # one garbage cycle per iteration")
    for _ in range(10000):
        x = Node()
        x.me = x
    n.code("del x")
    del x
    events = [(r.generation, r.collected) for r in heap.history if r.reason == "automatic"]
    gens = [g for g, _ in events]
    per_generation = [gens.count(g) for g in range(3)]
    n.code("heap.history   # gclab's record of every collection")
    n.say("{automatic} automatic collections: {by_generation[0]} of generation 0, "
          "{by_generation[1]} of generation 1, {by_generation[2]} of generation 2",
          automatic=len(events), by_generation=per_generation)
    each = ("two objects per iteration: a Node and its __dict__" if _separate_dicts(heap)
            else "one object per iteration")
    n.say(f"first ones (generation, collected): {{first}} ({each})", first=events[:3])
    n.code("gc.get_count()")
    n.say("{count}", count=gc.get_count())
    if "get_stats" in heap.profile.gc_functions:
        n.code("gc.get_stats()")
        n.say("{stats}  (per generation, the gc.collect() above included)",
              stats=gc.get_stats())


def saveall(heap: Heap, n: Narrator) -> None:
    """DEBUG_SAVEALL keeps what the collector found in gc.garbage instead of freeing it."""
    n.begin("saveall", "DEBUG_SAVEALL")
    gc = heap.gc
    n.code("gc.set_debug(gc.DEBUG_SAVEALL); l = heap.list(); l.append(l); del l")
    gc.set_debug(gc.DEBUG_SAVEALL)
    lst = heap.list()
    lst.append(lst)
    del lst
    n.code("gc.collect(); gc.garbage")
    n.say("gc.collect() -> {collected}; gc.garbage = {garbage}", collected=gc.collect(),
          garbage=list(gc.garbage))
    n.code("gc.set_debug(0); del gc.garbage[:]; gc.collect()")
    gc.set_debug(0)
    del gc.garbage[:]
    n.say("after clearing gc.garbage the cycle is garbage again: gc.collect() -> {collected}",
          collected=gc.collect())


def manual_collection(heap: Heap, n: Narrator) -> None:
    """Automatic collection off; collect every N simulated seconds, or after an event."""
    n.begin("manual_collection", "Manual collection: time-based and event-based")
    gc = heap.gc
    n.code("gc.disable()")
    gc.disable()
    n.code("timed = []; clock = last = 0.0")
    n.code("for request in range(30):   # each request takes 0.4 simulated s ...\n"
           "    clock += 0.4\n"
           "    junk = heap.dict(); junk['self'] = junk; del junk   # ... and leaves a cycle\n"
           "    if clock - last >= 5.0:  # 5 simulated s since the last collection\n"
           "        timed.append((request, gc.collect())); last = clock")
    clock = last = 0.0
    timed: list[tuple[int, int]] = []
    for request in range(30):
        clock += 0.4
        junk = heap.dict()
        junk["self"] = junk
        del junk
        if clock - last >= 5.0:
            timed.append((request, gc.collect()))
            last = clock
    n.code("timed   # (request, collected)")
    n.say("{timed}: time-based, a collection every 5 simulated s frees the cycles the "
          "requests left since the last one", timed=timed)
    n.code("gc.collect()   # on the event 'batch finished'")
    n.say("event-based: gc.collect() -> {collected} (the leftovers)", collected=gc.collect())
    gc.enable()


SCENARIOS: list[Callable[[Heap, Narrator], None]] = [
    refcounts, frame_return, dict_cycle, finalizer_cycle, weak_reference, thresholds, saveall,
    manual_collection,
]


def _run(profile: str, console: Console | None) -> dict[str, JSON]:
    narrator = Narrator(console)
    for scenario in SCENARIOS:
        scenario(Heap(profile=profile), narrator)
    scenarios: list[JSON] = list(narrator.scenarios)
    return {"gclab": __version__, "profile": profile, "scenarios": scenarios}


def run_demo(profile: str = "3.12", console: Console | None = None) -> dict[str, JSON]:
    """Narrate every scenario, each on a fresh heap of ``profile``, to ``console`` (default:
    the terminal); returns the same record as :func:`record_demo`."""
    return _run(profile, console or Console())


def record_demo(profile: str = "3.12") -> dict[str, JSON]:
    """Run every scenario on a fresh heap of ``profile`` without printing; the record is
    ``{"gclab": version, "profile": profile, "scenarios": [{"name", "title", "steps":
    [{"code", "output", "values"}]}]}`` and the same for every run."""
    return _run(profile, None)
