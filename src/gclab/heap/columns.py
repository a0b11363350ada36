"""Per-collector columns of the object table: a collector's own per-object state (marks,
colours, space bits) in numpy columns of its own, instead of more bits in the shared ``flags``
byte (:class:`~gclab.heap.table.ObjectTable` mixes :class:`ColumnsMixin` in).

The table owns the columns' storage: it grows them in the same atomic step as its own columns
(``ObjectTable._grow_rows``) and resets a row to each column's fill when it allocates the row
(``ObjectTable.init_rows``, for one row and in bulk). A freed row keeps its values until its id
is reused: the compiled deallocation cascade frees rows without knowing the columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ColumnError
from .pages import filled

if TYPE_CHECKING:
    from .table import ObjectTable


class ColumnsMixin:
    """``add_column``, ``column``, ``remove_column`` and ``column_names`` of the table."""

    def _init_columns(self: ObjectTable) -> None:
        self._extra: dict[str, npt.NDArray[np.generic]] = {}  # name -> column, in added order
        self._fills: dict[str, Any] = {}  # name -> its value for a new row (a numpy scalar)

    def add_column(self: ObjectTable, name: str, dtype: npt.DTypeLike,
                   fill: bool | int | float = 0) -> npt.NDArray[np.generic]:
        """A new numpy column ``name`` of ``dtype`` (bool, integer or float), one value per row,
        for a collector's own per-object state (marks, colours, space bits) instead of more bits
        in the shared ``flags`` byte; returns it.

        Every row starts at ``fill``, and a row is reset to ``fill`` each time it is allocated
        (:meth:`init_rows`: one by one and in bulk), never when it is freed: the value of a freed
        row is stale until its id is reused. The column grows with the table, in the same
        atomic step as the table's own columns, so growth replaces the array: read it again
        with :meth:`column` after anything that may allocate.

        :class:`~gclab.errors.ColumnError` for a name already in use, one of the table's own
        columns, or not an identifier; a dtype that is not bool, integer or float; a fill the
        dtype cannot hold exactly (TypeError for a name that is not a str). Nothing changes.

        >>> import numpy as np
        >>> from gclab.heap.table import ObjectTable
        >>> table = ObjectTable()
        >>> marks = table.add_column("mark", np.uint8)
        >>> oid = table.new_row(0, 0)
        >>> table.column("mark")[oid] = 1
        >>> table.free_row(oid); table.new_row(0, 0) == oid     # the id is reused ...
        True
        >>> int(table.column("mark")[oid])                       # ... and its mark reset
        0
        >>> table.add_column("mark", np.uint8)
        Traceback (most recent call last):
        ...
        gclab.errors.ColumnError: the table has a column named 'mark' already
        """
        if not isinstance(name, str):
            raise TypeError(f"a column name is a str, not {type(name).__name__} {name!r}")
        if not name.isidentifier():
            raise ColumnError(f"a column name is an identifier, not {name!r}")
        if name in self.COLUMNS:
            raise ColumnError(f"{name!r} is one of the table's own columns")
        if name in self._extra:
            raise ColumnError(f"the table has a column named {name!r} already")
        kind, value = _column_kind(dtype, fill)
        column = filled(self.capacity, kind, value)
        self._fills[name] = value
        self._extra[name] = column
        return column

    def column(self: ObjectTable, name: str) -> npt.NDArray[np.generic]:
        """The per-collector column ``name`` (:meth:`add_column`); ColumnError if there is
        none."""
        try:
            return self._extra[name]
        except (KeyError, TypeError):
            raise ColumnError(f"the table has no column named {name!r}") from None

    def remove_column(self: ObjectTable, name: str) -> None:
        """Drop the per-collector column ``name``; ColumnError if there is none."""
        self.column(name)
        del self._extra[name]
        del self._fills[name]

    @property
    def column_names(self: ObjectTable) -> tuple[str, ...]:
        """The per-collector columns, in the order they were added."""
        return tuple(self._extra)


def _column_kind(dtype: npt.DTypeLike, fill: object) -> tuple[np.dtype[Any], Any]:
    """``dtype`` as a bool, integer or float dtype and ``fill`` as its exact value in it;
    ColumnError for anything else."""
    try:
        kind = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise ColumnError(f"{dtype!r} is not a dtype ({exc})") from None
    if kind.kind not in "biuf":
        raise ColumnError(f"a column holds bool, integer or float values, not {kind}")
    if type(fill) not in (bool, int, float) and not isinstance(fill, (np.bool_, np.integer,
                                                                      np.floating)):
        raise ColumnError(f"a column's fill is a bool, int or float, not "
                          f"{type(fill).__name__} {fill!r}")
    try:
        with np.errstate(all="ignore"):  # a value that does not fit is refused just below
            value = np.array(fill).astype(kind, casting="unsafe")[()]
    except OverflowError:  # a Python int past 64 bits
        raise ColumnError(f"{fill!r} does not fit a column of dtype {kind}") from None
    back = value.item()
    if not (back == fill or (fill != fill and back != back)):  # exact (NaN stays NaN)
        raise ColumnError(f"{fill!r} does not fit a column of dtype {kind} exactly (it "
                          f"would be {back!r})")
    return kind, value



__all__ = ["ColumnsMixin"]
