"""``gclab run``: real programs of the local CPythons snapshotted at exit, on SIGUSR2 and
periodically; the snapshots hold the planted leak the program reports about itself; the
program's exit status, environment and own ``sitecustomize`` are kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attach_children import GCLAB, interpreter, interpreters, python_env
from gclab.errors import CaptureError
from gclab.snapshots import RootKind
from gclab.snapshots.attach import agent_source
from gclab.snapshots.runner import run

pytestmark = pytest.mark.timeout(120)

#: argv: N, then "exit" (exit with status 3), "sleep" (sleep 3 s first) or "wait" (print the
#: pid and read stdin until "quit"); the program writes what it sees to argv[3].
PROGRAM = r"""
import gc, os, subprocess, sys, time

class Leak(object):
    pass

leaks = [Leak() for i in range(int(sys.argv[1]))]
child = subprocess.run([sys.executable, "-c",
    "import os, sys; print(os.environ.get('PYTHONPATH')); "
    "print(sorted(k for k in os.environ if k.startswith('GCLAB'))); "
    "print(os.environ.get('SITE_RAN'))"], stdout=subprocess.PIPE, universal_newlines=True)
with open(sys.argv[3], "w") as f:
    f.write(repr({"leaks": sum(1 for o in gc.get_objects() if type(o) is Leak),
                  "pythonpath": os.environ.get("PYTHONPATH"),
                  "site_ran": os.environ.get("SITE_RAN"),
                  "child": child.stdout.splitlines(), "path_has_site": any(
                      "gclab-run-" in p for p in sys.path)}))
if sys.argv[2] == "sleep":
    time.sleep(3)
if sys.argv[2] == "wait":
    print("ready %d" % os.getpid(), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
sys.exit(3)
"""


def need_agent() -> None:
    try:
        agent_source()
    except CaptureError:
        pytest.skip("gclab.snapshots.agent is not there yet")


def leak_count(path: str) -> int:
    """How many ``__main__.Leak`` objects the saved snapshot holds, checking that the global
    ``leaks`` is a module root that holds them all."""
    from gclab.snapshots.store import load

    snap = load(path)
    leak = snap.types.index("__main__.Leak")
    names = snap.root_names()
    index = names.index("__main__.leaks")
    assert snap.root_kind[index] == RootKind.MODULE
    held = snap.referents(int(snap.root_node[index]))
    count = int(np.sum(snap.type_index == leak))
    assert int(np.sum(snap.type_index[held] == leak)) == count
    return count


@pytest.mark.parametrize("version", interpreters())
def test_snapshot_at_exit(version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_agent()
    # The program's own sitecustomize (shadowed by gclab's) still runs, and the environment
    # its children see is the one it would have had without gclab.
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import os\nos.environ['SITE_RAN'] = 'yes'\n")
    monkeypatch.setenv("PYTHONPATH", str(own))
    seen = tmp_path / "seen.txt"
    prog = tmp_path / "leaky.py"
    prog.write_text(PROGRAM)
    result = run([interpreter(version), str(prog), "120", "exit", str(seen)], tmp_path / "out")
    assert result.returncode == 3 and result.errors == []
    assert [s["trigger"] for s in result.snapshots] == ["exit"]
    path = result.snapshots[0]["path"]
    assert Path(path).name == f"leaky-{result.pid}-1.gcsnap"
    facts = eval(seen.read_text())
    assert facts["leaks"] == 120 == leak_count(path)
    assert facts["site_ran"] == "yes" and facts["pythonpath"] == str(own)
    assert facts["child"] == [str(own), "[]", "yes"] and not facts["path_has_site"]


def test_snapshot_every_interval(tmp_path: Path) -> None:
    need_agent()
    seen = tmp_path / "seen.txt"
    prog = tmp_path / "slow.py"
    prog.write_text(PROGRAM)
    result = run([interpreter("3.12.1"), str(prog), "50", "sleep", str(seen)], tmp_path,
                 every=0.3)
    assert result.returncode == 3 and result.errors == []
    triggers = [s["trigger"] for s in result.snapshots]
    assert len(triggers) >= 2 and set(triggers) == {"timer"}
    assert [s["n"] for s in result.snapshots] == list(range(1, len(triggers) + 1))
    assert all(leak_count(s["path"]) == 50 for s in result.snapshots)


def test_snapshot_on_signal_from_the_command_line(tmp_path: Path) -> None:
    need_agent()
    prog = tmp_path / "service.py"
    prog.write_text(PROGRAM)
    out = tmp_path / "snaps"
    gclab = subprocess.Popen(
        [*GCLAB, "run", "--on-signal", "USR2", "--at-exit", "-o", str(out), "--",
         interpreter("3.10.13"), str(prog), "70", "wait", str(tmp_path / "seen.txt")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=python_env())
    assert gclab.stdout is not None and gclab.stdin is not None and gclab.stderr is not None
    try:
        ready = gclab.stdout.readline()
        assert ready.startswith("ready "), ready
        os.kill(int(ready.split()[1]), signal.SIGUSR2)
        while " signal)" not in (line := gclab.stderr.readline()):
            assert line, "gclab run ended without the signal's snapshot"
        stdout, stderr = gclab.communicate("quit\n", timeout=60)
    finally:
        gclab.kill()
        gclab.wait()
    assert gclab.returncode == 3, stderr
    files = sorted(out.glob("service-*.gcsnap"))
    assert [f.name.rsplit("-", 1)[1] for f in files] == ["1.gcsnap", "2.gcsnap"]
    rows = [line.split("\t") for line in stdout.splitlines()]
    assert [(row[0], row[2]) for row in rows] == [(str(files[0]), "signal"),
                                                   (str(files[1]), "exit")]
    assert [leak_count(str(f)) for f in files] == [70, 70]


def test_json_output_and_bad_input(tmp_path: Path) -> None:
    for argv, kwargs, message in (([], {}, "needs a command"),
                                  (["no-such-program-xyz"], {}, "no such program"),
                                  ([sys.executable, "-c", "pass"], {"every": 0}, "positive"),
                                  ([sys.executable, "-c", "pass"], {"on_signal": "KILL"},
                                   "catchable"),
                                  ([sys.executable, "-c", "pass"], {"on_signal": "NOPE"},
                                   "catchable")):
        with pytest.raises(CaptureError, match=message):
            run(argv, tmp_path / "never", **kwargs)
    assert not (tmp_path / "never").exists()
    done = subprocess.run([*GCLAB, "run", "--json"], capture_output=True, text=True,
                          timeout=60, env=python_env())
    assert done.returncode == 2 and "no program given" in done.stderr
    need_agent()
    prog = tmp_path / "p.py"
    prog.write_text(PROGRAM)
    done = subprocess.run([*GCLAB, "run", "--json", "-o", str(tmp_path), "--",
                           interpreter("3.9.18"), str(prog), "5", "exit",
                           str(tmp_path / "seen")], capture_output=True, text=True,
                          timeout=60, env=python_env())
    assert done.returncode == 3, done.stderr
    facts = json.loads(done.stdout)
    assert facts["returncode"] == 3 and facts["errors"] == []
    assert [s["trigger"] for s in facts["snapshots"]] == ["exit"]
    assert leak_count(facts["snapshots"][0]["path"]) == 5


def test_a_timer_dump_in_progress_at_exit_is_finished_and_the_exit_one_taken(
        tmp_path: Path) -> None:
    # A dump of 300,000 objects outlasts the program's last 0.5 s, so the program usually
    # exits while a timer's dump runs in the daemon thread: that dump must be finished (daemon
    # threads die after the atexit handlers) and the exit snapshot must still be taken.
    need_agent()
    seen = tmp_path / "seen.txt"
    prog = tmp_path / "busy.py"
    prog.write_text(PROGRAM.replace('if sys.argv[2] == "sleep":\n    time.sleep(3)',
                                    'if sys.argv[2] == "sleep":\n    time.sleep(0.5)'))
    result = run([interpreter("3.11.7"), str(prog), "300000", "sleep", str(seen)], tmp_path,
                 every=0.2, at_exit=True)
    assert result.returncode == 3 and result.errors == []
    triggers = [s["trigger"] for s in result.snapshots]
    assert triggers[-1] == "exit" and set(triggers) <= {"timer", "exit"}
    assert leak_count(result.snapshots[-1]["path"]) == 300000
    from gclab.snapshots.store import load

    assert all(load(s["path"]).n > 0 for s in result.snapshots[:-1])   # each one complete
