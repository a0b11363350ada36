"""Random small programs over object graphs, as plain data, and Hypothesis strategies for them.

A :class:`Program` is a list of operations on named variables; it is rendered twice: to gclab
operations (:mod:`diff_gclab`) and to a plain Python script for a real interpreter
(:mod:`diff_real`). Every object carries its label ``'@<var>'`` (a list's first item, a dict's
``'dn'`` entry, a tuple's first item, a set's element, an instance's ``n`` attribute, a
weakref's entry in a side table), so results can be compared by name.

Restrictions that keep the real outcome deterministic (the "hash order" rules):

* a set holds at most one heap object besides its label string (set order is hash order);
* on 2.7 a dict holds at most one object-valued entry and instances with a ``__dict__`` at
  most one object-valued attribute (2.7 dicts iterate in hash order, which would change the
  traversal order); ``__slots__`` classes have no such limit;
* dict keys are always strings, so every dict is a unicode-keys table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

# name -> (has __dict__, has __del__, resurrection, weakrefable, attributes); a resurrecting
# ``__del__`` appends self to the list KEEP ("keep") or stores self in ``self.z`` ("self").
CLASSES: dict[str, tuple[bool, bool, str, bool, tuple[str, ...]]] = {
    "P": (True, False, "", True, ("a", "b", "c")),
    "D": (True, True, "", True, ("a", "b", "c")),
    "R": (True, True, "keep", True, ("a", "b")),
    "Y": (True, True, "self", True, ("a",)),
    "S": (False, False, "", False, ("a", "b")),
    "SD": (False, True, "", False, ("a", "b")),
    "W": (False, False, "", True, ("a",)),
}
CONTAINERS = ("list", "dict", "set", "tuple")
WEAKREFABLE = frozenset({"P", "D", "R", "W", "set"})
HASHABLE = frozenset(CLASSES)


@dataclass(frozen=True)
class New:
    """``var = <new object of kind>``; ``items`` are tuple items / the weakref target."""

    var: str
    kind: str
    items: tuple[str, ...] = ()
    callback: bool = False


@dataclass(frozen=True)
class Link:
    """Store a reference: list append, ``d[key] = dst``, ``set.add``, ``obj.attr = dst``."""

    src: str
    key: str
    dst: str


@dataclass(frozen=True)
class Unlink:
    """Drop a reference: ``del lst[-1]``, ``d[key] = None``, ``obj.attr = None``."""

    src: str
    key: str


@dataclass(frozen=True)
class DelAttr:
    """``del src.key``; ``missing``: a name the object does not have, deleted through the
    harness's ``_try_del(src, key)`` (a function that swallows the AttributeError)."""

    src: str
    key: str
    missing: bool = False


@dataclass(frozen=True)
class Del:
    """``del var``."""

    var: str


@dataclass(frozen=True)
class Collect:
    """``RET.append(gc.collect(gen))``."""

    gen: int


@dataclass(frozen=True)
class Debug:
    """``gc.set_debug(gc.DEBUG_SAVEALL if saveall else 0)``."""

    saveall: bool


@dataclass(frozen=True)
class Freeze:
    """``gc.freeze()`` (3.7+)."""


@dataclass(frozen=True)
class Count:
    """``CNT.append(gc.get_count())`` (the result tuple is kept alive in both worlds)."""


@dataclass(frozen=True)
class Referents:
    """``REFS.append(_refs(var))``: what ``gc.get_referents(var)`` visits, each as its label,
    the repr of an atom or its type's name (type objects and functions left out)."""

    var: str


@dataclass(frozen=True)
class Many:
    """``count`` unnamed instances of ``kind``, each storing ``_i`` in every attribute of
    ``attrs`` and dropped at once (``for _i in range(count): _o = P(); _o.t = _i; del _o``):
    on 3.11+ each one uses up an entry of the class's shared keys."""

    kind: str
    count: int
    attrs: tuple[str, ...]


@dataclass(frozen=True)
class Frame:
    """A function call: ``body`` runs with its new variables as locals, freed on return.

    A local deleted in the body may be bound again: it keeps its first slot (the order in
    which the return releases the locals)."""

    index: int
    body: tuple[Op, ...]
    local_vars: tuple[str, ...]


Op = (New | Link | Unlink | DelAttr | Del | Collect | Debug | Freeze | Count | Referents | Many
      | Frame)


@dataclass(frozen=True)
class Program:
    """A whole program: ``auto`` = thresholds with automatic collection on, or None."""

    name: str
    ops: tuple[Op, ...]
    global_vars: tuple[str, ...]
    auto: tuple[int, int, int] | None = None
    frames: tuple[Frame, ...] = field(default=())


@dataclass
class _Var:
    kind: str
    length: int = 1  # lists: number of items (the label counts)
    keys: set[str] = field(default_factory=set)  # dict keys / attributes set to objects
    has_elem: bool = False  # sets: an object element was added
    hashable: bool = False


@dataclass(frozen=True)
class Flavor:
    """What the target interpreter allows."""

    profile: str
    auto: bool  # automatic collections (3.11+: the trigger timing can be controlled)
    freeze: bool

    @property
    def py2(self) -> bool:
        return self.profile == "2.7"


class _Builder:
    """Draws one program operation by operation, knowing which variables exist."""

    def __init__(self, draw: st.DrawFn, flavor: Flavor) -> None:
        self.draw = draw
        self.flavor = flavor
        self.vars: dict[str, _Var] = {}
        self.counter = 0
        self.frames: list[Frame] = []
        self.dead_locals: list[str] = []  # deleted locals of the frame being drawn

    def pick(self, names: list[str]) -> str:
        return self.draw(st.sampled_from(sorted(names)))

    def new(self, local: bool) -> New:
        self.counter += 1
        var = ("l" if local else "v") + str(self.counter)
        if local and self.dead_locals and self.draw(st.booleans()):
            var = self.pick(self.dead_locals)  # a deleted local bound again: same slot
            self.dead_locals.remove(var)
        kinds = [*CONTAINERS, *CLASSES, "weakref", "weakref", "weakref"]
        if self.flavor.py2:
            kinds.remove("Y")  # its second attribute would make dict order observable
        kind = self.draw(st.sampled_from(kinds))
        targets = [n for n, v in self.vars.items() if v.kind in WEAKREFABLE]
        if kind == "weakref" and not targets:
            kind = "list"
        items: tuple[str, ...] = ()
        callback = False
        hashable = kind in HASHABLE
        if kind == "tuple":
            items = tuple(self.draw(st.lists(st.sampled_from(sorted(self.vars) or ["ONE"]),
                                             max_size=3)))
            hashable = all(i == "ONE" or self.vars[i].hashable for i in items)
        elif kind == "weakref":
            items = (self.pick(targets),)
            callback = self.draw(st.sampled_from([True, True, False]))
        self.vars[var] = _Var(kind, hashable=hashable)
        return New(var, kind, items, callback)

    def _keys(self, var: _Var) -> list[str]:
        if var.kind == "list":
            return ["append"]
        if var.kind == "dict":
            return ["k0"] if self.flavor.py2 else ["k0", "k1", "k2"]
        if var.kind == "set":
            return [] if var.has_elem else ["add"]
        if var.kind in CLASSES:
            has_dict, _, _, _, attrs = CLASSES[var.kind]
            return ["a"] if has_dict and self.flavor.py2 else list(attrs)
        return []

    def link(self) -> Link | None:
        sources = [n for n, v in self.vars.items() if self._keys(v)]
        if not sources:
            return None
        src = self.pick(sources)
        key = self.draw(st.sampled_from(self._keys(self.vars[src])))
        targets = list(self.vars)
        if key == "add":
            targets = [n for n in targets if self.vars[n].hashable]
            if not targets:
                return None
        dst = self.pick(targets)
        var = self.vars[src]
        if key == "append":
            var.length += 1
        elif key == "add":
            var.has_elem = True
        else:
            var.keys.add(key)
        return Link(src, key, dst)

    def unlink(self) -> Unlink | None:
        sources = [n for n, v in self.vars.items()
                   if (v.kind == "list" and v.length > 1) or v.keys]
        if not sources:
            return None
        src = self.pick(sources)
        var = self.vars[src]
        if var.kind == "list":
            var.length -= 1
            return Unlink(src, "pop")
        key = self.pick(list(var.keys))
        var.keys.discard(key)
        return Unlink(src, key)

    def delattr(self) -> DelAttr | None:
        """``del obj.attr`` of an attribute that holds an object (never the label ``n``)."""
        sources = [n for n, v in self.vars.items() if v.kind in CLASSES and v.keys]
        if not sources:
            return None
        src = self.pick(sources)
        key = self.pick(list(self.vars[src].keys))
        self.vars[src].keys.discard(key)
        return DelAttr(src, key)

    def op(self, local: bool, allow: dict[str, int]) -> Op | None:
        choice = self.draw(st.sampled_from([k for k, w in allow.items() for _ in range(w)]))
        if choice == "new" or not self.vars:
            return self.new(local)
        if choice == "link":
            return self.link()
        if choice == "unlink":
            return self.unlink()
        if choice == "delattr":
            return self.delattr()
        if choice == "del":
            mine = [n for n in self.vars if n.startswith("l" if local else "v")]
            if not mine:
                return None
            var = self.pick(mine)
            del self.vars[var]
            if local:
                self.dead_locals.append(var)
            return Del(var)
        if choice == "collect":
            return Collect(self.draw(st.integers(0, 2)))
        if choice == "count":
            return Count()
        if choice == "debug":
            return Debug(self.draw(st.sampled_from([True, True, False])))
        if choice == "freeze":
            return Freeze()
        if choice == "many":
            return Many("P", self.draw(st.sampled_from([10, 30, 40])),
                        self.draw(st.sampled_from([("t",), ("t", "u"), ("a",)])))
        return self.frame() if not local else None

    def frame(self) -> Frame:
        outer = set(self.vars)
        self.dead_locals = []
        body = self.ops(self.draw(st.integers(1, 8)), local=True)
        local_vars = tuple(n for n in self.vars if n not in outer)
        for n in local_vars:
            del self.vars[n]
        made = tuple(dict.fromkeys(op.var for op in body if isinstance(op, New)))
        frame = Frame(len(self.frames), tuple(body), made)
        self.frames.append(frame)
        return frame

    def weights(self, local: bool) -> dict[str, int]:
        weights = {"new": 6, "link": 6, "unlink": 1, "delattr": 1, "del": 2, "collect": 2,
                   "count": 1,
                   "debug": 0 if local else 2, "frame": 0 if local else 1,
                   "many": 0 if local else 1,
                   "freeze": 1 if self.flavor.freeze and not local else 0}
        if self.flavor.py2 or self.flavor.profile == "3.10":
            weights["count"] = 0
        return {k: w for k, w in weights.items() if w}

    def ops(self, n: int, local: bool = False) -> list[Op]:
        out: list[Op] = []
        weights = self.weights(local)
        for _ in range(n):
            op = self.op(local, weights)
            if op is not None:
                out.append(op)
        return out


@st.composite
def programs(draw: st.DrawFn, flavor: Flavor, max_ops: int = 25) -> Program:
    """A random program for ``flavor``'s interpreter."""
    builder = _Builder(draw, flavor)
    auto = None
    if flavor.auto and draw(st.booleans()):
        # threshold 2 large: the real interpreter's long-lived objects make the 25 % rule
        # block every automatic full collection, which a small simulated heap cannot mimic.
        auto = (draw(st.integers(1, 6)), draw(st.integers(1, 3)), 1000)
    ops = builder.ops(draw(st.integers(1, max_ops)))
    live = tuple(n for n in builder.vars if n.startswith("v"))
    return Program("", tuple(ops), live, auto, tuple(builder.frames))
