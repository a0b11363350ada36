"""Run a :class:`~gclab.testing.programs.Program` on a heap, keeping the model in step.

:class:`ProgramRunner` performs each operation through the heap's API, updates the model
(:mod:`gclab.testing.model`) after every heap call and lets the monitor check the call's
events. After each whole operation it checks, as asked:

``cycles``
    after a full collection by a collector that collects cycles, no object the model finds
    unreachable is left alive. Legacy profiles (2.7): objects with a ``__del__`` and
    everything they reach are kept instead (``gc.garbage``); every ``__del__`` object on a
    cycle of the garbage is then alive and in ``gc.garbage``, and ``gc.garbage`` gained only
    ``__del__`` objects of the garbage. PEP 442 profiles: ``gc.garbage`` gains nothing;
    ``__del__`` may resurrect (the program's ``phoenix`` objects do).
``accounting``
    the :class:`~gclab.testing.ledger.Ledger` balances against the table, and the collector's
    counts pass its own check;
``invariants``
    :func:`gclab.heap.invariants.check_invariants` passes (the heap's and the collector's own
    checks) after every operation of the program, and (``GCLAB_DEBUG=2``) after every
    top-level operation of the heap inside it.

>>> from gclab.testing.conformance import capabilities_of, make_heap
>>> from gclab.testing.programs import Collect, Program, Ring
>>> heap = make_heap("cpython", "3.12")
>>> runner = ProgramRunner(heap, capabilities_of(heap), {"reachable", "cycles"})
>>> runner.run(Program((Ring(("list", "fin"), keep=-1), Collect(2))))
>>> runner.finalized_serials()
1
>>> runner.close()
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..collectors.base import Capabilities
from ..heap.invariants import check_invariants
from . import programs as P
from .ledger import Ledger
from .model import Monitor, Node

ATTRIBUTES = ("a", "b")
WEAKREFABLE = ("set", "plain", "slotted", "fin", "phoenix")
SOURCES = ("list", "dict", "set", *P.CLASS_KINDS, *P.LOW_KINDS)
Value = tuple[Any, int, "int | None"]  # host value, slot code, model id (None: an atom)


class ProgramRunner:
    """One heap, its model and its monitor; :meth:`run` executes programs on them.

    ``capabilities``: the heap's collector's
    (:func:`gclab.testing.conformance.capabilities_of`)."""

    def __init__(self, heap: Any, capabilities: Capabilities,
                 checks: set[str] | frozenset[str]) -> None:
        self.heap = heap
        self.caps = capabilities
        self.legacy = heap.profile.legacy_finalizers
        self.monitor = Monitor(heap, checks, legacy=self.legacy,
                               refcounts=self.caps.uses_refcounts)
        self.checks = self.monitor.checks
        self.model = self.monitor.model
        self.ledger = Ledger(heap) if "accounting" in self.checks else None
        self.proxies: dict[int, Any] = {}  # the program's proxies: one per object at most
        self.low: Counter[int] = Counter()  # low-level references the program holds
        self.frames: list[Any] = []
        self.grave: list[Any] = [heap.list()]  # emptied by close()
        self.classes = self._classes()
        # the runner calls the checker after every operation; with "invariants" the heap
        # also checks after each of its own top-level operations (GCLAB_DEBUG=2)
        heap.debug_level = 2 if "invariants" in self.checks else 0
        grave_id = heap.id_of(self.grave[0])
        self.model.add(grave_id, "grave", held=1)
        self.monitor.grave = grave_id
        self.model.add(heap.id_of(heap.globals), "module", static=True)
        self.model.add(heap.empty_tuple, "tuple", static=True)

    def _classes(self) -> dict[str, Any]:
        """The program's classes; their ``__del__`` reach the monitor and the grave, never the
        heap or the runner (which hold the heap): a dropped heap is freed at once."""
        heap, monitor, grave = self.heap, self.monitor, self.grave

        @heap.cls
        class Plain:
            pass

        @heap.cls
        class Slotted:
            __slots__ = ("__weakref__", *ATTRIBUTES)

        @heap.cls
        class Fin:
            __slots__ = ("__weakref__", *ATTRIBUTES)

            def __del__(self) -> None:
                monitor.finalized(monitor.heap.id_of(self))

        @heap.cls
        class Phoenix:
            def __del__(self) -> None:
                monitor.finalized(monitor.heap.id_of(self))
                if grave:
                    grave[0].append(self)  # resurrected

        return {"plain": Plain, "slotted": Slotted, "fin": Fin, "phoenix": Phoenix}

    def close(self) -> None:
        """Drop every proxy the program holds (a heap with managed classes is a host cycle;
        proxies left in it would die inside some later host collection)."""
        self.grave.clear()
        self.proxies.clear()
        self.frames.clear()
        self.heap.gc.garbage.clear()

    # -- running ---------------------------------------------------------------------------------

    def run(self, program: P.Program) -> None:
        """Every operation, each followed by the operation-level checks."""
        if self.caps.generational:
            self.heap.gc.set_threshold(*program.thresholds)
        self.after_operation()
        for op in program.ops:
            self.step(op)

    def step(self, op: P.Op) -> None:
        """One operation, then the operation-level checks."""
        handler = getattr(self, "_" + type(op).__name__.lower())
        handler(op)
        self.after_operation()

    def after_operation(self) -> None:
        """Weakref targets, the ledger and the invariant checker (as asked)."""
        self.monitor.sync()
        if "weakrefs" in self.checks:
            self.monitor.check_weakref_targets()
        if self.ledger is not None:
            self.ledger.check()
        if self.checks & {"accounting", "invariants"}:
            check_invariants(self.heap)  # the heap's checks and, through them, the collector's

    def finalized_serials(self) -> int:
        """How many objects ran their ``__del__`` so far."""
        return len(self.monitor.runs)

    # -- picking ---------------------------------------------------------------------------------

    def held(self, *kinds: str) -> list[int]:
        """Ids the program holds (of ``kinds``, if given), in id order."""
        ids = set(self.proxies) | {oid for oid, n in self.low.items() if n > 0}
        return sorted(oid for oid in ids
                      if not kinds or self.model.nodes[oid].kind in kinds)

    @staticmethod
    def pick(ids: list[int], k: int) -> int | None:
        return ids[k % len(ids)] if ids else None

    def obj(self, oid: int) -> Any:
        """The program's proxy of ``oid``, or a new one (the caller drops it)."""
        found = self.proxies.get(oid)
        return found if found is not None else self.heap.proxy(oid)

    def value(self, k: int, *kinds: str) -> Value:
        """A picked value: (host value, slot code, model id or None); ``k < 0``: an atom."""
        oid = self.pick(self.held(*kinds), k) if k >= 0 else None
        if oid is None:
            atom = P.ATOM_VALUES[k % len(P.ATOM_VALUES)]
            return atom, self.heap.atom(atom), None
        return self.obj(oid), oid, oid

    def hold(self, proxy: Any, kind: str, **fields: Any) -> int:
        """Keep ``proxy`` of an object the last call made; the model learns it."""
        oid = self.heap.id_of(proxy)
        if self.monitor.sync((oid, kind, {"held": 1, **fields})) is None and (
                oid not in self.proxies):  # the shared empty tuple, a shared basic weakref
            self.model.nodes[oid].held += 1
        self.proxies[oid] = proxy
        return oid

    # -- making objects --------------------------------------------------------------------------

    def _make(self, op: P.Make) -> None:
        heap = self.heap
        if op.kind in P.CLASS_KINDS:
            oid = self.hold(self.classes[op.kind](), op.kind)
            for name, k in zip(ATTRIBUTES, op.items, strict=False):
                self._set(oid, name, self.value(k))
            return
        kinds = P.CLASS_KINDS if op.kind == "set" else ()
        values = [self.value(k, *kinds) for k in op.items]
        if op.kind == "set":
            values = list({v[1]: v for v in values if v[2] is not None}.values())
        hosts, ids = [v[0] for v in values], [v[2] for v in values]
        if op.kind == "dict":
            entries = dict(zip(P.NAMES, ids, strict=False))
            made = heap.dict(zip(P.NAMES, hosts, strict=False))
            del hosts, values
            self.hold(made, "dict", entries=entries)
        else:
            made = {"list": heap.list, "tuple": heap.tuple, "set": heap.set}[op.kind](hosts)
            del hosts, values
            self.hold(made, op.kind, items=ids)

    def _alloc(self, op: P.Alloc) -> None:
        heap = self.heap
        kind = op.kind.removeprefix("low-")
        size = 0 if kind == "dict" else op.size
        oid = heap.alloc(kind, size)
        if self.monitor.sync((oid, op.kind, {"held": 1, "items": [None] * size})) is None:
            self.model.nodes[oid].held += 1  # the empty tuple
        self.low[oid] += 1

    def _ring(self, op: P.Ring) -> None:
        ids = []
        for kind in op.kinds:
            made = self.classes[kind]() if kind in P.CLASS_KINDS else (
                self.heap.list() if kind == "list" else self.heap.dict())
            ids.append(self.hold(made, kind))
            del made
        for source, target in zip(ids, ids[1:] + ids[:1], strict=True):
            self._link(source, (self.obj(target), target, target))
        weakrefable = [oid for oid in ids if self.model.nodes[oid].kind in WEAKREFABLE]
        if op.weakref and weakrefable:
            self._new_weakref(weakrefable[0], True)
        for position, oid in enumerate(ids):
            if position != op.keep:
                self._release(oid)

    def _link(self, source: int, target: Value) -> None:
        """``source`` refers to ``target`` (a ring's link)."""
        kind = self.model.nodes[source].kind
        if kind == "list":
            self._append(source, target)
        elif kind == "dict":
            self._dict_store(source, P.NAMES[0], target)
        else:
            self._set(source, ATTRIBUTES[0], target)

    def _weakref(self, op: P.Weakref) -> None:
        oid = self.pick(self.held(*WEAKREFABLE), op.target)
        if oid is not None:
            self._new_weakref(oid, op.callback)

    def _new_weakref(self, oid: int, with_callback: bool) -> None:
        """The program holds a new weakref to ``oid``, with or without a callback."""
        heap, monitor = self.heap, self.monitor

        def callback(wr: Any) -> None:
            monitor.called_back(monitor.heap.id_of(wr))

        target = self.obj(oid)
        made = heap.weakref(target, callback if with_callback else None)
        del target
        self.hold(made, "weakref", target=oid, callback=with_callback)

    # -- storing and removing references ---------------------------------------------------------

    def _store(self, op: P.Store) -> None:
        source = self.pick(self.held(*SOURCES), op.source)
        if source is None:
            return
        node = self.model.nodes[source]
        name = P.NAMES[op.key % len(P.NAMES)]
        if node.kind == "list":
            self._append(source, self.value(op.value))
        elif node.kind in ("dict", "low-dict"):
            self._dict_store(source, name, self.value(op.value))
        elif node.kind == "set":
            self._set_add(source, self.value(op.value, *P.CLASS_KINDS))
        elif node.kind in P.CLASS_KINDS:
            self._set(source, ATTRIBUTES[op.key % 2], self.value(op.value))
        else:
            self._low_store(source, node, op.key, op.value)

    def _append(self, source: int, value: Value) -> None:
        """``list.append(value)``."""
        host, _, oid = value
        del value
        self.obj(source).append(host)
        del host
        self.model.nodes[source].items.append(oid)
        self.monitor.sync()

    def _dict_store(self, source: int, name: str, value: Value) -> None:
        """``d[name] = value`` (a low-level dict: ``dict_set``)."""
        host, code, oid = value
        del value
        if self.model.nodes[source].kind == "low-dict":
            self.heap.dict_set(source, self.heap.atom(name), code)
        else:
            self.obj(source)[name] = host
        del host
        self.model.nodes[source].entries[name] = oid
        self.monitor.sync()

    def _set_add(self, source: int, value: Value) -> None:
        """``s.add(value)`` of an instance not in the set yet."""
        host, _, oid = value
        del value
        if oid is None or oid in self.model.nodes[source].items:
            return
        self.obj(source).add(host)
        del host
        self.model.nodes[source].items.append(oid)
        self.monitor.sync()

    def _set(self, source: int, name: str, value: Value) -> None:
        """``setattr(source, name, value)``."""
        host, _, oid = value
        del value
        setattr(self.obj(source), name, host)
        del host
        self.model.nodes[source].entries[name] = oid
        self.monitor.sync()

    def _low_store(self, source: int, node: Node, key: int, k: int) -> None:
        """A low-level list appends (even key) or replaces; a low-level tuple replaces, never
        with a tuple made after it (no cycle of tuples only: tuples have no tp_clear)."""
        heap = self.heap
        _, code, oid = self.value(k)
        if node.kind == "low-list" and (key % 2 == 0 or not node.items):
            heap.append_slot(source, code)
            node.items.append(oid)
        elif node.items:
            if node.kind == "low-tuple" and oid is not None and _is_newer_tuple(
                    self.model.nodes[oid], node):
                return
            index = key % len(node.items)
            heap.set_slot(source, index, code)
            node.items[index] = oid
        self.monitor.sync()

    def _remove(self, op: P.Remove) -> None:
        source = self.pick(self.held(*SOURCES), op.source)
        if source is None:
            return
        heap, node = self.heap, self.model.nodes[source]
        name = P.NAMES[op.key % len(P.NAMES)]
        attr = ATTRIBUTES[op.key % 2]
        if node.kind == "list" and node.items:
            self.obj(source).pop()
            node.items.pop()
        elif node.kind == "dict" and name in node.entries:
            del self.obj(source)[name]
            del node.entries[name]
        elif node.kind == "low-dict" and name in node.entries:
            heap.dict_delete(source, heap.atom(name))
            del node.entries[name]
        elif node.kind == "set" and node.items:
            element = node.items[op.key % len(node.items)]
            self.obj(source).discard(self.obj(element))  # type: ignore[arg-type]
            node.items.remove(element)
        elif node.kind in P.CLASS_KINDS and attr in node.entries:
            delattr(self.obj(source), attr)
            del node.entries[attr]
        elif node.kind in ("low-list", "low-tuple") and node.items:
            index = op.key % len(node.items)
            if node.kind == "low-list":
                heap.delete_slot(source, index)
                node.items.pop(index)
            else:
                heap.clear_slot(source, index)
                node.items[index] = None
        self.monitor.sync()

    # -- the program's own references ------------------------------------------------------------

    def _release(self, oid: int) -> None:
        """Drop the program's proxy of ``oid`` (else one low-level reference)."""
        node = self.model.nodes[oid]
        if oid in self.proxies:
            del self.proxies[oid]
        else:
            self.low[oid] -= 1
            self.heap.decref(oid)
        node.held -= 1
        self.monitor.sync()

    def _drop(self, op: P.Drop) -> None:
        oid = self.pick(self.held(), op.var)
        if oid is not None:
            self._release(oid)

    def _incref(self, op: P.Incref) -> None:
        oid = self.pick(self.held(), op.var)
        if oid is not None:
            self.heap.incref(oid)
            self.low[oid] += 1
            self.model.nodes[oid].held += 1
            self.monitor.sync()

    def _decref(self, op: P.Decref) -> None:
        oid = self.pick([o for o in self.held() if self.low[o]], op.var)
        if oid is not None:
            self.low[oid] -= 1
            self.heap.decref(oid)
            self.model.nodes[oid].held -= 1
            self.monitor.sync()

    def _decrefmany(self, op: P.DecrefMany) -> None:
        candidates = [o for o in self.held() if self.low[o]]
        ids = sorted({oid for k in op.vars if (oid := self.pick(candidates, k)) is not None})
        if not ids:
            return
        for oid in ids:
            self.low[oid] -= 1
            self.model.nodes[oid].held -= 1
        self.heap.decref_many(np.array(ids, np.int32))
        self.monitor.sync()

    def _global(self, op: P.Global) -> None:
        host, _, oid = self.value(op.value)
        name = P.NAMES[op.name % len(P.NAMES)]
        setattr(self.heap.globals, name, host)
        del host
        self.model.nodes[self.heap.id_of(self.heap.globals)].entries[name] = oid
        self.monitor.sync()

    def _enter(self, _op: P.Enter) -> None:
        frame = self.heap.frame()
        frame.__enter__()
        self.monitor.sync((self.heap.id_of(frame), "frame", {"held": 1}))
        self.frames.append(frame)

    def _local(self, op: P.Local) -> None:
        if not self.frames:
            return
        host, _, oid = self.value(op.value)
        name = P.NAMES[op.name % len(P.NAMES)]
        setattr(self.frames[-1], name, host)
        del host
        self.model.nodes[self.heap.id_of(self.frames[-1])].entries[name] = oid
        self.monitor.sync()

    def _return(self, _op: P.Return) -> None:
        if not self.frames:
            return
        node = self.model.nodes[self.heap.id_of(self.frames[-1])]
        self.frames[-1].__exit__(None, None, None)
        node.entries.clear()
        self.monitor.sync()
        self.frames.pop()
        node.held -= 1
        self.monitor.sync()

    # -- the collector ---------------------------------------------------------------------------

    def _collect(self, op: P.Collect) -> None:
        full = not self.caps.generational or op.generation == 2
        before = self.garbage_before() if full and "cycles" in self.checks else None
        if self.caps.generational:
            self.heap.gc.collect(op.generation)
        else:
            self.heap.gc.collect()
        self.monitor.sync()
        if before is not None:
            self.check_full_collection(*before)

    def _threshold(self, op: P.Threshold) -> None:
        if self.caps.generational:
            self.heap.gc.set_threshold(op.threshold)

    def _bury(self, _op: P.Bury) -> None:
        self.grave[0].clear()
        assert self.monitor.grave is not None
        self.model.nodes[self.monitor.grave].items.clear()
        self.monitor.sync()
        self.heap.gc.garbage.clear()
        self.monitor.sync()

    def garbage_before(self) -> tuple[set[int], set[int], set[int], Counter[int]]:
        """Just before a full collection: the model's unreachable ids, what legacy finalizers
        keep (``__del__`` objects among them and all they reach), those of them on a cycle of
        the garbage, and ``gc.garbage``."""
        model = self.model
        unreachable = set(model.nodes) - self.monitor.live()
        finalizable = {o for o in unreachable if model.nodes[o].kind in P.FINALIZABLE}
        kept = model.reachable(finalizable) if self.legacy else set()
        on_cycle = {o for o in finalizable if self.legacy and model.on_cycle(o, unreachable)}
        return unreachable, kept, on_cycle, self.monitor.garbage()

    def check_full_collection(self, unreachable: set[int], kept: set[int], on_cycle: set[int],
                              garbage: Counter[int]) -> None:
        """The ``cycles`` property (module docstring), from :meth:`garbage_before`."""
        if not self.caps.collects_cycles:
            return
        now = self.monitor.garbage()
        for oid in sorted(on_cycle):
            if not now[oid]:
                raise AssertionError(f"a __del__ object ({oid}) on a cycle of the garbage is "
                                     f"not in gc.garbage (legacy)")
        gained = now - garbage
        wrong = sorted(o for o in gained if o not in kept or o not in unreachable
                       or o not in self.model.nodes
                       or self.model.nodes[o].kind not in P.FINALIZABLE)
        if wrong:
            raise AssertionError(f"gc.garbage gained {wrong}: only __del__ objects of the "
                                 f"garbage go there, on legacy profiles")
        live = self.monitor.live()
        left = sorted(o for o in self.model.nodes if o not in live and o not in kept)
        if left:
            raise AssertionError(f"unreachable objects survived a full collection: "
                                 f"{[self.monitor.describe(o) for o in left]}")


def _is_newer_tuple(value: Node, source: Node) -> bool:
    return value.kind in ("tuple", "low-tuple") and value.serial >= source.serial


__all__ = ["ProgramRunner"]
