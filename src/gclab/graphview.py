"""A read-only graph view: the shape every graph kernel is written against.

``GraphView(start, length, targets, n)`` describes ``n`` nodes whose out-edges lie in one
targets array, CSR-like: node ``i``'s out-edges are ``targets[start[i] : start[i] + length[i]]``
in that order. The heap's object table has exactly this shape (``ref_start``, ``ref_len`` and
the reference pool), and so does a plain CSR (scipy's ``indptr``/``indices``), so one kernel
runs on a simulated heap and on a captured graph alike (``docs/design/engine.md``, "The graph
view").

* A negative target is not an edge: the heap's pool stores NULL as ``-1`` and atoms (ints,
  strings) as codes ``<= -2``.
* Nodes may be dead (the optional ``alive`` mask; the heap's freed rows and list heads): a dead
  node has no edges, out or in (an edge that names a dead node is ignored like a negative
  target), and is never marked.
* The view copies nothing it need not: its arrays are read-only *views* of the caller's arrays
  (``setflags(write=False)`` on the views, never on the caller's arrays), so a view of a heap
  shares the heap's pool. A view sees the arrays it was built on: after a heap operation that
  grows or compacts the pool, or frees or allocates objects, build a new view.

Bad input raises a typed error (:class:`~gclab.errors.GraphTypeError` for wrong kinds and
dtypes, :class:`~gclab.errors.InvalidGraphError` for shapes and ranges,
:class:`~gclab.errors.InvalidRootError` for roots) and changes nothing.

The module also defines :class:`TableLike`, what CPython's unreachable-set phases read (a heap
is one), and :class:`GraphTable`, a table-like over a view, so that those phases run on a graph
that is not a heap.

This module is a bottom layer: it imports only numpy, :mod:`gclab._jit` and
:mod:`gclab.errors`, never the heap (:meth:`GraphView.of_table` reads a table by duck typing).

>>> g = GraphView.from_edges(4, [0, 1, 1], [1, 2, 0])
>>> g.out_edges(1).tolist(), g.out_edges(3).tolist()
([2, 0], [])
>>> [a.tolist() for a in g.edges()]
[[0, 1, 1], [1, 2, 0]]
>>> g.start.flags.writeable
False
"""

from __future__ import annotations

import operator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ._jit import jit
from .errors import GraphTypeError, InvalidGraphError, InvalidRootError

#: The most nodes a view may have: node ids fit in int32, as the heap's ids do.
MAX_NODES = 2**31 - 1
#: The bit of a table's ``flags`` column that marks a live row (``gclab.heap.flags.ALIVE``).
ALIVE = 1
#: The columns :meth:`GraphView.of_table` reads.
TABLE_COLUMNS = ("ref_start", "ref_len", "pool", "top", "flags")
#: The colours of marking (``mark_from``): white = not known to be reachable, gray = reachable
#: and waiting for its out-edges to be scanned, black = reachable and scanned.
WHITE, BLACK, GRAY = 0, 1, 2

Array = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]


def _readonly(array: Array) -> Array:
    """A read-only view of ``array`` (the caller's array keeps its flags)."""
    view = array.view()
    view.setflags(write=False)
    return view


def _int_array(name: str, value: object) -> Array:
    """``value`` as a 1-D integer array (no copy when it already is one)."""
    array = np.asarray(value)
    if array.size == 0 and not isinstance(value, np.ndarray):
        array = array.astype(np.int64)  # np.asarray([]) is float64
    if array.dtype.kind not in "iu":
        raise GraphTypeError(f"{name} must hold integers, not {array.dtype}")
    if array.ndim != 1:
        raise InvalidGraphError(f"{name} must be 1-D, not of shape {array.shape}")
    return array


def _node_count(value: object) -> int:
    """``value`` as a node count (an int, not a bool, in ``0 .. MAX_NODES``)."""
    if isinstance(value, bool | np.bool_):
        raise GraphTypeError(f"n must be an integer, not {value!r}")
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise GraphTypeError(f"n must be an integer, not {type(value).__name__}") from None
    if not 0 <= n <= MAX_NODES:
        raise InvalidGraphError(f"n = {n} is not a node count (0 .. {MAX_NODES})")
    return n


def _alive_mask(value: object, n: int) -> Array:
    """``value`` as a 1-D bool or uint8 mask of ``n`` nodes (no copy)."""
    array = np.asarray(value)
    if array.dtype != np.bool_ and array.dtype != np.uint8:
        raise GraphTypeError(f"alive must be a bool or uint8 mask, not {array.dtype}")
    if array.shape != (n,):
        raise InvalidGraphError(f"alive must have shape ({n},), not {array.shape}")
    return array


def _slice_positions(start: Array, length: Array) -> tuple[I64, I64]:
    """For every slot of every slice, in node order then slot order: (its node, its index in
    the targets array). Lengths must be non-negative."""
    lengths = length.astype(np.int64)
    total = int(lengths.sum())
    nodes = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return nodes, np.repeat(start.astype(np.int64), lengths) + offsets


class GraphView:
    """``n`` nodes and their out-edges, read-only (see the module docstring for the rules).

    Attributes (read-only arrays): ``start``, ``length`` (``n`` each), ``targets``; ``alive``
    is None (every node lives) or a read-only mask of ``n`` values.

    >>> g = GraphView([0, 2, 2], [2, 0, 1], [1, -1, 0], 3)   # 0 -> 1, a NULL; 2 -> 0
    >>> g.out_edges(0).tolist(), g.out_edges(2).tolist()
    ([1], [0])
    >>> GraphView([0], [2], [0], 1)
    Traceback (most recent call last):
    ...
    gclab.errors.InvalidGraphError: node 0's slice [0, 2) runs past the 1 targets
    """

    __slots__ = ("alive", "length", "n", "start", "targets")

    start: Array
    length: Array
    targets: Array
    alive: Array | None
    n: int

    def __init__(self, start: object, length: object, targets: object, n: object,
                 alive: object = None) -> None:
        n = _node_count(n)
        start_a = _int_array("start", start)
        length_a = _int_array("length", length)
        targets_a = _int_array("targets", targets)
        if start_a.shape != (n,) or length_a.shape != (n,):
            raise InvalidGraphError(f"start and length must have shape ({n},), not "
                                    f"{start_a.shape} and {length_a.shape}")
        alive_a = None if alive is None else _alive_mask(alive, n)
        _check_slices(start_a, length_a, targets_a, alive_a)
        self.n = n
        self.start = _readonly(start_a)
        self.length = _readonly(length_a)
        self.targets = _readonly(targets_a)
        self.alive = None if alive_a is None else _readonly(alive_a)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def from_csr(cls, indptr: object, indices: object) -> GraphView:
        """A view of a CSR graph in scipy's convention: node ``i``'s out-edges are
        ``indices[indptr[i] : indptr[i + 1]]``; ``n = len(indptr) - 1``.

        ``indices`` is shared, not copied; ``start`` is a view of ``indptr``.

        >>> g = GraphView.from_csr([0, 1, 3, 3], [2, 0, 1])
        >>> g.n, g.out_edges(1).tolist()
        (3, [0, 1])
        """
        indptr_a = _int_array("indptr", indptr)
        if len(indptr_a) == 0:
            raise InvalidGraphError("indptr must hold n + 1 offsets, not 0")
        length = np.diff(indptr_a)
        if length.dtype.kind == "u" and len(length) and (indptr_a[1:] < indptr_a[:-1]).any():
            raise InvalidGraphError("indptr must not decrease")
        return cls(indptr_a[:-1], length, indices, len(indptr_a) - 1)

    @classmethod
    def from_edges(cls, n: int, src: object, dst: object) -> GraphView:
        """A view of the edges ``src[k] -> dst[k]`` between nodes ``0 .. n-1``; each node's
        out-edges keep the order they are given in (a stable sort by source).

        >>> GraphView.from_edges(3, [2, 0, 2], [1, 2, 0]).out_edges(2).tolist()
        [1, 0]
        """
        n = _node_count(n)
        src_a, dst_a = _int_array("src", src), _int_array("dst", dst)
        if src_a.shape != dst_a.shape:
            raise InvalidGraphError(f"src and dst differ in shape: {src_a.shape} and "
                                    f"{dst_a.shape}")
        for name, ends in (("src", src_a), ("dst", dst_a)):
            bad = np.flatnonzero((ends < 0) | (ends >= n))
            if len(bad):
                raise InvalidGraphError(f"{name}[{bad[0]}] = {ends[bad[0]]} is not a node of "
                                        f"0 .. {n - 1}")
        order = np.argsort(src_a, kind="stable")
        length = np.bincount(src_a.astype(np.int64), minlength=n)
        start = np.cumsum(length) - length
        return cls(start, length, dst_a[order].astype(np.int64), n)

    @classmethod
    def of_table(cls, table: object) -> GraphView:
        """A view of an object table (anything with the heap table's columns ``ref_start``,
        ``ref_len``, ``pool``, ``top`` and ``flags``, read by duck typing): node ``i`` is row
        ``i`` for ``i < top``, its out-edges the object ids in its slots (NULL and atoms are
        not edges), alive when ``flags & ALIVE``.

        ``start``, ``length`` and ``targets`` are views of the table's columns (nothing is
        copied); ``alive`` is computed now, so the view describes the table as it is: build a
        new one after the heap changes.

        >>> import gclab
        >>> heap = gclab.Heap()
        >>> a = heap.list(); b = heap.list([a, 5]); a.append(b)
        >>> g = GraphView.of_table(heap.table)
        >>> g.out_edges(heap.id_of(b)).tolist() == [heap.id_of(a)]   # the atom 5 is no edge
        True
        """
        missing = [name for name in TABLE_COLUMNS if not hasattr(table, name)]
        if missing:
            raise GraphTypeError(f"{type(table).__name__} is not table-like: no "
                                 f"{', '.join(missing)}")
        t: Any = table
        top = _node_count(t.top)
        flags = np.asarray(t.flags)
        if flags.dtype.kind not in "iu" or flags.ndim != 1 or len(flags) < top:
            raise GraphTypeError(f"table.flags must be an integer column of at least {top} "
                                 f"rows")
        alive = (flags[:top] & ALIVE) != 0
        return cls(np.asarray(t.ref_start)[:top], np.asarray(t.ref_len)[:top], t.pool, top,
                   alive)

    # -- reading ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        dead = 0 if self.alive is None else self.n - int(np.count_nonzero(self.alive))
        return f"<GraphView n={self.n} slots={int(self.length.sum())} dead={dead}>"

    def is_alive(self, node: int) -> bool:
        """True when ``node`` (a valid node id) is alive."""
        return self.alive is None or bool(self.alive[node])

    def out_edges(self, node: int) -> I64:
        """The targets of ``node``'s out-edges, in slot order (a new int64 array; a dead node
        has none). :class:`~gclab.errors.InvalidRootError` names a node out of range."""
        node = self.check_node(node)
        if not self.is_alive(node):
            return np.zeros(0, np.int64)
        first = int(self.start[node])
        out = self.targets[first : first + int(self.length[node])].astype(np.int64)
        return out[self._is_target(out)]

    def edges(self) -> tuple[I64, I64]:
        """Every edge as ``(src, dst)`` int64 arrays, by source node then slot order."""
        length = self.length if self.alive is None else np.where(self.alive, self.length, 0)
        src, index = _slice_positions(self.start, length)
        dst = self.targets[index].astype(np.int64)
        keep = self._is_target(dst)
        return src[keep], dst[keep]

    def to_scipy(self) -> Any:
        """The adjacency matrix as a ``scipy.sparse.csr_matrix`` (``n`` x ``n``; an entry
        counts the edges between two nodes). Needs scipy (the ``test`` extra)."""
        from scipy.sparse import csr_matrix  # optional: only tests and tools use it

        src, dst = self.edges()
        return csr_matrix((np.ones(len(src), np.int32), (src, dst)), shape=(self.n, self.n))

    def _is_target(self, values: I64) -> npt.NDArray[np.bool_]:
        """Which of ``values`` (slot values) are edges: non-negative and naming a live node."""
        keep = values >= 0
        if self.alive is not None:
            keep[keep] = self.alive[values[keep]].astype(np.bool_)
        return keep

    # -- validation shared by the kernels -----------------------------------------------------

    def check_node(self, node: object) -> int:
        """``node`` as an int in ``0 .. n-1`` (InvalidRootError otherwise)."""
        if isinstance(node, bool | np.bool_):
            raise InvalidRootError(f"a node is an integer, not {node!r}")
        try:
            index = operator.index(node)  # type: ignore[arg-type]
        except TypeError:
            raise InvalidRootError(f"a node is an integer, not {type(node).__name__}") from None
        if not 0 <= index < self.n:
            raise InvalidRootError(f"{index} is not a node of 0 .. {self.n - 1}")
        return index

    def check_roots(self, roots: object) -> I64:
        """``roots`` (an int or a 1-D sequence of ints, repeats allowed) as an int64 array of
        live nodes; :class:`~gclab.errors.InvalidRootError` for anything else.

        >>> g = GraphView([0, 0], [0, 0], [], 2, alive=[True, False])
        >>> g.check_roots([0, 0]).tolist()
        [0, 0]
        >>> g.check_roots([1])
        Traceback (most recent call last):
        ...
        gclab.errors.InvalidRootError: root 1 is a dead node
        """
        array = np.asarray(roots)
        if array.size == 0 and not isinstance(roots, np.ndarray):
            array = array.astype(np.int64)  # np.asarray([]) is float64
        if array.dtype.kind not in "iu":
            raise InvalidRootError(f"roots must be integers, not {array.dtype}")
        if array.ndim > 1:
            raise InvalidRootError(f"roots must be 1-D, not of shape {array.shape}")
        array = array.reshape(-1).astype(np.int64)
        bad = np.flatnonzero((array < 0) | (array >= self.n))
        if len(bad):
            raise InvalidRootError(f"root {array[bad[0]]} is not a node of 0 .. {self.n - 1}")
        if self.alive is not None:
            dead = np.flatnonzero(self.alive[array] == 0)
            if len(dead):
                raise InvalidRootError(f"root {array[dead[0]]} is a dead node")
        return array


def as_graph(graph: object) -> GraphView:
    """``graph`` itself if it is a :class:`GraphView`, else :class:`~gclab.errors.GraphTypeError`
    (what every graph kernel calls first)."""
    if not isinstance(graph, GraphView):
        raise GraphTypeError(f"a GraphView is needed, not {type(graph).__name__} (build one "
                             f"with GraphView.of_table, from_csr or from_edges)")
    return graph


def _check_slices(start: Array, length: Array, targets: Array, alive: Array | None) -> None:
    """InvalidGraphError unless every live node's slice lies inside ``targets`` and every
    target in a live slice is negative (no edge) or a node (``< n``)."""
    n = len(start)
    if alive is not None:
        live = alive.astype(np.bool_)
        start, length = start[live], length[live]
        names = np.flatnonzero(live)
    else:
        names = None
    if length.dtype.kind == "i" and len(length) and int(length.min()) < 0:
        k = int(np.argmin(length))
        node = k if names is None else int(names[k])
        raise InvalidGraphError(f"node {node} has a negative length {length[k]}")
    first = start.astype(np.int64)
    end = first + length
    outside = (length > 0) & ((first < 0) | (end > len(targets)))
    if outside.any():
        k = int(np.argmax(outside))
        node = k if names is None else int(names[k])
        raise InvalidGraphError(f"node {node}'s slice [{first[k]}, {end[k]}) runs past the "
                                f"{len(targets)} targets")
    if len(targets) == 0 or int(targets.max()) < n:
        return  # the common case: no need to look at the slices
    _, index = _slice_positions(start, length)
    values = targets[index]
    bad = np.flatnonzero(values >= n)
    if len(bad):
        raise InvalidGraphError(f"target {values[bad[0]]} (targets[{index[bad[0]]}]) is not a "
                                f"node of 0 .. {n - 1}")


# -- table-likes: what CPython's unreachable-set phases read --------------------------------------


class TableColumns(Protocol):
    """The object-table columns CPython's unreachable-set phases read and write, by the heap
    table's names (:class:`gclab.heap.table.ObjectTable` has them), and its two list
    primitives. Lists are sentinel-headed rings in ``gc_next``/``gc_prev``."""

    @property
    def gc_next(self) -> Array: ...
    @property
    def gc_prev(self) -> Array: ...
    @property
    def flags(self) -> Array: ...
    @property
    def refcnt(self) -> Array: ...
    @property
    def gc_refs(self) -> Array: ...
    @property
    def type_id(self) -> Array: ...
    @property
    def ref_start(self) -> Array: ...
    @property
    def ref_len(self) -> Array: ...
    @property
    def pool(self) -> Array: ...

    def list_members(self, head: int) -> list[int]:
        """The members of the list ``head``, head to tail."""
        ...

    def list_move(self, node: int, head: int) -> None:
        """Move ``node`` to the tail of the list ``head``."""
        ...


class TableLike(Protocol):
    """What CPython's unreachable-set phases (``update_refs``, ``subtract_refs``,
    ``move_unreachable``, ``deduce_unreachable``, ``clear_collecting`` in
    :mod:`gclab.algorithms.cycles` and :mod:`gclab.kernels.cycles`) take: a gclab heap is one,
    and so is a :class:`GraphTable` over a graph view.

    * ``table``: the columns (:class:`TableColumns`);
    * ``types``: the type registry (a :class:`gclab.heap.types.TypeRegistry`) whose per-type
      arrays (kind code, GC-capable: ``type_arrays``) the compiled phases read by ``type_id``;
    * ``referents(oid)``: the ids traverse visits from ``oid``, in traverse order (the oracles
      read this; it must visit what the kernels visit for the type's kind).
    """

    @property
    def table(self) -> TableColumns: ...
    @property
    def types(self) -> Any: ...

    def referents(self, oid: int) -> list[int]:
        """The ids traverse visits from ``oid``, in order (no NULLs, no atoms)."""
        ...


@jit
def _list_walk(gc_next, head, out):
    """Write the members of the list ``head`` into ``out``, head to tail; return how many."""
    count = 0
    node = gc_next[head]
    while node != head:
        out[count] = node
        count += 1
        node = gc_next[node]
    return count


@jit
def _in_degree(start, length, targets, alive, check_alive, held):
    """Add to ``held`` the number of edges into each node (live nodes' slices, targets that
    are live nodes)."""
    for node in range(len(start)):
        if check_alive and not alive[node]:
            continue
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = targets[k]
            if target >= 0 and (not check_alive or alive[target]):
                held[target] += 1


class GraphTable:
    """A table-like over a graph view, so that CPython's ``deduce_unreachable`` runs on a graph
    that is not a heap (a captured one): rows ``0 .. n-1`` are the nodes, two more rows are
    list heads. ``young`` (row ``n``) holds the candidates in the order given, ``unreachable``
    (row ``n + 1``) is empty; ``refcnt`` is ``refcounts`` (every reference to a node: from
    slots and from outside the graph).

    ``ref_start``, ``ref_len`` and ``pool`` are the view's arrays (shared, read-only); the
    other columns are new. Every node has the type ``type_id`` of ``types``, whose traverse
    must be slot order (the heap's ``set``), as :meth:`referents` is.

    Bad input (a refcount below the references the graph holds to the node, a candidate that
    is not a live node or is given twice) raises a typed error.
    """

    def __init__(self, graph: GraphView, refcounts: object, candidates: object, types: Any,
                 type_id: int) -> None:
        graph = as_graph(graph)
        n = graph.n
        refcnt = _int_array("refcounts", refcounts)
        if refcnt.shape != (n,):
            raise InvalidGraphError(f"refcounts must have shape ({n},), not {refcnt.shape}")
        held = np.zeros(n, np.int64)
        _in_degree(graph.start, graph.length, graph.targets,
                   graph.alive if graph.alive is not None else np.ones(0, np.bool_),
                   graph.alive is not None, held)
        low = np.flatnonzero(refcnt < held)
        if len(low):
            raise InvalidGraphError(f"node {low[0]} has refcount {refcnt[low[0]]} but the graph "
                                    f"holds {held[low[0]]} references to it")
        members = graph.check_roots(candidates)
        given = np.bincount(members, minlength=n) if len(members) else np.zeros(0, np.int64)
        if len(given) and int(given.max()) > 1:  # (np.unique is a slow hash on numpy 2.3)
            raise InvalidRootError(f"candidate {int(np.argmax(given > 1))} is given twice")
        rows = n + 2
        ids = np.int32 if rows <= MAX_NODES else np.int64
        self.young, self.unreachable = n, n + 1
        self.gc_next = np.full(rows, -1, ids)
        self.gc_prev = np.full(rows, -1, ids)
        ring = np.concatenate(([n], members, [n])).astype(ids)
        self.gc_next[ring[:-1]] = ring[1:]
        self.gc_prev[ring[1:]] = ring[:-1]
        self.gc_next[n + 1] = self.gc_prev[n + 1] = n + 1
        self.flags = np.zeros(rows, np.uint8)
        self.refcnt = np.zeros(rows, np.int64)
        self.refcnt[:n] = refcnt
        self.gc_refs = np.zeros(rows, np.int64)
        self.type_id = np.full(rows, operator.index(type_id), np.int32)
        self.ref_start, self.ref_len, self.pool = graph.start, graph.length, graph.targets
        self.types = types

    @property
    def table(self) -> GraphTable:
        """The columns: the table-like is its own table."""
        return self

    def members(self, head: int) -> I64:
        """The members of the list ``head``, head to tail (a compiled walk)."""
        out = np.empty(len(self.gc_next), np.int64)
        return out[: _list_walk(self.gc_next, head, out)]

    def list_members(self, head: int) -> list[int]:
        """The members of the list ``head``, head to tail, as a Python list."""
        return self.members(head).tolist()

    def list_move(self, node: int, head: int) -> None:
        """Move ``node`` from its list to the tail of ``head``."""
        nxt, prev = self.gc_next, self.gc_prev
        before, after = prev[node], nxt[node]  # unlink
        nxt[before] = after
        prev[after] = before
        last = prev[head]  # and append
        nxt[last] = node
        prev[node] = last
        nxt[node] = head
        prev[head] = node

    def referents(self, oid: int) -> list[int]:
        """The non-negative slot values of ``oid``, in slot order (what traverse visits)."""
        first = int(self.ref_start[oid])
        return [v for v in self.pool[first : first + int(self.ref_len[oid])].tolist() if v >= 0]


__all__ = ["ALIVE", "BLACK", "GRAY", "MAX_NODES", "TABLE_COLUMNS", "WHITE", "GraphTable",
           "GraphView", "TableColumns", "TableLike", "as_graph"]
