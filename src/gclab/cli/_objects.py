"""What every snapshot command shares: loading a snapshot file with progress on stderr, naming
an object on the command line (the same way everywhere), formatting bytes (binary units).
Not a command (the name starts with an underscore).

>>> from gclab.snapshots import Snapshot
>>> snap = Snapshot.from_edges(types=["builtins.list"], type_index=[0, 0])
>>> [parse_object(snap, text) for text in ("0x1010", "4112", "node:1", "#0")]
[1, 1, 1, 0]
>>> human_bytes(512), human_bytes(1536), human_bytes(5 * 2**30)
('512 B', '1.5 KiB', '5.0 GiB')
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..errors import SnapshotError
from ..snapshots.model import Snapshot

#: How far (bytes) an address may be from an object's to be suggested for it.
NEAR = 4096


def progress(command: str, message: str) -> None:
    """One line of progress on stderr (``gclab COMMAND: message``)."""
    sys.stderr.write(f"gclab {command}: {message}\n")
    sys.stderr.flush()


def load_snapshot(command: str, path: str) -> Snapshot:
    """The snapshot in ``path`` (:class:`~gclab.errors.SnapshotFileError` when it cannot be
    read), with its size and load time on stderr."""
    from ..snapshots.store import load

    started = time.perf_counter()
    snap = load(path)
    progress(command, f"loaded {path}: {snap.n:,} objects, {snap.m:,} references "
                      f"({time.perf_counter() - started:.2f} s)")
    return snap


def human_bytes(count: int) -> str:
    """``count`` bytes in binary units, one decimal past KiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def parse_object(snap: Snapshot, text: str) -> int:
    """The node an object is named by: an address, hexadecimal (``0x7f3a...``) or decimal
    (``id()``'s number), or a node id (``node:123`` or ``#123``).

    An address that is no object's raises :class:`~gclab.errors.SnapshotError` listing the
    objects whose addresses are within :data:`NEAR` bytes of it, if any; so does text that is
    none of these, or a node id out of range."""
    raw = text.strip()
    lowered = raw.lower()
    is_node = lowered.startswith(("node:", "#"))
    digits = lowered.split(":", 1)[-1].lstrip("#") if is_node else lowered
    try:
        value = int(digits, 16) if digits.startswith("0x") and not is_node else int(digits, 10)
    except ValueError:
        raise SnapshotError(f"{raw!r} is neither an address (0x7f3a... or decimal) nor a "
                            f"node id (node:123)") from None
    if is_node:
        if not 0 <= value < snap.n:
            raise SnapshotError(f"no node {value}: the snapshot has nodes 0 .. {snap.n - 1}")
        return value
    address = value
    if not 0 <= address < 2**64:
        raise SnapshotError(f"{raw!r} is not an address")
    hits = np.flatnonzero(snap.address == np.uint64(address))
    if len(hits):
        return int(hits[0])
    raise SnapshotError(f"no object at address {address:#x} in this snapshot"
                        + _nearby(snap, address))


def _nearby(snap: Snapshot, address: int) -> str:
    """``"; near it: 0x... (type), ..."`` for up to five objects within :data:`NEAR` bytes
    of ``address``, nearest first; empty when there are none."""
    distance = np.abs(snap.address.astype(np.float64) - float(address))
    close = np.flatnonzero(distance <= NEAR)
    if not len(close):
        return ""
    close = close[np.argsort(distance[close], kind="stable")][:5]
    listed = ", ".join(f"{int(snap.address[v]):#x} ({snap.type_name(int(v))})"
                       for v in close.tolist())
    return f"; near it: {listed}"


__all__ = ["NEAR", "human_bytes", "load_snapshot", "parse_object", "progress"]
