"""What the snapshot commands (info, query, diff) share: loading a ``.gcsnap`` file with a
progress line, JSON-ready values, and rich tables on stdout.

>>> jsonable(__import__("decimal").Decimal("12")), jsonable(b"\\x00\\xff"), jsonable(1.5)
(12, '00ff', 1.5)
"""

from __future__ import annotations

import datetime
import decimal
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..snapshots.model import Snapshot
from ._objects import human_bytes

#: Files above this size get a "loading ..." line on stderr.
PROGRESS_BYTES = 20_000_000


def load_snapshot(path: str) -> Snapshot:
    """``store.load(path)``, with a line on stderr before and after when the file is large."""
    from ..snapshots.store import load

    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0  # load names the problem
    if size < PROGRESS_BYTES:
        return load(path)
    sys.stderr.write(f"gclab: loading {path} ({size / 1e6:.0f} MB) ...\n")
    start = time.perf_counter()
    snap = load(path)
    sys.stderr.write(f"gclab: loaded {snap.n:,} objects in {time.perf_counter() - start:.1f} s\n")
    return snap


def jsonable(value: Any) -> Any:
    """``value`` (a cell of a query result) as a JSON value: whole decimals as ints, other
    decimals as str, bytes as hex, dates and times in ISO 8601, containers recursively."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value) if isinstance(value, datetime.timedelta) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None  # NaN: JSON has none
    return value


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, numeric: Sequence[bool] | None = None) -> None:
    """``rows`` as a rich table on stdout (numbers right-aligned, NULL shown as ``NULL``;
    ``numeric`` says which columns are numbers, else columns of numbers only are)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for k, name in enumerate(columns):
        right = numeric[k] if numeric is not None else all(
            isinstance(row[k], int | float | decimal.Decimal) or row[k] is None for row in rows)
        table.add_column(name, justify="right" if right and rows else "left")
    for row in rows:
        table.add_row(*("NULL" if cell is None else _cell(cell) for cell in row))
    # a terminal's width when there is one; piped into a file or a pager, the natural width
    # (rich's default of 80 columns would cut type names)
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 1000).print(table)


def _cell(value: Any) -> str:
    """One cell's text: integers with thousands separators, the rest as str."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


__all__ = ["human_bytes", "jsonable", "load_snapshot", "print_table"]
