"""Property tests through proxies (see ``model.py``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule
from model import ATOMS, CONTAINERS, HeapModel, _cases, _without

import gclab
from gclab.heap.table import NULL


class ProxyMachine(HeapModel):
    """Programs through proxies; the test holds at most one proxy per object."""

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[int, Any] = {}
        self.frames: list[Any] = []

    def heap_edges(self, oid: int) -> list[int]:
        """Instances: attribute values (in 3.10 they sit in a separate __dict__)."""
        node = self.nodes[oid]
        if node.kind not in ("obj", "plain", "bird"):
            return super().heap_edges(oid)
        heap = self.heap
        values = [heap.get_attr(oid, name) for name in heap.attr_names(oid)]
        return [v for v in values if v >= 0]

    def hold(self, proxy: Any, kind: str, **extra: Any) -> None:
        """Keep the proxy of a new object (one external reference)."""
        self.reconcile((proxy._id, kind, extra))
        self.held[proxy._id] = proxy

    def value(self, data: Any, *, hashable: bool = False) -> Any:
        """An atom or a held proxy (hashable: no list, dict or set, nor a tuple holding one:
        tuples hash by content, as in CPython)."""
        kinds = ("tuple", "obj", "plain", "bird") if hashable else (
            "list", "tuple", "dict", "set", "obj", "plain", "bird", "weakref")
        candidates = [i for i in self.ids(*kinds)
                      if i in self.held and (not hashable or _hashes(self.held[i]))]
        if not candidates or not data.draw(st.integers(0, 3), label="atom?"):
            return data.draw(st.sampled_from(ATOMS), label="atom")
        return self.held[candidates[data.draw(st.integers(0, len(candidates) - 1))]]

    def target(self, data: Any, *kinds: str) -> Any:
        """A held proxy of one of ``kinds``, or None."""
        candidates = [i for i in self.ids(*kinds) if i in self.held]
        if not candidates:
            return None
        return self.held[candidates[data.draw(st.integers(0, len(candidates) - 1))]]

    @staticmethod
    def ref(value: Any) -> list[int]:
        """The model edge a stored value makes."""
        return [value._id] if isinstance(value, gclab.heap.proxies.Proxy) else []

    @rule(kind=st.sampled_from(("list", "tuple", "dict", "set", "obj", "plain", "bird")),
          data=st.data())
    def make(self, kind: str, data: Any) -> None:
        """heap.list([...]), heap.tuple([...]), heap.dict(), heap.set(), Obj(), Plain()."""
        if kind in ("obj", "plain", "bird"):
            self.hold(self.classes[kind](), kind, edges=[])
            return
        items = [self.value(data, hashable=kind in ("set", "dict"))
                 for _ in range(data.draw(st.integers(0, 2), label="n"))]
        if kind in ("set", "dict"):
            items = list({self.heap.to_code(x): x for x in items}.values())  # no duplicates
        edges = [e for x in items for e in self.ref(x)]
        made = {"list": self.heap.list, "tuple": self.heap.tuple, "set": self.heap.set,
                "dict": lambda xs: self.heap.dict((k, k) for k in xs)}[kind](items)
        if kind == "dict":
            edges = 2 * edges  # each key is its own value
        if made._id == self.heap.empty_tuple:
            del made  # the shared empty tuple: not held
            return
        self.hold(made, kind, edges=edges)

    @rule(kinds=st.lists(st.sampled_from(("list", "dict", "obj", "plain", "bird")), min_size=1,
                         max_size=4), keep=st.integers(-1, 3))
    def ring(self, kinds: list[str], keep: int) -> None:
        """A reference cycle through new objects; the test keeps at most one proxy."""
        made = []
        for kind in kinds:
            obj = self.classes[kind]() if kind in ("obj", "plain", "bird") else (
                self.heap.list() if kind == "list" else self.heap.dict())
            self.hold(obj, kind, edges=[])
            made.append(obj)
        for source, target in zip(made, made[1:] + made[:1], strict=True):
            self.nodes[source._id].edges += [target._id]
            if isinstance(source, gclab.heap.proxies.ListProxy):
                source.append(target)
            elif isinstance(source, gclab.heap.proxies.DictProxy):
                source["next"] = target
            else:
                source.next = target
        for position, obj in enumerate(made):
            if position != keep:
                self.nodes[obj._id].ext -= 1
                del self.held[obj._id]
        del made, obj, source, target

    @rule(data=st.data())
    def mutate(self, data: Any) -> None:
        """One mutation of a held list, dict, set or instance."""
        obj = self.target(data, "list", "dict", "set", "obj", "plain", "bird")
        if obj is None:
            return
        node, heap = self.nodes[obj._id], self.heap
        kind = node.kind
        if kind == "list":
            action = data.draw(st.sampled_from(("set", "del", "pop", "append")), label="op")
            if action in ("set", "del") and len(obj):
                index = data.draw(st.integers(0, len(obj) - 1), label="index")
                old = heap.table.get(obj._id, index)
                if old >= 0:
                    node.edges.remove(old)
                if action == "del":
                    del obj[index]
                    return
                value = self.value(data)
                node.edges += self.ref(value)
                obj[index] = value
            elif action == "pop" and len(obj):
                old = heap.table.get(obj._id, len(obj) - 1)
                if old >= 0:
                    node.edges.remove(old)
                obj.pop()
            else:
                value = self.value(data)
                node.edges += self.ref(value)
                obj.append(value)
        elif kind == "dict":
            key = self.value(data, hashable=True)
            code = heap.to_code(key)
            if code in heap.table.slot_list(obj._id)[0::2]:
                old = heap.dict_get(obj._id, code)
                if old >= 0:
                    node.edges.remove(old)
                if data.draw(st.booleans(), label="del?"):
                    node.edges = node.edges if code < 0 else _without(node.edges, code)
                    del obj[key]
                    return
            else:
                node.edges += self.ref(key)
            value = self.value(data)
            node.edges += self.ref(value)
            obj[key] = value
        elif kind == "set":
            value = self.value(data, hashable=True)
            code = heap.to_code(value)
            if code in heap.table.slot_list(obj._id):
                node.edges = [e for e in node.edges if e != code]
                obj.discard(value)
            else:
                node.edges += self.ref(value)
                obj.add(value)
        else:
            name = data.draw(st.sampled_from(("x", "y")), label="attr")
            try:
                old = heap.get_attr(obj._id, name)
            except AttributeError:
                old = NULL
            if old >= 0:
                node.edges.remove(old)
            if old != NULL and data.draw(st.booleans(), label="delattr?"):
                delattr(obj, name)
                return
            value = self.value(data)
            node.edges += self.ref(value)
            setattr(obj, name, value)

    @rule(data=st.data())
    def drop(self, data: Any) -> None:
        """``del proxy``: the test's reference goes away."""
        obj = self.target(data, *CONTAINERS, "weakref")
        if obj is None:
            return
        self.nodes[obj._id].ext -= 1
        del self.held[obj._id]
        del obj

    @rule(data=st.data(), with_callback=st.booleans())
    def weakref(self, data: Any, with_callback: bool) -> None:
        """heap.weakref(obj[, callback]) to a set or an instance."""
        obj = self.target(data, "set", "obj", "plain", "bird")
        if obj is None:
            return
        ref = self.heap.weakref(obj, self.callback if with_callback else None)
        if ref._id in self.held:
            return  # the shared basic ref, already held: same proxy, same reference
        self.reconcile()  # the call's frees first: a new weakref may reuse a freed id
        if ref._id in self.nodes:  # the shared basic ref, kept alive by another reference
            self.nodes[ref._id].ext += 1
            self.held[ref._id] = ref
            return
        self.hold(ref, "weakref", target=obj._id, callback=with_callback)

    @rule(data=st.data())
    def frame(self, data: Any) -> None:
        """Enter a frame, or store a local in the newest one, or return from it."""
        choice = data.draw(st.integers(0, 2), label="frame op")
        if choice == 0 or not self.frames:
            frame = self.heap.frame().__enter__()
            self.frames.append(frame)
            self.hold(frame, "frame", edges=[])
            return
        frame = self.frames[-1]
        node = self.nodes[frame._id]
        if choice == 1:
            name = data.draw(st.sampled_from(("a", "b")), label="local")
            value = self.value(data)
            if name in dir(frame):
                old = self.heap.dict_get(frame._id, self.heap.atoms.code(name))
                if old >= 0:
                    node.edges.remove(old)
            node.edges += self.ref(value)
            setattr(frame, name, value)
        else:
            self.frames.pop()
            node.edges.clear()
            frame.__exit__(None, None, None)
            node.ext -= 1
            del self.held[frame._id]
            del frame

    @rule(data=st.data())
    def global_var(self, data: Any) -> None:
        """heap.globals.g = value."""
        value = self.value(data)
        g = self.heap.globals
        node = self.nodes[g._id]
        if "g" in dir(g):
            old = self.heap.dict_get(g._id, self.heap.atoms.code("g"))
            if old >= 0:
                node.edges.remove(old)
        node.edges += self.ref(value)
        g.g = value


def _hashes(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


globals().update(_cases(ProxyMachine, "Proxies"))
