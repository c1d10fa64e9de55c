"""Amounts and their currency: which column values a deal, which currency it is in, and the
conversion into the reporting currency (never a silent sum of several currencies).

A row's currency is a :class:`Currencies` code: a position in a short list of ISO codes, so a
million rows in one currency cost one small integer each.

Examples
--------
>>> c = Currencies.of_labels(["USD", None, "EUR", "USD"])
>>> c.labels, c.codes.tolist(), c.value_counts(np.ones(4, bool)).to_dict()
(['USD', 'EUR'], [0, -1, 1, 0], {'USD': 2, 'EUR': 1})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import CurrencyError, ValueParseError
from .cells import Coded, text_series
from .currencies import normalize_currency
from .locate import read_column
from .outcome import Outcome
from .parse import parse_amounts
from .reader import RawTable
from .wording import CONVERTED, LOST_AT_AMOUNT, NO_CURRENCY, SEVERAL_CURRENCIES, WON_WITHOUT_WON_AMOUNT
from .wording_errors import (
    ADD_RATES,
    CONVERT_OR_KEEP,
    CONVERT_SEVERAL,
    FIX_ROW_OR_MAP_ONE,
    FIX_THE_RATES,
    FX_NEEDS_CURRENCY,
    FX_NOT_POSITIVE,
    FX_TABLE_COLUMNS,
    MAP_AMOUNT_COLUMN,
    NO_RATE,
    NOT_IN_REPORTING_CURRENCY,
    PASS_CURRENCY_WITH_FX,
    RENAME_COLUMNS,
    SYMBOL_CLASH,
)

__all__ = ["Currencies", "amounts_work", "convert_currency", "read_amounts"]


@dataclass(frozen=True)
class Currencies:
    """The currency of each row: ``codes`` index ``labels`` (ISO codes), -1 where none."""

    codes: np.ndarray
    labels: list[str]

    @classmethod
    def of_labels(cls, per_row: list) -> Currencies:
        labels: dict[str, int] = {}
        codes = [labels.setdefault(v, len(labels)) if isinstance(v, str) else -1 for v in per_row]
        return cls(np.array(codes, np.intp), list(labels))

    @classmethod
    def of(cls, coded: Coded) -> Currencies:
        """From coded values (ISO codes, or NaN for none)."""
        labels: dict[str, int] = {}
        per_value = [labels.setdefault(v, len(labels)) if isinstance(v, str) else -1 for v in coded.values]
        return cls(
            np.array(per_value, np.intp)[coded.codes] if len(coded.codes) else coded.codes.astype(np.intp), list(labels)
        )

    @classmethod
    def none(cls, n: int) -> Currencies:
        return cls(np.full(n, -1, np.intp), [])

    def present(self) -> np.ndarray:
        return self.codes >= 0

    def where(self, keep: np.ndarray, other: Currencies) -> Currencies:
        """Rows where ``keep`` is true from self, the others from ``other``."""
        labels = list(dict.fromkeys([*self.labels, *other.labels]))
        position = {lab: i for i, lab in enumerate(labels)}
        remap = np.array([position[lab] for lab in other.labels] + [-1], np.intp)
        return Currencies(np.where(keep, self.codes, remap[other.codes]), labels)

    def fill(self, rows: np.ndarray, label: str) -> Currencies:
        labels = self.labels if label in self.labels else [*self.labels, label]
        return Currencies(np.where(rows, labels.index(label), self.codes), labels)

    def value_counts(self, rows: np.ndarray) -> pd.Series:
        """``Series.value_counts()`` of the currencies of ``rows`` (missing ones left out),
        computed on the codes: counts in order of first appearance, then sorted as pandas does."""
        codes = self.codes[rows]
        codes = codes[codes >= 0]
        if not len(codes):
            return pd.Series([], dtype="int64", name="count")
        counts = np.bincount(codes, minlength=len(self.labels))
        present = np.flatnonzero(counts)
        if len(present) <= 8:  # a few currencies: a pass each finds its first row, no sort
            first = [int(np.argmax(codes == c)) for c in present]
            seen = present[np.argsort(first, kind="stable")]
        else:
            order = np.unique(codes, return_index=True)
            seen = order[0][np.argsort(order[1], kind="stable")]
        index = pd.Index([self.labels[c] for c in seen], dtype=object)
        return pd.Series(counts[seen], index=index, name="count").sort_values(ascending=False, kind="stable")

    def label_rows(self, rows: np.ndarray) -> list:
        return [self.labels[c] if c >= 0 else np.nan for c in self.codes[rows]]

    def map(self, per_label: Mapping[str, float]) -> np.ndarray:
        """A number per row from a number per label (NaN where none)."""
        values = np.array([per_label.get(lab, np.nan) for lab in self.labels] + [np.nan], float)
        return values[self.codes]

    def to_series(self) -> pd.Series:
        """The rows' ISO codes as text (NaN where none)."""
        n = len(self.codes)
        if len(self.labels) == 1 and n and (self.codes == 0).all():  # one currency: no gather
            code = self.labels[0].encode()
            offsets = pa.py_buffer(np.arange(n + 1, dtype=np.int64) * len(code))
            return text_series(pa.Array.from_buffers(pa.large_string(), n, [None, offsets, pa.py_buffer(code * n)]))
        dictionary = pa.array([*self.labels, None], type=pa.string())
        return text_series(dictionary.take(pa.array(np.where(self.codes < 0, len(self.labels), self.codes))))


def amounts_work(raw: RawTable, header: str, decimal: str | None = None):
    """The key and the work of parsing an amount column (for ``Cells.derive`` and ``start``);
    ``decimal`` forces the decimal separator."""
    return ("amounts", header, decimal), lambda: parse_amounts(raw.cells[header], decimal=decimal)


def read_amounts(
    raw: RawTable, roles: dict[str, str], outcome: Outcome, warnings: list[str], *, decimal: str | None = None
):
    """The amount of each row and the currency it is in: (float array, :class:`Currencies`).

    Won deals are valued at the won amount (Dynamics 365 ``Actual Revenue``) where there is
    one; a currency column decides the currency, an inline symbol (``$``) fills its gaps.
    """
    n = len(raw)
    amount = np.full(n, np.nan)
    inline = Currencies.none(n)

    def parse(role: str):
        header = roles[role]
        return read_column(
            raw.cells[header],
            header,
            raw,
            warnings,
            lambda _values: raw.cells.derive(*amounts_work(raw, header, decimal)),
            what="amount",
            fix=MAP_AMOUNT_COLUMN.format(code="columns={'their amount header': 'amount'}"),
        )

    if "amount" in roles:
        p = parse("amount")
        amount, inline = p.values.to_numpy(copy=True), Currencies.of(p.coded_currency)
    if "won_amount" in roles:
        p = parse("won_amount")
        won = outcome.rows("won")
        realised = p.values.to_numpy()
        missing = np.isnan(realised)
        fallback = won & missing & ~np.isnan(amount)
        amount = np.where(~won | missing, amount, realised)
        theirs = Currencies.of(p.coded_currency)
        inline = inline.where(~won | ~theirs.present(), theirs)
        if fallback.any():
            warnings.append(
                WON_WITHOUT_WON_AMOUNT.format(
                    count=int(fallback.sum()),
                    header=repr(roles["won_amount"]),
                    fallback=repr(roles.get("amount", "the estimate")),
                )
            )
        lost_est = outcome.rows("lost") & ~np.isnan(amount)
        if lost_est.any():
            warnings.append(
                LOST_AT_AMOUNT.format(amount=repr(roles.get("amount")), won_amount=repr(roles["won_amount"]))
            )
    if "currency" not in roles:
        return amount, inline
    column = raw.cells.coded(roles["currency"])
    named = Currencies.of(column.map(lambda v: v.map(normalize_currency)))
    cur = named.where(named.present(), inline)
    given = column.take(column.values.notna().to_numpy())
    clash = inline.present() & given & _differ(cur, inline)
    if clash.any():
        i = np.flatnonzero(clash)[0]
        amount_header = roles.get("amount", roles.get("won_amount"))
        raise ValueParseError(
            SYMBOL_CLASH,
            file=raw.file,
            row=int(raw.rows[i]),
            column=roles["currency"],
            value=f"{raw.cells[amount_header].iloc[i]} vs {raw.cells[roles['currency']].iloc[i]}",
            fix=FIX_ROW_OR_MAP_ONE,
        )
    return amount, cur


def _differ(one: Currencies, other: Currencies) -> np.ndarray:
    """Rows whose currency labels differ ("" where a row has none), compared as small integers."""
    ids: dict[str, int] = {}

    def numbered(labels: list[str]) -> np.ndarray:  # position -1 (no currency) is ""
        return np.array([ids.setdefault(label, len(ids)) for label in [*labels, ""]], np.intp)

    return numbered(one.labels)[one.codes] != numbered(other.labels)[other.codes]


def convert_currency(
    amount: np.ndarray,
    cur: Currencies,
    currency: str | None,
    fx: Mapping[str, float] | pd.DataFrame | None,
    raw: RawTable,
    rejected: np.ndarray,
    warnings: list[str],
) -> tuple[np.ndarray, Currencies]:
    """Amounts in the reporting currency. Several currencies without ``fx`` is an error."""
    reporting = normalize_currency(currency) if currency else None
    has = ~np.isnan(amount) & ~rejected
    counts = cur.value_counts(has)
    codes = list(counts.index)
    if fx is None:
        if len(codes) > 1:
            raise CurrencyError(
                SEVERAL_CURRENCIES.format(counts=", ".join(f"{c}: {k} rows" for c, k in counts.items())),
                file=raw.file,
                fix=CONVERT_SEVERAL.format(code="currency='USD', fx={'EUR': 1.08, ...}"),
            )
        if reporting and codes and codes[0] != reporting:
            raise CurrencyError(
                NOT_IN_REPORTING_CURRENCY.format(found=codes[0], reporting=reporting),
                file=raw.file,
                fix=CONVERT_OR_KEEP.format(fx=f"fx={{'{codes[0]}': <rate>}}", currency=f"currency='{codes[0]}'"),
            )
        if reporting:
            cur = cur.fill(~cur.present() & ~np.isnan(amount), reporting)
        return amount, cur
    if not reporting:
        raise CurrencyError(FX_NEEDS_CURRENCY, file=raw.file, fix=PASS_CURRENCY_WITH_FX.format(code="currency='USD'"))
    if isinstance(fx, pd.DataFrame):
        if not {"currency", "rate"} <= set(fx.columns):
            raise CurrencyError(
                FX_TABLE_COLUMNS.format(columns=list(fx.columns)),
                fix=RENAME_COLUMNS,
            )
        rates = {normalize_currency(c): float(r) for c, r in zip(fx["currency"], fx["rate"])}
    else:
        rates = {normalize_currency(c): float(r) for c, r in fx.items()}
    rates[reporting] = 1.0
    bad_rate = [c for c, r in rates.items() if not np.isfinite(r) or r <= 0]
    if bad_rate:
        raise CurrencyError(FX_NOT_POSITIVE.format(currencies=bad_rate), fix=FIX_THE_RATES)
    missing = [c for c in codes if c not in rates]
    if missing:
        raise CurrencyError(
            NO_RATE.format(currencies=missing, counts=", ".join(f"{c}: {counts[c]}" for c in missing)),
            file=raw.file,
            fix=ADD_RATES.format(code=f"fx={{'{missing[0]}': <1 {missing[0]} in {reporting}>}}"),
        )
    no_cur = has & ~cur.present()
    if no_cur.any():
        warnings.append(NO_CURRENCY.format(count=int(no_cur.sum()), currency=reporting))
        cur = cur.fill(no_cur, reporting)
    factor = cur.map(rates)
    converted = amount * np.where(np.isnan(factor), 1.0, factor)
    if len(codes) > 1 or (codes and codes[0] != reporting):
        warnings.append(
            CONVERTED.format(currency=reporting, rates=", ".join(f"{c}={rates[c]}" for c in codes if c != reporting))
        )
    return converted, cur
