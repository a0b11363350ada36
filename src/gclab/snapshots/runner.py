"""Run a Python program with snapshots at exit, on a signal, or periodically (``gclab run``).

:func:`run` starts the program with a bootstrap directory prepended to its ``PYTHONPATH``: a
``sitecustomize.py`` (:mod:`gclab.snapshots.run_site`) and the agent's source. The program
needs nothing installed; the bootstrap removes itself from the environment its own children
see. Each dump the program writes into a spool directory is converted here, outside the
program (:func:`gclab.snapshots.capture.convert`), and saved as
``OUT_DIR/<prog>-<pid>-<n>.gcsnap``; the spool is removed at the end.

>>> program_name(["python3", "-X", "dev", "service.py", "--port", "80"])
'service'
>>> program_name(["python", "-m", "http.server"]), program_name(["./tool"])
('http.server', 'tool')
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import CaptureError
from .attach import agent_source

#: Interpreter options that take a value (``-X dev``): skipped when looking for the program.
_VALUE_OPTIONS = frozenset({"-X", "-W", "--check-hash-based-pycs"})


@dataclass
class RunResult:
    """What :func:`run` did: the program's ``returncode`` (as a shell reports it: 128 + N when
    signal N killed it), its ``pid``, the ``snapshots`` written (one dict each: ``path``,
    ``pid``, ``n``, ``trigger``, ``objects``, ``references``, ``pause_seconds``) and the
    ``errors`` (one line each: a dump the agent failed, a conversion that failed)."""

    returncode: int
    pid: int
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def program_name(argv: Sequence[str]) -> str:
    """A short name for the program that ``argv`` runs: the script's stem, the module of
    ``-m``, ``"c"`` for ``-c``, else the command's base name."""
    first = Path(argv[0]).name if argv else "python"
    if not first.startswith(("python", "pypy")) or first.endswith(".py"):
        return Path(first).stem or "python"
    skip = False
    for i, arg in enumerate(argv[1:], 1):
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif arg == "-m" and i + 1 < len(argv):
            return argv[i + 1]
        elif arg.startswith("-m") and len(arg) > 2:
            return arg[2:]
        elif arg == "-c" or (arg.startswith("-") and not arg.startswith("--") and "c" in arg):
            return "c"
        elif not arg.startswith("-"):
            return Path(arg).stem or "python"
    return "python"


def command_line(argv: Sequence[str]) -> list[str]:
    """``argv`` as it is started: a ``.py`` file that is not executable runs under this
    interpreter (``sys.executable``); anything else as given."""
    if not argv:
        raise CaptureError("gclab run needs a command: gclab run -- python prog.py ...")
    first = argv[0]
    if first.endswith(".py") and os.path.isfile(first) and not os.access(first, os.X_OK):
        return [sys.executable, *argv]
    if shutil.which(first) is None and not os.path.exists(first):
        raise CaptureError(f"no such program: {first}")
    return list(argv)


def _environment(site: Path, spool: Path, *, every: float | None, on_signal: str | None,
                 at_exit: bool, collect: bool) -> dict[str, str]:
    """The program's environment: ours, the bootstrap first on ``PYTHONPATH``, and the
    ``GCLAB_RUN_*`` settings that :mod:`~gclab.snapshots.run_site` reads and removes."""
    env = dict(os.environ)
    original = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(site) + (os.pathsep + original if original else "")
    env.update(GCLAB_RUN_SPOOL=str(spool), GCLAB_RUN_SITE=str(site),
               GCLAB_RUN_EVERY=repr(float(every)) if every else "",
               GCLAB_RUN_SIGNAL=on_signal or "", GCLAB_RUN_AT_EXIT="1" if at_exit else "",
               GCLAB_RUN_COLLECT="1" if collect else "",
               GCLAB_RUN_HAD_PYTHONPATH="1" if original is not None else "",
               GCLAB_RUN_PYTHONPATH=original or "")
    return env


def signal_name(name: str) -> str:
    """``name`` (``USR2``, ``SIGUSR2``, ``12``) as a signal's name this platform has.

    >>> signal_name("usr2"), signal_name("SIGUSR1")
    ('SIGUSR2', 'SIGUSR1')
    """
    text = name.strip().upper()
    if text.isdigit():
        try:
            return signal.Signals(int(text)).name
        except ValueError:
            raise CaptureError(f"no signal number {name}") from None
    text = text if text.startswith("SIG") else "SIG" + text
    if text in ("SIGKILL", "SIGSTOP") or not isinstance(getattr(signal, text, None),
                                                         signal.Signals):
        raise CaptureError(f"cannot snapshot on signal {name!r}: name a catchable signal "
                           f"such as USR2")
    return text


def run(argv: Sequence[str], out_dir: str | os.PathLike[str] = ".", *,
        every: float | None = None, on_signal: str | None = None, at_exit: bool | None = None,
        collect: bool = False, progress: Callable[[str], None] | None = None) -> RunResult:
    """Run ``argv`` (a Python program) to its end with snapshots, saved in ``out_dir``.

    Triggers: ``at_exit`` (the default when no other is given), ``on_signal`` (a signal name:
    ``kill -USR2 PID`` snapshots), ``every`` seconds. ``progress`` receives one line per event
    (the pid, each file written). The program's stdin, stdout and stderr are this process's.
    While it runs, SIGINT is left to the program (the terminal sends it to both) and SIGTERM
    passed on. Afterwards every dump is converted and saved, the spool removed.
    """
    if every is not None and not every > 0:
        raise CaptureError(f"--every needs a positive number of seconds, not {every!r}")
    sig = signal_name(on_signal) if on_signal else None
    at_exit = at_exit if at_exit is not None else (not every and not sig)
    command = command_line(argv)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spool = Path(tempfile.mkdtemp(prefix="gclab-run-"))
    say = progress or (lambda line: None)
    try:
        site = spool / "site"
        site.mkdir()
        shutil.copyfile(Path(__file__).with_name("run_site.py"), site / "sitecustomize.py")
        shutil.copyfile(agent_source(), site / "gclab_agent.py")
        env = _environment(site, spool, every=every, on_signal=sig, at_exit=at_exit,
                           collect=collect)
        try:
            process = subprocess.Popen(command, env=env)
        except OSError as error:
            raise CaptureError(f"cannot start {command[0]}: {error}") from None
        result = RunResult(returncode=0, pid=process.pid)
        hint = f" (kill -{sig[3:]} {process.pid} to snapshot)" if sig else ""
        say(f"running {program_name(argv)} as pid {process.pid}{hint}")
        with _passing_signals(process):
            while process.poll() is None:
                _collect(spool, out, program_name(argv), result, say)
                time.sleep(0.1)
        _collect(spool, out, program_name(argv), result, say)
        code = process.returncode
        result.returncode = 128 - code if code < 0 else code
        if not result.snapshots and not result.errors and at_exit:
            result.errors.append("the program wrote no snapshot: is it a Python program, run "
                                 "without -I, -E or -S, that exits normally (not os._exit or "
                                 "killed)?")
        return result
    finally:
        shutil.rmtree(spool, ignore_errors=True)


class _passing_signals:
    """While the program runs: SIGINT ignored here (the program gets its own), SIGTERM and
    SIGHUP passed on to it; the handlers are restored afterwards (main thread only)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.saved: dict[int, Any] = {}

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def __enter__(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        self.saved[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self.saved[signum] = signal.signal(signum, self._forward)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)


def _collect(spool: Path, out: Path, prog: str, result: RunResult,
             say: Callable[[str], None]) -> None:
    """Convert and save every finished dump in ``spool`` (then delete it): afterwards
    ``result`` lists each as a snapshot written or an error."""
    for marker in sorted(spool.glob("*.done"), key=lambda p: p.stat().st_mtime):
        raw = marker.with_suffix(".raw")
        try:
            done = ast.literal_eval(marker.read_text())
        except (OSError, ValueError, SyntaxError):
            done = {"status": "error: unreadable marker"}
        marker.unlink()
        if done.get("status") != "ok":
            result.errors.append(f"{marker.stem}: {done.get('status')}")
            raw.unlink(missing_ok=True)
            continue
        try:
            entry = _save(raw, out, prog, done)
        except Exception as error:  # one bad dump must not lose the others
            result.errors.append(f"{marker.stem}: cannot convert the dump: {error}")
        else:
            result.snapshots.append(entry)
            say(f"wrote {entry['path']} ({entry['objects']:,} objects, {entry['trigger']})")
        finally:
            raw.unlink(missing_ok=True)


def _save(raw: Path, out: Path, prog: str, done: dict[str, Any]) -> dict[str, Any]:
    """The dump ``raw`` converted and saved under a free name; its entry for RunResult."""
    from .capture import convert
    from .store import save

    snap = convert(str(raw))
    meta = dict(snap.meta)
    meta.update(run_trigger=done.get("trigger"), pause_seconds=round(done.get("pause", 0), 6))
    snap = replace(snap, meta=meta, _cache={})
    pid, n = int(done.get("pid", 0)), int(done.get("n", 0))
    path = out / f"{prog}-{pid}-{n}.gcsnap"
    while path.exists():
        n += 1000
        path = out / f"{prog}-{pid}-{n}.gcsnap"
    save(snap, path)
    return {"path": str(path), "pid": pid, "n": int(done.get("n", 0)),
            "trigger": done.get("trigger"), "objects": snap.n, "references": snap.m,
            "pause_seconds": meta["pause_seconds"]}
