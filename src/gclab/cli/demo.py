"""``gclab demo``: a narrated tour of Python's garbage collector on a simulated heap."""

from __future__ import annotations

import argparse
import sys

from ..profiles import DEFAULT_PROFILE, PROFILES
from .common import Command, to_json

_DESCRIPTION = """\
Run a short tour of Python's garbage collector on a simulated heap and explain
each step: reference counts, a local freed when its function returns, cycles
found by gc.collect(), __del__ methods in a cycle, weak references and their
callbacks, automatic collections and their thresholds, gc.DEBUG_SAVEALL, and
collecting by hand. Every number shown is computed by the simulation, with
the rules of the chosen Python version."""

_EPILOG = """\
examples:
  gclab demo --profile 2.7       the tour on Python 2.7: a cycle with __del__
                                 ends in gc.garbage
  gclab demo --profile 3.13 --json > tour.json

With --json the output is one JSON object: {"gclab": version, "profile": ...,
"scenarios": [{"name", "title", "steps": [{"code", "output", "values"}]}]},
where "code" is the code shown, "output" what it printed and "values" the
numbers reported for it. The same options always give the same output."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    versions = list(PROFILES)
    parser.add_argument("--profile", choices=versions, default=DEFAULT_PROFILE,
                        metavar="VERSION",
                        help=f"the Python version whose rules the heap follows: "
                             f"{', '.join(versions)} (default: {DEFAULT_PROFILE})")
    parser.add_argument("--json", action="store_true",
                        help="print the tour's code and computed values as one JSON object "
                             "instead of the narration")


def _run(args: argparse.Namespace) -> int:
    from ..demo import record_demo, run_demo

    if args.json:
        sys.stdout.write(to_json(record_demo(profile=args.profile)) + "\n")
    else:
        run_demo(profile=args.profile)
    return 0


COMMAND = Command("demo", "a narrated tour of Python's garbage collector", _add_arguments,
                  _run, description=_DESCRIPTION, epilog=_EPILOG, order=0)
