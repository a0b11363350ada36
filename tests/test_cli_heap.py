"""``gclab top`` and ``gclab leaks`` on snapshot files: JSON with hand-worked numbers,
readable text, growth across files, errors as one line and status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gclab.cli import main
from gclab.snapshots.model import RootKind, Snapshot
from gclab.snapshots.store import save

TYPES = ["builtins.module", "builtins.dict", "app.Session", "builtins.str"]


def service(sessions: int, time: float) -> Snapshot:
    """A module (root) -> its dict -> a cache dict -> sessions, each with a str; a config
    dict (root) with one str. Node ids: 0 module, 1 its dict, 2 cache, 3 config, 4 the
    config's str, then session k at 5 + 2k and its str at 6 + 2k."""
    types = [0, 1, 1, 1, 3] + [2, 3] * sessions
    size = [72, 640, 1200, 232, 60] + [400, 100] * sessions
    edges = [(0, 1, 0, "__dict__"), (1, 2, 0, "['CACHE']"), (1, 3, 0, "['CONFIG']"),
             (3, 4, 0, "['name']")]
    for k in range(sessions):
        edges += [(2, 5 + 2 * k, 0, f"['u{k}']"), (5 + 2 * k, 6 + 2 * k, 0, "name")]
    return Snapshot.from_edges(types=TYPES, type_index=types, size=size, edges=edges,
                               roots=[(0, RootKind.MODULE, "sys.modules['app']"),
                                      (3, RootKind.MODULE, "app.CONFIG")],
                               labels=["app"] + [None] * (len(types) - 1),
                               meta={"time": time})


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    """Three snapshots of the service as it leaks: 2, 4 and 7 sessions."""
    out = []
    for k, sessions in enumerate([2, 4, 7]):
        path = tmp_path / f"t{k}.gcsnap"
        save(service(sessions, time=100.0 + k), path)
        out.append(str(path))
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_top_json(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "top", files[2], "--json", "-n", "3")
    assert status == 0 and out.count("\n") == 1 and "loaded" in err
    data = json.loads(out)
    total = 72 + 640 + 1200 + 232 + 60 + 7 * 500
    assert data["reachable_bytes"] == total and data["objects"] == 19
    assert [(o["node"], o["retained"], o["root"]) for o in data["top_objects"]] == [
        (0, 72 + 640 + 1200 + 3500, "sys.modules['app']"),
        (1, 640 + 1200 + 3500, "sys.modules['app']"),
        (2, 1200 + 3500, "sys.modules['app']")]
    assert data["top_objects"][0]["label"] == "app"
    assert data["top_objects"][2]["address"] == f"{0x1000 + 2 * 16:#x}"
    assert data["top_types"][0] == {"type": "builtins.dict", "count": 3,
                                    "shallow": 640 + 1200 + 232,
                                    "retained": 640 + 1200 + 3500 + 232 + 60}
    status, out, _ = run(capsys, "top", files[2], "--json", "--types", "--by", "count")
    assert [t["type"] for t in json.loads(out)["top_types"]] == [
        "builtins.str", "app.Session", "builtins.dict", "builtins.module"]
    assert "top_objects" not in json.loads(out)


def test_top_tree(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "top", files[0], "--tree", "--json", "--depth", "2",
                         "-n", "1")
    tree = json.loads(out)["tree"]
    assert tree["type"] == "(roots)" and tree["retained"] == 72 + 640 + 1200 + 292 + 1000
    assert [c["node"] for c in tree["children"]] == [0]
    assert tree["more"] == {"objects": 1, "retained": 292}
    assert [c["node"] for c in tree["children"][0]["children"]] == [1]
    assert "children" not in tree["children"][0]["children"][0]
    status, out, _ = run(capsys, "top", files[0], "--tree", f"{0x1000 + 2 * 16:#x}")
    assert status == 0
    lines = out.splitlines()
    assert any("builtins.dict at 0x1020" in line for line in lines)
    assert sum("app.Session" in line for line in lines) == 2
    status, out, _ = run(capsys, "top", files[0], "--tree", "#3", "--json")
    assert [c["node"] for c in json.loads(out)["tree"]["children"]] == [4]


def test_objects_are_named_alike_in_every_command(files: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``top --tree`` and ``why`` read an object's name the same way: a plain decimal is an
    address (as id() prints it), a node id needs node: or #."""
    address = 0x1000 + 3 * 16  # node 3 in the hand-built snapshot
    seen = set()
    for name in (f"{address:#x}", str(address), "node:3", "#3"):
        status, out, _ = run(capsys, "top", files[0], "--tree", name, "--json")
        assert status == 0
        seen.add(json.loads(out)["tree"]["node"])
        status, out, _ = run(capsys, "why", files[0], name, "--json")
        assert status == 0
        seen.add(json.loads(out)["object"]["node"])
    assert seen == {3}


def test_top_text(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "top", files[2])
    assert status == 0
    assert "Top objects by retained:" in out and "Top types by retained:" in out
    assert "builtins.module 'app' at 0x1000  (sys.modules['app'])" in out


def test_leaks_json_and_growth(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "leaks", files[2], files[0], files[1], "--json")
    assert status == 0
    data = json.loads(out)
    assert data["files"] == files  # ordered by capture time
    [suspect] = data["suspects"]
    assert suspect["object"]["node"] == 0 and suspect["accumulation"]["node"] == 2
    assert suspect["path"]["root"] == "sys.modules['app']"
    assert suspect["path"]["names"] == ["__dict__", "['CACHE']"]
    first = data["growth"][0]
    assert first["kind"] == "accumulation" and first["node"] == 2
    assert first["sizes"] == [2200, 3200, 4700]
    kinds = {(g["kind"], g["key"]) for g in data["growth"]}
    assert kinds == {("accumulation", "builtins.dict at 0x1020"), ("type", "app.Session"),
                     ("type", "builtins.str")}


def test_leaks_text(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "leaks", files[2])
    assert status == 0
    assert "1. builtins.module 'app' at 0x1000 retains" in out
    assert "accumulation point: builtins.dict at 0x1020" in out
    assert "path: sys.modules['app'] -> __dict__ (builtins.dict) -> ['CACHE'] " in out
    assert "Growing" not in out
    status, out, _ = run(capsys, "leaks", files[2], "--share", "0.99")
    assert "  none" in out


def test_errors_are_one_line_and_status_2(files: list[str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["top", str(tmp_path / "missing.gcsnap")],
                 ["top", files[0], "--tree", "0xdead"],
                 ["top", files[0], "--tree", "99"],
                 ["top", files[0], "--tree", "abc"],
                 ["top", files[0], "-n", "-1"],
                 ["leaks", files[0], "--share", "0"],
                 ["leaks", files[0], "--share", "2"]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == ""
        assert err.splitlines()[-1].startswith("gclab: error: ")


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("top", "leaks"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "examples:" in capsys.readouterr().out
