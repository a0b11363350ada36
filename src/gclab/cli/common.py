"""What every ``gclab`` command shares: how it is declared, how it prints JSON, how it fails.

* A command is a module of :mod:`gclab.cli` with a ``COMMAND = Command(...)``.
* ``--json`` output is one compact, deterministic JSON document on stdout (:func:`emit_json`:
  sorted keys, no spaces, a final newline); progress and warnings go to stderr.
* Errors: a :class:`~gclab.errors.GCLabError` raised by a command becomes one line
  ``gclab: error: <message>`` on stderr and exit status 2 (:func:`fail`); argparse's own
  usage errors are status 2 as well.

>>> import io, contextlib
>>> out = io.StringIO()
>>> with contextlib.redirect_stdout(out):
...     emit_json({"b": 1, "a": [1.5, None]})
>>> out.getvalue()
'{"a":[1.5,null],"b":1}\\n'
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The exit status of a command that failed on bad input (as argparse's usage errors).
ERROR_STATUS = 2


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, one-line help, arguments and the function that runs it.

    ``run(args)`` returns the exit status. ``order`` sorts ``gclab --help``'s list.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    epilog: str | None = None
    order: int = 50


def to_json(value: Any) -> str:
    """``value`` as compact, deterministic JSON (sorted keys, no spaces)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def emit_json(value: Any) -> None:
    """Print ``value`` as one line of compact, deterministic JSON on stdout."""
    sys.stdout.write(to_json(value) + "\n")


def fail(message: str) -> int:
    """Print ``gclab: error: message`` on stderr; the exit status of a failed command."""
    sys.stderr.write(f"gclab: error: {message}\n")
    return ERROR_STATUS
