"""Writing files whole: what every writer of gclab's files shares (snapshots, exports, pages).

A writer puts its bytes in a temporary file beside the target, then :func:`publish` moves it
into place atomically: a reader never sees half a file, and an existing file is replaced only
when asked (``overwrite``), with no window in which another writer's file could be clobbered.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> temporary = folder / ".page.tmp"; _ = temporary.write_text("<html>")
>>> publish(str(temporary), folder / "page.html", overwrite=False)
>>> (folder / "page.html").read_text(), temporary.exists()
('<html>', False)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SnapshotFileError


def publish(temporary: str, target: str | os.PathLike[str], overwrite: bool) -> None:
    """Move the finished ``temporary`` file to ``target`` (mode 0644) atomically; without
    ``overwrite`` a file at ``target`` (even one that appeared meanwhile) is kept and
    :class:`~gclab.errors.SnapshotFileError` raised, the temporary file left to the caller."""
    target = Path(target)
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from other users' tools
    if overwrite:
        os.replace(temporary, target)
        return
    exists = SnapshotFileError(f"{target}: the file exists (pass overwrite=True, or --force, "
                               f"to replace it)")
    try:
        os.link(temporary, target)  # fails if target exists: no window to overwrite it
    except FileExistsError:
        raise exists from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise exists from None
        os.replace(temporary, target)
        return
    os.unlink(temporary)
