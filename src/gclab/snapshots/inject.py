"""Run a Python script inside another, running CPython process (``gclab snapshot --pid``).

Two ways in, chosen by :func:`inject`:

* **``sys.remote_exec``** (PEP 768): when *this* interpreter has it (3.14+) and the target runs
  the same major.minor version, CPython itself runs the script in the target's main thread at
  its next safe point. Nothing else is needed.
* **gdb** (every CPython from 3.8, the technique of pyrasite, py-spy and memray): ``gdb -p PID
  --batch`` stops the process, checks that it is CPython (its C API symbols), and asks the main
  thread ``PyGILState_Check()``:

  - the main thread *holds the GIL* (it is running Python code, e.g. busy in a ``while True``
    loop): running code there would re-enter the interpreter at an arbitrary instruction, so
    gdb queues the script with ``Py_AddPendingCall(PyRun_SimpleString, command)``; the
    interpreter runs it between two bytecodes at its next eval-breaker check, with the GIL
    held, and gdb detaches at once;
  - the main thread does *not* hold the GIL (it waits in ``sleep``, ``read``, ``select``...):
    it will not reach the eval loop soon, so gdb runs the command in it directly between
    ``PyGILState_Ensure()`` and ``PyGILState_Release()`` (the other threads run meanwhile, so
    whoever holds the GIL gives it up within the switch interval).

The command is one short line that executes the script file and swallows every exception: a
pending call that failed would make the interpreter raise a ``SystemError`` in the target, and
``PyRun_SimpleString`` prints its exceptions on the target's stderr. The script must therefore
report through files (:mod:`gclab.snapshots.attach` writes a done-marker). Nothing is printed in
the target; gdb's own output is read here.

Caveats (as for every debugger-based injector): gdb allocates the command string in the target
with the target's ``malloc`` (about 200 bytes, never freed: a pending call may use it after gdb
is gone); a target stopped inside ``malloc`` or holding the pending-calls lock would deadlock
that call (the timeout then interrupts gdb, which unwinds the call). Attaching needs ptrace
permission: the same user and ``kernel.yama.ptrace_scope`` 0, or root / ``CAP_SYS_PTRACE``.

>>> ptrace_problem(os.getpid()) is None or isinstance(ptrace_problem(os.getpid()), str)
True
>>> process_state(os.getpid())
'running'
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from ..errors import CaptureError

#: The gdb commands: check that the target is CPython, then queue or run ``$gclab_cmd``.
#: ``echo`` lines mark the steps so :func:`_gdb_error` can say which one failed.
GDB_SCRIPT = r"""
set pagination off
set confirm off
set unwindonsignal on
set print elements 200
echo GCLAB: attached\n
p (void*)Py_AddPendingCall
p (void*)PyGILState_Check
p (void*)PyRun_SimpleString
echo GCLAB: cpython\n
p (char*)Py_GetVersion()
set $gclab_holds = (int)PyGILState_Check()
if $gclab_holds
  set $gclab_rc = (int)Py_AddPendingCall((void*)PyRun_SimpleString, (void*)$gclab_cmd)
  echo GCLAB: method pending\n
else
  set $gclab_gil = (int)PyGILState_Ensure()
  set $gclab_rc = (int)PyRun_SimpleString($gclab_cmd)
  call (void)PyGILState_Release($gclab_gil)
  echo GCLAB: method direct\n
end
printf "GCLAB: rc %d\n", $gclab_rc
detach
quit
"""


@dataclass(frozen=True)
class Injection:
    """How a script got into a process: ``method`` ``"remote_exec"``, ``"gdb-pending"`` (queued:
    runs at the main thread's next bytecode) or ``"gdb-direct"`` (already ran when this
    returns); ``python`` the target's ``Py_GetVersion()`` ("" when unknown); ``seconds`` the
    wall time of the injection (for gdb, about how long the target was stopped)."""

    method: str
    python: str
    seconds: float


def process_state(pid: int) -> str:
    """``"running"`` (alive, any state but zombie), ``"zombie"`` (exited, not yet reaped) or
    ``"gone"``: what ``/proc/PID/stat`` says (``os.kill(pid, 0)`` where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        return "gone"
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "gone"
        except PermissionError:
            pass
        return "running"
    return "zombie" if fields[:1] in ([b"Z"], [b"X"]) else "running"


def ptrace_problem(pid: int) -> str | None:
    """Why this process may not ptrace ``pid`` (a sentence saying how to fix it), or None when
    nothing known forbids it (the Yama setting, the process's owner)."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as setting:
            scope = int(setting.read().strip() or 0)
    except (OSError, ValueError):
        scope = 0
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if scope >= 3:
        return ("ptrace is disabled on this machine (kernel.yama.ptrace_scope = 3, until the "
                "next reboot): no debugger can attach")
    if scope == 2 and not root:
        return ("only root may ptrace here (kernel.yama.ptrace_scope = 2): run gclab as "
                "root (sudo) or set it to 0 with `sudo sysctl kernel.yama.ptrace_scope=0`")
    if scope == 1 and not root and not _is_descendant(pid):
        return ("ptrace is restricted to a process's ancestors (kernel.yama.ptrace_scope = 1):"
                " run gclab as root (sudo), start the program under `gclab run`, or allow it "
                "with `sudo sysctl kernel.yama.ptrace_scope=0`")
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    if not root and hasattr(os, "geteuid") and owner != os.geteuid():
        return f"process {pid} belongs to user id {owner}: attach as that user or as root"
    return None


def _is_descendant(pid: int) -> bool:
    """Whether ``pid`` is a child, grandchild... of this process (by /proc's parent ids)."""
    me, seen = os.getpid(), 0
    while pid > 1 and seen < 64:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == me:
            return True
        seen += 1
    return False


def check_target(pid: int) -> None:
    """Raise :class:`CaptureError` unless ``pid`` is a live process this one may attach to."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise CaptureError(f"not a process id: {pid!r}")
    if pid == os.getpid():
        raise CaptureError("cannot attach to gclab's own process: use gclab.snapshot() in it")
    state = process_state(pid)
    if state == "gone":
        raise CaptureError(f"no process with id {pid}")
    if state == "zombie":
        raise CaptureError(f"process {pid} has exited (a zombie waiting for its parent)")
    problem = ptrace_problem(pid)
    if problem is not None:
        raise CaptureError(f"cannot attach to process {pid}: {problem}")


def command_for(script_path: str) -> str:
    """The one-line Python command that runs ``script_path`` in the target, in a namespace of
    its own (not ``__main__``'s), and can never raise (see the module docstring).

    >>> print(command_for("/b.py"))
    exec('try:\\n exec(open(%r).read(), {})\\nexcept BaseException:\\n pass' % '/b.py')
    """
    inner = "try:\\n exec(open(%r).read(), {})\\nexcept BaseException:\\n pass"
    return f"exec('{inner}' % {script_path!r})"


def inject(pid: int, script_path: str, *, timeout: float = 60.0,
           method: str = "auto") -> Injection:
    """Have process ``pid`` run the Python file ``script_path`` (readable by the target).

    ``method``: ``"auto"`` (``sys.remote_exec`` when this interpreter has it and it accepts
    the target, gdb otherwise), ``"gdb"`` or ``"remote_exec"``. Afterwards the script has run
    (``gdb-direct``) or is queued in the target's main thread (``gdb-pending``,
    ``remote_exec``): the caller waits for the script's own sign of life. Raises
    :class:`CaptureError` (no such process, no permission, no gdb, not CPython, exited during
    the attach, timeout); the target is left running either way.
    """
    if method not in ("auto", "gdb", "remote_exec"):
        raise CaptureError(f"unknown attach method {method!r}: auto, gdb or remote_exec")
    check_target(pid)
    if not os.path.isfile(script_path):
        raise CaptureError(f"no script to inject at {script_path}")
    remote_exec = getattr(sys, "remote_exec", None)
    if method == "remote_exec" and remote_exec is None:
        raise CaptureError(f"sys.remote_exec needs Python 3.14+; gclab runs on "
                           f"{sys.version.split()[0]}: use the gdb method")
    if remote_exec is not None and method != "gdb":
        start = time.perf_counter()
        try:
            remote_exec(pid, script_path)
            return Injection("remote_exec", "", time.perf_counter() - start)
        except (OSError, RuntimeError, ValueError) as error:
            if method == "remote_exec":
                raise CaptureError(f"sys.remote_exec({pid}) failed: {error}") from None
    return _inject_gdb(pid, script_path, timeout)


def _inject_gdb(pid: int, script_path: str, timeout: float) -> Injection:
    """:func:`inject` through a gdb batch session (see the module docstring)."""
    gdb = shutil.which("gdb")
    if gdb is None:
        raise CaptureError("gdb is not installed: attaching to a process older than Python "
                           "3.14 needs it (Debian/Ubuntu: apt-get install gdb; ./run tests "
                           "installs it)")
    with tempfile.NamedTemporaryFile("w", prefix="gclab-attach-", suffix=".gdb",
                                     delete=False) as commands:
        commands.write(GDB_SCRIPT)
    cmd_literal = command_for(script_path).replace("\\", "\\\\").replace('"', '\\"')
    argv = [gdb, "-nx", "-nw", "--batch", "-p", str(pid),
            "-ex", f'set $gclab_cmd = "{cmd_literal}"', "-x", commands.name]
    start = time.perf_counter()
    try:
        output = _run_gdb(argv, timeout, pid)
    finally:
        os.unlink(commands.name)
    seconds = time.perf_counter() - start
    if "GCLAB: method " not in output or "GCLAB: rc " not in output:
        raise CaptureError(_gdb_error(pid, output))
    rc = output.split("GCLAB: rc ", 1)[1].split()[0]
    kind = output.split("GCLAB: method ", 1)[1].split()[0]
    if rc != "0":
        what = "queue the snapshot" if kind == "pending" else "run the snapshot's script"
        raise CaptureError(f"process {pid}: the interpreter refused to {what} (rc {rc})")
    version = ""
    if '= 0x' in output.split("GCLAB: cpython", 1)[1]:
        text = output.split("GCLAB: cpython", 1)[1].split('"', 2)
        version = text[1].split()[0] if len(text) > 2 and text[1].strip() else ""
    return Injection(f"gdb-{kind}", version, seconds)


def _run_gdb(argv: list[str], timeout: float, pid: int) -> str:
    """gdb's combined output; on timeout gdb is interrupted (SIGINT: it unwinds a call in
    progress and detaches) and :class:`CaptureError` raised."""
    env = dict(os.environ, LC_ALL="C", TERM="dumb")
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env,
                               errors="replace")
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = _stop_gdb(process)
        if process_state(pid) != "running":
            raise CaptureError(f"process {pid} exited during the attach") from None
        raise CaptureError(f"process {pid} did not let gdb in within {timeout:g} s (its main "
                           f"thread may be blocked in C code holding the GIL): gdb was "
                           f"interrupted and detached") from None
    return output


def _stop_gdb(process: subprocess.Popen[str]) -> str:
    """Interrupt a gdb that overran: SIGINT (unwind and detach), then SIGKILL; its output."""
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
        process.send_signal(sig)
        try:
            output, _ = process.communicate(timeout=wait)
            return output
        except subprocess.TimeoutExpired:
            continue
    return ""


def _gdb_error(pid: int, output: str) -> str:
    """A helpful sentence for a gdb session that did not reach its end."""
    tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:])
    state = process_state(pid)
    if state != "running":
        return f"process {pid} exited during the attach"
    if "ptrace:" in output or "Operation not permitted" in output:
        return (f"gdb may not attach to process {pid} (ptrace: operation not permitted): run "
                f"as root or as the process's user, set kernel.yama.ptrace_scope to 0, and in "
                f"a container add the SYS_PTRACE capability")
    if "GCLAB: attached" not in output:
        return f"gdb could not attach to process {pid}: {tail}"
    if "GCLAB: cpython" not in output:
        return (f"process {pid} is not a CPython interpreter (or its C API symbols are "
                f"hidden): gdb found no Py_AddPendingCall / PyRun_SimpleString")
    return f"gdb could not run the snapshot in process {pid}: {tail}"
