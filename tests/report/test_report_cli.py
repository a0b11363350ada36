"""``gclab report`` end to end: snapshot files in, one self-contained page out; the page
written, embedded data and refusals (existing file, bad monitor file, not a snapshot)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gclab.cli import main
from gclab.report.html import embedded_data, render_html
from gclab.report.model import ReportModel
from gclab.snapshots.store import save
from report_support import leaky_snapshot, monitor_events


@pytest.fixture
def files(tmp_path):
    before, after = tmp_path / "before.gcsnap", tmp_path / "after.gcsnap"
    save(leaky_snapshot(sessions=100, seed=1), before)
    save(leaky_snapshot(sessions=300), after)
    monitor = tmp_path / "gc.json"
    monitor.write_text(json.dumps(monitor_events()))
    return before, after, monitor


def test_one_snapshot_json(files, tmp_path, capsys):
    _, after, _ = files
    out = tmp_path / "report.html"
    assert main(["report", str(after), "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    facts = json.loads(captured.out)
    assert facts["output"] == str(out) and facts["bytes"] == out.stat().st_size
    assert facts["objects"] == 1028 and facts["suspects"] == ["builtins.module"]
    assert facts["garbage"] == 120 and not facts["diff"] and not facts["timeline"]
    assert "gclab report: dominator tree" in captured.err          # progress on stderr
    data = embedded_data(out.read_text(encoding="utf-8"))
    assert data["summary"]["objects"] == 1028 and data["diff"] is None


def test_refuses_to_overwrite(files, tmp_path, capsys):
    _, after, _ = files
    out = tmp_path / "report.html"
    out.write_text("keep me")
    assert main(["report", str(after), "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert main(["report", str(after), "-o", str(out), "--force"]) == 0
    assert "wrote" in capsys.readouterr().out and out.read_text().startswith("<!DOCTYPE html>")


def test_bad_inputs_write_nothing(files, tmp_path, capsys):
    _, after, _ = files
    out = tmp_path / "report.html"
    bad = tmp_path / "bad.json"
    bad.write_text('{"events": 3}')
    assert main(["report", str(after), "--monitor", str(bad), "-o", str(out)]) == 2
    assert "monitor file" in capsys.readouterr().err
    not_a_snapshot = tmp_path / "x.gcsnap"
    not_a_snapshot.write_bytes(b"PK\x03\x04 not really")
    assert main(["report", str(not_a_snapshot), "-o", str(out)]) == 2
    assert "x.gcsnap" in capsys.readouterr().err
    assert not out.exists()


def test_two_snapshots_and_monitor(files, tmp_path, capsys):
    pytest.importorskip("gclab.snapshots.diff")
    before, after, monitor = files
    out = tmp_path / "report.html"
    assert main(["report", str(before), str(after), "--monitor", str(monitor), "-o",
                 str(out), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["diff"] and facts["timeline"] and facts["snapshots"] == 2
    data = embedded_data(out.read_text(encoding="utf-8"))
    rows = {r[0]: r[1:] for r in data["diff"]["by_type"]}
    assert rows["leaky_service.Session"][:2] == [100, 300]
    assert data["timeline"]["total"] == 400


def test_hostile_labels_stay_text():
    hostile = "</script><script>alert(1)</script>\u2028&amp;"
    model = ReportModel(summary={"process": hostile}, suspects=[], tree={}, types=[hostile],
                        histogram={}, garbage={})
    page = render_html(model)
    assert "<script>alert" not in page
    assert embedded_data(page)["summary"]["process"] == hostile
    assert page.count("<script") == 2 and page.count("</script>") == 2


def test_help_has_examples():
    done = subprocess.run([sys.executable, "-m", "gclab", "report", "--help"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert "gclab report before.gcsnap after.gcsnap -o report.html" in done.stdout
