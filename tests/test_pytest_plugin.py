"""``pytest --gclab-leaks`` in real pytest runs of small test files (``pytester``, each run in
its own interpreter): leaking tests fail with the types, counts and a path named; clean tests
pass; the plugin is off without the option; the threshold, the ini option and the markers
work; the plugin leaves the collector and ``gc.garbage`` as it found them."""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _installed() -> bool:
    """Whether the ``pytest11`` entry point ``gclab`` is installed (then pytest loads the
    plugin by itself; otherwise the runs load it with ``-p``)."""
    return any(ep.name == "gclab" and ep.value == "gclab.pytest_plugin"
               for ep in metadata.entry_points(group="pytest11"))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    plugin = () if _installed() else ("-p", "gclab.pytest_plugin")
    return pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", "-q", *args,
                                         timeout=180)


LEAKS = """
import gc

class Node:
    pass

CACHE = []

def test_cycle():
    a = Node(); b = Node()
    a.partner = b; b.partner = a

def test_grows_global():
    for i in range(1000):
        CACHE.append(Node())

REGISTRY = {"sessions": {}}

def test_grows_nested():
    holder = Node()
    holder.items = [Node() for _ in range(300)]
    REGISTRY["sessions"]["abc"] = holder

def test_clean():
    a = Node(); b = Node(); a.partner = b
    data = [Node() for _ in range(1000)]
    assert len(data) == 1000
"""


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"gclab": "gclab.pytest_plugin"}


def test_leaks_fail_with_the_plugin_and_pass_without(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaks=LEAKS)
    off = run(pytester)
    off.assert_outcomes(passed=4)
    on = run(pytester, "--gclab-leaks", "-rf")
    on.assert_outcomes(passed=1, failed=3)
    text = on.stdout.str()
    assert "FAILED test_leaks.py::test_cycle" in text
    assert "FAILED test_leaks.py::test_grows_global" in text
    assert "cyclic garbage that only a collection frees: 2 objects: test_leaks.Node x2" in text
    assert "a cycle: test_leaks.Node.partner -> test_leaks.Node.partner -> test_leaks.Node" \
        in text
    assert "test_leaks.Node +1000 (" in text
    assert "module test_leaks.CACHE → list[" in text
    assert "test_leaks.Node +301 (" in text
    assert "module test_leaks.REGISTRY → dict['sessions'] → dict['abc'] → Node" in text


def test_threshold_option_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_grow="""
        KEEP = []
        class Item:
            pass
        def test_fifty():
            KEEP.extend(Item() for _ in range(50))
    """)
    run(pytester, "--gclab-leaks").assert_outcomes(passed=1)          # 50 <= 100
    run(pytester, "--gclab-leaks", "--gclab-leaks-threshold", "20").assert_outcomes(failed=1)
    pytester.makeini("[pytest]\ngclab_leaks_threshold = 10\n")
    result = run(pytester, "--gclab-leaks")
    result.assert_outcomes(failed=1)
    assert "grew by more than 10: test_grow.Item +50" in result.stdout.str()
    # the command-line option wins over the ini option
    run(pytester, "--gclab-leaks", "--gclab-leaks-threshold", "60").assert_outcomes(passed=1)


def test_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marked="""
        import pytest
        KEEP = []
        class Item:
            pass
        class Other:
            pass
        @pytest.mark.gclab_leaks(allow="Item")
        def test_allowed_by_name():
            KEEP.extend(Item() for _ in range(500))
        @pytest.mark.gclab_leaks(allow=["test_marked.Item"])
        def test_allow_is_per_type():
            KEEP.extend(Other() for _ in range(500))
        @pytest.mark.gclab_leaks(allow=1000)
        def test_allow_as_threshold():
            KEEP.extend(Other() for _ in range(500))
        @pytest.mark.gclab_leaks(threshold=10)
        def test_tighter():
            KEEP.extend(Other() for _ in range(50))
        @pytest.mark.gclab_no_leaks_check
        def test_unchecked():
            a = Item(); a.me = a
            KEEP.extend(Other() for _ in range(500))
        @pytest.mark.gclab_leaks(allow=[Item])
        def test_cycle_of_allowed_type():
            a = Item(); a.me = a
    """)
    result = run(pytester, "--gclab-leaks", "-rf")
    result.assert_outcomes(passed=4, failed=2)
    text = result.stdout.str()
    assert "FAILED test_marked.py::test_allow_is_per_type" in text
    assert "FAILED test_marked.py::test_tighter" in text


def test_uncollectable_objects_fail(pytester: pytest.Pytester) -> None:
    pytest.importorskip("_testcapi")
    pytester.makepyfile(test_uncollectable="""
        import gc, _testcapi
        @_testcapi.with_tp_del
        class Legacy:
            def __tp_del__(self):
                pass
        def test_legacy_finalizer_in_a_cycle():
            a = Legacy(); a.me = a
        def test_appends_to_gc_garbage():
            gc.garbage.append(Legacy())
    """)
    result = run(pytester, "--gclab-leaks", "-rf")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "uncollectable: gc.garbage grew by 1: test_uncollectable.Legacy x1" in text


def test_failing_tests_are_reported_as_they_are(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fails="""
        def test_fails():
            a = []; a.append(a)
            assert False, "its own failure"
    """)
    result = run(pytester, "--gclab-leaks")
    result.assert_outcomes(failed=1)
    assert "its own failure" in result.stdout.str()
    assert "gclab: this test leaks" not in result.stdout.str()


def test_the_plugin_leaves_nothing_behind(pytester: pytest.Pytester) -> None:
    """A checked leaking test, then a test that looks: the collector's state is back, the
    cyclic garbage the check saw is freed, gc.garbage is unchanged by the plugin."""
    pytester.makepyfile(test_after="""
        import gc, weakref
        import pytest
        class Node:
            pass
        REFS = []
        def test_a_leaks_a_cycle():
            a = Node(); a.me = a
            REFS.append(weakref.ref(a))
        @pytest.mark.gclab_no_leaks_check
        def test_b_looks():
            assert gc.isenabled()
            assert gc.get_debug() == 0
            assert gc.garbage == []
            assert REFS[0]() is None       # the leaked cycle was freed after the check
        def test_c_clean():
            assert not gc.isenabled()      # the body runs with the collector off
    """)
    result = run(pytester, "--gclab-leaks", "-rf")
    result.assert_outcomes(passed=2, failed=1)
    assert "FAILED test_after.py::test_a_leaks_a_cycle" in result.stdout.str()


def test_collector_state_is_restored_when_it_was_disabled(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import gc\ngc.disable()\ngc.set_debug(gc.DEBUG_UNCOLLECTABLE)\n")
    pytester.makepyfile(test_state="""
        import gc
        import pytest
        def test_one():
            pass
        @pytest.mark.gclab_no_leaks_check
        def test_two():
            assert not gc.isenabled() and gc.get_debug() == gc.DEBUG_UNCOLLECTABLE
    """)
    run(pytester, "--gclab-leaks").assert_outcomes(passed=2)


def test_bad_threshold_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad="""
        import pytest
        @pytest.mark.gclab_leaks(threshold=-3)
        def test_x():
            pass
    """)
    result = run(pytester, "--gclab-leaks")
    assert result.ret != 0
    assert "threshold must be an int >= 0" in result.stdout.str() + result.stderr.str()


def test_fallback_path_search_names_the_global() -> None:
    """The search used when the capture fails: a path through a module's globals, each
    reference named (checked on a module built here)."""
    import gc
    import types

    from gclab import pytest_plugin

    module = types.ModuleType("gclab_fallback_probe")

    class Holder:
        pass

    holder = Holder()
    holder.items = [object(), Holder()]            # type: ignore[attr-defined]
    module.REGISTRY = {"sessions": {"abc": holder}}  # type: ignore[attr-defined]
    target = holder.items[1]                         # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        lines = pytest_plugin._referrers_path_lines("Holder", id(target))
    finally:
        del sys.modules[module.__name__]
    assert lines[1].strip() == ("gclab_fallback_probe.REGISTRY['sessions']['abc'].items[1]  "
                                f"({pytest_plugin.type_name(Holder)})")
    assert gc.is_tracked(target)
