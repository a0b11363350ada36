"""``gclab garbage`` and ``gclab why`` on snapshot files: JSON answers checked against the
hand-worked snapshot of tests/test_garbage.py, readable text, --dot pictures, and bad input
(a missing file, an unknown address with its neighbours listed, a bad node, a bad limit)
as one ``gclab: error:`` line with status 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gclab.cli import main
from gclab.snapshots.store import save
from test_garbage import chain_of_cycles


@pytest.fixture
def snapfile(tmp_path: Path) -> str:
    path = tmp_path / "chain.gcsnap"
    save(chain_of_cycles(), path)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_garbage_json(snapfile: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "garbage", snapfile, "--json")
    assert status == 0 and "dry run" in err
    data = json.loads(out)
    assert out.count("\n") == 1 and out == json.dumps(data, separators=(",", ":"),
                                                      sort_keys=True) + "\n"
    assert data["unreachable"] == 7 and data["bytes"] == 384
    assert data["components_total"] == 4 and data["sources_total"] == 2
    first = data["components"][0]
    assert first["cycle"] == "Node.next → Node.next → Node.next → Node"
    assert first["source"] and first["size"] == 3 and first["types"] == {"m.Node": 3}
    assert [c["source"] for c in data["components"]] == [True, False, False, True]
    assert data["by_type"][0] == {"type": "m.Node", "count": 4, "bytes": 184}
    status, out, _ = run(capsys, "garbage", snapfile, "--json", "-n", "1")
    assert len(json.loads(out)["components"]) == 1


def test_garbage_text(snapfile: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "garbage", snapfile)
    assert status == 0
    assert "7 unreachable objects" in out and "2 sources keep the rest alive" in out
    assert "Pair.b → Pair.a → Pair" in out and "*#0" in out


def test_why_json_text_and_dot(snapfile: str, capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    status, out, _ = run(capsys, "why", snapfile, "node:9", "--json")
    data = json.loads(out)
    assert status == 0 and data["object"]["address"] == "0x1090"
    [path] = data["paths"]
    assert [n["node"] for n in path["nodes"]] == [7, 8, 9] and path["names"] == ["child", "x"]
    assert path["root"] == {"index": 0, "kind": "MODULE", "name": "m.holder"}
    for spelled in ("0x1090", str(0x1090), "#9"):
        assert json.loads(run(capsys, "why", snapfile, spelled, "--json")[1]) == data
    status, out, _ = run(capsys, "why", snapfile, "0x1000")  # garbage: no path
    assert status == 0 and "No root reaches 0x1000" in out
    status, out, _ = run(capsys, "why", snapfile, "0x1090")
    assert "module m.holder → Holder.child → Node.x → Node" in out
    source = tmp_path / "why.dot"
    assert run(capsys, "why", snapfile, "0x1090", "--dot", str(source))[0] == 0
    assert source.read_text().startswith("digraph retainers {")
    if shutil.which("dot"):
        picture = tmp_path / "why.svg"
        assert run(capsys, "why", snapfile, "0x1090", "--dot", str(picture))[0] == 0
        assert "<svg" in picture.read_text() and "m.holder" in picture.read_text()


@pytest.mark.parametrize("argv, message", [
    (["why", "{file}", "0x1065"], "no object at address 0x1065 in this snapshot; near it: "
                                  "0x1060 (builtins.str)"),
    (["why", "{file}", "0xdead0000"], "no object at address 0xdead0000 in this snapshot\n"),
    (["why", "{file}", "node:99"], "no node 99"),
    (["why", "{file}", "banana"], "neither an address"),
    (["why", "{file}", "0x1090", "--limit", "0"], "--limit must be 1 or more"),
    (["why", "{file}", "0x1090", "--dot", "x.jpg"], "must end in .svg"),
    (["garbage", "{file}", "-n", "-1"], "-n must not be negative"),
    (["garbage", "{missing}"], "gclab: error:"),
    (["why", "{missing}", "0x1"], "gclab: error:"),
])
def test_bad_input(snapfile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   argv: list[str], message: str) -> None:
    args = [a.format(file=snapfile, missing=tmp_path / "nope.gcsnap") for a in argv]
    status, out, err = run(capsys, *args)
    assert status == 2 and out == ""
    assert message in err and err.count("gclab: error:") == 1
