"""The ``gclab`` command line (also ``python -m gclab``).

>>> args = build_parser().parse_args(["demo", "--profile", "2.7", "--json"])
>>> args.command, args.profile, args.json
('demo', '2.7', True)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import __version__
from .profiles import DEFAULT_PROFILE, PROFILES

_DESCRIPTION = """\
gclab simulates how CPython manages memory: reference counting, the cycle
collector, finalizers (__del__), weak references and the gc module. Objects
live on a simulated heap that follows the rules of one CPython version
(2.7, 3.10, 3.11, 3.12 or 3.13)."""

_EXAMPLES = """\
examples:
  gclab demo                     narrated tour on Python 3.12's rules
  gclab demo --profile 2.7       the same tour on Python 2.7's rules
  gclab demo --json              the tour's code and numbers as JSON
  python -m gclab demo           the same as gclab demo, without the script

In Python:  import gclab; heap = gclab.Heap(profile="3.12")  (see README.md)"""

_DEMO_DESCRIPTION = """\
Run a short tour of Python's garbage collector on a simulated heap and explain
each step: reference counts, a local freed when its function returns, cycles
found by gc.collect(), __del__ methods in a cycle, weak references and their
callbacks, automatic collections and their thresholds, gc.DEBUG_SAVEALL, and
collecting by hand. Every number shown is computed by the simulation, with
the rules of the chosen Python version."""

_DEMO_EXAMPLES = """\
examples:
  gclab demo --profile 2.7       the tour on Python 2.7: a cycle with __del__
                                 ends in gc.garbage
  gclab demo --profile 3.13 --json > tour.json

With --json the output is one JSON object: {"gclab": version, "profile": ...,
"scenarios": [{"name", "title", "steps": [{"code", "output", "values"}]}]},
where "code" is the code shown, "output" what it printed and "values" the
numbers reported for it. The same options always give the same output."""


def _demo(args: argparse.Namespace) -> int:
    from .demo import record_demo, run_demo

    if args.json:
        record = record_demo(profile=args.profile)
        sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    else:
        run_demo(profile=args.profile)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per job."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="gclab", description=_DESCRIPTION,
                                     epilog=_EXAMPLES, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"gclab {__version__}",
                        help="print gclab's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     title="commands")
    demo = commands.add_parser("demo", help="a narrated tour of Python's garbage collector",
                               description=_DEMO_DESCRIPTION, epilog=_DEMO_EXAMPLES,
                               formatter_class=raw)
    versions = list(PROFILES)
    demo.add_argument("--profile", choices=versions, default=DEFAULT_PROFILE,
                      metavar="VERSION",
                      help=f"the Python version whose rules the heap follows: "
                           f"{', '.join(versions)} (default: {DEFAULT_PROFILE})")
    demo.add_argument("--json", action="store_true",
                      help="print the tour's code and computed values as one JSON object "
                           "instead of the narration")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gclab`` script and of ``python -m gclab``: the exit status."""
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
    return status


if __name__ == "__main__":
    sys.exit(main())
