"""What a header says about its column, from the words in :mod:`.vocabulary`.

A header is folded to plain words first (:func:`header_key`), so ``opened_on``, ``OpenedOn``,
``Opened On`` and ``Deal - Opened on`` read alike; a currency code or ``%`` in it is kept as a
hint. A header that *is* a known name means its column outright; one that only *contains* a
known name (``Deal Value excl. VAT``) or is a weaker word (``revenue``) means it less surely.

Examples
--------
>>> header_key("Deal - openedOn"), header_key("Créé_le")
('deal opened on', 'cree le')
>>> [(s.role, s.strength) for s in header_senses("Verkoper")]
[('owner', 1.0)]
>>> header_senses("expected_revenue")[0].role is None
True
>>> [(s.role, s.strength) for s in header_senses("Chancen-Nr.")]
[('deal_id', 1.0)]
>>> header_hints("Bedrag (EUR)")
('EUR', False)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .vocabulary import (
    ABBREVIATIONS,
    DEAL_WORDS,
    HEADERS,
    HINTS,
    LANGUAGES,
    LINK_WORDS,
    NOISE_WORDS,
    NOT_COLUMNS,
    NUMBER_WORDS,
    PREFIXES,
)

__all__ = ["HeaderSense", "header_hints", "header_key", "header_senses", "word_key"]

_CURRENCY_TOKENS = {
    "eur": "EUR",
    "€": "EUR",
    "usd": "USD",
    "$": "USD",
    "gbp": "GBP",
    "£": "GBP",
    "chf": "CHF",
    "sek": "SEK",
    "nok": "NOK",
    "dkk": "DKK",
    "pln": "PLN",
    "czk": "CZK",
    "cad": "CAD",
    "aud": "AUD",
    "jpy": "JPY",
}

#: header sense strengths: a known name, a weaker word, a known name inside a longer header
NAME, HINT, INSIDE, HINT_INSIDE = 1.0, 0.75, 0.7, 0.5


@dataclass(frozen=True)
class HeaderSense:
    """One reading of a header: a canonical column (None: a lookalike that is none), how
    strongly the header says it (0 to 1) and why."""

    role: str | None
    strength: float
    reason: str


def word_key(text: object) -> str:
    """Lower case, no accents, words separated by single spaces (``ß`` as ``ss``).

    >>> word_key("  Gagné ! "), word_key("Währung")
    ('gagne', 'wahrung')
    """
    t = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace("ß", "ss")
    return " ".join(re.sub(r"[^a-z0-9%€$£#]+", " ", t).split())


def header_key(header: object) -> str:
    """A header as plain words: camelCase and snake_case split, punctuation and accents gone."""
    text = str(header)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text).replace("#", " # ")
    return " ".join(_SHORT.get(t, t) for t in word_key(text).split())


def header_hints(header: object) -> tuple[str | None, bool]:
    """The currency code a header names (``Amount (EUR)``) and whether it holds ``%``."""
    tokens = header_key(header).split()
    codes = {_CURRENCY_TOKENS[t] for t in tokens if t in _CURRENCY_TOKENS}
    return (codes.pop() if len(codes) == 1 else None), "%" in tokens


def _index(table) -> dict[str, list[tuple[str, str]]]:
    """word -> [(role, "English, German"), ...]: every column the word means, in the
    languages it means it in."""
    found: dict[str, dict[str, list[str]]] = {}
    for role, by_language in table.items():
        for lang, words in by_language.items():
            for word in words:
                languages = found.setdefault(header_key(word), {}).setdefault(role, [])
                if LANGUAGES[lang] not in languages:
                    languages.append(LANGUAGES[lang])
    return {key: [(role, ", ".join(langs)) for role, langs in roles.items()] for key, roles in found.items()}


_SHORT = {word_key(k) or k: v for k, v in ABBREVIATIONS.items()}
_NAMES = _index(HEADERS)
_HINTS = _index(HINTS)
_NOT = {header_key(k): v for k, v in NOT_COLUMNS.items()}
_PREFIXES = frozenset(PREFIXES)


def _core(header: object) -> list[str]:
    """The header's words without currency codes, ``%`` and words that say nothing."""
    return [t for t in header_key(header).split() if t not in _CURRENCY_TOKENS and t != "%" and t not in NOISE_WORDS]


def _said(word: str, role: str, languages: str) -> str:
    return f"{word!r} means {role} ({languages})"


def header_senses(header: object) -> list[HeaderSense]:
    """What the header says its column is: an empty list when it says nothing known.

    The whole header is tried first, then without a leading record word (``Deal``,
    ``Opportunity``, ``Kans``), then the longest known name it contains.
    """
    words = _core(header)
    pair = [w for w in words if w not in LINK_WORDS]
    if len(pair) == 2 and (
        (pair[0] in DEAL_WORDS and pair[1] in NUMBER_WORDS) or (pair[0] in NUMBER_WORDS and pair[1] in DEAL_WORDS)
    ):
        return [HeaderSense("deal_id", NAME, f"header {str(header)!r} means deal_id: a deal word and a number word")]
    tries = [words]
    if len(words) > 1 and words[0] in _PREFIXES:
        tries.append(words[1:])
    for part in tries:
        key = " ".join(part)
        if key in _NOT:
            return [HeaderSense(None, NAME, f"header {str(header)!r}: {_NOT[key]}")]
        if key in _NAMES:
            return [HeaderSense(r, NAME, f"header {_said(str(header), r, lang)}") for r, lang in _NAMES[key]]
        if key in _HINTS:
            return [HeaderSense(r, HINT, f"header {str(header)!r} may mean {r} ({lang})") for r, lang in _HINTS[key]]
    if "%" in header_key(header).split() and words:
        return [HeaderSense("probability", INSIDE, f"header {str(header)!r} is a percentage")]
    return _inside(str(header), words)


def _inside(header: str, words: list[str]) -> list[HeaderSense]:
    """The longest known names among the header's runs of words."""
    for size in range(len(words) - 1, 0, -1):
        found: list[HeaderSense] = []
        for start in range(len(words) - size + 1):
            key = " ".join(words[start : start + size])
            if key in _NOT:
                return [HeaderSense(None, INSIDE, f"header {header!r} contains {key!r}: {_NOT[key]}")]
            for r, lang in _NAMES.get(key, ()):
                found.append(HeaderSense(r, INSIDE, f"header {header!r} contains {key!r}, which means {r} ({lang})"))
            for r, _lang in _HINTS.get(key, ()):
                found.append(HeaderSense(r, HINT_INSIDE, f"header {header!r} contains {key!r}, which may mean {r}"))
        if found:
            best: dict[str, HeaderSense] = {}
            for s in found:
                if s.role not in best or s.strength > best[s.role].strength:
                    best[s.role] = s
            return list(best.values())
    return []
