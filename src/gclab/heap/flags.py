"""Per-object flag bits, stored in the ``flags`` column of the object table."""

from __future__ import annotations

from enum import IntFlag


class ObjFlag(IntFlag):
    """Bits of ``ObjectTable.flags``; each says who sets it, who clears it, what it means."""

    # Set by allocation, cleared by deallocation. A row without ALIVE is a freed (poisoned) id:
    # touching it through the API raises UseAfterFreeError until the id is reused.
    ALIVE = 1
    # Set by track(), cleared by untrack(). A tracked object is linked into exactly one
    # collector list (a generation, ``permanent`` or a list private to a collection).
    TRACKED = 2
    # Set when the object's ``__del__`` (tp_finalize) is run: by the collector just *before*
    # the call, by refcount deallocation just *after* it (spec §1.2, §7.1). Never cleared while
    # the object lives, so ``__del__`` runs at most once (PEP 442). Unused by legacy profiles.
    FINALIZED = 4
    # Set by update_refs on every member of the set being collected; cleared when the object is
    # found reachable, moved to the legacy finalizers, or survives. "Is it in this collection?"
    COLLECTING = 8
    # Set while the object sits in the tentative ``unreachable`` list of move_unreachable.
    UNREACHABLE = 16
    # Set while the object has weakrefs (``heap.weaklists`` has an entry for it): maintained
    # by gclab.heap.weakrefs. The compiled cascade hands such objects to Python.
    HAS_WEAKREFS = 32


# Plain ints for hot paths (IntFlag member access and arithmetic are slow in CPython).
ALIVE = int(ObjFlag.ALIVE)
TRACKED = int(ObjFlag.TRACKED)
FINALIZED = int(ObjFlag.FINALIZED)
COLLECTING = int(ObjFlag.COLLECTING)
UNREACHABLE = int(ObjFlag.UNREACHABLE)
HAS_WEAKREFS = int(ObjFlag.HAS_WEAKREFS)

# Masks that clear flags (``flags &= MASK``), defined once for Python and compiled code alike.
NOT_COLLECTING = 0xFF & ~COLLECTING
NOT_UNREACHABLE = 0xFF & ~UNREACHABLE
NOT_COLLECTING_UNREACHABLE = 0xFF & ~(COLLECTING | UNREACHABLE)
# untrack(): out of every list, and no longer marked by a collection in progress.
UNTRACK_MASK = 0xFF & ~(TRACKED | COLLECTING | UNREACHABLE)
