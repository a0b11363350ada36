"""gclab info, query and diff on saved snapshot files: text, --json, --csv and errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from gclab.cli import main
from gclab.snapshots import RootKind, Snapshot
from gclab.snapshots.store import save
from test_diff import before_after


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    before, after = before_after()
    return save(before, tmp_path / "before.gcsnap"), save(after, tmp_path / "after.gcsnap")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_query_json_csv_and_text(files: tuple[Path, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT type, count(*) AS n, sum(size) AS bytes FROM objects GROUP BY 1 ORDER BY 1"
    status, out, _ = run(capsys, "query", str(files[1]), sql, "--json")
    assert status == 0
    assert out == ('{"columns":["type","n","bytes"],"rows":[["app.Session",4,192],'
                   '["builtins.dict",1,360]]}\n')
    status, out, _ = run(capsys, "query", str(files[1]), sql, "--csv")
    assert list(csv.reader(io.StringIO(out))) == [["type", "n", "bytes"],
                                                  ["app.Session", "4", "192"],
                                                  ["builtins.dict", "1", "360"]]
    status, out, err = run(capsys, "query", str(files[1]), sql)
    assert "app.Session" in out and "360" in out and "(2 rows)" in err


def test_info(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "info", str(files[1]), "--json", "--top", "1")
    facts = json.loads(out)
    assert status == 0 and facts["counts"]["objects"] == 5 and facts["counts"]["bytes"] == 552
    assert facts["types"] == [{"type": "builtins.dict", "count": 1, "size": 360}]
    assert facts["meta"] == {"pid": 9}
    status, out, _ = run(capsys, "info", str(files[0]))
    assert status == 0 and "objects       4 (396 B)" in out


def test_info_roots_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = Snapshot.from_arrays(**{**_columns(), "warnings": ["object 0x10: __sizeof__ raised"]})
    path = save(snap, tmp_path / "w.gcsnap")
    status, out, _ = run(capsys, "info", str(path))
    assert status == 0 and "1 frame" in out and "warning: object 0x10: __sizeof__ raised" in out


def _columns() -> dict[str, object]:
    base = Snapshot.from_edges(types=["t"], type_index=[0, 0], edges=[(0, 1)],
                               roots=[(1, RootKind.FRAME, "main / f:1 / x")])
    names = ["address", "type_index", "size", "refcount", "generation", "flags", "label",
             "ref_start", "ref_target", "ref_kind", "ref_name", "root_node", "root_kind",
             "root_name", "types", "strings"]
    return {name: getattr(base, name) for name in names}


def test_diff(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", *map(str, files), "--json", "--top", "2")
    facts = json.loads(out)
    assert status == 0 and facts["new"] == {"objects": 3, "bytes": 144}
    assert [t["type"] for t in facts["types"]] == ["app.Session", "builtins.dict"]
    status, out, _ = run(capsys, "diff", *map(str, files))
    assert "app.Session" in out and "+144 B" in out and "0x400 's4'" in out


def test_errors_are_one_line_status_2(files: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "corrupt.gcsnap"
    data = bytearray(files[0].read_bytes())
    data[100] ^= 1
    corrupt.write_bytes(bytes(data))
    for argv in (["info", str(corrupt)], ["query", str(corrupt), "SELECT 1"],
                 ["diff", str(files[0]), str(corrupt)]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == ""
        assert err.startswith("gclab: error: ") and "corrupt.gcsnap: corrupt" in err
    status, _, err = run(capsys, "query", str(files[0]), "SELECT nope FROM objects")
    assert status == 2 and "SQL error" in err
