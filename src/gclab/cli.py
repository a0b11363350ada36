"""The ``gclab`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .profiles import PROFILES


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(profile=args.profile)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per job."""
    parser = argparse.ArgumentParser(prog="gclab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="narrate a GC tutorial's scenarios on a simulated heap")
    demo.add_argument("--profile", choices=sorted(PROFILES), default="3.12",
                      help="the CPython version to simulate (default 3.12)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gclab`` script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
