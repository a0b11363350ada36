"""``gclab run -- python prog.py ...``: run a Python program with heap snapshots at its exit, on a
signal, or every N seconds.

>>> from gclab.cli import build_parser
>>> args = build_parser().parse_args(["run", "--every", "2", "--", "python", "p.py", "-v"])
>>> args.every, program_argv(args.program)
(2.0, ['python', 'p.py', '-v'])
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import CaptureError
from .common import Command, emit_json

_DESCRIPTION = """\
Run a Python program (CPython 3.8 or newer) and snapshot its heap at exit, on
a signal, or every N seconds. Nothing needs to be installed in the program's
environment: gclab puts a bootstrap directory (a sitecustomize.py and a small
standard-library agent) first on its PYTHONPATH and removes it again from what
the program's own children see. Each snapshot is converted outside the program
and saved as DIR/<prog>-<pid>-<n>.gcsnap. The exit status is the program's."""

_EPILOG = """\
examples:
  gclab run -- python myservice.py --port 8000       snapshot at exit
  gclab run --on-signal USR2 -o snaps -- python myservice.py
        then `kill -USR2 <pid>` for each snapshot (the pid is printed)
  gclab run --every 30 --at-exit -- python batch.py  every 30 s and at exit
  gclab run --json -- ./tool.py                       the files written, as JSON

Notes: at-exit snapshots need a normal exit (not os._exit or a kill); the
program may replace the signal handler with its own; interpreters started with
-I, -E or -S ignore PYTHONPATH and so are not snapshotted. --json prints
{"returncode", "pid", "snapshots": [{"path", "pid", "n", "trigger", "objects",
"references", "pause_seconds"}], "errors": [...]} after the program ends."""


def program_argv(program: Sequence[str]) -> list[str]:
    """The program's command line from argparse's remainder (without a leading ``--``)."""
    argv = list(program)
    return argv[1:] if argv[:1] == ["--"] else argv


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--every", type=float, metavar="SECONDS",
                        help="snapshot every SECONDS seconds (from a daemon thread)")
    parser.add_argument("--on-signal", metavar="SIGNAL",
                        help="snapshot when the program receives SIGNAL (e.g. USR2)")
    parser.add_argument("--at-exit", action="store_true",
                        help="snapshot at exit (the default when neither --every nor "
                             "--on-signal is given)")
    parser.add_argument("-o", "--output-dir", default=".", metavar="DIR",
                        help="where to write the .gcsnap files (default: here)")
    parser.add_argument("--collect", action="store_true",
                        help="run gc.collect() in the program before each snapshot")
    parser.add_argument("--json", action="store_true",
                        help="print the snapshots written as one JSON object at the end")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="-- cmd args...",
                        help="the program: python prog.py ..., python -m module, or a script")


def _run(args: argparse.Namespace) -> int:
    from ..snapshots.runner import run

    argv = program_argv(args.program)
    if not argv:
        raise CaptureError("no program given: gclab run [options] -- python prog.py ...")
    quiet = args.json

    def progress(line: str) -> None:
        if not quiet:
            sys.stderr.write(f"gclab: {line}\n")

    result = run(argv, args.output_dir, every=args.every, on_signal=args.on_signal,
                 at_exit=True if args.at_exit else None, collect=args.collect,
                 progress=progress)
    for error in result.errors:
        sys.stderr.write(f"gclab: warning: {error}\n")
    if args.json:
        emit_json({"returncode": result.returncode, "pid": result.pid,
                   "snapshots": result.snapshots, "errors": result.errors})
    else:
        for entry in result.snapshots:
            sys.stdout.write(f"{entry['path']}\t{entry['objects']} objects\t"
                             f"{entry['trigger']}\n")
    return result.returncode


COMMAND = Command("run", "run a Python program with heap snapshots (exit, signal, timer)",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=9)
