"""Snapshot a running Python process by its pid, without restarting it (``gclab snapshot --pid``).

:func:`attach` prepares a private work directory holding the agent's source (``agent.py``, the
standard-library-only dumper: the target needs nothing installed) and a small bootstrap, has
the target run the bootstrap (:func:`gclab.snapshots.inject.inject`: ``sys.remote_exec`` on
3.14+, gdb before), waits for the bootstrap's done-marker, converts the raw dump *outside* the
target (:func:`gclab.snapshots.capture.convert`) and removes the directory.

Inside the target the bootstrap:

1. claims the directory (an ``O_EXCL`` file: it runs at most once, and not at all once gclab
   gave up waiting);
2. executes the agent's source in a fresh namespace (never imported: no ``sys.modules`` entry,
   nothing left in ``__main__``) and calls ``dump(raw_path, collect=...)``;
3. clears its namespaces (no cyclic garbage left behind), writes ``done`` (a Python literal:
   ``status``, ``pause`` = seconds spent in the target, ``python``) by an atomic rename.

It prints nothing, starts no thread, and swallows its own errors (reported through ``done``).
The target pauses only while the agent runs (``meta["pause_seconds"]``) and, with gdb, while gdb
holds it stopped to queue the call (``meta["attach_stopped_seconds"]``, an upper bound: the whole
gdb session).
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ..errors import CaptureError
from .inject import Injection, check_target, inject, process_state
from .model import Snapshot

#: The bootstrap run in the target; ``{workdir!r}`` and ``{collect!r}`` are filled in. Straight
#: code, no function: a function would tie its namespace in a cycle (garbage for the target).
BOOTSTRAP = """\
import os as _os, sys as _sys, time as _time
_dir = {workdir!r}
try:
    _fd = _os.open(_os.path.join(_dir, "claimed"), _os.O_CREAT | _os.O_EXCL | _os.O_WRONLY, 0o600)
except OSError:
    _fd = -1
if _fd >= 0:
    _os.close(_fd)
    _start = _time.perf_counter()
    _status = "ok"
    _agent = {{"__name__": "_gclab_agent"}}
    try:
        with open(_os.path.join(_dir, "agent.py")) as _f:
            _code = compile(_f.read(), _os.path.join(_dir, "agent.py"), "exec")
        exec(_code, _agent)
        _agent["dump"](_os.path.join(_dir, "dump.raw"), collect={collect!r})
    except BaseException as _error:
        _status = "error: %s: %s" % (type(_error).__name__, str(_error)[:400])
    _agent.clear()
    _agent = _code = None
    _pause = _time.perf_counter() - _start
    with open(_os.path.join(_dir, "done.tmp"), "w") as _f:
        _f.write(repr({{"status": _status, "pause": _pause, "pid": _os.getpid(),
                        "python": "%d.%d.%d" % _sys.version_info[:3]}}))
    _os.rename(_os.path.join(_dir, "done.tmp"), _os.path.join(_dir, "done"))
globals().clear()
"""

#: How often :func:`attach` looks for the done-marker and at the target's health (seconds).
POLL = 0.02


def agent_source() -> Path:
    """The agent's source file (``gclab/snapshots/agent.py``), shipped into the target."""
    path = Path(__file__).with_name("agent.py")
    if not path.is_file():
        raise CaptureError(f"gclab's agent is missing ({path}): reinstall gclab")
    return path


def attach(pid: int, out: str | os.PathLike[str] | None = None, *, collect: bool = False,
           timeout: float = 60.0, method: str = "auto", overwrite: bool = False) -> Snapshot:
    """A snapshot of the running process ``pid`` (see the module docstring), saved to ``out``
    when given (``store.save``; an existing file is kept unless ``overwrite``).

    ``collect`` runs a full ``gc.collect()`` in the target first; ``timeout`` bounds the whole
    attach (seconds); ``method`` is :func:`~gclab.snapshots.inject.inject`'s. Afterwards the
    target runs on as before, the work directory is removed, and ``meta`` has ``pid``,
    ``attach_method``, ``attach_seconds`` (wall time here), ``pause_seconds`` (time spent in
    the target's agent) and ``attach_stopped_seconds``. Raises :class:`CaptureError` (no such
    process, no permission, no gdb, not CPython, exited during the attach, timeout, the agent
    failed), changing nothing.
    """
    if timeout <= 0:
        raise CaptureError(f"timeout must be positive, not {timeout!r}")
    if out is not None and Path(out).exists() and not overwrite:
        raise CaptureError(f"{out} exists: choose another name or overwrite it")
    check_target(pid)
    agent_source()
    start = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="gclab-attach-"))
    try:
        _prepare(workdir, pid, collect)
        injection = inject(pid, str(workdir / "boot.py"), timeout=timeout, method=method)
        done = _wait_done(workdir, pid, start + timeout, timeout)
        snap = _convert(workdir / "dump.raw", pid)
    finally:
        _abandon(workdir)
    snap = _with_attach_meta(snap, pid, injection, done, time.perf_counter() - start)
    if out is not None:
        from .store import save

        save(snap, out, overwrite=overwrite)
    return snap


def _prepare(workdir: Path, pid: int, collect: bool) -> None:
    """``workdir`` holds ``agent.py`` and ``boot.py``, readable and writable by the target (its
    owner, when gclab runs as root and the target as another user)."""
    shutil.copyfile(agent_source(), workdir / "agent.py")
    (workdir / "boot.py").write_text(BOOTSTRAP.format(workdir=str(workdir), collect=collect))
    try:
        owner = os.stat(f"/proc/{pid}")
    except OSError:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and owner.st_uid != 0:
        for path in (workdir, workdir / "agent.py", workdir / "boot.py"):
            os.chown(path, owner.st_uid, owner.st_gid)


def _wait_done(workdir: Path, pid: int, deadline: float, timeout: float) -> dict[str, object]:
    """The bootstrap's done-marker, once written; :class:`CaptureError` when the target exits
    first, the deadline passes, or the agent reported an error."""
    marker = workdir / "done"
    while not marker.exists():
        if process_state(pid) != "running":
            if marker.exists():
                break
            raise CaptureError(f"process {pid} exited during the attach")
        if time.perf_counter() > deadline:
            started = (workdir / "claimed").exists()
            what = ("its snapshot did not finish" if started else
                    "it did not reach a safe point to take the snapshot (its main thread may "
                    "be blocked in C code)")
            raise CaptureError(f"process {pid}: {what} within {timeout:g} s")
        time.sleep(POLL)
    try:
        done = ast.literal_eval(marker.read_text())
    except (OSError, ValueError, SyntaxError) as error:
        raise CaptureError(f"process {pid}: unreadable answer from the agent ({error})") from None
    if not isinstance(done, dict) or done.get("status") != "ok":
        status = done.get("status") if isinstance(done, dict) else done
        raise CaptureError(f"process {pid}: the agent failed ({status})")
    return dict(done)


def _convert(raw: Path, pid: int) -> Snapshot:
    """The agent's raw dump as a :class:`Snapshot` (converted here, not in the target)."""
    from .capture import convert

    if not raw.exists():
        raise CaptureError(f"process {pid}: the agent wrote no dump")
    return convert(str(raw))


def _abandon(workdir: Path) -> None:
    """Remove ``workdir``; a bootstrap still queued in the target then finds its claim taken
    (or its files gone) and does nothing."""
    try:
        fd = os.open(workdir / "claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError:
        pass
    shutil.rmtree(workdir, ignore_errors=True)


def _with_attach_meta(snap: Snapshot, pid: int, injection: Injection, done: dict[str, object],
                      seconds: float) -> Snapshot:
    """``snap`` with the attach's facts added to its ``meta``."""
    pause = float(done.get("pause", 0.0))  # type: ignore[arg-type]
    stopped = injection.seconds - (pause if injection.method == "gdb-direct" else 0.0)
    meta = dict(snap.meta)
    meta.update(pid=pid, attach_method=injection.method, attach_seconds=round(seconds, 6),
                pause_seconds=round(pause, 6), attach_stopped_seconds=round(max(stopped, 0), 6))
    if "python" not in meta and done.get("python"):
        meta["python"] = done["python"]
    return replace(snap, meta=meta, _cache={})
