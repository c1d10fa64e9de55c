"""The marketing-channel map: raw lead source / campaign -> channel segment.

Segments are ``paid``, ``earned``, ``owned``, ``partner``, ``other`` (a source the map does not
know) and ``unknown`` (no source). The defaults cover the standard values of Salesforce's Lead
Source picklist, HubSpot's traffic sources and common campaign names; pass
``channel_map={"Their source": "paid", ...}`` to :func:`channelkpi.load_crm` to add or override.

Examples
--------
>>> classify_sources(["Paid Search", "Partner Referral", "Webinar", "", "Carrier pigeon"]).tolist()
['paid', 'partner', 'owned', 'unknown', 'other']
>>> classify_sources(["Carrier pigeon"], channel_map={"carrier pigeon": "earned"}).tolist()
['earned']
>>> channel_map_table().query("source == 'trade show'")
        source channel
...  trade show    paid
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import pandas as pd

from .errors import ValueParseError
from .schema import CHANNELS

__all__ = ["DEFAULT_CHANNEL_MAP", "channel_map_table", "classify_sources", "normalize_source"]

_SEGMENTS = {
    "paid": (
        "paid search",
        "paid social",
        "ppc",
        "cpc",
        "advertisement",
        "advertising",
        "display",
        "display ads",
        "google ads",
        "adwords",
        "linkedin ads",
        "facebook ads",
        "bing ads",
        "purchased list",
        "paid",
        "trade show",
        "tradeshow",
        "sponsorship",
        "events",
        "event",
        "conference",
        "paid media",
        "retargeting",
    ),
    "earned": (
        "word of mouth",
        "referral",
        "referrals",
        "external referral",
        "employee referral",
        "customer referral",
        "public relations",
        "pr",
        "press",
        "organic social",
        "social media",
        "review site",
        "reviews",
        "analyst",
        "earned",
        "ai referrals",
        "community",
    ),
    "owned": (
        "web",
        "website",
        "web form",
        "organic search",
        "seo",
        "direct traffic",
        "direct",
        "email",
        "email marketing",
        "newsletter",
        "webinar",
        "seminar - internal",
        "seminar",
        "blog",
        "content",
        "content marketing",
        "chat",
        "inbound",
        "owned",
        "web download",
        "other campaigns",
        "marketing email",
    ),
    "partner": (
        "partner",
        "partner referral",
        "partner sourced",
        "channel partner",
        "reseller",
        "seminar - partner",
        "partner event",
        "partner marketing",
        "distributor",
        "var",
        "alliance",
        "alliances",
        "mdf",
        "co-marketing",
    ),
    "other": (
        "other",
        "phone inquiry",
        "cold call",
        "outbound",
        "offline sources",
        "offline",
        "import",
        "integration",
        "crm ui",
        "sales prospecting",
        "prospecting",
        "walk-in",
    ),
}

#: Normalised source -> segment. Read-only; extend it through ``channel_map=``.
DEFAULT_CHANNEL_MAP: Mapping[str, str] = MappingProxyType(
    {src: seg for seg, sources in _SEGMENTS.items() for src in sources}
)


def normalize_source(value: object) -> str:
    """Normalise a source for lookup: lower case, ``_`` and ``-`` runs as spaces.

    >>> normalize_source("PAID_SEARCH"), normalize_source(" Seminar - Partner ")
    ('paid search', 'seminar - partner')
    """
    text = str(value).strip().lower()
    text = re.sub(r"_+", " ", text)
    return re.sub(r"\s+", " ", text)


def channel_map_table(channel_map: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The map in force as a table (``source``, ``channel``), defaults plus ``channel_map``.

    Parameters
    ----------
    channel_map : dict of str -> str, optional
        Lead sources (as the export writes them) -> channel segment, added to and overriding
        :data:`DEFAULT_CHANNEL_MAP`.

    Returns
    -------
    pandas.DataFrame
        One row per known source (normalised: lower case, single spaces), sorted by source.

    Examples
    --------
    >>> table = channel_map_table({"Webinar": "owned"})
    >>> table[table["source"] == "webinar"]
         source channel
    85  webinar   owned
    """
    merged = dict(DEFAULT_CHANNEL_MAP)
    merged.update(_checked(channel_map))
    return pd.DataFrame(sorted(merged.items()), columns=["source", "channel"])


def _checked(channel_map: Mapping[str, str] | None) -> dict[str, str]:
    if not channel_map:
        return {}
    out = {}
    for src, seg in channel_map.items():
        seg_n = str(seg).strip().lower()
        if seg_n not in CHANNELS:
            raise ValueParseError(
                f"channel_map sends {src!r} to {seg!r}, which is not a channel segment",
                value=seg,
                fix=f"use one of {list(CHANNELS)}",
            )
        out[normalize_source(src)] = seg_n
    return out


def classify_sources(sources: Iterable[object], *, channel_map: Mapping[str, str] | None = None) -> pd.Series:
    """Map raw sources to channel segments (``unknown`` for blanks, ``other`` if unmapped)."""
    merged = dict(DEFAULT_CHANNEL_MAP)
    merged.update(_checked(channel_map))
    s = sources if isinstance(sources, pd.Series) else pd.Series(list(sources), dtype=object)
    s = s.reset_index(drop=True)
    lookup = {}
    for u in pd.unique(s.dropna()):
        text = str(u).strip()
        lookup[u] = merged.get(normalize_source(text), "other") if text else "unknown"
    return s.map(lookup).fillna("unknown").astype("str")
