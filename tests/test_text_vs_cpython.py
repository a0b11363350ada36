"""DEBUG_* text, gc.callbacks info, get_stats and the shutdown warning, against real CPython.

Each scenario runs as a script in a real interpreter (``gc.freeze()`` first, so the generation
sizes in the DEBUG_STATS header count only the scenario's objects) and on a gclab heap of the
matching profile; outputs are compared after replacing addresses and timings.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import warnings

import pytest

import gclab

INTERPRETERS = {
    "3.11": ("python3", None),
    "3.10": ("python3.10", "3.10.13"),
    "3.12": ("python3.12", "3.12.1"),
    "3.13": ("python3.13", "3.13.0"),
}


def run_real(profile: str, code: str) -> str:
    """Run ``code`` in the real interpreter of ``profile``; its stdout+stderr (skip if absent)."""
    exe, version = INTERPRETERS[profile]
    env = dict(os.environ)
    if version:
        env["PYENV_VERSION"] = version
    try:
        done = subprocess.run([exe, "-W", "always::ResourceWarning", "-c", code], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip(f"{exe} is not available")
    if done.returncode != 0 and "Traceback" not in done.stderr:
        pytest.skip(f"{exe} did not run: {done.stderr.strip()[:200]}")
    return done.stdout + done.stderr


def normalise(text: str) -> list[str]:
    """Lines with addresses and timings replaced, permanent-generation size dropped."""
    text = re.sub(r"0x[0-9a-f]+", "0xADDR", text)
    text = re.sub(r"\d+\.\d{4}s elapsed", "N.NNNNs elapsed", text)
    return [line for line in text.splitlines()
            if not line.startswith("gc: objects in permanent generation")]


DEBUG_SCENARIO = """
import gc, sys
class A: pass
gc.collect(); gc.freeze()
a = A(); l = [a]; a.l = l
b = {{}}; b['me'] = b
del a, l, b
gc.set_debug(gc.DEBUG_STATS | gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
sys.stderr.flush()
print("collect ->", gc.collect({gen}), file=sys.stderr)
gc.set_debug(0)
"""


def debug_scenario_gclab(profile: str, gen: int) -> str:
    heap = gclab.Heap(profile=profile)
    gc = heap.gc
    out = io.StringIO()
    gc.stream = out

    @heap.cls
    class A:
        pass

    a = A()
    lst = heap.list([a])
    a.l = lst
    b = heap.dict()
    b["me"] = b
    del a, lst, b
    gc.set_debug(gc.DEBUG_STATS | gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
    result = gc.collect(gen)
    out.write(f"collect -> {result}\n")
    return out.getvalue()


@pytest.mark.parametrize("profile", sorted(INTERPRETERS))
@pytest.mark.parametrize("gen", [0, 2])
def test_debug_text_matches_cpython(profile: str, gen: int) -> None:
    real = normalise(run_real(profile, DEBUG_SCENARIO.format(gen=gen)))
    ours = normalise(debug_scenario_gclab(profile, gen))
    assert ours == real


CALLBACKS_SCENARIO = """
import gc
gc.collect(); gc.freeze()
seen = []
def cb(phase, info):
    seen.append((phase, info["generation"], info["collected"], info["uncollectable"]))
gc.callbacks.append(cb)
x = []; x.append(x); y = {}; y["y"] = y
del x, y
print(gc.collect(1)); print(gc.collect())
gc.callbacks.remove(cb)
print(seen)
print([s["collections"] for s in gc.get_stats()])
"""


@pytest.mark.parametrize("profile", sorted(INTERPRETERS))
def test_callbacks_and_stats_match_cpython(profile: str) -> None:
    real = run_real(profile, "import gc\n" + CALLBACKS_SCENARIO).splitlines()
    real_before = run_real(profile, "import gc\ngc.collect(); gc.freeze()\n"
                           "print([s['collections'] for s in gc.get_stats()])").splitlines()
    heap = gclab.Heap(profile=profile)
    gc = heap.gc
    seen: list[tuple[object, ...]] = []

    def cb(phase: str, info: dict[str, object]) -> None:
        seen.append((phase, info["generation"], info["collected"], info["uncollectable"]))

    gc.callbacks.append(cb)
    x = heap.list()
    x.append(x)
    y = heap.dict()
    y["y"] = y
    del x, y
    ours = [str(gc.collect(1)), str(gc.collect()), str(seen)]
    assert ours == real[:3]
    # get_stats counts include the interpreter's own start-up collections: compare the deltas
    before = eval(real_before[0])
    after = eval(real[3])
    # both real scripts start with gc.collect(): the difference is the scenario's collections
    deltas = [a - b for a, b in zip(after, before, strict=True)]
    assert deltas == [s["collections"] for s in gc.get_stats()]


SHUTDOWN_SCENARIO = """
import gc
class A: pass
gc.garbage.append(A())
"""


@pytest.mark.parametrize("profile", ["3.11", "3.12"])
def test_shutdown_warning_matches_cpython(profile: str) -> None:
    real = run_real(profile, SHUTDOWN_SCENARIO)
    heap = gclab.Heap(profile=profile)

    @heap.cls
    class A:
        pass

    heap.gc.garbage.append(A())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = heap.shutdown()
    assert report.uncollectable == 1
    [warning] = caught
    ours = f"{warning.filename}:{warning.lineno}: {warning.category.__name__}: {warning.message}"
    assert ours in real


def test_no_shutdown_warning_on_27() -> None:
    heap = gclab.Heap(profile="2.7")
    heap.gc.garbage.append(heap.list())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        heap.shutdown()
    assert caught == []


def test_non_callable_weakref_callback_reported_like_cpython(
        capsys: pytest.CaptureFixture[str]) -> None:
    real = run_real("3.11", "import weakref\nclass A: pass\n"
                            "a = A(); r = weakref.ref(a, 5); del a\n")
    heap = gclab.Heap(profile="3.11")

    @heap.cls
    class A:
        pass

    a = A()
    r = heap.weakref(a, 5)  # type: ignore[arg-type]
    # the report goes to sys.unraisablehook (pytest installs its own): print it with CPython's
    hook, sys.unraisablehook = sys.unraisablehook, sys.__unraisablehook__
    try:
        del a
    finally:
        sys.unraisablehook = hook
    ours = capsys.readouterr().err
    assert r() is None
    for line in ("Exception ignored in: 5", "TypeError: 'int' object is not callable"):
        assert line in real and line in ours
