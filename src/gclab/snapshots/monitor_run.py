"""Run a command with the GC monitor's bootstrap on its ``PYTHONPATH`` and read its events.

:func:`run_monitored` puts a copy of :mod:`gclab.snapshots.monitor_agent` named
``sitecustomize.py`` into a temporary directory at the front of the command's ``PYTHONPATH``;
every Python 3.8+ interpreter the command starts imports it at start-up (unless run with
``-S``, ``-I`` or ``-E``), but only the first one records: the bootstrap removes its variables
from the environment. The recorder writes its events file at exit (and every ``every``
seconds), and :func:`run_monitored` reads it (:func:`~gclab.snapshots.monitor.read_events`).

The target needs nothing installed. A target killed by a signal or leaving through
``os._exit`` skips the exit hook: with ``every`` set, the last periodic file is read instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import MonitorError
from . import monitor_agent
from .monitor import GcEvents, read_events

#: Seconds a target is given to exit after SIGINT (then SIGTERM, then SIGKILL) at a timeout.
GRACE_SECONDS = 10.0


@dataclass(frozen=True, eq=False)
class MonitoredRun:
    """A finished monitored command: its exit status (negative: killed by that signal),
    whether gclab stopped it at its timeout, and the events its interpreter recorded."""

    returncode: int
    timed_out: bool
    events: GcEvents


def bootstrap_directory(directory: str | os.PathLike[str]) -> Path:
    """Write the bootstrap (``sitecustomize.py``) into ``directory``; return its path."""
    target = Path(directory) / "sitecustomize.py"
    shutil.copyfile(monitor_agent.__file__, target)
    return target


def monitored_environment(directory: str, events: str, *, every: float | None = None,
                          max_events: int | None = None,
                          base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a monitored command: ``base`` (default ``os.environ``) with
    ``directory`` first on ``PYTHONPATH`` and the bootstrap's variables set."""
    env = dict(os.environ if base is None else base)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = directory + (os.pathsep + path if path else "")
    env[monitor_agent.ENV_OUT] = events
    if every is not None:
        env[monitor_agent.ENV_EVERY] = repr(float(every))
    if max_events is not None:
        env[monitor_agent.ENV_MAX] = str(int(max_events))
    return env


def _interruptible() -> None:
    """In the child before exec: SIGINT back to its default action, so that the interpreter
    installs its KeyboardInterrupt handler and a timeout's SIGINT runs the exit hooks (a shell
    starts background jobs, ``nohup`` ones included, with SIGINT ignored, and children inherit
    that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Afterwards ``process`` has exited: SIGINT (its exit hooks run), then SIGTERM, SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            process.send_signal(sig)
            process.wait(timeout=GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:
            continue


def _wait(process: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait for ``process`` (Ctrl-C reaches it too: keep waiting while it winds down);
    True when it was stopped at ``timeout``."""
    while True:
        try:
            process.wait(timeout=timeout)
            return False
        except KeyboardInterrupt:
            continue
        except subprocess.TimeoutExpired:
            _stop(process)
            return True


def run_monitored(argv: Sequence[str], *, every: float | None = None,
                  timeout: float | None = None, events_path: str | None = None,
                  max_events: int | None = None,
                  progress: Callable[[str], None] | None = None) -> MonitoredRun:
    """Run ``argv`` under the GC monitor and return its status and recorded events.

    ``timeout`` (seconds) stops the command (SIGINT first, so that it writes its events);
    ``events_path`` keeps the events file there (else a temporary file is removed).
    Raises :class:`~gclab.errors.MonitorError` when the command cannot start or wrote no
    events (not a Python 3.8+ program, or it skipped its exit hooks without ``every``).
    """
    if not argv:
        raise MonitorError("no command to monitor: give it after --, e.g. "
                           "gclab monitor -- python app.py")
    if every is not None and not every > 0:
        raise MonitorError(f"--every must be a positive number of seconds, not {every!r}")
    if timeout is not None and not timeout > 0:
        raise MonitorError(f"the timeout must be a positive number of seconds, not {timeout!r}")
    with tempfile.TemporaryDirectory(prefix="gclab-monitor-") as directory:
        bootstrap_directory(directory)
        events = os.path.abspath(events_path) if events_path else os.path.join(
            directory, "events.gcmon")
        if events_path and os.path.exists(events):
            os.remove(events)
        env = monitored_environment(directory, events, every=every, max_events=max_events)
        if progress:
            progress(f"gclab monitor: running {' '.join(argv)}")
        try:
            process = subprocess.Popen(list(argv), env=env, preexec_fn=_interruptible)
        except OSError as error:
            raise MonitorError(f"cannot run {argv[0]!r}: {error.strerror}") from None
        timed_out = _wait(process, timeout)
        if not os.path.exists(events):
            raise MonitorError(
                f"{argv[0]} (exit status {process.returncode}) wrote no GC events: the "
                f"monitor needs a Python 3.8+ program started without -S, -I or -E, that "
                f"exits normally (os._exit and fatal signals skip the exit hook; --every "
                f"writes the events periodically)")
        recorded = read_events(events)
    if progress:
        progress(f"gclab monitor: {len(recorded)} collections recorded, exit status "
                 f"{process.returncode}" + (" (stopped at the timeout)" if timed_out else ""))
    return MonitoredRun(returncode=process.returncode, timed_out=timed_out, events=recorded)
