"""Property tests through the low-level API by integer id (see ``model.py``)."""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import rule
from model import ATOMS, CONTAINERS, HeapModel, _cases

from gclab.heap.table import NULL


class LowLevelMachine(HeapModel):
    """Programs through HeapCore's API by integer id."""

    SIZES: ClassVar[dict[str, tuple[int, ...]]] = {
        "list": (0, 1, 2), "tuple": (0, 1, 2), "dict": (0, 2, 4), "set": (0, 1),
        "frame": (2, 4)}

    def value(self, data: Any) -> int:
        """A slot value: NULL, an atom or a container (never a frame: frames are roots)."""
        choice = data.draw(st.integers(0, 3), label="value kind")
        if choice == 0:
            return NULL
        if choice == 1:
            return self.heap.atom(data.draw(st.sampled_from(ATOMS), label="atom"))
        oid = self.pick(data, (*CONTAINERS, "weakref"), "value")
        return NULL if oid is None else oid

    def writable(self, oid: int, index: int) -> bool:
        """Tuples are filled once (a full tuple is immutable, as in CPython)."""
        node = self.nodes[oid]
        return node.kind != "tuple" or self.heap.table.get(oid, index) == NULL

    def storable(self, oid: int, index: int, value: int, *, new_slot: bool = False) -> bool:
        """The layout rules the low-level API enforces: set elements unique; dict keys
        hashable (not a list, dict or set) and unique; frame names str atoms and unique."""
        kind = self.nodes[oid].kind
        if value == NULL or kind not in ("set", "dict", "frame"):
            return True
        slots = self.heap.table.slot_list(oid)
        if kind != "set":
            if index % 2:
                return True  # a value slot
            if kind == "frame" and (value >= 0 or not isinstance(self.heap.atoms.value(value),
                                                                 str)):
                return False
            if kind == "dict" and value >= 0 and self.nodes[value].kind in ("list", "dict",
                                                                            "set"):
                return False
            slots = [NULL if i % 2 else v for i, v in enumerate(slots)]  # the keys only
        if not new_slot:
            slots = slots[:index] + slots[index + 1:]
        return value not in slots

    @rule(kind=st.sampled_from(("list", "tuple", "dict", "set", "frame")), data=st.data())
    def alloc(self, kind: str, data: Any) -> None:
        """heap.alloc(kind, size)."""
        size = data.draw(st.sampled_from(self.SIZES[kind]), label="size")
        oid = self.heap.alloc(kind, size)
        if oid == self.heap.empty_tuple:
            self.nodes[oid].ext += 1
        else:
            self.reconcile((oid, kind, {"edges": []}))  # frees first: the id may be reused

    @rule(kind=st.sampled_from(("inst", "fin", "phoenix")))
    def new_instance(self, kind: str) -> None:
        """An instance of a __slots__ class (with or without __del__)."""
        oid = self.heap.new_instance(self.classes[kind]._info)
        self.reconcile((oid, kind, {"edges": []}))

    def _store(self, oid: int, index: int, value: int) -> None:
        edges = self.nodes[oid].edges
        old = self.heap.table.get(oid, index)
        if old >= 0:
            edges.remove(old)
        if value >= 0:
            edges.append(value)

    @rule(kinds=st.lists(st.sampled_from(("list", "dict", "set", "inst", "fin", "phoenix")),
                         min_size=1,
                         max_size=4), keep=st.integers(-1, 3))
    def ring(self, kinds: list[str], keep: int) -> None:
        """A reference cycle through new objects; the test keeps at most one of them."""
        ids = []
        for kind in kinds:
            if kind in ("inst", "fin", "phoenix"):
                oid = self.heap.new_instance(self.classes[kind]._info)
            else:
                oid = self.heap.alloc(kind, 2 if kind == "dict" else 0)
            self.reconcile((oid, kind, {"edges": []}))
            ids.append(oid)
        for source, target in zip(ids, ids[1:] + ids[:1], strict=True):
            index = 1 if self.nodes[source].kind in ("dict", "inst", "fin", "phoenix") else None
            self.nodes[source].edges.append(target)
            if index is None:
                self.heap.append_slot(source, target)
            else:
                self.heap.set_slot(source, index, target)
        for position, oid in enumerate(ids):
            if position != keep:
                self.nodes[oid].ext -= 1
                self.heap.decref(oid)

    @rule(data=st.data())
    def set_slot(self, data: Any) -> None:
        """set_slot / clear_slot on any slotted object."""
        oid = self.pick(data, ("list", "tuple", "dict", "set", "inst", "fin", "phoenix", "frame"),
                        "obj")
        if oid is None or not int(self.heap.table.ref_len[oid]):
            return
        index = data.draw(st.integers(0, int(self.heap.table.ref_len[oid]) - 1), label="i")
        if not self.writable(oid, index):
            return
        value = self.value(data)
        if not self.storable(oid, index, value):
            return
        self._store(oid, index, value)
        if value == NULL and data.draw(st.booleans(), label="clear"):
            self.heap.clear_slot(oid, index)
        else:
            self.heap.set_slot(oid, index, value)

    @rule(data=st.data())
    def grow(self, data: Any) -> None:
        """append_slot / insert_slot on a list or set."""
        oid = self.pick(data, ("list", "set"), "obj")
        if oid is None:
            return
        value = self.value(data)
        if not self.storable(oid, 0, value, new_slot=True):
            return
        if value >= 0:
            self.nodes[oid].edges.append(value)
        length = int(self.heap.table.ref_len[oid])
        index = data.draw(st.integers(0, length), label="index")
        if index == length:
            self.heap.append_slot(oid, value)
        else:
            self.heap.insert_slot(oid, index, value)

    @rule(data=st.data())
    def delete_slot(self, data: Any) -> None:
        """delete_slot on a list or set."""
        oid = self.pick(data, ("list", "set"), "obj")
        if oid is None or not int(self.heap.table.ref_len[oid]):
            return
        index = data.draw(st.integers(0, int(self.heap.table.ref_len[oid]) - 1), label="i")
        old = self.heap.table.get(oid, index)
        if old >= 0:
            self.nodes[oid].edges.remove(old)
        self.heap.delete_slot(oid, index)

    @rule(data=st.data())
    def incref(self, data: Any) -> None:
        """Take one more external reference."""
        oid = self.pick(data, (*CONTAINERS, "weakref", "frame"), "obj")
        if oid is not None:
            self.heap.incref(oid)
            self.nodes[oid].ext += 1

    @rule(data=st.data())
    def decref(self, data: Any) -> None:
        """Drop one external reference the test holds (may deallocate a cascade)."""
        held = [i for i in self.ids(*CONTAINERS, "weakref", "frame") if self.nodes[i].ext]
        if not held:
            return
        oid = held[data.draw(st.integers(0, len(held) - 1), label="held")]
        self.nodes[oid].ext -= 1
        self.heap.decref(oid)

    @rule(data=st.data(), with_callback=st.booleans())
    def new_weakref(self, data: Any, with_callback: bool) -> None:
        """A weakref (shared basic ref when no callback) to a set or an instance."""
        target = self.pick(data, ("set", "inst", "fin", "phoenix"), "target")
        if target is None:
            return
        wr = self.heap.new_weakref(target, self.callback if with_callback else None)
        if wr in self.nodes and wr not in self.freed:  # the shared basic ref
            assert not with_callback and self.nodes[wr].target == target
            self.nodes[wr].ext += 1
        else:
            self.reconcile((wr, "weakref", {"target": target, "callback": with_callback}))


globals().update(_cases(LowLevelMachine, "LowLevel"))
