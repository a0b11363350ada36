"""The ``gclab`` command line (also ``python -m gclab``): one module per command.

Each module of this package that defines ``COMMAND`` (a :class:`~gclab.cli.common.Command`)
is a sub-command; :func:`build_parser` finds them, so adding a command is adding a module.
Shared conventions (``--json`` output, errors, exit statuses) live in :mod:`gclab.cli.common`.

>>> args = build_parser().parse_args(["demo", "--profile", "2.7", "--json"])
>>> args.command, args.profile, args.json
('demo', '2.7', True)
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import GCLabError
from .common import Command, fail

_DESCRIPTION = """\
gclab simulates how CPython manages memory: reference counting, the cycle
collector, finalizers (__del__), weak references and the gc module. Objects
live on a simulated heap that follows the rules of one CPython version
(2.7, 3.10, 3.11, 3.12 or 3.13). It also snapshots real Python processes and
answers what leaks, what keeps an object alive and what the collector would do."""

_EXAMPLES = """\
examples:
  gclab demo                     narrated tour on Python 3.12's rules
  gclab demo --profile 2.7       the same tour on Python 2.7's rules
  gclab demo --json              the tour's code and numbers as JSON
  python -m gclab demo           the same as gclab demo, without the script

  gclab run -o snaps -- python app.py     run a program, snapshot its heap at exit
  gclab snapshot --pid 12345 -o now.gcsnap  snapshot a running process (gdb)
  gclab leaks now.gcsnap                  what keeps most memory alive, with paths
  gclab why now.gcsnap 0x7f3a4c2d1e80     shortest paths from roots to an object
  gclab report now.gcsnap -o report.html  every analysis on one HTML page
  gclab monitor -- python app.py          the real collector's pauses

In Python:  import gclab; heap = gclab.Heap(profile="3.12")  (see README.md)"""


def commands() -> list[Command]:
    """Every command of this package, in the order ``gclab --help`` lists them."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            found.append(command)
    return sorted(found, key=lambda c: (c.order, c.name))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per command module."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="gclab", description=_DESCRIPTION,
                                     epilog=_EXAMPLES, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"gclab {__version__}",
                        help="print gclab's version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       title="commands")
    for command in commands():
        sub = subparsers.add_parser(command.name, help=command.help,
                                    description=command.description or command.help,
                                    epilog=command.epilog, formatter_class=raw)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gclab`` script and of ``python -m gclab``: the exit status.

    A :class:`~gclab.errors.GCLabError` (bad input: a corrupt snapshot, an unknown object, a
    process that is gone) is printed as one ``gclab: error: ...`` line, status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        status = int(args.run(args))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``gclab demo | head``): stop quietly, and keep Python from
        # reporting the failed flush of stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except GCLabError as error:
        return fail(str(error))
    return status


if __name__ == "__main__":
    sys.exit(main())
