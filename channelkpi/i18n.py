"""The user's language: which locale is in force, and the translation of visible strings.

A locale is a BCP 47 tag (``"nl-NL"``, ``"de-AT"``, ``"fr-CH"``); ``"en-US"`` is the default.
Entry points that show text (the dashboard, ``report()``, ``explain()``, the command line) take
``locale=`` and run their work inside :func:`using`, so every function below them formats and
translates for that locale without passing it down by hand. Translations are gettext catalogs,
``channelkpi/locale/<language>/LC_MESSAGES/channelkpi.po``, read at run time.

Examples
--------
>>> resolve_locale("nl-BE"), resolve_locale("de_CH"), resolve_locale(None)
('nl-BE', 'de-CH', 'en-US')
>>> with using("nl-NL"):
...     current_locale()
'nl-NL'
>>> current_locale()
'en-US'
"""

from __future__ import annotations

import contextvars
import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGES",
    "N_",
    "current_locale",
    "current_language",
    "gettext",
    "in_own_locale",
    "resolve_locale",
    "using",
]

DEFAULT_LOCALE = "en-US"
#: Languages with a catalog (English is the source language).
LANGUAGES = ("en", "nl", "de", "fr")
#: The region a bare language tag means.
_DEFAULT_REGION = {"en": "US", "nl": "NL", "de": "DE", "fr": "FR"}
_CATALOGS = Path(__file__).parent / "locale"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("channelkpi_locale", default=DEFAULT_LOCALE)


def resolve_locale(tag: str | None) -> str:
    """The locale channelkpi uses for ``tag``: its own spelling, a bare language given its usual
    region, an unknown language English (with a warning).

    Examples
    --------
    >>> resolve_locale("fr"), resolve_locale("NL_be")
    ('fr-FR', 'nl-BE')
    """
    if not tag:
        return DEFAULT_LOCALE
    parts = str(tag).replace("_", "-").split("-")
    language = parts[0].lower()
    if language not in LANGUAGES:
        warnings.warn(
            f"channelkpi has no {tag!r} translation; showing English (choose one of {list(LANGUAGES)})",
            UserWarning,
            stacklevel=2,
        )
        return DEFAULT_LOCALE
    region = parts[1].upper() if len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 2 else None
    return f"{language}-{region or _DEFAULT_REGION[language]}"


@contextmanager
def using(locale: str | None) -> Iterator[str]:
    """Format and translate for ``locale`` inside the ``with`` block."""
    token = _current.set(resolve_locale(locale))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_locale() -> str:
    """The locale in force (``"en-US"`` outside :func:`using`)."""
    return _current.get()


def current_language() -> str:
    """The language of the locale in force (``"nl"`` for ``"nl-BE"``)."""
    return _current.get().split("-")[0]


@functools.cache
def _catalog(language: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = _CATALOGS / language / "LC_MESSAGES" / "channelkpi.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def gettext(message: str) -> str:
    """``message`` in the language in force (itself when there is no translation).

    Examples
    --------
    >>> gettext("Partner")
    'Partner'
    """
    language = current_language()
    if language == "en":
        return message
    return _catalog(language).get(message, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it: for module-level constants,
    which are made once at import, in no locale; the code showing one translates it then
    (``gettext(TITLE)``).

    Examples
    --------
    >>> TITLE = N_("Win rate")
    >>> with using("nl"):
    ...     TITLE, gettext(TITLE)
    ('Win rate', 'Winratio')
    """
    return message


def in_own_locale(method: _F) -> _F:
    """Run ``method`` in the locale of its object (its ``locale`` attribute; while the object is
    being made, the ``locale=`` keyword it is given).

    Widget callbacks need it: ipywidgets calls them from later kernel messages, where the
    :func:`using` block the object was made in is no longer in force.
    """

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        locale = self.__dict__.get("locale") or kwargs.get("locale")
        with using(locale):
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]
