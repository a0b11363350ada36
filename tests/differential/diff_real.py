"""Rendering programs to plain Python and running them, batched, on real interpreters.

One subprocess per interpreter runs a whole batch: a harness (``HARNESS``, valid Python 2.7
and 3.x) reads the programs' sources, ``exec``s each one in a fresh namespace and prints one
``repr`` line per program, parsed back with :func:`ast.literal_eval`.

Noise control on the real side (see the test module docstring for what remains):

* each program defines its classes and frame functions first, then ``_begin()`` disables
  automatic collection and runs ``gc.collect()`` (empty free lists, counts ``(0, 0, 0)``,
  everything of the harness in gen2); thresholds are set *before* that collection because
  ``set_threshold(a, b, c)`` allocates an argument tuple;
* objects are made with literals (``[...]``, ``{...}``, ``(...)``) so lists, dicts and tuples
  use the free lists exactly as :class:`gclab.Heap` with ``free_lists=True`` models them;
  instances are made with no arguments (no argument tuple) and named afterwards;
* callbacks only append ints/strings to lists made before ``_begin()``; the weakref callback
  is one shared function, so a garbage weakref drags no closure into the garbage;
* on 3.12+ a collection runs at the next eval-breaker check, so ``_sp()`` (an empty Python
  function: its RESUME checks the breaker) follows every statement, matching gclab's safe
  point at the end of each heap operation.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from typing import Any

from diff_programs import (
    CLASSES,
    Collect,
    Count,
    Debug,
    Del,
    DelAttr,
    Freeze,
    Link,
    Many,
    New,
    Op,
    Program,
    Referents,
    Unlink,
)

INTERPRETERS: dict[str, tuple[str, str | None]] = {
    "2.7": ("python2.7", "2.7.18"),
    "3.10": ("python3.10", "3.10.13"),
    "3.11": ("python3", None),
    "3.12": ("python3.12", "3.12.1"),
    "3.13": ("python3.13", "3.13.0"),
}
SAFEPOINT_PROFILES = frozenset({"3.12", "3.13"})

HARNESS = r'''
import ast, gc, sys, weakref
PY2 = sys.version_info[0] == 2
THRESHOLDS = gc.get_threshold()

def _sp():
    pass

def _try_del(o, name):
    try:
        delattr(o, name)
    except AttributeError:
        pass

def _name(o, classes, wn):
    t = type(o)
    v = None
    try:
        if t is list or t is tuple:
            v = o[0] if o else None
        elif t is dict:
            v = o.get('dn')
        elif t is set:
            for x in o:
                if type(x) is str:
                    v = x
        elif t in classes:
            v = getattr(o, 'n', None)
        elif t is weakref.ref:
            v = wn.get(id(o))
    except Exception:
        v = None
    if type(v) is str and v[:1] == '@':
        return v
    return None

def _break(o):
    t = type(o)
    if t is list:
        del o[:]
    elif t is dict:
        o.clear()
    elif hasattr(o, '__dict__'):
        o.__dict__.clear()
    for a in ('a', 'b', 'c', 'z'):
        try:
            setattr(o, a, None)
        except Exception:
            pass

def run(code, auto):
    # LOG and CB start with '' so that they never look like labelled program lists
    LOG = ['']; CB = ['']; KEEP = []; WN = {}; RET = []; CNT = []; EV = []; REFS = []
    rec = {}
    G = {'gc': gc, 'weakref': weakref, 'LOG': LOG, 'CB': CB, 'KEEP': KEEP, 'WN': WN,
         'RET': RET, 'CNT': CNT, 'ONE': 1, '_sp': _sp, '_try_del': _try_del}
    def wcb(w):
        CB.append(WN.get(id(w), '?'))
    def gccb(phase, info):
        if phase == 'stop':
            EV.append(info['generation'])
            EV.append(info['collected'])
            EV.append(info['uncollectable'])
    def _begin():
        gc.disable()
        gc.set_debug(0)
        if auto:
            gc.set_threshold(auto[0], auto[1], auto[2])
        gc.collect()
        if auto:
            gc.callbacks.append(gccb)
            gc.enable()
    def _snap():
        gc.disable()
        classes = set([G[c] for c in CLASS_NAMES])
        rec['objs'] = objs = []
        for g in ((None,) if PY2 else (0, 1, 2)):
            names = ['']
            found = gc.get_objects() if g is None else gc.get_objects(g)
            for o in found:
                n = _name(o, classes, WN)
                if n:
                    names.append(n)
            del found
            o = None
            objs.append(names[1:])
        rec['garb'] = [''] + [_name(o, classes, WN) for o in gc.garbage]
    def _refs(o):
        classes = set([G[c] for c in CLASS_NAMES])
        out = ['']  # never a labelled list
        for r in gc.get_referents(o):
            t = type(r)
            if t is type or t is type(_refs):
                continue
            n = _name(r, classes, WN)
            if n is None and t in (int, str, float, bool, type(None)):
                n = repr(r)
            out.append(n or t.__name__)
        return out
    G['wcb'] = wcb; G['_begin'] = _begin; G['_snap'] = _snap; G['_refs'] = _refs
    G['REFS'] = REFS
    try:
        if gc.garbage:
            raise RuntimeError('the previous program leaked into this one')
        exec(compile(code, '<program>', 'exec'), G)
    except Exception as exc:
        rec['error'] = repr(exc)
    gc.disable()
    classes = set([G[c] for c in CLASS_NAMES if c in G])
    rec['garb_end'] = [''] + [_name(o, classes, WN) for o in gc.garbage]
    rec['ret'] = RET[:]; rec['log'] = LOG[1:]; rec['cb'] = CB[1:]; rec['ev'] = EV[:]
    rec['refs'] = [r[1:] for r in REFS]
    rec['cnt'] = [list(c) for c in CNT]
    if gccb in getattr(gc, 'callbacks', []):
        gc.callbacks.remove(gccb)
    gc.set_debug(0)
    if hasattr(gc, 'unfreeze'):
        gc.unfreeze()
    for c in CLASS_NAMES:
        if c in G and '__del__' in G[c].__dict__:
            delattr(G[c], '__del__')
    del KEEP[:]
    for _ in range(4):
        for o in gc.garbage:
            _break(o)
        del gc.garbage[:]
        gc.collect()
    gc.set_threshold(*THRESHOLDS)
    G.clear()
    gc.collect()
    return rec

CLASS_NAMES = %(classes)r
for line in sys.stdin:
    code, auto = ast.literal_eval(line)
    sys.stdout.write(repr(run(code, auto)) + '\n')
    sys.stdout.flush()
'''


def class_source(py2: bool) -> list[str]:
    """The program's class definitions (fresh classes per program: CPython's per-class
    shared keys then start empty, as in a fresh :class:`gclab.Heap`)."""
    lines = []
    for name, (has_dict, has_del, resurrects, weakrefable, attrs) in CLASSES.items():
        lines.append(f"class {name}(object):")
        if not has_dict:
            slots = [*attrs, "n"] + (["__weakref__"] if weakrefable else [])
            lines.append(f"    __slots__ = {tuple(slots)!r}")
        if has_del:
            lines.append("    def __del__(s):")
            lines.append("        LOG.append(s.n)")
            if resurrects == "keep":
                lines.append("        KEEP.append(s)")
            elif resurrects == "self":
                lines.append("        s.z = s")
        if has_dict and not has_del:
            lines.append("    pass")
    return lines


def _new_lines(op: New) -> list[str]:
    var, label = op.var, f"'@{op.var}'"
    if op.kind == "list":
        return [f"{var} = [{label}]"]
    if op.kind == "dict":
        return [f"{var} = {{'dn': {label}}}"]
    if op.kind == "set":
        return [f"{var} = {{{label}}}"]
    if op.kind == "tuple":
        # ``ONE and`` keeps the compiler from folding an all-constant tuple into a constant
        return [f"{var} = ({', '.join([f'ONE and {label}', *op.items])},)"]
    if op.kind == "weakref":
        args = op.items[0] + (", wcb" if op.callback else "")
        return [f"{var} = weakref.ref({args})", f"WN[id({var})] = {label}"]
    return [f"{var} = {op.kind}()", f"{var}.n = {label}"]


def op_lines(op: Op) -> list[str]:
    """The statements of one operation (frames render as a call)."""
    if isinstance(op, New):
        return _new_lines(op)
    if isinstance(op, Link):
        if op.key == "append":
            return [f"{op.src}.append({op.dst})"]
        if op.key == "add":
            return [f"{op.src}.add({op.dst})"]
        if op.key.startswith("k"):
            return [f"{op.src}[{op.key!r}] = {op.dst}"]
        return [f"{op.src}.{op.key} = {op.dst}"]
    if isinstance(op, Unlink):
        if op.key == "pop":
            return [f"del {op.src}[-1]"]
        if op.key.startswith("k"):
            return [f"{op.src}[{op.key!r}] = None"]
        return [f"{op.src}.{op.key} = None"]
    if isinstance(op, DelAttr):
        return [f"_try_del({op.src}, {op.key!r})" if op.missing else f"del {op.src}.{op.key}"]
    if isinstance(op, Del):
        return [f"del {op.var}"]
    if isinstance(op, Collect):
        return [f"RET.append(gc.collect({op.gen}))"]
    if isinstance(op, Debug):
        return ["gc.set_debug(gc.DEBUG_SAVEALL)" if op.saveall else "gc.set_debug(0)"]
    if isinstance(op, Freeze):
        return ["gc.freeze()"]
    if isinstance(op, Count):
        return ["CNT.append(gc.get_count())"]
    if isinstance(op, Referents):
        return [f"REFS.append(_refs({op.var}))"]
    return [f"F{op.index}()"]


def _many_lines(op: Many, indent: str, safepoints: bool) -> list[str]:
    """The loop of a :class:`Many` (``_sp()`` after each statement of its body on 3.12+)."""
    body = [f"_o = {op.kind}()", *(f"_o.{a} = _i" for a in op.attrs), "del _o"]
    out = [f"{indent}for _i in range({op.count}):"]
    for line in body:
        out.append(f"{indent}    {line}")
        if safepoints:
            out.append(f"{indent}    _sp()")
    return out


def _block(ops: tuple[Op, ...], indent: str, safepoints: bool) -> list[str]:
    out = []
    for op in ops:
        if isinstance(op, Many):
            out.extend(_many_lines(op, indent, safepoints))
            continue
        for line in op_lines(op):
            out.append(indent + line)
            if safepoints:
                out.append(indent + "_sp()")
    return out


def render(program: Program, profile: str) -> str:
    """The program as a Python script for the harness (valid 2.7 and 3.x)."""
    sp = profile in SAFEPOINT_PROFILES
    lines = class_source(profile == "2.7")
    for frame in program.frames:
        lines.append(f"def F{frame.index}():")
        lines.extend(_block(frame.body, "    ", sp) or ["    pass"])
        lines.append("    return None")
    lines.append("_begin()")
    lines.extend(_block(program.ops, "", sp))
    lines.append("gc.disable()")
    lines.append("_snap()")
    teardown: tuple[Op, ...] = (*(Del(v) for v in program.global_vars), Collect(2))
    lines.extend(_block(teardown, "", sp))
    return "\n".join(lines) + "\n"


def interpreter(profile: str) -> list[str] | None:
    """The command of ``profile``'s real interpreter, or None when it is not installed."""
    exe, version = INTERPRETERS[profile]
    if shutil.which(exe) is None:
        return None
    env = dict(os.environ)
    if version:
        env["PYENV_VERSION"] = version
    try:
        proc = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0 or proc.stdout.strip() != profile:
        return None
    return [exe] if not version else ["env", f"PYENV_VERSION={version}", exe]


def run_real(command: list[str], programs: list[Program], profile: str) -> list[dict[str, Any]]:
    """Run every program in one subprocess; one result dict per program, in order."""
    harness = HARNESS % {"classes": tuple(CLASSES)}
    payload = "".join(repr((render(p, profile), p.auto)) + "\n" for p in programs)
    proc = subprocess.run([*command, "-c", harness], input=payload, capture_output=True,
                          text=True, timeout=600)
    results = [ast.literal_eval(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(results) != len(programs):
        raise RuntimeError(f"real {profile} produced {len(results)} results for "
                           f"{len(programs)} programs; stderr:\n{proc.stderr[-3000:]}")
    return results
