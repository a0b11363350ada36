"""gclab's own exceptions.

Wrong arguments to the ``gc`` facade raise the exceptions the real ``gc`` module raises
(``ValueError``, ``TypeError``); misuse of the simulated heap raises a subclass of
:class:`GCLabError` that names the object, and the heap is left exactly as it was.
"""

from __future__ import annotations


class GCLabError(Exception):
    """Base class of every error gclab raises on its own account."""


class HeapError(GCLabError):
    """The simulated heap was used in a way it cannot honour."""


class InvalidObjectError(HeapError, ValueError):
    """An integer id does not name an object of this heap (out of range or never allocated)."""


class UseAfterFreeError(HeapError):
    """An id or a proxy names an object that has already been deallocated."""


class ForeignObjectError(HeapError):
    """A proxy that belongs to another heap was passed to this one."""


class RefcountUnderflowError(HeapError):
    """A reference that was never taken was dropped: the count would go below zero."""


class FrameReturnedError(HeapError, RuntimeError):
    """A frame's locals were used after its function returned (its ``with`` block ended)."""


class ShutdownError(HeapError, RuntimeError):
    """The heap was used after ``heap.shutdown()`` (the simulated interpreter has exited)."""


class HeapFullError(HeapError, MemoryError):
    """The simulated heap cannot hold the request: ids are int32 (below 2**31), one object
    holds fewer than 2**31 slots, the reference pool fewer than 2**32 references.

    A :class:`MemoryError`, like CPython's answer to ``[None] * 2**62``; nothing was changed.
    """


class LayoutError(HeapError, TypeError):
    """A slot operation that the object's layout forbids: growing or shrinking a tuple, an
    instance or a dict by single slots, an unhashable dict key, a name that is not a str in a
    frame or module. Nothing was changed."""


class DuplicateKeyError(HeapError, ValueError):
    """A store would put a dict key, set element or namespace name in the object twice."""


class ListenerError(HeapError, ValueError):
    """A mutation listener or write barrier added twice, removed while not attached, or
    attached while a deallocation runs (:mod:`gclab.heap.mutation`). Nothing was changed."""


class ColumnError(HeapError, ValueError):
    """A per-collector column of the object table: the name is taken, unknown or not a valid
    name, or the dtype or fill value is not one a column can hold. Nothing was changed."""


class SweepError(HeapError, ValueError):
    """``free_unreachable`` was given an id it may not free (not a live object, named twice,
    or held by an external reference: a root). Nothing was changed."""


class InvariantViolation(GCLabError):
    """A debug-level check found the heap's invariants broken (a gclab bug)."""


class ProfileError(GCLabError, ValueError):
    """An unknown profile name or an invalid profile."""


class GraphError(GCLabError):
    """A graph view (:class:`gclab.graphview.GraphView`) or a graph kernel was given input it
    cannot honour. Nothing was changed: not the caller's arrays, not the view."""


class InvalidGraphError(GraphError, ValueError):
    """The arrays do not describe a graph: wrong shapes, a negative length, a slice past the
    targets array, a target that is not a node."""


class GraphTypeError(InvalidGraphError, TypeError):
    """An array of the wrong kind (not integers, not a mask) or an object that is not a graph
    view or not table-like where one is needed."""


class InvalidRootError(GraphError, ValueError):
    """A root is not a live node of the graph (out of range, dead) or not an integer."""


class SnapshotError(GCLabError, ValueError):
    """A snapshot (:class:`gclab.snapshots.Snapshot`) or one of its analyses was given input it
    cannot honour: inconsistent columns, an address or node that is not in it. Nothing was
    changed."""


class SnapshotFileError(SnapshotError):
    """A snapshot file cannot be read: not a snapshot, truncated, corrupt (its checksum does
    not match), or written by an unknown format version; or writing it would overwrite a file
    without being asked to. The message names the file and what is wrong."""


class CaptureError(GCLabError, RuntimeError):
    """A capture failed as a whole: the target process is gone, cannot be attached to (no gdb,
    no permission), or its agent did not answer in time. A capture that could not read some
    objects does not raise: it lists them in ``Snapshot.warnings``."""


class MonitorError(GCLabError, ValueError):
    """The GC monitor (:mod:`gclab.snapshots.monitor`) cannot honour a request: an events file
    that is missing, not one, of another version, truncated or corrupt (the message names the
    file and the fault); a monitored command that wrote no events; a bad argument."""
