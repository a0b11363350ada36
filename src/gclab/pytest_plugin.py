"""``pytest --gclab-leaks``: fail tests that leave garbage behind or grow the heap.

Registered through the ``pytest11`` entry point ``gclab``; it does nothing unless pytest runs
with ``--gclab-leaks``. Then, around each test's call (its body, not its fixtures):

* before: a full collection (so that older garbage is not blamed on the test), the count of
  tracked objects by type (``gc.get_objects()``) and ``len(gc.garbage)``; the collector is
  then **disabled for the body**, so that everything the test leaves is still there at its end;
* after a body that passed: the checks below, then the collector's state (enabled, debug
  flags) is restored and the garbage the check saw is freed (the plugin leaves nothing).

A test fails when it leaves

1. **uncollectable objects**: ``gc.garbage`` grew (objects the collector could not free, or
   that the test put there);
2. **cyclic garbage that only a collection frees**: objects a ``gc.collect()`` right after
   the test frees (seen through ``gc.DEBUG_SAVEALL``, then cleared); the message shows one of
   the cycles;
3. **growth of tracked objects by type** over the threshold (default 100 objects of one type,
   ``--gclab-leaks-threshold N`` or the ini option ``gclab_leaks_threshold``), not counting
   pytest's, pluggy's and this plugin's own types; the message shows a retainer path of the
   newest such object from a module global.

The retainer path is the shortest from a named root (a module global, a frame's local, a
class attribute...), found with ``gclab.snapshot()`` and ``snap.why()`` (weak references
skipped); if the capture fails, a bounded search over ``gc.get_referrers`` from a module
global is shown instead.

Markers: ``@pytest.mark.gclab_leaks(allow=..., threshold=N)`` (``allow``: a type name, or
names, as ``"module.QualName"`` or the bare class name, that may grow or be left as garbage;
an int is taken as the threshold) and ``@pytest.mark.gclab_no_leaks_check`` (no check).

>>> _matches("builtins.dict", {"dict"}), _matches("app.models.User", {"app.models.User"})
(True, True)
"""

from __future__ import annotations

import gc
import sys
import types
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

import pytest

DEFAULT_THRESHOLD = 100
#: Modules whose types are the test runner's and this plugin's own objects: never counted.
OWN_MODULES = ("_pytest", "pytest", "pluggy", "gclab.pytest_plugin", "iniconfig", "_hypothesis",
               "hypothesis")
#: Bounds of the fallback retainer-path search (objects visited, path length).
PATH_VISITS, PATH_DEPTH = 20000, 12


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gclab", "gclab leak checks")
    group.addoption("--gclab-leaks", action="store_true", default=False,
                    help="fail tests that leave uncollectable objects, cyclic garbage or "
                         "more tracked objects of a type than the threshold")
    group.addoption("--gclab-leaks-threshold", type=int, default=None, metavar="N",
                    help="objects of one type a test may add (default: the ini option "
                         f"gclab_leaks_threshold, else {DEFAULT_THRESHOLD})")
    parser.addini("gclab_leaks_threshold", "objects of one type a test may add under "
                  f"--gclab-leaks (default {DEFAULT_THRESHOLD})", default=str(DEFAULT_THRESHOLD))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "gclab_leaks(allow=(), threshold=None): under --gclab-leaks, type names "
                   "that may grow or be left as garbage, and this test's growth threshold")
    config.addinivalue_line("markers", "gclab_no_leaks_check: no --gclab-leaks check")


@dataclass(frozen=True)
class Settings:
    """One test's check: the growth threshold and the type names exempt from every check."""

    threshold: int
    allow: frozenset[str] = frozenset()


def settings_for(item: pytest.Item) -> Settings | None:
    """The check that applies to ``item``, or None when there is none (plugin off, or the
    ``gclab_no_leaks_check`` marker)."""
    config = item.config
    if not config.getoption("gclab_leaks") or item.get_closest_marker("gclab_no_leaks_check"):
        return None
    threshold = config.getoption("gclab_leaks_threshold")
    if threshold is None:
        threshold = int(config.getini("gclab_leaks_threshold"))
    allow: set[str] = set()
    marker = item.get_closest_marker("gclab_leaks")
    if marker is not None:
        allowed = marker.kwargs.get("allow", marker.args[0] if marker.args else ())
        if isinstance(allowed, int) and not isinstance(allowed, bool):
            threshold = allowed
        elif isinstance(allowed, str | type):
            allow.add(_name_of(allowed))
        else:
            allow.update(_name_of(a) for a in allowed)
        threshold = marker.kwargs.get("threshold", threshold)
    if not isinstance(threshold, int) or threshold < 0:
        raise pytest.UsageError(f"gclab leaks threshold must be an int >= 0, not {threshold!r}")
    return Settings(threshold, frozenset(allow))


def _name_of(kind: object) -> str:
    """``"module.QualName"`` of a type; a string is taken as a name already."""
    if isinstance(kind, str):
        return kind
    if isinstance(kind, type):
        return type_name(kind)
    raise pytest.UsageError(f"gclab_leaks(allow=...) takes type names or types, not {kind!r}")


def type_name(kind: type) -> str:
    """``"module.QualName"`` of ``kind``, read without running user code."""
    module = type.__dict__["__module__"].__get__(kind, type)
    qualname = type.__dict__["__qualname__"].__get__(kind, type)
    return f"{module}.{qualname}"


def _matches(name: str, allow: Collection[str]) -> bool:
    """Whether ``name`` ("module.QualName") is allowed by its full or its bare name."""
    return name in allow or name.rsplit(".", 1)[-1] in allow


def _is_own(kind: type) -> bool:
    """Whether ``kind`` belongs to the test runner or this plugin."""
    module = type.__dict__["__module__"].__get__(kind, type)
    return isinstance(module, str) and any(module == m or module.startswith(m + ".")
                                           for m in OWN_MODULES)


def count_by_type() -> tuple[Counter[type], set[int]]:
    """How many objects the collector tracks, by type, and their ids (afterwards no list of
    the objects is kept)."""
    objects = gc.get_objects()
    try:
        return Counter(map(type, objects)), set(map(id, objects))
    finally:
        del objects


@dataclass
class LeakReport:
    """What one test left: names and counts by type for each kind of leak, and the lines
    that show where (a cycle, a retainer path)."""

    uncollectable: Counter[str] = field(default_factory=Counter)
    garbage: Counter[str] = field(default_factory=Counter)
    growth: dict[str, tuple[int, int]] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uncollectable or self.garbage or self.growth)

    def message(self, threshold: int) -> str:
        """The failure message: each kind of leak with its types and counts, then details."""
        lines = ["gclab: this test leaks"]
        if self.uncollectable:
            lines.append(f"  uncollectable: gc.garbage grew by "
                         f"{sum(self.uncollectable.values())}: {_top(self.uncollectable)}")
        if self.garbage:
            lines.append(f"  cyclic garbage that only a collection frees: "
                         f"{sum(self.garbage.values())} objects: {_top(self.garbage)}")
        if self.growth:
            grown = ", ".join(f"{name} +{after - before} ({before} -> {after})" for name,
                              (before, after) in sorted(self.growth.items(),
                                                        key=lambda kv: kv[1][0] - kv[1][1]))
            lines.append(f"  tracked objects grew by more than {threshold}: {grown}")
        return "\n".join(lines + self.details)


def _top(counts: Counter[str], limit: int = 8) -> str:
    """``"name xN, ..."`` for the most common names."""
    return ", ".join(f"{name} x{count}" for name, count in counts.most_common(limit))


def _names(objects: Iterable[object], allow: Collection[str]) -> Counter[str]:
    """Counts by type name of ``objects`` whose type is not allowed or the runner's own."""
    names: Counter[str] = Counter()
    for obj in objects:
        kind = type(obj)
        if not _is_own(kind):
            name = type_name(kind)
            if not _matches(name, allow):
                names[name] += 1
    return names


class _CollectorState:
    """The collector's settings to put back: enabled, debug flags."""

    def __init__(self) -> None:
        self.enabled = gc.isenabled()
        self.debug = gc.get_debug()

    def restore(self) -> None:
        """Afterwards the collector is enabled and flagged as it was when this was made."""
        gc.set_debug(self.debug)
        if self.enabled:
            gc.enable()
        else:
            gc.disable()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run the test body with the collector disabled and fail it if it leaks."""
    settings = settings_for(item)
    if settings is None:
        return (yield)
    state = _CollectorState()
    gc.collect()
    before, known = count_by_type()
    garbage_before = len(gc.garbage)
    gc.disable()
    try:
        outcome = yield
    except BaseException:
        state.restore()
        raise
    try:
        report = _check(settings, before, known, garbage_before)
    finally:
        state.restore()
    if report:
        pytest.fail(report.message(settings.threshold), pytrace=False)
    return outcome


def _check(settings: Settings, before: Counter[type], known: set[int],
           garbage_before: int) -> LeakReport:
    """What the test left (the collector is disabled; afterwards the cyclic garbage found
    was freed and ``gc.garbage`` holds only what the test left in it)."""
    report = LeakReport()
    report.uncollectable = _names(gc.garbage[garbage_before:], settings.allow)
    gc.set_debug(gc.DEBUG_SAVEALL)
    start = len(gc.garbage)
    gc.collect()
    saved = gc.garbage[start:]
    del gc.garbage[start:]
    gc.set_debug(0)
    report.garbage = _names(saved, settings.allow)
    if report.garbage:
        report.details.extend(_cycle_lines(saved, settings.allow))
    del saved
    gc.collect()                     # frees the cyclic garbage just saved
    after, _ = count_by_type()
    for kind, count in after.items():
        grown = count - before.get(kind, 0)
        if grown > settings.threshold and not _is_own(kind):
            name = type_name(kind)
            if not _matches(name, settings.allow):
                report.growth[name] = (before.get(kind, 0), count)
    del after
    for name in sorted(report.growth, key=lambda n: report.growth[n][0] - report.growth[n][1]):
        report.details.extend(_growth_path_lines(name, known))
        break
    return report


# -- cycles among the saved garbage, names of references ------------------------------------


def _cycle_lines(saved: list[object], allow: Collection[str]) -> list[str]:
    """One shortest cycle through a saved object of a reported type, as lines."""
    ids = {id(o): o for o in saved}
    for start in saved:
        name = type_name(type(start))
        if _is_own(type(start)) or _matches(name, allow):
            continue
        parents: dict[int, int] = {id(start): -1}
        queue = [start]
        for node in queue:
            for child in gc.get_referents(node):
                if child is start:
                    chain = [node]
                    while parents[id(chain[-1])] != -1:
                        chain.append(ids[parents[id(chain[-1])]])
                    chain.reverse()
                    steps = [f"{type_name(type(a))}{_edge(a, b)}"
                             for a, b in zip(chain, [*chain[1:], start], strict=True)]
                    return ["  a cycle: " + " -> ".join(steps) + f" -> {name}"]
                if id(child) in ids and id(child) not in parents:
                    parents[id(child)] = id(node)
                    queue.append(child)
    return []


def _edge(holder: object, held: object) -> str:
    """How ``holder`` refers to ``held``: ``.attr``, ``['key']``, ``[i]``, or ``""``."""
    try:
        if isinstance(holder, dict):
            for key, value in holder.items():
                if value is held and type(key) in (str, int):
                    return f"[{key!r}]"
        elif isinstance(holder, list | tuple):
            for index, value in enumerate(holder):
                if value is held:
                    return f"[{index}]"
        else:
            namespace = _namespace(holder)
            for key, value in namespace.items() if isinstance(namespace, dict) else ():
                if value is held and type(key) is str:
                    return f".{key}"
    except Exception:  # an object without a __dict__, or one that changed: no name
        pass
    return ""


def _growth_path_lines(name: str, known: set[int]) -> list[str]:
    """A retainer path of a tracked object of type ``name`` made by the test (its id is not
    in ``known``, the ids from before the test), as lines. Afterwards ``known`` is empty (so
    that the capture does not see it)."""
    address = _new_object(name, known)
    known.clear()
    if address is None:
        return []
    try:
        return _snapshot_path_lines(name, address)
    except Exception:  # the capture failed: the referrers' search still names a path
        return _referrers_path_lines(name, address)


def _new_object(name: str, known: set[int]) -> int | None:
    """The id of the newest tracked object of type ``name`` whose id is not in ``known``
    (no reference to it is kept)."""
    objects = gc.get_objects()
    try:
        for obj in reversed(objects):
            if id(obj) not in known and type_name(type(obj)) == name:
                return id(obj)
        return None
    finally:
        del objects


def _snapshot_path_lines(name: str, address: int) -> list[str]:
    """The shortest retainer path to the object at ``address`` from a named root, found by
    ``gclab.snapshot()`` and ``snap.why`` (weak references skipped), as lines."""
    from .snapshots.capture import snapshot
    from .snapshots.paths import describe

    snap = snapshot()
    paths = snap.why(address, address=True, limit=1)
    if not paths:
        return [f"  no root keeps the new {name} at {address:#x} alive"]
    return [f"  retainer path of a new {name} (gclab.snapshot, shortest from a root):",
            "    " + describe(snap, paths[0])]


# -- fallback: a bounded search over gc.get_referrers (when the capture fails) ----------------


def _referrers_path_lines(name: str, address: int) -> list[str]:
    """A path from a module global to the object at ``address`` by :func:`_retainer_path`."""
    objects = gc.get_objects()
    target = next((o for o in objects if id(o) == address), None)
    del objects
    path = _retainer_path(target) if target is not None else ""
    del target
    if not path:
        return [f"  no retainer path from a module global found for a new {name}"]
    return [f"  retainer path of a new {name} (via gc.get_referrers):", "    " + path]


def _retainer_path(target: object) -> str:
    """The shortest chain of referrers from a module global to ``target``, as
    ``"module.global[3].attr  (type)"``; "" when none is found within the search's bounds
    (frames are not followed: a test's locals are gone when it ends)."""
    modules = {id(m.__dict__): m.__name__ for m in list(sys.modules.values())
               if isinstance(m, types.ModuleType)}
    seen: dict[int, object] = {id(target): target}
    parent: dict[int, int] = {id(target): -1}
    depth: dict[int, int] = {id(target): 0}
    queue = [target]
    ignore = {id(queue), id(seen), id(modules), id(gc.garbage)}
    for node in queue:
        if len(seen) > PATH_VISITS:
            break
        for referrer in gc.get_referrers(node):
            key = id(referrer)
            if key in seen or key in ignore or isinstance(referrer, types.FrameType):
                continue
            seen[key], parent[key], depth[key] = referrer, id(node), depth[id(node)] + 1
            if key in modules:
                return _spell(key, modules[key], seen, parent)
            if depth[key] < PATH_DEPTH:
                queue.append(referrer)
    return ""


def _namespace(obj: object) -> object:
    """``obj``'s instance ``__dict__`` (None if it has none), without user code."""
    try:
        return object.__getattribute__(obj, "__dict__")
    except Exception:  # no __dict__ slot
        return None


def _spell(key: int, module: str, seen: dict[int, object], parent: dict[int, int]) -> str:
    """The path from a module's namespace (``seen[key]``) down to the search's target."""
    chain = [seen[key]]
    while parent[key] != -1:
        key = parent[key]
        chain.append(seen[key])
    text = f"{module}.{_edge(chain[0], chain[1])[2:-2]}"
    i = 1
    while i < len(chain) - 1:
        holder, held = chain[i], chain[i + 1]
        if isinstance(held, dict) and i + 2 < len(chain) and _namespace(holder) is held:
            key_text = _edge(held, chain[i + 2])          # an attribute: "['name']"
            text += f".{key_text[2:-2]}" if key_text.startswith("['") else key_text
            i += 2
            continue
        text += _edge(holder, held) or f" -> <{type_name(type(held))}>"
        i += 1
    return text + f"  ({type_name(type(chain[-1]))})"
