"""Attaching to running child processes of every local CPython (3.8 to 3.13) through gdb.

The children (``attach_children.CHILD``) hold a planted graph (a global list ``leaks`` of N
``Leak`` instances) and answer on a pipe, so each test checks that the child still works after
the attach, that its stdout and stderr carry nothing of ours, that no thread and no global was
left behind and that the work files are gone. Facts about the child are checked against what
the child itself reports (``gc.get_objects()`` run in it), never against gclab's own output.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from attach_children import GCLAB, Child, interpreter, interpreters, need_gdb, python_env
from gclab.errors import CaptureError
from gclab.snapshots import RootKind
from gclab.snapshots.attach import agent_source, attach
from gclab.snapshots.inject import inject

pytestmark = pytest.mark.timeout(120)

#: A payload of the test's own (standard library only) for the injection machinery: what the
#: interpreter that runs it sees.
PAYLOAD = """
import gc, os, sys, threading
main = sys.modules["__main__"]
found = sum(1 for o in gc.get_objects() if type(o).__name__ == "Leak")
with open({out!r} + ".tmp", "w") as f:
    f.write("%d %s %s %d %d" % (os.getpid(), "%d.%d" % sys.version_info[:2],
                                threading.current_thread() is threading.main_thread(),
                                found, len(main.leaks)))
os.rename({out!r} + ".tmp", {out!r})
"""


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """gclab's work files go to a directory of the test's own, which must be empty afterwards."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    yield work
    assert sorted(p.name for p in work.iterdir()) == []


#: The interpreters attached while their main thread is busy in a loop (the others: blocked).
BUSY = ("3.8.18", "3.10.13", "3.12.1")


def need_agent() -> None:
    """Skip until the capture part's agent (``snapshots/agent.py``) exists."""
    try:
        agent_source()
    except CaptureError:
        pytest.skip("gclab.snapshots.agent is not there yet")


def wait_for(path: Path, seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return path.read_text()


def check_unharmed(child: Child, state_before: str) -> None:
    """The child answers, has one thread, the same globals and no gc.garbage; it printed
    nothing but its answers."""
    assert child.ask("ping") == "pong"
    assert child.ask("state") == state_before
    out, err = child.close()
    assert (out, err) == ("", "")
    assert child.process.returncode == 0


@pytest.mark.parametrize("mode", ["pipe", "busy"])
@pytest.mark.parametrize("version", interpreters())
def test_inject_runs_the_script_in_the_main_thread(version: str, mode: str, tmp_path: Path,
                                                   private_tmp: Path) -> None:
    need_gdb()
    child = Child(version, 25, mode)
    try:
        state = child.ask("state")
        assert state.startswith("threads=1 garbage=0 main=")
        script = tmp_path / "payload.py"
        out = tmp_path / "seen.txt"
        script.write_text(PAYLOAD.format(out=str(out)))
        injection = inject(child.pid, str(script), timeout=60)
        # A main thread blocked in read() does not hold the GIL: the script ran in it before gdb
        # returned. A busy one holds it (the script is queued for its next bytecode), unless gdb
        # stopped it just before its loop began (seen on a loaded machine): either is right.
        if mode == "busy":
            assert injection.method in ("gdb-pending", "gdb-direct")
        else:
            assert injection.method == "gdb-direct"
        assert injection.python == version
        seen = wait_for(out).split()
        assert seen == [str(child.pid), version.rsplit(".", 1)[0], "True", "25", "25"]
        check_unharmed(child, state)
    finally:
        child.process.kill()
        child.process.wait()


@pytest.mark.parametrize("version", interpreters())
def test_attach_finds_the_planted_leak(version: str, private_tmp: Path, tmp_path: Path) -> None:
    need_gdb()
    need_agent()
    n = 300
    mode = "busy" if version in BUSY else "pipe"
    child = Child(version, n, mode)
    try:
        state = child.ask("state")
        assert child.ask("leaks") == f"leaks={n}"
        out = tmp_path / "s.gcsnap"
        snap = attach(child.pid, out, timeout=60)
        assert out.exists()
        leak = snap.types.index("__main__.Leak")
        assert int(np.sum(snap.type_index == leak)) == n
        names = snap.root_names()
        assert "__main__.leaks" in names
        root = int(snap.root_node[names.index("__main__.leaks")])
        assert snap.root_kind[names.index("__main__.leaks")] == RootKind.MODULE
        assert snap.type_name(root) == "builtins.list"
        held = snap.referents(root)
        assert int(np.sum(snap.type_index[held] == leak)) == n
        assert snap.meta["pid"] == child.pid
        assert str(snap.meta["python"]).startswith(version.rsplit(".", 1)[0])
        assert snap.meta["attach_method"] == ("gdb-pending" if mode == "busy" else "gdb-direct")
        assert 0 < snap.meta["pause_seconds"] < snap.meta["attach_seconds"]
        check_unharmed(child, state)
    finally:
        child.process.kill()
        child.process.wait()


def test_a_target_that_exits_during_the_attach(private_tmp: Path) -> None:
    need_gdb()
    need_agent()
    # The child's main thread holds the GIL in a C loop (the snapshot is queued, never run)
    # until SIGALRM kills it 3 s after start.
    child = Child("3.12.1", 10, "alarm")
    start = time.monotonic()
    with pytest.raises(CaptureError, match="exited during the attach"):
        attach(child.pid, timeout=60)
    assert time.monotonic() - start < 30
    child.process.wait(timeout=10)


def test_timeout_leaves_the_target_working(private_tmp: Path) -> None:
    need_gdb()
    need_agent()
    # The main thread holds the GIL in a C loop for seconds: no safe point within the timeout.
    # The queued snapshot runs later, finds its work directory gone and does nothing (on a
    # loaded machine gdb itself may overrun: it is interrupted and detaches; same outcome).
    child = Child("3.11.7", 10, "cloop")
    try:
        with pytest.raises(CaptureError, match="within 3 s"):
            attach(child.pid, timeout=3.0)
        assert child.ask("ping") == "pong"           # after the C loop (and the queued call)
        assert child.ask("state").startswith("threads=1 garbage=0 main=")
        out, err = child.close()
        assert (out, err) == ("", "")
    finally:
        child.process.kill()
        child.process.wait()


def test_errors_name_the_problem(tmp_path: Path, private_tmp: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    need_gdb()
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    gone = subprocess.Popen(["true"])
    gone.wait()
    for bad, message in ((gone.pid, "no process"), (0, "not a process id"),
                         (-5, "not a process id"), ("12", "not a process id"),
                         (os.getpid(), "own process")):
        with pytest.raises(CaptureError, match=message):
            inject(bad, str(script))  # type: ignore[arg-type]
    with pytest.raises(CaptureError, match="exists"):
        existing = tmp_path / "taken.gcsnap"
        existing.write_bytes(b"x")
        attach(os.getpid(), existing)
    assert existing.read_bytes() == b"x"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(CaptureError, match="not a CPython"):
            inject(sleeper.pid, str(script), timeout=60)
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(CaptureError, match="gdb is not installed"):
            inject(sleeper.pid, str(script), timeout=60)
        zombie = subprocess.Popen([interpreter("3.11.7"), "-c", "pass"])
        time.sleep(0.5)
        with pytest.raises(CaptureError, match="has exited"):
            inject(zombie.pid, str(script))
        zombie.wait()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_snapshot_command(tmp_path: Path) -> None:
    need_gdb()
    need_agent()
    child = Child("3.13.0", 40, "pipe")
    try:
        out = tmp_path / "c.gcsnap"
        done = subprocess.run([*GCLAB, "snapshot", "--pid", str(child.pid), "-o", str(out),
                               "--json", "--top", "100000"], capture_output=True, text=True,
                              timeout=120,
                              env=python_env())
        assert done.returncode == 0, done.stderr
        facts = json.loads(done.stdout)
        assert facts["pid"] == child.pid and facts["path"] == str(out)
        assert ["__main__.Leak", 40] in [row[:2] for row in facts["by_count"]]
        again = subprocess.run([*GCLAB, "snapshot", "--pid", str(child.pid), "-o", str(out)],
                               capture_output=True, text=True, timeout=120, env=python_env())
        assert again.returncode == 2 and "exists" in again.stderr
        before = out.stat().st_mtime_ns
        forced = subprocess.run([*GCLAB, "snapshot", "--pid", str(child.pid), "-o", str(out),
                                 "--force"], capture_output=True, text=True, timeout=120,
                                env=python_env())
        assert forced.returncode == 0, forced.stderr
        assert out.stat().st_mtime_ns != before
        assert child.ask("ping") == "pong"
    finally:
        child.process.kill()
        child.process.wait()
