"""``gclab export``: a .gcsnap file to a .heapsnapshot, JSON and text output, no clobbering,
errors as one line and status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gclab.cli import main
from gclab.snapshots.model import WEAK, RootKind, Snapshot
from gclab.snapshots.store import save


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def gcsnap(tmp_path: Path) -> Path:
    """A module global holding a dict with a str and a weakref to the dict."""
    snap = Snapshot.from_edges(
        types=["builtins.dict", "builtins.str", "weakref.ReferenceType"], type_index=[0, 1, 2],
        size=[232, 52, 80], edges=[(0, 1, 0, "['name']"), (2, 0, WEAK)],
        labels=[None, "ada", None],
        roots=[(0, RootKind.MODULE, "app.users"), (2, RootKind.FRAME, "MainThread / f:1 / r")])
    path = tmp_path / "after.gcsnap"
    save(snap, path)
    return path


def test_export_json_and_file(gcsnap: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "export", str(gcsnap), "--json")
    assert status == 0 and out.count("\n") == 1 and "loaded" in err
    data = json.loads(out)
    target = gcsnap.with_suffix(".heapsnapshot")
    assert data["output"] == str(target) and data["format"] == "heapsnapshot"
    assert (data["nodes"], data["edges"], data["synthetic"], data["id_clashes"]) == (6, 6, 3, 0)
    document = json.loads(target.read_text())
    assert document["snapshot"]["node_count"] == 6 and len(document["nodes"]) == 42
    assert data["bytes"] == target.stat().st_size
    assert out == json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"


def test_export_refuses_to_overwrite_without_force(gcsnap: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "x.heapsnapshot"
    target.write_text("keep")
    status, out, err = run(capsys, "export", str(gcsnap), "-o", str(target))
    assert status == 2 and out == "" and "exists" in err and "--force" in err
    assert target.read_text() == "keep"
    status, out, _ = run(capsys, "export", str(gcsnap), "-o", str(target), "--force")
    assert status == 0 and "Chrome DevTools heap snapshot, 6 nodes" in out
    assert json.loads(target.read_text())["snapshot"]["edge_count"] == 6


def test_export_of_a_bad_file_is_one_error_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.gcsnap"
    bad.write_bytes(b"not a snapshot")
    status, out, err = run(capsys, "export", str(bad))
    assert status == 2 and out == "" and err.startswith("gclab: error: ")
    assert not (tmp_path / "bad.heapsnapshot").exists()


def test_export_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    assert "--format" in text and "Load profile" in text and "gclab export after.gcsnap" in text
