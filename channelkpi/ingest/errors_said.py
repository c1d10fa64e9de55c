"""A load's error as one line in the viewer's language, for a screen that shows it whole (the
mapping form, the command line with ``--locale``).

The error stays English data (its ``problem``, ``fix`` and ``str()``); this says its fixed
sentences in the language in force with :func:`channelkpi.ingest.wording.said`, its place with
:func:`channelkpi.ingest.wording.where_text`, and keeps its values as they are.
"""

from __future__ import annotations

from ..errors import ChannelKPIError, short_value
from ..i18n import gettext as _
from .wording import said, where_text

__all__ = ["error_said", "problem_said"]


def error_said(exc: BaseException) -> str:
    """An error as one line in the language in force: its file, its problem, where it was found
    and its fix, each fixed sentence translated and the values kept; in English exactly
    ``str(exc)``. Anything but a :class:`channelkpi.errors.ChannelKPIError` is ``str(exc)``.

    >>> from channelkpi.errors import ColumnError
    >>> from channelkpi.i18n import using
    >>> from channelkpi.ingest.wording_errors import TARGET_NOT_AMOUNT, WRITE_TARGETS_AS_NUMBERS
    >>> exc = ColumnError(TARGET_NOT_AMOUNT, file="q.csv", row=3, column="Target", fix=WRITE_TARGETS_AS_NUMBERS)
    >>> error_said(exc) == str(exc)
    True
    >>> with using("de-DE"):
    ...     error_said(exc)
    "q.csv: ein Ziel ist kein Betrag (Zeile 3, Spalte 'Target'). Lösung: schreiben Sie Ziele als Zahlen"
    """
    if not isinstance(exc, ChannelKPIError):
        return str(exc)
    text = problem_said(exc)
    if exc.fix:
        text += _(". Fix: {fix}").format(fix=said(exc.fix))
    return text


def problem_said(exc: ChannelKPIError) -> str:
    """The error's file, problem and place (without its fix) in the language in force.

    >>> from channelkpi.errors import ValueParseError
    >>> problem_said(ValueParseError("a target is not an amount", file="q.csv", row=3, column="Target", fix="x"))
    "q.csv: a target is not an amount (row 3, column 'Target')"
    """
    text = said(exc.problem)
    where = where_text(row=exc.row, column=exc.column, value=None if exc.value is None else short_value(exc.value))
    if where:
        text = _("{problem} ({where})").format(problem=text, where=where)
    if exc.file:
        text = _("{file}: {problem}").format(file=exc.file, problem=text)
    return text
