"""Exceptions raised by user code (``__del__``, weakref callbacks, ``gc.callbacks``) and nested
user code, against the real interpreters.

CPython never lets such an exception escape: it goes to ``sys.unraisablehook`` and the
deallocation or collection goes on, for ``KeyboardInterrupt`` and ``SystemExit`` too. Each
scenario here runs as a script in the real interpreter of the profile and on a gclab heap; the
reports are compared line by line (addresses, file names and source lines aside), and the heap
must pass the strict invariant check afterwards.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import gclab
from gclab.heap.invariants import check_invariants

INTERPRETERS = {
    "2.7": ("python2.7", "2.7.18"),
    "3.10": ("python3.10", "3.10.13"),
    "3.11": ("python3", None),
    "3.12": ("python3.12", "3.12.1"),
    "3.13": ("python3.13", "3.13.0"),
}
PROFILES = tuple(INTERPRETERS)


def run_real(profile: str, code: str, *, stderr: bool = True) -> str:
    """stdout (+ stderr) of ``code`` in the real interpreter of ``profile`` (skip if absent)."""
    exe, version = INTERPRETERS[profile]
    env = dict(os.environ)
    if version:
        env["PYENV_VERSION"] = version
    try:
        done = subprocess.run([exe, "-c", code], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip(f"{exe} is not available")
    if done.returncode != 0:
        pytest.skip(f"{exe} did not run: {done.stderr.strip()[:200]}")
    return done.stdout + (done.stderr if stderr else "")


def skeleton(text: str) -> list[str]:
    """The report lines that do not depend on where the code lives: no ``File`` lines, no
    source lines or carets, addresses replaced, 2.7's ``__main__.`` qualifier dropped."""
    out = []
    for line in text.splitlines():
        if line.startswith("  "):
            continue  # traceback entries, source lines and 3.11+ carets
        line = re.sub(r"0x[0-9a-f]+", "0xADDR", line)
        line = re.sub(r"[\w.]*<locals>\.", "", line)  # classes defined in a test function
        out.append(line.replace("__main__.", ""))
    return out


@contextlib.contextmanager
def captured_stderr() -> Iterator[io.StringIO]:
    """sys.stderr redirected, with the default unraisable hook (pytest installs its own), which
    writes to the current sys.stderr."""
    buf = io.StringIO()
    hook, sys.unraisablehook = sys.unraisablehook, sys.__unraisablehook__
    try:
        with contextlib.redirect_stderr(buf):
            yield buf
    finally:
        sys.unraisablehook = hook


# -- the same scenario, as a script and on a heap ------------------------------------------------

REPORTS = """
import sys, gc, weakref
class A(object):
    def __del__(self):
        raise ValueError("boom")
a = A(); del a
class K(object):
    def __del__(self):
        raise KeyboardInterrupt
k = K(); del k
sys.stderr.write("-- after kbint\\n")
class W(object): pass
def cb(r): raise SystemExit(3)
w = W(); r = weakref.ref(w, cb); del w
sys.stderr.write("-- after weakref\\n")
if hasattr(gc, "callbacks"):
    def gcb(phase, info): raise GeneratorExit(phase)
    gc.callbacks.append(gcb)
    gc.collect()
    gc.callbacks.remove(gcb)
class C(object):
    def __del__(self): raise RuntimeError("in gc")
c = C(); c.me = c; del c
sys.stderr.write("-- collect %d\\n" % gc.collect())
"""


def reports_on_gclab(profile: str) -> str:
    heap = gclab.Heap(profile)
    with captured_stderr() as err:

        @heap.cls
        class A:
            def __del__(self) -> None:
                raise ValueError("boom")

        a = A()
        del a

        @heap.cls
        class K:
            def __del__(self) -> None:
                raise KeyboardInterrupt

        k = K()
        del k
        sys.stderr.write("-- after kbint\n")

        @heap.cls
        class W:
            pass

        def cb(r: object) -> None:
            raise SystemExit(3)

        w = W()
        r = heap.weakref(w, cb)
        del w
        sys.stderr.write("-- after weakref\n")
        if profile != "2.7":
            def gcb(phase: str, info: object) -> None:
                raise GeneratorExit(phase)

            heap.gc.callbacks.append(gcb)
            heap.gc.collect()
            heap.gc.callbacks.remove(gcb)

        @heap.cls
        class C:
            def __del__(self) -> None:
                raise RuntimeError("in gc")

        c = C()
        c.me = c
        del c
        sys.stderr.write(f"-- collect {heap.gc.collect()}\n")
    assert r() is None
    check_invariants(heap, strict=True)
    return err.getvalue()


@pytest.mark.parametrize("profile", PROFILES)
def test_unraisable_reports_match_cpython(profile: str) -> None:
    real = run_real(profile, REPORTS)
    ours = reports_on_gclab(profile)
    assert skeleton(ours) == skeleton(real)


def test_every_exception_reaches_sys_unraisablehook() -> None:
    """A custom hook (pytest installs one) receives each exception with the object CPython
    names: the ``__del__`` function, the weakref callback, the gc callback."""
    seen: list[Any] = []
    heap = gclab.Heap("3.12")
    prefix = "test_every_exception_reaches_sys_unraisablehook.<locals>."

    @heap.cls
    class A:
        def __del__(self) -> None:
            raise KeyboardInterrupt

    def cb(ref: object) -> None:
        raise SystemExit(2)

    def gcb(phase: str, info: object) -> None:
        raise GeneratorExit

    def hook(u: Any) -> None:  # keeps no frame: a kept traceback would resurrect ``a``
        seen.append((type(u.exc_value), u.object.__qualname__, u.err_msg))

    old, sys.unraisablehook = sys.unraisablehook, hook
    try:
        a = A()
        r = heap.weakref(a, cb)
        del a
        heap.gc.callbacks.append(gcb)
        heap.gc.collect()
    finally:
        sys.unraisablehook = old
    assert seen == [
        (KeyboardInterrupt, f"{prefix}A.__del__", None), (SystemExit, f"{prefix}cb", None),
        (GeneratorExit, f"{prefix}gcb", None), (GeneratorExit, f"{prefix}gcb", None)]
    assert r() is None


FAILING_HOOK = """
import sys
def bad_hook(args): raise OSError("the hook itself fails")
sys.unraisablehook = bad_hook
class A(object):
    def __del__(self): raise ValueError("first")
a = A(); del a
sys.stderr.write("-- end\\n")
"""


@pytest.mark.parametrize("profile", ["3.11", "3.13"])
def test_a_failing_hook_is_reported_by_the_default_hook(profile: str) -> None:
    real = run_real(profile, FAILING_HOOK)

    def bad_hook(args: object) -> None:
        raise OSError("the hook itself fails")

    heap = gclab.Heap(profile)

    @heap.cls
    class A:
        def __del__(self) -> None:
            raise ValueError("first")

    with captured_stderr() as err:
        sys.unraisablehook = bad_hook
        a = A()
        del a  # nothing propagates
        sys.stderr.write("-- end\n")
    assert skeleton(err.getvalue()) == skeleton(real)
    assert heap.table.live == 2  # the empty tuple and the module: A was freed
    check_invariants(heap, strict=True)


# -- BaseExceptions in the middle of a collection or a cascade -----------------------------------


def raise_once(error: type[BaseException]) -> Callable[[object], None]:
    """A ``__del__`` that raises ``error`` the first time it runs, and then never again."""
    armed = [True]

    def __del__(self: object) -> None:
        if armed[0]:
            armed[0] = False
            raise error

    return __del__


KBINT_COLLECT = """
import gc
armed = [True]
class A(object):
    def __del__(self):
        if armed[0]:
            armed[0] = False
            raise KeyboardInterrupt
for _ in range(3):
    a = A(); a.me = a; del a
print("collect %d" % gc.collect())
print("left %d" % len([o for o in gc.get_objects() if type(o) is A]))
l = []; l.append(l); del l
print("again %d" % gc.collect())
"""


@pytest.mark.parametrize("profile", ["3.10", "3.11", "3.12", "3.13"])
def test_interrupt_in_del_during_collection_finishes_it(profile: str) -> None:
    real = run_real(profile, KBINT_COLLECT, stderr=False).split("\n")
    heap = gclab.Heap(profile)
    A = heap.cls(type("A", (), {"__del__": raise_once(KeyboardInterrupt)}))
    with captured_stderr():
        for _ in range(3):
            a = A()
            a.me = a
            del a
        ours = [f"collect {heap.gc.collect()}"]
    check_invariants(heap, strict=True)
    ours.append(f"left {sum(1 for o in heap.gc.get_objects() if type(o) is A)}")
    lst = heap.list()
    lst.append(lst)
    del lst
    ours.append(f"again {heap.gc.collect()}")
    assert [line for line in real if line] == ours


def test_interrupt_after_resurrection_keeps_the_resurrected_list() -> None:
    """repro_kbint_resurrect: a __del__ stores the payload in a global, then raises
    KeyboardInterrupt; the list stays reachable and is never cleared."""
    heap = gclab.Heap()
    armed = [True]

    @heap.cls
    class Node:
        def __del__(self) -> None:
            if armed[0]:
                armed[0] = False
                heap.globals.saved = self.payload
                raise KeyboardInterrupt

    a = Node()
    a.payload = heap.list([1, 2, 3])
    a.payload.append(a)
    del a
    with captured_stderr() as err:
        heap.gc.collect()
    assert "KeyboardInterrupt" in err.getvalue()
    check_invariants(heap, strict=True)
    heap.gc.collect()
    saved = heap.globals.saved
    assert [saved[0], saved[1], saved[2], type(saved[3]).__name__] == [1, 2, 3, "Node"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exception_in_cascade_frees_the_rest(error: type[BaseException]) -> None:
    """repro_kbint_cascade: dropping list -> Node -> list -> Node ... whose first __del__
    raises frees the whole chain; no nesting or deferred object is left behind."""
    heap = gclab.Heap()
    Node = heap.cls(type("Node", (), {"__del__": raise_once(error)}))
    head = heap.list()
    node = head
    for _ in range(5):
        n = Node()
        node.append(n)
        nxt = heap.list()
        n.next = nxt
        node = nxt
    del n, nxt, node
    with captured_stderr():
        del head
    assert heap.table.live == 2
    assert heap.trash_nesting == 0 and not heap.trash_delete_later
    check_invariants(heap, strict=True)


def test_interrupt_in_weakref_callback_during_collection() -> None:
    """repro_kbint_weakref_cb: no weakref is left in the collector's scratch lists."""
    heap = gclab.Heap()

    @heap.cls
    class T:
        pass

    fired = [False]

    def callback(wr: object) -> None:
        if not fired[0]:
            fired[0] = True
            raise KeyboardInterrupt

    refs = []
    for _ in range(3):
        t = T()
        t.me = t
        refs.append(heap.weakref(t, callback))
        del t
    with captured_stderr():
        assert heap.gc.collect() == 3
    assert [r() for r in refs] == [None, None, None]
    check_invariants(heap, strict=True)


# -- nesting: bounded like the simulated interpreter, never by gclab's own stack -----------------

CHAIN = """
import sys
calls = []
class Node(object):
    def __del__(self):
        calls.append(1)
        self.next = None
first = Node(); node = first
for i in range({n}):
    n = Node(); node.next = n; node = n
del node, n
del first
sys.stderr.write("calls %d\\n" % len(calls))
"""


def chain_on_gclab(profile: str | gclab.Profile, n: int) -> tuple[str, gclab.Heap]:
    heap = gclab.Heap(profile)
    calls: list[int] = []

    @heap.cls
    class Node:
        def __del__(self) -> None:
            calls.append(1)
            self.next = None

    first = Node()
    node = first
    for _ in range(n):
        nxt = Node()
        node.next = nxt
        node = nxt
    del node, nxt
    with captured_stderr() as err:
        del first
        sys.stderr.write(f"calls {len(calls)}\n")
    return err.getvalue(), heap


@pytest.mark.parametrize(("profile", "n"), [("3.13", 1000), ("3.13", 1200), ("3.12", 1200),
                                           ("3.10", 200), ("2.7", 60)])
def test_finalizer_chain_depth_matches_cpython(profile: str, n: int) -> None:
    """3.13 runs 999 nested __del__ calls (the recursion limit; one RecursionError reported
    per object past it); earlier versions' trashcan defers the chain at nesting 50 (2.7 keeps
    the rest waiting in the trashcan until a later deallocation at nesting 0)."""
    limit = sys.getrecursionlimit()
    real = run_real(profile, CHAIN.format(n=n))
    ours, heap = chain_on_gclab(profile, n)
    assert skeleton(ours) == skeleton(real)
    assert sys.getrecursionlimit() == limit  # the host's limit is given back
    if profile != "2.7":
        assert heap.table.live == 2
    check_invariants(heap)


CHAIN_IN_FUNCTIONS = """
import sys
calls = []
class Node(object):
    def __del__(self):
        calls.append(1)
        self.next = None
def inner():
    first = Node(); node = first
    for i in range({n}):
        n = Node(); node.next = n; node = n
    del node, n
    del first
def outer():
    inner()
outer()
sys.stderr.write("calls %d\\n" % len(calls))
"""


def test_open_frames_count_toward_the_recursion_limit() -> None:
    """Inside two simulated function frames the chain has two levels fewer (3.13: 997)."""
    real = run_real("3.13", CHAIN_IN_FUNCTIONS.format(n=1100))
    heap = gclab.Heap("3.13")
    calls: list[int] = []

    @heap.cls
    class Node:
        def __del__(self) -> None:
            calls.append(1)
            self.next = None

    with captured_stderr() as err:
        with heap.frame() as outer, heap.frame() as inner:
            inner.first = Node()
            inner.node = inner.first
            for _ in range(1100):
                inner.n = Node()
                inner.node.next = inner.n
                inner.node = inner.n
            del inner.node, inner.n
            del inner.first
        sys.stderr.write(f"calls {len(calls)}\n")
    assert skeleton(err.getvalue()) == skeleton(real)
    del outer, inner  # the returned frames
    assert heap.table.live == 2


def test_nested_user_code_is_not_bounded_by_the_host_stack() -> None:
    """A custom profile whose limit is far above the host's: a chain of 1800 runs in full,
    though gclab's own frames between two levels would not fit the host's limit unraised."""
    base = gclab.get_profile("3.13")
    profile = base.with_changes(name="deep", recursion_limit=5000)
    assert 1800 * 15 > sys.getrecursionlimit()
    out, heap = chain_on_gclab(profile, 1800)
    assert out.strip() == "calls 1801"
    assert heap.table.live == 2


def test_nesting_past_what_the_host_can_run_is_a_recursion_error() -> None:
    """MAX_NESTING bounds any profile: deeper calls are reported, never a crashed host."""
    from gclab.heap.usercode import MAX_NESTING

    profile = gclab.get_profile("3.13").with_changes(name="deeper", recursion_limit=10**6)
    out, heap = chain_on_gclab(profile, MAX_NESTING + 50)
    assert out.count("RecursionError: maximum recursion depth exceeded") == 51
    assert out.strip().endswith(f"calls {MAX_NESTING}")
    assert heap.table.live == 2



def test_proxies_the_host_collector_frees_give_back_their_reference_later() -> None:
    """The host's cyclic collector frees proxies at whatever allocation set it off, possibly
    half way through an engine step: their references go back at the next heap operation."""
    import gc as hostgc

    heap = gclab.Heap()

    class Holder:  # a host object in a host reference cycle, holding a proxy
        pass

    holder = Holder()
    holder.me = holder  # type: ignore[attr-defined]
    holder.lst = heap.list([1])  # type: ignore[attr-defined]
    oid = heap.id_of(holder.lst)  # type: ignore[attr-defined]
    del holder
    hostgc.collect()
    assert heap.is_alive(oid) and heap._deferred_releases == [oid]
    check_invariants(heap, strict=True)  # consistent while the release waits
    heap.list()  # the next operation gives the reference back
    assert not heap.is_alive(oid) and not heap._deferred_releases
    check_invariants(heap, strict=True)
