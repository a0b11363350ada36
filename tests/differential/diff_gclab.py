"""Running a program on :class:`gclab.Heap` with the proxy API (the simulated side).

Program variables live in ``heap.globals`` (a root, like the real program's namespace dict)
and frame locals in a ``heap.frame()``; the runner never keeps a proxy of its own across
operations, so a ``del`` frees exactly what it frees in the real program.

The real harness allocates a few objects the program text does not show; they are mirrored
here so ``count[0]`` and the trigger points match (never their *results*):

* ``weakref.ref(x[, cb])`` builds an argument tuple of 1 or 2 items around the call;
* ``gc.get_count()`` returns a 3-tuple, kept alive by the harness;
* each round of ``gc.callbacks`` calls builds one ``info`` dict;
* on 2.7, ``gc.collect(g)`` and ``gc.set_debug(f)`` take an argument tuple (METH_VARARGS) and
  ``_snap()`` frees one (``set([...])``) before it reads ``gc.get_objects()``: freeing a tuple
  at nesting 0 drains the trashcan, where a deallocated instance leaves objects on 2.7
  (``docs/cpython-gaps.md``, gap 4).
"""

from __future__ import annotations

import gc as host_gc
from typing import Any

from diff_programs import (
    CLASSES,
    Collect,
    Count,
    Debug,
    Del,
    DelAttr,
    Frame,
    Freeze,
    Link,
    Many,
    New,
    Op,
    Program,
    Referents,
    Unlink,
)

import gclab
from gclab.heap import proxies
from gclab.heap.proxies import Proxy


def make_classes(heap: gclab.Heap, log: list[str], keep: Any) -> dict[str, type]:
    """The program's classes on ``heap`` (same shapes as :func:`diff_real.class_source`)."""
    out: dict[str, type] = {}
    for name, (has_dict, has_del, resurrects, weakrefable, attrs) in CLASSES.items():
        namespace: dict[str, Any] = {}
        if not has_dict:
            namespace["__slots__"] = (*attrs, "n", *(("__weakref__",) if weakrefable else ()))
        if has_del:
            def __del__(self: Any, resurrects: str = resurrects) -> None:
                log.append(self.n)
                if resurrects == "keep":
                    keep.append(self)
                elif resurrects == "self":
                    self.z = self
            namespace["__del__"] = __del__
        out[name] = heap.cls(type(name, (), namespace))
    return out


class Runner:
    """Executes one program on a fresh heap and returns the same record as the real harness."""

    def __init__(self, program: Program, profile: str) -> None:
        self.program = program
        self.profile = profile
        self.heap = gclab.Heap(profile=profile, free_lists=True)
        self.log: list[str] = []
        self.cbs: list[str] = []
        self.ret: list[int] = []
        self.events: list[int] = []
        self.counts: list[list[int]] = []
        self.refs: list[list[str]] = []
        self.kept: list[Any] = []
        self.names: dict[int, str] = {}
        self.frame: Any = None
        self.heap.globals.KEEP = self.heap.list()
        self.classes = make_classes(self.heap, self.log, self.heap.globals.KEEP)
        self.record: dict[str, Any] = {}

    # -- mirrored harness allocations ------------------------------------------------------------

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        """gc.callbacks entry: mirrors the ``info`` dict CPython builds for the callbacks
        (the call itself is a vectorcall: no argument tuple)."""
        info_dict = self.heap.dict()
        if phase == "stop":
            self.events += [info["generation"], info["collected"], info["uncollectable"]]
        del info_dict

    def call(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` for a METH_VARARGS function: on 2.7 its argument tuple exists during
        the call and is freed after it (which drains the trashcan)."""
        held = self.heap.tuple(args) if self.profile == "2.7" else None
        try:
            return fn(*args)
        finally:
            del held

    def weak_callback(self, wr: Any) -> None:
        self.cbs.append(self.names.get(wr._id, "?"))

    # -- variables -------------------------------------------------------------------------------

    def scope(self, var: str) -> Any:
        return self.frame if var.startswith("l") else self.heap.globals

    def get(self, var: str) -> Any:
        return 1 if var == "ONE" else getattr(self.scope(var), var)

    def put(self, var: str, value: Any) -> None:
        setattr(self.scope(var), var, value)

    # -- operations ------------------------------------------------------------------------------

    def new(self, op: New) -> None:
        heap, label = self.heap, f"@{op.var}"
        if op.kind == "list":
            self.put(op.var, heap.list([label]))
        elif op.kind == "dict":
            self.put(op.var, heap.dict({"dn": label}))
        elif op.kind == "set":
            self.put(op.var, heap.set([label]))
        elif op.kind == "tuple":
            self.put(op.var, heap.tuple([label, *(self.get(i) for i in op.items)]))
        elif op.kind == "weakref":
            target = self.get(op.items[0])
            callback = self.weak_callback if op.callback else None
            with heap.operation():
                args = heap.tuple([target, None] if op.callback else [target])
                ref = heap.weakref(target, callback)
                del args
            del target
            self.names[ref._id] = label
            self.put(op.var, ref)
        else:
            self.put(op.var, self.classes[op.kind]())
            self.get(op.var).n = label

    def link(self, op: Link) -> None:
        src, dst = self.get(op.src), self.get(op.dst)
        if op.key == "append":
            src.append(dst)
        elif op.key == "add":
            src.add(dst)
        elif op.key.startswith("k"):
            src[op.key] = dst
        else:
            setattr(src, op.key, dst)

    def unlink(self, op: Unlink) -> None:
        src = self.get(op.src)
        if op.key == "pop":
            del src[-1]
        elif op.key.startswith("k"):
            src[op.key] = None
        else:
            setattr(src, op.key, None)

    def referents(self, op: Referents) -> None:
        """The harness's ``_refs(var)``: labels, atoms' reprs, type names (gclab has no type
        objects; CPython's are left out)."""
        kinds = {"ListProxy": "list", "TupleProxy": "tuple", "DictProxy": "dict",
                 "SetProxy": "set", "WeakrefProxy": "weakref" if self.profile == "2.7"
                 else "ReferenceType"}
        out = []
        for ref in self.heap.gc.get_referents(self.get(op.var)):
            name = self.name(ref)
            if name is None and not isinstance(ref, Proxy):
                name = repr(ref)
            out.append(name or kinds.get(type(ref).__name__, type(ref).__name__))
        self.refs.append(out)

    def count(self) -> None:
        counts = list(self.heap.gc.get_count())
        self.counts.append(counts)
        with self.heap.operation():
            self.kept.append(self.heap.tuple(counts))

    def delattr(self, op: DelAttr) -> None:
        obj = self.get(op.src)
        if not op.missing:
            delattr(obj, op.key)
            return
        with self.heap.frame() as f:  # the frame of the harness's _try_del(o, name)
            f.o = obj
            del obj
            try:
                delattr(f.o, op.key)
            except AttributeError:
                pass

    def many(self, op: Many) -> None:
        cls = self.classes[op.kind]
        for i in range(op.count):
            obj = cls()
            for attr in op.attrs:
                setattr(obj, attr, i)
            del obj

    def run_frame(self, frame: Frame) -> None:
        with self.heap.frame() as f:
            self.frame = f
            del f
            self.run_ops(frame.body)
        self.frame = None

    def run_op(self, op: Op) -> None:
        gc = self.heap.gc
        if isinstance(op, New):
            self.new(op)
        elif isinstance(op, Link):
            self.link(op)
        elif isinstance(op, Unlink):
            self.unlink(op)
        elif isinstance(op, DelAttr):
            self.delattr(op)
        elif isinstance(op, Del):
            delattr(self.scope(op.var), op.var)
        elif isinstance(op, Collect):
            self.ret.append(self.call(gc.collect, op.gen))
        elif isinstance(op, Debug):
            self.call(gc.set_debug, 32 if op.saveall else 0)
        elif isinstance(op, Freeze):
            gc.freeze()
        elif isinstance(op, Count):
            self.count()
        elif isinstance(op, Referents):
            self.referents(op)
        elif isinstance(op, Many):
            self.many(op)
        elif isinstance(op, Frame):
            self.run_frame(op)

    def run_ops(self, ops: tuple[Op, ...]) -> None:
        for op in ops:
            self.run_op(op)

    # -- the whole program -----------------------------------------------------------------------

    def name(self, obj: Any) -> str | None:
        """The label of a simulated object (same rules as the harness's ``_name``)."""
        value: Any = None
        if isinstance(obj, (proxies.ListProxy, proxies.TupleProxy)):
            value = obj[0] if len(obj) else None
        elif isinstance(obj, proxies.DictProxy):
            value = obj.get("dn")
        elif isinstance(obj, proxies.SetProxy):
            value = next((x for x in obj if isinstance(x, str)), None)
        elif isinstance(obj, proxies.WeakrefProxy):
            value = self.names.get(obj._id)
        elif type(obj) in self.classes.values():
            try:
                value = obj.n
            except AttributeError:
                value = None
        return value if isinstance(value, str) and value.startswith("@") else None

    def snap(self) -> None:
        gc = self.heap.gc
        gc.disable()
        self.call(lambda _: None, "classes")  # 2.7: _snap()'s set([...]) argument tuple
        gens = [gc.get_objects()] if self.profile == "2.7" else [
            gc.get_objects(g) for g in (0, 1, 2)]
        self.record["objs"] = [[n for n in map(self.name, gen) if n] for gen in gens]
        del gens
        self.record["garb"] = ["", *(self.name(o) for o in gc.garbage)]

    def run(self) -> dict[str, Any]:
        gc, program = self.heap.gc, self.program
        gc.disable()
        if program.auto:
            gc.set_threshold(*program.auto)
        gc.collect()
        if program.auto:
            gc.callbacks.append(self.gc_callback)
            gc.enable()
        self.run_ops(program.ops)
        self.snap()
        self.run_ops((*(Del(v) for v in program.global_vars), Collect(2)))
        gc.disable()
        self.record["garb_end"] = ["", *(self.name(o) for o in gc.garbage)]
        # copies: finalizers still run when the heap itself is dropped after the program
        self.record.update(ret=list(self.ret), log=list(self.log), cb=list(self.cbs),
                           ev=list(self.events), cnt=list(self.counts), refs=list(self.refs))
        return self.record


def run_gclab(program: Program, profile: str) -> dict[str, Any]:
    """The record of ``program`` on a fresh ``gclab.Heap(profile, free_lists=True)``."""
    # The host's own cycle collector must not release proxies at random moments.
    was_enabled = host_gc.isenabled()
    host_gc.disable()
    try:
        return Runner(program, profile).run()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if was_enabled:
            host_gc.enable()
