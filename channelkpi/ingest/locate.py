"""Where a value sits in the file: row lists for warnings, and parser errors given their row.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rows_text(np.array([3, 7]), pd.Series(["TBD", "soon"]))
"row 3 'TBD', row 7 'soon'"
>>> rows_text(np.arange(2, 10))
'row 2, row 3, row 4, row 5, row 6 and 3 more'
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import ValueParseError
from .reader import RawTable
from .wording_errors import NO_AMOUNT_READ, NO_DATE_READ
from .wording_notes import NOT_AMOUNTS, NOT_DATES

__all__ = ["first_row_error", "read_column", "rows_text"]


#: The error of a column where no value reads, by what the column holds.
_NOTHING_READ = {"date": NO_DATE_READ, "amount": NO_AMOUNT_READ}


def rows_text(rows: np.ndarray, values: pd.Series | None = None, limit: int = 5) -> str:
    """The first ``limit`` row numbers (with their values), and how many more there are."""
    parts = []
    for i, r in enumerate(rows[:limit]):
        parts.append(f"row {int(r)}" + (f" {str(values.iloc[i])[:40]!r}" if values is not None else ""))
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(parts) + more


def first_row_error(
    raw: RawTable, rows: np.ndarray, problem: str, *, column: str, values: pd.Series, fix: str
) -> ValueParseError:
    """The error for the first row where ``rows`` is true: the file, the row's number in it, the
    column, the value found there and how to fix it.

    >>> raw = RawTable(cells=None, rows=np.array([2, 3]), headers=["Target"], file="q.csv", kind="CSV")
    >>> str(first_row_error(raw, np.array([False, True]), "a target is not an amount", column="Target",
    ...                     values=pd.Series(["10", "ten"]), fix="write targets as numbers"))
    "q.csv: a target is not an amount (row 3, column 'Target', value 'ten'). Fix: write targets as numbers"
    """
    i = int(np.flatnonzero(rows)[0])
    return ValueParseError(problem, file=raw.file, row=int(raw.rows[i]), column=column, value=values.iloc[i], fix=fix)


def read_column(
    values: pd.Series,
    header: str,
    raw: RawTable,
    warnings: list[str],
    parse: Callable[[pd.Series], object],
    *,
    what: str,
    fix: str,
):
    """Run a column parser and turn what it could not read into located errors and warnings.

    A parser's own error gets the file, row and column; a column where nothing is readable is
    an error (it is the wrong column, or in a format channelkpi does not know); a few unreadable
    values are left empty and listed by row in a warning.
    """
    try:
        parsed = parse(values)
    except ValueParseError as exc:
        row = None
        if exc.value is not None:
            hit = np.flatnonzero(values.astype(str).str.strip().to_numpy() == str(exc.value).strip())
            row = int(raw.rows[hit[0]]) if len(hit) else None
        raise ValueParseError(
            exc.problem, file=raw.file, row=row, column=header, value=exc.value, fix=exc.fix
        ) from None
    if parsed.bad.any():
        if parsed.bad.sum() == values.notna().sum():
            noun = "number" if what == "amount" else what
            raise first_row_error(
                raw,
                parsed.bad,
                _NOTHING_READ[what]
                if what in _NOTHING_READ
                else f"no value in this {what} column could be read as a {noun}",
                column=header,
                values=values,
                fix=fix,
            )
        template = {"amount": NOT_AMOUNTS, "date": NOT_DATES}.get(what)
        count, rows = int(parsed.bad.sum()), rows_text(raw.rows[parsed.bad], values[parsed.bad])
        warnings.append(
            template.format(header=repr(header), count=count, rows=rows)
            if template is not None
            else f"{header!r}: {count} value(s) are not {what}s and were left empty ({rows})"
        )
    for note in parsed.notes:
        warnings.append(f"{header!r}: {note}")
    return parsed
