"""Old public spellings that keep working for one release, with a :class:`DeprecationWarning`.

Every rename of a public keyword goes through :func:`renamed_keywords`, every rename of a module
constant through :func:`renamed_attributes`, so an old spelling always warns the same way and
the list of what is to be removed in the next release is a grep for their names.

Examples
--------
>>> import warnings
>>> @renamed_keywords(level="by")
... def ranking(table, *, by="partner"):
...     return by
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     ranking(None, level="owner")
'owner'
>>> str(caught[0].message)
'ranking(level=...) is deprecated and will be removed in the next release: use ranking(by=...)'
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["renamed_keywords", "renamed_attributes", "warn_deprecated"]

_F = TypeVar("_F", bound=Callable[..., Any])


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (``stacklevel`` points at the caller)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release: use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keywords(**renames: str) -> Callable[[_F], _F]:
    """Accept each old keyword (``old="new"``) as the new one, with a :class:`DeprecationWarning`.

    Passing both spellings is an error: the call would be ambiguous.
    """

    def decorate(func: _F) -> _F:
        name = func.__qualname__.replace(".__init__", "")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got both {old}= and {new}=: pass only {new}=")
                    warn_deprecated(f"{name}({old}=...)", f"{name}({new}=...)")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__deprecated_keywords__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_attributes(module: str, renames: Mapping[str, str], namespace: Mapping[str, Any]) -> Callable:
    """A module ``__getattr__`` (PEP 562) that serves each old name (``{"OLD": "NEW"}``) as the
    new one, with a :class:`DeprecationWarning`."""

    def __getattr__(name: str):
        if name in renames:
            warn_deprecated(f"{module}.{name}", f"{module}.{renames[name]}")
            return namespace[renames[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
