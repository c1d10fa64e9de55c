"""The channelkpi exception family.

Every error channelkpi raises on bad input is a :class:`ChannelKPIError`, which is a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know the
package. Each message says what is wrong, where (file, row, column), what was found, and how to
fix it::

    ValueError
    └── ChannelKPIError
        ├── FileFormatError      the file cannot be read as a table (binary, empty, bad encoding)
        ├── DetectionError       the CRM preset cannot be decided from the headers
        ├── ColumnError          a required column is missing or a mapping is ambiguous
        │   └── SchemaError      a deals table does not match the canonical schema
        ├── ValueParseError      values in a column cannot be read (dates, amounts, statuses)
        └── CurrencyError        several currencies without exchange rates

Examples
--------
>>> from channelkpi.errors import ColumnError
>>> err = ColumnError("no amount column", file="deals.csv", fix="pass columns={'Value': 'amount'}")
>>> print(err)
deals.csv: no amount column. Fix: pass columns={'Value': 'amount'}
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChannelKPIError",
    "FileFormatError",
    "DetectionError",
    "ColumnError",
    "SchemaError",
    "ValueParseError",
    "CurrencyError",
    "short_value",
]


def short_value(value: Any, limit: int = 60) -> str:
    """An offending value as a message shows it: its ``repr``, cut to ``limit`` characters.

    >>> short_value("x" * 100)[-8:]
    "xxxx...'"
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


class ChannelKPIError(ValueError):
    """Base class of every error channelkpi raises on bad input.

    Parameters
    ----------
    problem : str
        What is wrong, in one sentence.
    file : str, optional
        The file (or ``"<buffer>"``) the problem was found in.
    row : int, optional
        The row number as a spreadsheet shows it (the header row of a plain CSV is row 1).
    column : str, optional
        The column header as it appears in the file.
    value : object, optional
        The offending value (shown shortened).
    fix : str, optional
        How to fix it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {short_value(self.value)}")
        text = f"{self.file}: {self.problem}" if self.file else self.problem
        if where:
            text += f" ({', '.join(where)})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text

    def __reduce__(self):  # keep the keyword arguments through pickling (multiprocessing, nbclient)
        return (
            _rebuild,
            (type(self), self.problem, self.file, self.row, self.column, self.value, self.fix),
        )


def _rebuild(cls, problem, file, row, column, value, fix):
    return cls(problem, file=file, row=row, column=column, value=value, fix=fix)


class FileFormatError(ChannelKPIError):
    """The input cannot be read as a table: binary, empty, unknown encoding or layout."""


class DetectionError(ChannelKPIError):
    """The CRM preset cannot be decided from the headers.

    When the columns were read by meaning but not surely enough to load, ``mapping`` holds the
    proposal (a :class:`channelkpi.ingest.mapfile.Mapping`) to confirm, edit and pass back.
    """

    def __init__(self, problem: str, *, mapping: Any = None, **where: Any) -> None:
        self.mapping = mapping
        super().__init__(problem, **where)

    def __reduce__(self):  # keep the proposal through pickling as well
        return (
            _rebuild_detection,
            (self.problem, self.file, self.row, self.column, self.value, self.fix, self.mapping),
        )


def _rebuild_detection(problem, file, row, column, value, fix, mapping):
    return DetectionError(problem, file=file, row=row, column=column, value=value, fix=fix, mapping=mapping)


class ColumnError(ChannelKPIError):
    """A column the load needs is missing, or a header mapping is ambiguous."""


class SchemaError(ColumnError):
    """A deals table does not match the canonical schema."""


class ValueParseError(ChannelKPIError):
    """Values in a column cannot be read as the type the column needs."""


class CurrencyError(ChannelKPIError):
    """Amounts in several currencies would be summed without exchange rates."""
