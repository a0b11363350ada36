"""The capture agent: walks this interpreter's heap and writes a raw dump (issue #9, parts 1-2).

This file is shipped as *source text* into a target process (``attach``) and also imported by
:mod:`gclab.snapshots.capture` for the in-process capture, so it uses the standard library only,
has no relative imports and runs unchanged on CPython 3.8 to 3.14. Its one entry point is
:func:`dump` (``walk`` + ``write``); :func:`gclab.snapshots.capture.convert` turns the dump into a
:class:`~gclab.snapshots.Snapshot` outside the target.

How it walks, and why it is safe and small:

* only ``gc.get_objects()`` and ``gc.get_referents()``; no user ``__repr__``, ``__eq__``,
  ``__hash__``, ``__getattr__``, ``__sizeof__`` or ``__class__`` ever runs: types come from
  ``type()``, sizes from ``sys.getsizeof`` only for types whose ``__sizeof__`` is a builtin's
  C slot (else ``object.__sizeof__`` plus the GC header, as ``sys.getsizeof`` adds it), names
  from exact ``str``/``int`` keys through ``dict.items`` called as the C method, labels through
  the builtin types' own descriptors (``type.__dict__['__qualname__'].__get__``);
* no ``obj.__dict__`` (3.11+ would materialise it), no ``frame.f_locals`` before 3.13 (it writes
  the frame's locals dict); automatic collection is disabled while it walks. Other threads
  keep running (holding them off with a long ``sys.setswitchinterval`` can stall the process
  for that long afterwards): every column is read from the same list of objects, so rows stay
  aligned, and one object's references come from one ``gc.get_referents`` call (under the
  GIL), but columns of an object that another thread changes may be moments apart;
* no Python object per captured object outlives one chunk: flat ``array`` buffers; the
  referents of a chunk come from ONE ``gc.get_referents(o1, M, o2, M, ...)`` call where ``M`` is
  a 1-tuple holding a sentinel list, so the sentinel's address in the flat result separates the
  objects' referents (the converter splits on it); addresses of a list's items are copied out of
  the list's item buffer (``ctypes``), checked against ``id()``, with ``map(id, ...)`` as the
  fallback.

Reference counts: ``sys.getrefcount`` minus the capture's own references, calibrated on a probe
object held exactly as the captured objects are. Immortal objects (3.12+): ``sys._is_immortal``
when it exists (3.14), else a count of at least ``2**30`` (``IMMORTAL_COUNT``; 3.12/3.13 store
``2**32 - 1`` or more); their count is kept as CPython's collector sees it.

The raw dump (``FORMAT`` ``"gclab-raw"``, ``VERSION`` 1): ``MAGIC``, an 8-byte little-endian
header length, a JSON header (``meta``, ``types``, ``strings``, ``warnings``, ``sections``: name,
typecode, item count, CRC-32 of each array), then each section's bytes in native order, then
``END``. It is written to ``path + ".tmp"`` and renamed over ``path``.
"""

import gc
import json
import os
import sys
import time
import types
import weakref
import zlib
from array import array
from itertools import compress, count, filterfalse, islice, repeat
from operator import getitem as _getitem
from operator import is_ as _is

try:  # the fast address copy needs ctypes; without it ``map(id, ...)`` does the same work
    import ctypes
except Exception:  # pragma: no cover - ctypes is missing only on unusual builds
    ctypes = None  # type: ignore[assignment]

FORMAT = "gclab-raw"
VERSION = 1
MAGIC = b"GCLABRAW"
END = b"END"
CHUNK = 1 << 15           # objects per gc.get_referents call
LABEL_CHARS = 80          # longest label or name kept
IMMORTAL_COUNT = 2 ** 30  # 3.12/3.13: a reference count at least this is immortal
_CLIP = slice(0, LABEL_CHARS)

ROOT_MODULE, ROOT_FRAME, ROOT_CLASS, ROOT_GC_GARBAGE, ROOT_EXTERNAL, ROOT_THREAD = range(6)
T_FINALIZER, T_GC, T_HEAP, T_WEAKREF, T_MANAGED_DICT, T_SLOTS, T_TYPE = 1, 2, 4, 8, 16, 32, 64
T_MODULE = 128

_HEAPTYPE = 1 << 9
_HAVE_GC = 1 << 14
_MANAGED = (1 << 3) | (1 << 4)  # Py_TPFLAGS_MANAGED_WEAKREF (3.12+) | MANAGED_DICT (3.11+)
_type_get = type.__dict__["__dict__"].__get__
_mro_get = type.__dict__["__mro__"].__get__
_flags_get = type.__dict__["__flags__"].__get__
_qualname_get = type.__dict__["__qualname__"].__get__
_module_get = type.__dict__["__module__"].__get__
_base_get = type.__dict__["__base__"].__get__
_ModuleType = types.ModuleType
_module_dict_get = vars(_ModuleType)["__dict__"].__get__
_FunctionType = type(lambda: None)
_func_qualname_get = _FunctionType.__dict__["__qualname__"].__get__
_BuiltinType = type(len)
_builtin_name_get = _BuiltinType.__dict__["__name__"].__get__
_CodeType = type((lambda: None).__code__)
_code_name_get = _CodeType.__dict__["co_name"].__get__
_dict_items = dict.items
_dict_get = dict.get
_object_sizeof = object.__sizeof__
_dictoffset_get = type.__dict__["__dictoffset__"].__get__
_Ref = weakref.ReferenceType
_PROXIES = (weakref.ProxyType, weakref.CallableProxyType)
_ref_call = _Ref.__call__


def _finalizing_builtins():
    """Builtin types whose instances have a C ``tp_finalize`` (generators, coroutines, io)."""
    found = [type((lambda: (yield))())]
    found += [types.CoroutineType, types.AsyncGeneratorType]
    io = sys.modules.get("_io")
    if io is not None:
        base = _dict_get(_module_dict_get(io), "_IOBase")
        if type(base) is type:
            found.append(base)
    return found


_FINALIZING = _finalizing_builtins()


def _items_offset():
    """Byte offset of a list's item pointer in the list object, or None (no fast copy)."""
    if ctypes is None or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    return list.__basicsize__ - 2 * ctypes.sizeof(ctypes.c_void_p)


_ITEMS = _items_offset()


def addresses(objects):
    """``array('Q', map(id, objects))`` for a list: copied from the list's item buffer when
    ctypes can and the copy agrees with ``id()`` at the ends and the middle.

    >>> xs = [object() for _ in range(5)]
    >>> list(addresses(xs)) == [id(x) for x in xs]
    True
    """
    n = len(objects)
    out = array("Q")
    if _ITEMS is not None and n:
        try:
            pointer = ctypes.c_void_p.from_address(id(objects) + _ITEMS).value
            out = array("Q", bytes(8)) * n  # then one memmove: no ctypes array type is made
            ctypes.memmove(out.buffer_info()[0], pointer, 8 * n)
            if (out[0] == id(objects[0]) and out[-1] == id(objects[-1])
                    and out[n // 2] == id(objects[n // 2])):
                return out
        except Exception:  # pragma: no cover - fall back to the portable way
            pass
        out = array("Q")
    out.extend(map(id, objects))
    return out


class Walk:
    """One capture in progress: the arrays of the raw dump, filled by :meth:`run`.

    Afterwards ``self.arrays`` maps section names to arrays, ``self.header`` holds the meta,
    types, strings and warnings; nothing else of the heap is held.
    """

    def __init__(self, collect=False, skip_codes=()):
        self.collect = collect
        self.skip = set(map(id, skip_codes))
        own = [dump, walk, write, *Walk.__dict__.values()]
        self.skip.update(id(f.__code__) for f in own if type(f) is _FunctionType)

    # -- helpers -----------------------------------------------------------------------------

    def warn(self, address, what):
        """Record that the object at ``address`` could not be read fully."""
        self.arrays["partial"].append(address)
        if len(self.warnings) < 1000:
            self.warnings.append("object at %#x: %s" % (address, what))

    def refcounts(self, objects, out):
        """Append each object's reference count, less the capture's own references, to
        ``out`` (calibrated on a probe appended to ``objects`` and removed again)."""
        probe = [None]
        objects.append(probe)
        counts = array("q", map(sys.getrefcount, objects))
        objects.pop()
        overhead = counts.pop() - 1  # the probe's one true reference: the local ``probe``
        self.meta.setdefault("refcount_overhead", []).append(overhead)
        out.extend(counts)  # the converter subtracts the overhead
        if hasattr(sys, "_is_immortal"):
            self.arrays["immortal"].extend(addresses(list(
                compress(objects, map(sys._is_immortal, objects)))))

    def sizes(self, objects, kinds, kind_ids, unique, out):
        """Append each object's shallow size; types with a Python ``__sizeof__`` get
        ``object.__sizeof__`` plus the header ``sys.getsizeof`` would add (types are told
        apart by address: a metaclass's ``__hash__`` never runs)."""
        extra = dict((id(t), self.type_info(t)[3]) for t in unique
                     if self.type_info(t)[3] is not None)
        if not extra:
            self.checked_sizes(objects, out)
            return
        for t in unique:
            if id(t) in extra:
                self.warnings.append("type %s: __sizeof__ is Python code, not called; sizes "
                                     "are object.__sizeof__ plus the header"
                                     % self.type_info(t)[0])
        positions = list(compress(count(), map(extra.__contains__, kind_ids)))
        done = 0
        for position in [*positions, len(objects)]:
            self.checked_sizes(objects[done:position], out)
            if position < len(objects):
                out.append(_object_sizeof(objects[position]) + extra[kind_ids[position]])
            done = position + 1

    def checked_sizes(self, objects, out):
        """``sys.getsizeof`` of each object (all of builtin-sized types); an object whose size
        cannot be read gets ``object.__sizeof__`` and a warning."""
        try:
            out.extend(map(sys.getsizeof, objects))
            return
        except Exception:
            pass
        for obj in objects:
            try:
                out.append(sys.getsizeof(obj))
            except Exception as error:
                out.append(_object_sizeof(obj))
                self.warn(id(obj), "size unreadable (%s)" % type(error).__name__)

    def type_info(self, t):
        """``[name, bits, dictoffset, sizeof_header or None]`` of type ``t``, computed once:
        the qualified name, ``T_*`` bits, and for a type whose ``__sizeof__`` is Python code
        the header bytes to add to ``object.__sizeof__`` (None when ``sys.getsizeof`` is safe)."""
        info = self.types.get(id(t))
        if info is not None:
            return info
        try:
            mro = _mro_get(t) or (t,)
            flags = _flags_get(t)
            name = _qualname_get(t)
            module = _module_get(t)
            if type(name) is not str:
                name = "?"
            if type(module) is str and module:
                name = module + "." + name
            bits = (T_GC if flags & _HAVE_GC else 0) | (T_HEAP if flags & _HEAPTYPE else 0)
            if flags & (1 << 4) and sys.version_info >= (3, 11):
                bits |= T_MANAGED_DICT
            header = None
            for klass in mro:
                kdict = _type_get(klass)
                if "__del__" in kdict and _flags_get(klass) & _HEAPTYPE:
                    bits |= T_FINALIZER
                if "__slots__" in kdict and _flags_get(klass) & _HEAPTYPE:
                    bits |= T_SLOTS
            for klass in mro:
                if "__sizeof__" in _type_get(klass):
                    if _flags_get(klass) & _HEAPTYPE:
                        header = 16 if flags & _HAVE_GC else 0
                        if sys.version_info >= (3, 11) and flags & _MANAGED:
                            header += 16
                    break
            for klass in mro:
                if any(klass is f for f in _FINALIZING):
                    bits |= T_FINALIZER
                if klass is _Ref or any(klass is p for p in _PROXIES):
                    bits |= T_WEAKREF
                if klass is type:
                    bits |= T_TYPE
                if klass is _ModuleType:
                    bits |= T_MODULE
            offset = _dictoffset_get(t)
        except Exception as error:
            name, bits, offset, header = "?", 0, 0, 0
            self.warnings.append("type at %#x: unreadable (%s)" % (id(t), type(error).__name__))
        info = self.types[id(t)] = [name, bits, offset if type(offset) is int else 0, header]
        return info

    # -- the walk ----------------------------------------------------------------------------

    def run(self):
        """Walk the heap into ``self.arrays`` and ``self.header`` (see the module docstring)."""
        started, clock = time.time(), time.perf_counter()
        enabled = gc.isenabled()
        gc.disable()
        try:
            if self.collect:
                gc.collect()
            self.walk_heap(gc.get_objects())  # first: nothing of the capture exists but self
        finally:
            if enabled:
                gc.enable()
        self.meta.update(
            python="%d.%d.%d" % sys.version_info[:3], implementation=sys.implementation.name,
            pid=os.getpid(), time=started, argv=[a for a in sys.argv if type(a) is str],
            gc_threshold=list(gc.get_threshold()), gc_count=self.counts, gc_enabled=enabled,
            freeze_count=gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0,
            capture_seconds=time.perf_counter() - clock, platform=sys.platform,
            pointer_size=8 if sys.maxsize > 2 ** 32 else 4, byteorder=sys.byteorder,
            agent_version=VERSION, collected=bool(self.collect))

    def walk_heap(self, objects):
        """Nodes (``objects``: the tracked ones, then the untracked and frozen objects they
        reach), their references, labels, names, weak references and roots, into
        ``self.arrays``; ``self.exclude`` lists the capture's own objects among them."""
        self.counts = list(gc.get_count())
        self.warnings = []
        self.meta, self.types, self.classes = {}, {}, []
        self.label_text, self.name_text, self.root_text = [], [], []
        arrays = self.arrays = {}
        for name, code in (("address", "Q"), ("type", "Q"), ("size", "q"), ("refcount", "q"),
                           ("targets", "Q"), ("gen0", "Q"), ("gen1", "Q"), ("tracked", "b"),
                           ("partial", "Q"), ("finalized", "Q"), ("immortal", "Q"),
                           ("weak_src", "Q"), ("weak_dst", "Q"), ("name_src", "Q"),
                           ("name_pos", "q"), ("label_node", "Q"), ("root_node", "Q"),
                           ("root_kind", "B"), ("exclude", "Q")):
            arrays[name] = array(code)
        self.own(arrays["exclude"])
        arrays["address"] = addresses(objects)
        self.drop_own(objects, arrays["address"], arrays["exclude"])
        self.refcounts(objects, arrays["refcount"])
        for generation in (0, 1):
            arrays["gen%d" % generation] = addresses(gc.get_objects(generation))
        self.sentinel = []
        self.marker = (self.sentinel,)
        self.meta["sentinel"] = id(self.sentinel)
        self.tracked_ids = set(arrays["address"]) if self.frozen_possible() else None
        self.describe(objects)
        found = {}
        self.referents(objects, found)
        extra = self.closure(found)
        del found
        self.meta["nodes_tracked"] = len(objects)
        self.roots()
        del objects
        self.refcounts(extra, arrays["refcount"])
        arrays["address"].extend(addresses(extra))
        arrays["tracked"] = array("b", map(gc.is_tracked, extra))
        self.describe(extra)

    def own(self, exclude):
        """Append the addresses of this capture's own objects that ``gc.get_objects()`` saw:
        this walk and its attribute dict, and (before 3.11) the capture's frames."""
        exclude.append(id(self))
        for ref in gc.get_referents(self):
            if type(ref) in (dict, set):
                exclude.append(id(ref))
                exclude.extend(id(r) for r in gc.get_referents(ref) if type(r) is set)
        if sys.version_info < (3, 11):  # frames are objects only when materialised after
            frame = sys._getframe()
            while frame is not None and id(frame.f_code) in self.skip:
                exclude.append(id(frame))
                frame = frame.f_back

    def drop_own(self, objects, listed, exclude):
        """Remove the excluded objects from ``objects`` and their addresses from ``listed``
        (made just before the walk, they sit in generation 0, at the front of the list)."""
        for address in exclude:
            try:
                position = listed.index(address)
            except ValueError:
                continue
            del objects[position]
            del listed[position]

    def frozen_possible(self):
        """True when ``gc.freeze()`` left objects that ``gc.get_objects()`` does not list."""
        return bool(getattr(gc, "get_freeze_count", lambda: 0)())

    def describe(self, objects):
        """Append each object's type address and size, and read what its type makes
        interesting (C reads only): labels, dict key names, weak referents, finalized bits."""
        kinds = list(map(type, objects))
        kind_ids = addresses(kinds)
        self.arrays["type"].extend(kind_ids)
        unique = self.unique(kinds)
        for t in unique:
            self.type_info(t)
        self.sizes(objects, kinds, kind_ids, unique, self.arrays["size"])
        special = self.special_types()
        picked = list(compress(objects, map(special.__contains__, kind_ids)))
        del kinds, kind_ids
        picked_kinds = list(map(type, picked))
        for kind, reader in ((str, None), (int, int.__repr__), (float, float.__repr__),
                             (bytes, _bytes_label), (_FunctionType, _func_qualname_get),
                             (_BuiltinType, _builtin_name_get), (_CodeType, _code_name_get)):
            group = list(compress(picked, map(_is, picked_kinds, repeat(kind))))
            self.labels(group, reader)
        picked_kinds = addresses(picked_kinds)
        for obj in compress(picked, map(id(dict).__eq__, picked_kinds)):
            self.guarded(self.name_dict, obj)
        wanted = T_WEAKREF | T_FINALIZER | T_TYPE | T_MODULE
        rare = set(a for a, info in self.types.items() if info[1] & wanted)
        for obj in compress(picked, map(rare.__contains__, picked_kinds)):
            self.guarded(self.read_special, obj)

    def guarded(self, reader, obj):
        """``reader(obj)``; an error marks the object PARTIAL with a warning."""
        try:
            reader(obj)
        except Exception as error:
            self.warn(id(obj), "%s: %s" % (reader.__name__, type(error).__name__))

    def labels(self, group, reader):
        """Label each object of ``group`` with ``reader(obj)`` (an exact str, C code)."""
        if not group:
            return
        try:
            texts = group if reader is None else list(map(reader, group))
        except Exception:
            texts = []
            for obj in group:
                try:
                    texts.append(reader(obj))
                except Exception:
                    texts.append(None)
        keep = list(map(id(str).__eq__, map(id, map(type, texts))))
        self.arrays["label_node"].extend(addresses(list(compress(group, keep))))
        self.label_text.extend(map(_getitem, compress(texts, keep), repeat(_CLIP)))

    def unique(self, kinds):
        """The distinct types of ``kinds``: by identity through a set when no metaclass
        defines ``__hash__`` or ``__eq__``, else through their addresses."""
        metas, stack = [], [type]
        while stack:
            meta = stack.pop()
            metas.append(meta)
            stack.extend(type.__subclasses__(meta))
        if all("__hash__" not in _type_get(m) and "__eq__" not in _type_get(m)
               for m in metas if m is not type):
            return set(kinds)
        return list(dict(zip(addresses(kinds), kinds)).values())

    def special_types(self):
        """Addresses of the types whose instances :meth:`describe` reads."""
        wanted = T_WEAKREF | T_FINALIZER | T_TYPE | T_MODULE
        plain = (dict, str, int, float, bytes, _FunctionType, _BuiltinType, _CodeType)
        special = set(map(id, plain))
        special.update(a for a, info in self.types.items() if info[1] & wanted)
        return special

    def read_special(self, obj):
        """A class's or module's label, a weak reference's referent, a finalized bit."""
        bits = self.types[id(type(obj))][1]
        if bits & T_TYPE:
            info = self.type_info(obj)
            self.labels([obj], lambda _: info[0])
            if info[1] & T_HEAP:
                self.classes.append(obj)
        elif bits & T_MODULE:
            self.labels([obj], lambda m: _dict_get(_module_dict_get(m), "__name__"))
        if bits & T_WEAKREF:
            self.read_weakref(obj)
        if bits & T_FINALIZER and hasattr(gc, "is_finalized") and gc.is_finalized(obj):
            self.arrays["finalized"].append(id(obj))

    def read_weakref(self, wr):
        """A WEAK reference from ``wr`` to its referent, read by ``weakref.ref``'s own C call
        (never a subclass's ``__call__``), or for a proxy from its ``wr_object`` field."""
        if any(k is _Ref for k in _mro_get(type(wr))):
            referent = _ref_call(wr)
            address = None if referent is None else id(referent)
            del referent
        elif ctypes is not None:
            address = ctypes.c_void_p.from_address(id(wr) + object.__basicsize__).value
            if address == id(None):
                address = None
        else:  # pragma: no cover
            address = None
        if address is not None:
            self.arrays["weak_src"].append(id(wr))
            self.arrays["weak_dst"].append(address)

    def name_dict(self, d):
        """Names for an exact dict's references: ``"['key']"`` for an exact-str key,
        ``"[3]"`` for an exact-int key, aligned with ``gc.get_referents(d)``: the values in
        order for a str-keyed dict, else matched by identity."""
        keys = list(dict.keys(d))
        values = list(dict.values(d))
        refs = gc.get_referents(d)
        arrays, texts = self.arrays, self.name_text
        if (len(refs) == len(values) and all(map(_is, refs, values))
                and set(map(id, map(type, keys))) == {id(str)}):
            arrays["name_src"].extend(repeat(id(d), len(keys)))
            arrays["name_pos"].extend(range(len(keys)))
            texts.extend(map("['%s']".__mod__, map(_clip, keys)))
            return
        keyed = {}
        for key, value in zip(keys, values):
            name = _key_name(key)
            if name is not None:
                keyed.setdefault(id(value), []).append(name)
        interleaved = len(refs) == 2 * len(values)
        for position, ref in enumerate(refs):
            if interleaved and position % 2 == 0:
                continue
            names = keyed.get(id(ref))
            if names:
                arrays["name_src"].append(id(d))
                arrays["name_pos"].append(position)
                texts.append(names.pop(0) if len(names) > 1 else names[0])

    def referents(self, objects, found):
        """Append the referents' addresses of every object, each object's run closed by the
        sentinel's address; untracked referents (and, after ``gc.freeze()``, tracked ones
        ``gc.get_objects()`` did not list) go into ``found`` (address -> object)."""
        targets, marker = self.arrays["targets"], self.marker
        for start in range(0, len(objects), CHUNK):
            chunk = objects[start:start + CHUNK]
            args = [marker] * (2 * len(chunk))
            args[::2] = chunk
            del chunk
            flat = gc.get_referents(*args)
            del args
            targets.extend(addresses(flat))
            loose = list(filterfalse(gc.is_tracked, flat))
            if self.tracked_ids is not None:
                seen = self.tracked_ids
                loose.extend(o for o in filter(gc.is_tracked, flat)
                             if id(o) not in seen and o is not self.sentinel)
            del flat
            if loose:
                found.update(zip(map(id, loose), loose))

    def closure(self, found):
        """The objects of ``found`` and everything untracked (or frozen) they reach, in
        discovery order, with their referents appended as :meth:`referents` does."""
        extra, done = [], 0
        while len(found) > done:
            new = list(islice(found.values(), done, None))
            done = len(found)
            extra.extend(new)
            self.referents(new, found)
        return extra

    # -- roots -------------------------------------------------------------------------------

    def root(self, obj, kind, name):
        """Record that ``obj`` is held from outside the graph (``kind``, ``name``)."""
        self.arrays["root_node"].append(id(obj))
        self.arrays["root_kind"].append(kind)
        self.root_text.append(name)

    def root_all(self, values, kind, prefix, names):
        """Roots for ``values`` named ``prefix + name`` for the exact-str ``names``."""
        keep = list(map(id(str).__eq__, map(id, map(type, names))))
        kept = list(compress(values, keep))
        self.arrays["root_node"].extend(addresses(kept))
        self.arrays["root_kind"].extend(repeat(kind, len(kept)))
        self.root_text.extend(map(prefix.__add__, compress(names, keep)))

    def roots(self):
        """Module globals, threads and their frames' locals, class attributes, gc.garbage."""
        for step in (self.module_roots, self.thread_roots, self.class_roots):
            try:
                step()
            except Exception as error:  # a root source that cannot be read is skipped
                self.warnings.append("%s: unreadable (%s)" % (step.__name__,
                                                              type(error).__name__))
        for index, obj in enumerate(list(gc.garbage)):
            self.root(obj, ROOT_GC_GARBAGE, "gc.garbage[%d]" % index)

    def module_roots(self):
        """One MODULE root per global of every module in ``sys.modules``: "module.name"."""
        modules = sys.modules
        entries = list(_dict_items(modules)) if type(modules) is dict else []
        for key, module in entries:
            if not any(k is _ModuleType for k in _mro_get(type(module))):
                continue
            namespace = _module_dict_get(module)
            if type(namespace) is not dict:
                continue
            name = _dict_get(namespace, "__name__")
            if type(name) is not str:
                name = key if type(key) is str else "?"
            self.root_all(list(dict.values(namespace)), ROOT_MODULE, name + ".",
                          list(dict.keys(namespace)))

    def class_roots(self):
        """One CLASS root per attribute of every class defined in a module (not dunder
        names): "module.Class.attr"."""
        modules = sys.modules
        for klass in self.classes:
            module = _module_get(klass)
            if type(module) is not str or module not in modules:
                continue
            prefix = self.type_info(klass)[0] + "."
            for attr, value in list(_dict_items(_class_namespace(klass))):
                if type(attr) is str and not (attr[:2] == "__" and attr[-2:] == "__"):
                    self.root(value, ROOT_CLASS, prefix + attr)
        self.classes = []

    def thread_roots(self):
        """A THREAD root per ``threading`` thread object, and FRAME roots for the locals of
        every thread's frames (this capture's own frames skipped)."""
        names = {}
        threading = sys.modules.get("threading")
        active = None
        if threading is not None:
            active = _dict_get(_module_dict_get(threading), "_active")
        if type(active) is dict:
            for ident, thread in list(_dict_items(active)):
                names[ident] = _thread_name(thread)
                self.root(thread, ROOT_THREAD, "thread " + names[ident])
        for ident, frame in list(sys._current_frames().items()):
            thread = names.get(ident) or "thread %d" % ident
            while frame is not None:
                if id(frame.f_code) not in self.skip:
                    self.frame_roots(frame, thread)
                frame = frame.f_back

    def frame_roots(self, frame, thread):
        """FRAME roots for one frame's local values: named "thread / function:line /
        variable" on 3.13+ (``f_locals`` is a read-only proxy there), unnamed "thread /
        function:line" from ``gc.get_referents(frame)`` before (3.11 and 3.12 show no locals
        of a running frame that way: its values become EXTERNAL roots)."""
        code = frame.f_code
        where = "%s / %s:%s" % (thread, _code_name_get(code), frame.f_lineno)
        if sys.version_info >= (3, 13):
            local = frame.f_locals
            if local is frame.f_globals:  # a module's frame: its globals are MODULE roots
                return
            kind = type(local)
            if kind is dict:
                items = list(_dict_items(local))
            elif kind.__module__ == "builtins" and kind.__name__ == "FrameLocalsProxy":
                items = list(local.items())
            else:
                items = []
            for name, value in items:
                if type(name) is str:
                    self.root(value, ROOT_FRAME, where + " / " + name)
            return
        infrastructure = set(map(id, (frame.f_back, code, frame.f_globals, frame.f_builtins,
                                      frame.f_trace)))
        for value in gc.get_referents(frame):
            if id(value) not in infrastructure:
                self.root(value, ROOT_FRAME, where)

    # -- the dump ----------------------------------------------------------------------------

    def header(self):
        """The dump's JSON header: format, version, meta, types, strings, warnings and the
        sections (name, typecode, item count, CRC-32)."""
        sections = [[name, data.typecode, len(data), zlib.crc32(data) & 0xFFFFFFFF]
                    for name, data in sorted(self.arrays.items())]
        types = [[address, info[0], info[1], info[2]] for address, info in self.types.items()]
        return {"format": FORMAT, "version": VERSION, "meta": self.meta, "types": types,
                "label_text": self.label_text, "name_text": self.name_text,
                "root_text": self.root_text, "warnings": self.warnings, "sections": sections}


def _clip(text):
    """``text`` cut to ``LABEL_CHARS`` characters."""
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS]


def _bytes_label(data):
    """The label of an exact bytes: its repr, cut."""
    return bytes.__repr__(data[:LABEL_CHARS])


def _key_name(key):
    """A dict key's reference name: "['key']" for an exact str, "[3]" for an exact int."""
    kind = type(key)
    if kind is str:
        return "['%s']" % _clip(key)
    if kind is int and key.bit_length() < 64:
        return "[%s]" % int.__repr__(key)
    return None


def _class_namespace(klass):
    """The dict behind a class's ``__dict__`` mapping proxy, read without the metaclass."""
    proxy = _type_get(klass)
    return dict(proxy.items()) if type(proxy).__name__ == "mappingproxy" else {}


def _thread_name(thread):
    """A ``threading.Thread``'s ``_name`` read without running code of its class (no
    descriptor named ``_name`` on its type), or "?"."""
    try:
        if any("_name" in _type_get(k) for k in _mro_get(type(thread))):
            return "?"
        name = object.__getattribute__(thread, "_name")
    except Exception:
        return "?"
    return name if type(name) is str else "?"


def walk(collect=False, skip_codes=()):
    """Walk this process's heap: a finished :class:`Walk` (its ``arrays`` and
    :meth:`Walk.header`). ``skip_codes``: code objects of the caller's frames to leave out."""
    capture = Walk(collect, skip_codes)
    capture.run()
    return capture


def write(path, capture):
    """Write ``capture`` as a raw dump at ``path`` (through ``path + ".tmp"``, renamed)."""
    header = capture.header()
    body = json.dumps(header, separators=(",", ":")).encode("ascii")
    temporary = path + ".tmp"
    with open(temporary, "wb") as out:
        out.write(MAGIC)
        out.write(len(body).to_bytes(8, "little"))
        out.write(body)
        for name, _code, _length, _crc in header["sections"]:
            capture.arrays[name].tofile(out)
        out.write(END)
    os.replace(temporary, path)


def dump(path, collect=False):
    """Capture this process's heap into a raw dump at ``path`` (see the module docstring);
    ``collect`` runs ``gc.collect()`` first. Returns None once the file is in place."""
    write(path, walk(collect))
