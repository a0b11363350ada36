"""The demo tells the numbers CPython gives, in words that fit the profile, and records them.

The expected numbers are the real interpreters' (spec §10: e1 seed example -> 3 then 0;
e2/e4 two instances with __del__ in a cycle -> 2 on 3.11+, 4 on 2.7/3.10 with the instance
dicts; e21 3.12 first automatic collection -> (0, 699)).
"""

from __future__ import annotations

import io
import json
import re
import sys
from functools import cache
from typing import Any

import pytest
from rich.console import Console

from gclab import PROFILES
from gclab.cli import main
from gclab.demo import SCENARIOS, record_demo, run_demo

ALL_PROFILES = list(PROFILES)


@cache
def _demo_text(profile: str) -> str:
    out = io.StringIO()
    run_demo(profile, Console(file=out, width=1000, color_system=None))
    return out.getvalue()


def _steps(record: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (scenario,) = [s for s in record["scenarios"] if s["name"] == name]
    steps: list[dict[str, Any]] = scenario["steps"]
    return steps


def test_demo_tells_cpython_results() -> None:
    text = _demo_text("3.12")
    assert ">>> gc.collect()\n3   (the list and both dicts)\n" in text
    assert ">>> gc.collect()\n0   (nothing left)\n" in text
    assert text.splitlines().count("  deleting an A") == 2
    assert "gc.collect() -> 2 (the two A objects); gc.garbage = []" in text
    assert "on profile 2.7 (before PEP 442, Python 3.4): gc.collect() -> 4" in text
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


def test_demo_on_27_leaves_the_finalizer_cycle_in_garbage() -> None:
    text = _demo_text("2.7")
    assert "4. Finalizers in a cycle: uncollectable" in text
    assert ("gc.collect() -> 4 (the two A objects and their __dict__s), gc.garbage = "
            "[<__main__.A object at 0x") in text
    assert "  deleting an A" not in text.splitlines()


def test_code_shown_is_the_code_run() -> None:
    """Brackets in code and values are shown as they are (not taken for text styles)."""
    text = _demo_text("3.12")
    assert ">>> b = heap.list([a]); c = heap.dict(x=a)\n" in text
    assert "gc.garbage = [[[...]]]" in text


# Words a profile's narration must not use: things that version lacks, and host details.
EVERYWHERE = ["<locals>", "gclab.demo", "[/", "[bold", "[cyan"]
NOT_ON_27 = ["PEP 442", "gc.callbacks", "get_stats", "freeze", "is_finalized", "inline",
             "gc.garbage.clear", "safe point", "profile 2.7"]
NOT_WITH_SEPARATE_DICTS = ["inline"]  # 2.7 and 3.10 keep attributes in a __dict__ object


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_narration_fits_the_profile(profile: str) -> None:
    text = _demo_text(profile)
    found = [word for word in EVERYWHERE if word in text]
    if profile == "2.7":
        found += [word for word in NOT_ON_27 if word in text]
        found += re.findall(r"\b3\.\d{1,2}\b", text)  # no Python 3 version is named
        found += re.findall(r"\bf['\"]", text)  # no f-strings in the code shown
        found += re.findall(r"^\.\.\. class \w+:", text, re.MULTILINE)  # no old-style class
        found += re.findall(r"print\([^)]*,", text)  # print is a statement: one value
    if PROFILES[profile].instance_dict == "separate":
        found += [word for word in NOT_WITH_SEPARATE_DICTS if word in text]
    assert found == []
    assert f"6. Thresholds {PROFILES[profile].thresholds} firing" in text
    assert text.count("Thresholds (") == 1


@pytest.mark.parametrize("profile", ["3.10", "3.11", "3.12", "3.13"])
def test_narration_of_3x_uses_what_3x_has(profile: str) -> None:
    """The words the 2.7 check forbids do occur in 3.x narration: the check scans real text."""
    text = _demo_text(profile)
    assert "Finalizers in a cycle (PEP 442)" in text
    assert ">>> gc.get_stats()" in text


def test_each_scenario_runs_once_per_demo() -> None:
    record = record_demo("3.11")
    assert [s["name"] for s in record["scenarios"]] == [f.__name__ for f in SCENARIOS]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_record_matches_the_narration(profile: str) -> None:
    """The JSON record has the code the narration shows, in order, and its numbers."""
    record = record_demo(profile)
    assert record["profile"] == profile
    text = _demo_text(profile)
    shown: list[str] = []
    for line in text.splitlines():
        if line.startswith(">>> "):
            shown.append(line[4:])
        elif line.startswith("... "):
            shown[-1] += "\n" + line[4:]
    recorded = [step["code"] for s in record["scenarios"] for step in s["steps"]]
    assert recorded == shown
    titles = re.findall(r"─ (\d+)\. (.+?) ─", text)
    assert titles == [(str(i), s["title"]) for i, s in enumerate(record["scenarios"], 1)]
    printed = [line for s in record["scenarios"] for step in s["steps"]
               for line in step["output"]]
    assert all(f"  {line}\n" in text for line in printed)


def test_record_values() -> None:
    record = record_demo("3.12")
    cycle = _steps(record, "dict_cycle")
    assert [step["values"] for step in cycle[-3:]] == [{"tracked": 3}, {"collected": 3},
                                                      {"collected": 0}]
    finalizers = _steps(record, "finalizer_cycle")[-1]
    assert finalizers["output"] == ["deleting an A", "deleting an A"]
    assert finalizers["values"] == {"collected": 2, "garbage": [], "collected_on_2_7": 4,
                                    "garbage_on_2_7": 2}
    automatic = [step for step in _steps(record, "thresholds") if "first" in step["values"]]
    assert automatic[0]["values"]["first"][0] == [0, 699]
    old = _steps(record_demo("2.7"), "finalizer_cycle")[-1]
    assert old["output"] == []
    assert old["values"]["collected"] == 4
    assert [g.split(" object at ")[0] for g in old["values"]["garbage"]] == ["<__main__.A"] * 2


def test_record_is_compact_deterministic_json() -> None:
    first = json.dumps(record_demo("3.13"), separators=(",", ":"))
    assert json.loads(first) == record_demo("3.13")
    assert json.dumps(record_demo("3.13"), separators=(",", ":")) == first


def test_cli_demo_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--profile", "3.11"]) == 0
    assert "Weak references and callbacks" in capsys.readouterr().out


def test_cli_rejects_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--profile", "9.9"])
    assert exit_.value.code == 2
    assert "invalid choice: '9.9'" in capsys.readouterr().err
