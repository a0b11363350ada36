"""Child processes for the attach and run tests: every local CPython from 3.8 to 3.13 (pyenv),
each holding a planted object graph (a global list ``leaks`` of N instances of ``Leak``) and
answering on its stdin/stdout pipe, so a test can check it still works after an attach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gclab.snapshots.inject import ptrace_problem

VERSIONS = ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]


def interpreter(version: str) -> str:
    """The path of pyenv's ``python`` of ``version`` (the test skips when it is missing)."""
    path = Path(f"/root/.pyenv/versions/{version}/bin/python")
    if not path.exists():
        pytest.skip(f"Python {version} is not installed (pyenv)")
    return str(path)


def interpreters() -> list[object]:
    """One pytest parameter per local interpreter."""
    return [pytest.param(v, id=f"py{v.rsplit('.', 1)[0]}") for v in VERSIONS]


def need_gdb() -> None:
    """Skip unless gdb is installed and this process may ptrace its children."""
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed (./run tests installs it)")
    if ptrace_problem(os.getpid()) is not None and os.geteuid() != 0:
        pytest.skip(f"ptrace not permitted: {ptrace_problem(os.getpid())}")


#: The child's program. argv: N, mode. Modes: "pipe" (main thread blocked reading stdin),
#: "busy" (main thread in a pure-Python ``while True`` loop that polls stdin now and then),
#: "cloop" (main thread in a C loop holding the GIL for a while, then "pipe"), "alarm" (a C
#: loop that SIGALRM ends by killing the process after 3 s).
CHILD = r"""
import gc, itertools, os, select, signal, sys, threading

class Leak(object):
    def __init__(self, i):
        self.i = i
        self.payload = [i]

leaks = [Leak(i) for i in range(int(sys.argv[1]))]
mode = sys.argv[2]

def answer(line):
    line = line.strip()
    if line == "ping":
        return "pong"
    if line == "state":
        main = sorted(k for k in globals() if not k.startswith("__"))
        return "threads=%d garbage=%d main=%s" % (threading.active_count(), len(gc.garbage),
                                                   ",".join(main))
    if line == "leaks":
        return "leaks=%d" % sum(1 for o in gc.get_objects() if type(o) is Leak)
    return "?" + line

if mode == "alarm":
    signal.alarm(3)
print("ready %d" % os.getpid(), flush=True)
if mode == "alarm":
    sum(itertools.repeat(1, 10 ** 12))
if mode == "cloop":
    sum(itertools.repeat(1, 10 ** 9))
if mode == "busy":
    x = 0
    while True:
        x += 1
        if x % 100000 == 0 and select.select([sys.stdin], [], [], 0)[0]:
            line = sys.stdin.readline()
            if not line or line.strip() == "quit":
                break
            print(answer(line), flush=True)
else:
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        print(answer(line), flush=True)
"""


class Child:
    """A running child: ``ask(line)`` writes a line and returns its answer; ``close()`` ends it
    and returns (stdout rest, stderr)."""

    def __init__(self, version: str, n: int, mode: str) -> None:
        self.process = subprocess.Popen(
            [interpreter(version), "-c", CHILD, str(n), mode], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        assert ready.startswith("ready "), ready
        self.pid = self.process.pid

    def ask(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> tuple[str, str]:
        try:
            out, err = self.process.communicate("quit\n", timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate(timeout=20)
        return out or "", err or ""


def python_env() -> dict[str, str]:
    """This environment with gclab's source first on PYTHONPATH (for ``python -m gclab``)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ)
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


GCLAB = [sys.executable, "-m", "gclab"]
