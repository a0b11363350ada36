"""The main job runs, and tells the numbers CPython gives for the same scenarios.

The expected numbers are the real interpreters' (spec §10: e1 seed example -> 3 then 0;
e2/e4 two instances with __del__ in a cycle -> 2 on 3.11+, 4 on 2.7/3.10 with the instance
dicts; e21 3.12 first automatic collection -> (0, 699)).
"""

from __future__ import annotations

import io
import re
import sys

import pytest
from rich.console import Console

from gclab.cli import main
from gclab.demo import run_demo


def _demo_text(profile: str) -> str:
    out = io.StringIO()
    run_demo(profile, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_demo_tells_cpython_results() -> None:
    text = _demo_text("3.12")
    assert "gc.collect() -> 3   (the list and both dicts)" in text
    assert "gc.collect() -> 0   (nothing left)" in text
    assert text.count("deleting an A") == 2
    assert "gc.collect() -> 2; gc.garbage = []" in text
    assert "on profile 2.7: gc.collect() -> 4" in text
    assert "first ones (generation, collected): [(0, 699)" in text
    assert "freed ['temp'] by reference counting" in text


def test_demo_refcounts_are_sys_getrefcounts() -> None:
    """The counts the demo prints are those sys.getrefcount gives for the same code."""
    a: list[object] = []
    counts = [sys.getrefcount(a)]
    b = [a]
    c = {"x": a}
    counts.append(sys.getrefcount(a))
    del b
    counts.append(sys.getrefcount(a))
    c.clear()
    counts.append(sys.getrefcount(a))
    node = Node()
    node.me = node
    text = _demo_text("3.12")
    printed = re.findall(r"heap\.getrefcount\(a\): (\d+)", text)
    assert [int(n) for n in printed] == counts
    assert f"heap.getrefcount(node): {sys.getrefcount(node)} " in text
    assert ">>> b = heap.list([a]); c = heap.dict(x=a)" in text  # code shown as written


class Node:
    """The demo's self-referencing node, as a host object."""

    me: object


@pytest.mark.parametrize("profile", ["2.7", "3.10", "3.11", "3.13"])
def test_demo_runs_on_every_profile(profile: str) -> None:
    assert "Manual collection" in _demo_text(profile)


def test_cli_demo_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--profile", "3.11"]) == 0
    assert "Weak references and callbacks" in capsys.readouterr().out


def test_cli_rejects_unknown_profile() -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--profile", "9.9"])
