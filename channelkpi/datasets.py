"""Seeded, realistic deal data: the bundled sample exports and synthetic tables for benchmarks.

The sample is the channel program of a fictional network-equipment vendor, *Kestrel Networks*:
24 partners of very different sizes in four tiers, 14 employees in three departments and four
regions, deals from paid, earned, owned and partner sources over three calendar years
(2023-2025) with a summer peak, open/won/lost outcomes with stage probabilities, and quarterly
targets per partner. :func:`write_sample` writes it as a Salesforce report export (CSV), a
HubSpot export (.xlsx) and a targets file; the files are read back with
:func:`channelkpi.load_crm` exactly like user data.

Examples
--------
>>> truth = make_sample_deals()
>>> len(truth) > 3000, truth["partner"].nunique() >= 20
(True, True)
>>> deals = make_deals(1_000, seed=1)
>>> sorted(deals["status"].unique())
['lost', 'open', 'won']
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

from .history_sample import (
    make_sample_states,
    report_universe,
    sample_state,
    snapshot_dates,
    write_opportunity_history,
)
from .schema import DIRECT_PARTNER, validate_deals

__all__ = [
    "EXPORT_DATE",
    "SAMPLE_SEED",
    "salesforce_report_frame",
    "write_salesforce_csv",
    "make_deals",
    "make_sample_deals",
    "make_sample_lines",
    "make_sample_owners",
    "make_sample_partners",
    "make_sample_records",
    "make_sample_targets",
    "sample_path",
    "toy_deals",
    "warehouse_frame",
    "write_sample",
]

SAMPLE_SEED = 20230101
#: The day the sample was "exported": deals still open then are open in the sample.
EXPORT_DATE = pd.Timestamp("2026-01-05")

_PARTNERS = [  # name, tier, home region, joined (months after Jan 2023)
    ("Brightline IT", "Platinum", "North America", 0),
    ("Cobalt Integrations", "Platinum", "EMEA", 0),
    ("Meridian Systems Group", "Platinum", "North America", 0),
    ("Arcadia Networks", "Gold", "EMEA", 0),
    ("Baker & Lowe Consulting", "Gold", "North America", 0),
    ("Café Systèmes SARL", "Gold", "EMEA", 0),
    ("Pacific Rim Solutions", "Gold", "APAC", 0),
    ("Northgate Data", "Gold", "North America", 4),
    ("Sierra Cloud Partners", "Gold", "LATAM", 0),
    ("Tandem Technologies", "Silver", "EMEA", 0),
    ("Harbor Point IT", "Silver", "North America", 0),
    ("Orbital Managed Services", "Silver", "APAC", 2),
    ("Quantix Solutions", "Silver", "EMEA", 0),
    ("Redwood Digital", "Silver", "North America", 8),
    ("Lumen Reseller Co.", "Silver", "LATAM", 0),
    ("Granite Peak Systems", "Silver", "North America", 0),
    ("Vantage Point Networks", "Silver", "APAC", 13),
    ("Bluefin Tech", "Registered", "EMEA", 0),
    ("Copperleaf IT", "Registered", "North America", 6),
    ("Driftwood Solutions", "Registered", "APAC", 0),
    ("Elm Street Computing", "Registered", "North America", 18),
    ("Fjord Integrators AS", "Registered", "EMEA", 10),
    ("Kiwi Net Services", "Registered", "APAC", 22),
    ("Mosaic Channel Group", "Registered", "LATAM", 27),
]
_TIER_VOLUME = {"Platinum": 9.0, "Gold": 3.5, "Silver": 1.4, "Registered": 0.45}
_TIER_SIZE = {"Platinum": 1.6, "Gold": 1.2, "Silver": 0.9, "Registered": 0.7}
_EMPLOYEES = [  # name, department, region
    ("Avery Chen", "Channel Sales", "North America"),
    ("Jordan Blake", "Channel Sales", "North America"),
    ("Priya Raman", "Alliances", "North America"),
    ("Marcus Feld", "Inside Sales", "North America"),
    ("Sofia Lindqvist", "Channel Sales", "EMEA"),
    ("Lukas Brandt", "Channel Sales", "EMEA"),
    ("Amélie Durand", "Inside Sales", "EMEA"),
    ("Tomás Novak", "Alliances", "EMEA"),
    ("Hana Sato", "Channel Sales", "APAC"),
    ("Liam O'Connor", "Inside Sales", "APAC"),
    ("Mei Lin Wong", "Alliances", "APAC"),
    ("Diego Alvarez", "Channel Sales", "LATAM"),
    ("Camila Souza", "Inside Sales", "LATAM"),
    ("Rafael Ortega", "Alliances", "LATAM"),
]
_PARTNER_SOURCES = (["Partner Referral", "Seminar - Partner", "Partner"], [0.6, 0.15, 0.25])
_MARKETING_SOURCES = (
    [
        "Paid Search",
        "Trade Show",
        "Advertisement",
        "Web",
        "Email",
        "Webinar",
        "Word of mouth",
        "Employee Referral",
        "Purchased List",
        "Phone Inquiry",
        "",
    ],
    [0.16, 0.12, 0.05, 0.2, 0.09, 0.1, 0.08, 0.07, 0.04, 0.04, 0.05],
)
_OPEN_STAGES = [  # Salesforce default stages and probabilities
    ("Prospecting", 0.10),
    ("Qualification", 0.10),
    ("Needs Analysis", 0.20),
    ("Value Proposition", 0.50),
    ("Proposal/Price Quote", 0.75),
    ("Negotiation/Review", 0.90),
]
_HUBSPOT_STAGE = {
    "Prospecting": "Appointment Scheduled",
    "Qualification": "Qualified to Buy",
    "Needs Analysis": "Qualified to Buy",
    "Value Proposition": "Presentation Scheduled",
    "Proposal/Price Quote": "Decision Maker Bought-In",
    "Negotiation/Review": "Contract Sent",
    "Closed Won": "Closed Won",
    "Closed Lost": "Closed Lost",
}
# summer peak, year-end slump
_SEASON = np.array([0.85, 0.9, 1.0, 1.0, 1.1, 1.35, 1.5, 1.4, 1.05, 0.95, 0.9, 0.7])


def toy_deals() -> pd.DataFrame:
    """Six deals of two partners in 2024, small enough to check every KPI by hand.

    The examples of the KPI functions use it. Acme won 200 (created 10 Jan, closed 15 Feb) and
    400 (1 Feb - 20 Mar) and lost 100 (15 Jan - 5 Mar); Birch won 350 (2 Apr - 10 May), lost
    50 (1 Mar - 15 Apr) and has 500 open (created 20 Apr, expected 31 Jul, probability 0.5).

    Returns
    -------
    pandas.DataFrame
        A canonical deals table (:func:`channelkpi.validate_deals` applied).

    Examples
    --------
    >>> toy_deals()[["deal_id", "partner", "status", "amount"]].head(2)
      deal_id partner status  amount
    0      d1    Acme    won   200.0
    1      d2    Acme    won   400.0
    """
    return validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["d1", "d2", "d3", "d4", "d5", "d6"],
                "partner": ["Acme", "Acme", "Acme", "Birch", "Birch", "Birch"],
                "owner": ["Ann", "Ann", "Bob", "Bob", "Bob", "Ann"],
                "channel": ["partner", "partner", "paid", "partner", "paid", "partner"],
                "stage": ["Closed Won", "Closed Won", "Closed Lost", "Closed Won", "Closed Lost", "Proposal"],
                "status": ["won", "won", "lost", "won", "lost", "open"],
                "amount": [200.0, 400.0, 100.0, 350.0, 50.0, 500.0],
                "created": ["2024-01-10", "2024-02-01", "2024-01-15", "2024-04-02", "2024-03-01", "2024-04-20"],
                "closed": ["2024-02-15", "2024-03-20", "2024-03-05", "2024-05-10", "2024-04-15", None],
                "expected_close": [None, None, None, None, None, "2024-07-31"],
                "probability": [1.0, 1.0, 0.0, 1.0, 0.0, 0.5],
                "currency": "USD",
            }
        )
    )


def make_sample_deals(*, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """The sample program's deals as a canonical table (the truth the sample files encode).

    Parameters
    ----------
    seed : int
        Random seed; the bundled files use :data:`SAMPLE_SEED`.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    rows = []
    emp = pd.DataFrame(_EMPLOYEES, columns=["owner", "department", "unit"])
    quality = {p[0]: rng.beta(6, 6) for p in _PARTNERS}
    quality[DIRECT_PARTNER] = 0.42
    size_jitter = {p[0]: rng.lognormal(0, 0.25) for p in _PARTNERS}
    size_jitter[DIRECT_PARTNER] = 1.0
    programs = [(name, tier, region, joined) for name, tier, region, joined in _PARTNERS]
    programs.append((DIRECT_PARTNER, "Direct", None, 0))
    for name, tier, region, joined in programs:
        base = 10.0 if tier == "Direct" else _TIER_VOLUME[tier]
        for m in range(joined, 36):
            month = start + pd.DateOffset(months=m)
            growth = 1.0 + 0.12 * (m / 12)
            ramp = min(1.0, 0.35 + (m - joined) / 8) if joined else 1.0
            lam = base * _SEASON[month.month - 1] * growth * ramp
            k = rng.poisson(lam)
            if k == 0:
                continue
            days = rng.integers(0, month.days_in_month, k)
            created = month + pd.to_timedelta(days, unit="D")
            region_k = (
                np.full(k, region)
                if region
                else rng.choice(["North America", "EMEA", "APAC", "LATAM"], k, p=[0.45, 0.3, 0.15, 0.1])
            )
            for c, reg in zip(created, region_k):
                rows.append((name, tier, reg, c))
    frame = pd.DataFrame(rows, columns=["partner", "tier", "unit", "created"])
    n = len(frame)
    # owner: an employee of the deal's region (channel sales own most partner deals)
    owners = []
    for reg, tier in zip(frame["unit"], frame["tier"]):
        pool = emp[emp["unit"] == reg]
        weights = np.where(pool["department"] == ("Inside Sales" if tier == "Direct" else "Channel Sales"), 3.0, 1.0)
        owners.append(pool.iloc[rng.choice(len(pool), p=weights / weights.sum())])
    owners = pd.DataFrame(owners).reset_index(drop=True)
    frame["owner"] = owners["owner"].to_numpy()
    frame["department"] = owners["department"].to_numpy()
    is_partner = (frame["partner"] != DIRECT_PARTNER).to_numpy()
    src = np.where(
        is_partner & (rng.random(n) < 0.7),
        rng.choice(_PARTNER_SOURCES[0], n, p=_PARTNER_SOURCES[1]),
        rng.choice(_MARKETING_SOURCES[0], n, p=_MARKETING_SOURCES[1]),
    )
    frame["source"] = pd.Series(src).replace("", np.nan)
    size_mult = frame["tier"].map(lambda t: _TIER_SIZE.get(t, 1.0)) * frame["partner"].map(size_jitter)
    amount = rng.lognormal(np.log(18_000), 0.75, n) * size_mult.to_numpy()
    frame["amount"] = np.round(amount / 50) * 50
    q = frame["partner"].map(quality).to_numpy()
    source_bonus = np.where(pd.Series(src).str.contains("Partner|Referral|mouth").to_numpy(), 0.08, 0.0)
    summer = frame["created"].dt.month.isin([6, 7, 8]).to_numpy() * 0.05
    p_win = np.clip(q + source_bonus + summer - 0.05, 0.05, 0.9)
    won = rng.random(n) < p_win
    cycle = np.where(won, rng.lognormal(np.log(48), 0.55, n), rng.lognormal(np.log(62), 0.7, n))
    cycle = np.maximum(1, np.round(cycle)).astype(int)
    closed = frame["created"] + pd.to_timedelta(cycle, unit="D")
    stale = rng.random(n) < 0.015  # deals nobody closed out
    open_ = (closed > EXPORT_DATE).to_numpy() | stale
    frame["status"] = np.where(open_, "open", np.where(won, "won", "lost"))
    frame["closed"] = closed.where(~open_)
    stage_idx = rng.integers(0, len(_OPEN_STAGES), n)
    frame["stage"] = np.where(
        open_, [_OPEN_STAGES[i][0] for i in stage_idx], np.where(won, "Closed Won", "Closed Lost")
    )
    frame["probability"] = np.where(open_, [_OPEN_STAGES[i][1] for i in stage_idx], np.where(won, 1.0, 0.0))
    exp_close = frame["created"] + pd.to_timedelta(rng.integers(30, 120, n), unit="D")
    exp_close = exp_close.where(
        exp_close > EXPORT_DATE, EXPORT_DATE + pd.to_timedelta(rng.integers(5, 90, n), unit="D")
    )
    frame["expected_close"] = exp_close.where(open_)
    # realistic gaps: a few open deals not yet valued
    no_amount = open_ & (rng.random(n) < 0.03)
    frame.loc[no_amount, "amount"] = np.nan
    frame = frame.sort_values(["created", "partner"], kind="stable").reset_index(drop=True)
    frame["deal_id"] = [f"006KN{i:08d}" for i in range(1, len(frame) + 1)]
    frame["currency"] = np.where(frame["amount"].notna(), "USD", None)
    from .channels import classify_sources

    frame["channel"] = classify_sources(frame["source"]).to_numpy()
    # deal name, account and lead product, for a schema that has them (validate_deals keeps
    # the canonical columns only)
    records = make_sample_records(frame, seed=seed)
    for col in ("name", "account", "product"):
        frame[col] = records[col].to_numpy()
    return validate_deals(frame)


def make_sample_targets(deals: pd.DataFrame, *, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """Quarterly won-amount targets per partner: last year's same quarter plus 5-30 %.

    Returns a table with columns ``partner``, ``quarter`` (``2024-Q1``) and ``target``.
    """
    rng = np.random.default_rng(seed + 1)
    won = deals[deals["status"] == "won"]
    q = won["closed"].dt.to_period("Q")
    by = won.groupby([won["partner"], q], observed=True)["amount"].sum()
    rows = []
    partners = sorted(p for p in deals["partner"].unique() if p != DIRECT_PARTNER)
    for partner in partners:
        for period in pd.period_range("2024Q1", "2026Q2", freq="Q"):
            base = by.get((partner, period - 4), np.nan)
            if np.isnan(base) or base <= 0:
                base = by.xs(partner, level=0).mean() if partner in by.index.get_level_values(0) else 20_000
            target = base * rng.uniform(1.05, 1.30)
            rows.append((partner, f"{period.year}-Q{period.quarter}", float(np.round(target, -3))))
    return pd.DataFrame(rows, columns=["partner", "quarter", "target"])


# --------------------------------------------------------------------------- deal records and dimension tables
# Names, accounts, products and the partner table draw from streams of their own
# (``np.random.default_rng([seed, k])``): the deals' draws above are untouched by them, so every
# KPI of the sample is what it was before the sample had records.
_LINES_STREAM, _ACCOUNTS_STREAM, _NAMES_STREAM, _PARTNERS_STREAM = 1, 2, 3, 4

#: product, list price of one unit, fewest and most units on a line, how deal names say it, its unit
_PRODUCTS = [
    ("CX Core Switch", 14_500, 1, 24, "Core switch refresh", ("switch", "switches")),
    ("Campus Access Switch", 2_400, 2, 120, "Campus access", ("switch", "switches")),
    ("Wi-Fi 7 Access Point", 650, 4, 600, "Wi-Fi 7 rollout", ("AP", "APs")),
    ("SD-WAN Edge Appliance", 3_200, 2, 80, "SD-WAN", ("site", "sites")),
    ("NGFW Firewall", 9_800, 1, 16, "Firewall upgrade", ("firewall", "firewalls")),
    ("Kestrel Cloud Management", 180, 10, 2_500, "Cloud Management", ("seat", "seats")),
    ("Kestrel Care Support", 6_000, 1, 5, "Kestrel Care", ("year", "years")),
    ("Professional Services", 1_600, 1, 60, "Deployment services", ("day", "days")),
]
#: how often each product leads a deal, and how often it is added to a deal led by another
_LEAD_WEIGHT = np.array([0.12, 0.2, 0.2, 0.16, 0.1, 0.22, 0.0, 0.0])
_ADDON_WEIGHT = np.array([0.03, 0.08, 0.1, 0.05, 0.04, 0.15, 0.3, 0.25])
_ACCOUNT_STEMS = [
    "Northwind", "Bluewater", "Redstone", "Silverline", "Harborview", "Oakridge", "Pinecrest", "Ironwood",
    "Clearwater", "Summit", "Lakeshore", "Riverbend", "Stonebridge", "Maplewood", "Highland", "Westfield",
    "Eastgate", "Crescent", "Evergreen", "Keystone", "Lighthouse", "Meadowbrook", "Newport", "Orchard",
    "Pioneer", "Rosewood", "Sandpiper", "Thornbury", "Willow Creek", "Zephyr", "Aldridge", "Beacon",
    "Cedar Hill", "Dovetail", "Elmhurst", "Foxglove", "Glenwood", "Hawthorne", "Kingsley", "Larkspur",
    "Marlow", "Osprey", "Paloma", "Ravenna", "Saltmarsh", "Tidewater", "Upland", "Wexford",
    "Yarrow", "Alder", "Birchwood", "Coral Bay", "Fairhaven", "Goldcrest", "Holloway", "Linden",
    "Millbrook", "Northbank", "Oldcastle", "Portside", "Redfern", "Southgate", "Tamarind", "Verdant",
    "Whitmore", "Ashford", "Bramble", "Copperfield", "Montreux", "Château Vert", "São Bento", "Nordlys",
    "Zürichsee", "Águila", "Kōyō", "Bellevue", "Mistral", "Sirocco", "Falkenberg", "Ríonach",
]  # fmt: skip
_ACCOUNT_INDUSTRIES = [
    "Health", "Logistics", "Bank", "University", "Retail", "Manufacturing", "Energy", "Foods",
    "Insurance", "Hotels", "Media", "Pharma", "Telecom", "Transit", "Legal",
]  # fmt: skip
_LEGAL_SUFFIX = {
    "North America": ["Inc.", "LLC", "Corp."],
    "EMEA": ["Ltd", "GmbH", "S.A.", "B.V.", "AG", "plc"],
    "APAC": ["Pty Ltd", "Pte. Ltd.", "Ltd", "K.K."],
    "LATAM": ["S.A. de C.V.", "Ltda.", "S.A."],
}
#: partners signed in the last weeks before the export: in the partner table, with no deal yet
_NEW_PARTNERS = [("Halcyon Edge Networks", "Registered", "APAC"), ("Ridgeway Secure IT", "Registered", "North America")]
#: how the partner table spells three partners the exports spell otherwise (accents, case, a
#: trailing space), as a table kept by hand does: what the loader's name matching must report
_TABLE_SPELLING = {
    "Café Systèmes SARL": "Cafe Systemes SARL",
    "Baker & Lowe Consulting": "Baker & Lowe consulting",
    "Lumen Reseller Co.": "Lumen Reseller Co. ",
}
#: each region's channel sales lead manages the region; the leads report to the channel VP
_REGION_LEADS = {
    "North America": "Avery Chen",
    "EMEA": "Sofia Lindqvist",
    "APAC": "Hana Sato",
    "LATAM": "Diego Alvarez",
}
_CHANNEL_VP = "Nora Whitfield"


def _units_on_a_line(cents: int, list_price: float, lo: int, hi: int) -> int:
    """The unit count nearest list price's that splits the line into whole cents (units x price = line)."""
    if cents <= 0:
        return 1
    target = int(min(max(round(cents / 100 / list_price), lo), hi))
    for step in range(hi - lo + 1):
        for q in (target - step, target + step):
            if lo <= q <= hi and cents % q == 0:
                return q
    return 1  # unreachable for whole-50 amounts: 2, 4, 5 and 10 divide them


def make_sample_lines(deals: pd.DataFrame, *, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """The line items of the sample deals: 1-3 products a deal, whose amounts sum to the deal's.

    A deal's first line is its lead product (the largest line, and the one its name speaks of);
    support and services are mostly added to a deal led by hardware or licences. Each line's
    quantity times its unit price is its amount to the cent. Deals without an amount (open deals
    not valued yet) have no lines.

    Parameters
    ----------
    deals : pandas.DataFrame
        The sample deals (:func:`make_sample_deals`): ``deal_id`` and ``amount`` are read.
    seed : int
        Random seed; the bundled files use :data:`SAMPLE_SEED`.

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, ``line`` (1, 2, 3), ``product``, ``quantity``, ``unit_price``, ``amount``,
        in deal order.

    Examples
    --------
    >>> deals = toy_deals()
    >>> deals.loc[1, "amount"] = 48_350.0
    >>> make_sample_lines(deals)[1:3]
      deal_id  line                   product  quantity  unit_price   amount
    1      d2     1      Campus Access Switch        20      2417.5  48350.0
    2      d3     1  Kestrel Cloud Management        10        10.0    100.0
    """
    rng = np.random.default_rng([seed, _LINES_STREAM])
    n = len(deals)
    # every deal takes the same draws, valued or not, so a deal's lines depend only on its position
    count = rng.choice([1, 2, 3], n, p=[0.45, 0.35, 0.2])
    shares = rng.dirichlet([4.0, 1.6, 1.0], n)
    lead_u = rng.random(n)
    addon_keys = rng.exponential(size=(n, len(_PRODUCTS))) / np.where(_ADDON_WEIGHT > 0, _ADDON_WEIGHT, np.nan)
    smallest = np.array([p[1] * p[2] for p in _PRODUCTS], dtype=float)  # the smallest line a product makes
    cheapest_lead = smallest[_LEAD_WEIGHT > 0].min()
    rows = []
    for i, (deal_id, amount) in enumerate(zip(deals["deal_id"], deals["amount"], strict=True)):
        if pd.isna(amount):
            continue
        fifties = int(round(float(amount) / 50))
        affordable = np.where(smallest <= max(float(amount), cheapest_lead), _LEAD_WEIGHT, 0.0)
        lead = int(np.searchsorted(np.cumsum(affordable / affordable.sum()), lead_u[i], side="right"))
        keys = addon_keys[i].copy()
        keys[lead] = np.nan
        products = [lead, *np.argsort(np.nan_to_num(keys, nan=np.inf), kind="stable")[: count[i] - 1]]
        parts = np.array([fifties])
        if len(products) > 1 and fifties >= 10 * len(products):
            share = np.sort(shares[i, : len(products)])[::-1]
            parts = np.maximum(1, np.floor(share / share.sum() * fifties)).astype(int)
            parts[0] += fifties - parts.sum()
        for line, (p, fifty) in enumerate(zip(products, parts), start=1):
            name, price, lo, hi = _PRODUCTS[p][:4]
            cents = int(fifty) * 5_000
            q = _units_on_a_line(cents, price, lo, hi)
            rows.append((deal_id, line, name, q, cents / q / 100, cents / 100))
    return pd.DataFrame(rows, columns=["deal_id", "line", "product", "quantity", "unit_price", "amount"])


def _sample_accounts(deals: pd.DataFrame, seed: int) -> list[str]:
    """A customer account per deal: each partner sells to its own customers in its region, and
    most customers buy more than once (a few of them often)."""
    rng = np.random.default_rng([seed, _ACCOUNTS_STREAM])
    pool = [f"{stem} {industry}" for stem in _ACCOUNT_STEMS for industry in _ACCOUNT_INDUSTRIES]
    order = rng.permutation(len(pool))
    accounts = np.empty(len(deals), dtype=object)
    taken = 0
    keys = pd.DataFrame({c: deals[c].astype(object).fillna("").astype(str) for c in ("partner", "unit")})
    for (_, region), where in sorted(keys.groupby(["partner", "unit"], sort=False).indices.items()):
        n_accounts = max(1, -(-len(where) // 4))
        names = []
        for j in range(n_accounts):
            base = pool[order[(taken + j) % len(pool)]]
            if taken + j >= len(pool):  # a larger program than the name pool: number the repeats
                base += f" {(taken + j) // len(pool) + 1}"
            suffixes = _LEGAL_SUFFIX.get(region, ["Ltd"])
            pick = rng.integers(0, len(suffixes) + 2)  # about a third go by their plain name
            names.append(base if pick >= len(suffixes) else f"{base} {suffixes[pick]}")
        taken += n_accounts
        weights = 1.0 / np.arange(1, n_accounts + 1) ** 0.8
        accounts[where] = np.array(names, dtype=object)[rng.choice(n_accounts, len(where), p=weights / weights.sum())]
    return accounts.tolist()


def make_sample_records(deals: pd.DataFrame, *, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """Deal name, customer account and lead product of each sample deal.

    Names are written the way sales reps write them: the account, then what is sold and how
    much of it (``"Wexford Logistics Inc. - Cloud Management 250 seats"``), with ``+ Kestrel Care``
    or ``+ 2 more`` when the deal has further lines. The product is the deal's lead line from
    :func:`make_sample_lines` (blank when the deal has no lines yet).

    Parameters
    ----------
    deals : pandas.DataFrame
        The sample deals (:func:`make_sample_deals`): ``deal_id``, ``partner``, ``unit``,
        ``created`` and ``amount`` are read.
    seed : int
        Random seed; the bundled files use :data:`SAMPLE_SEED`.

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, ``name``, ``account``, ``product``, one row per deal in the deals' order.

    Examples
    --------
    >>> deals = toy_deals()
    >>> deals.loc[1, "amount"] = 48_350.0
    >>> make_sample_records(deals).loc[1, ["name", "account", "product"]].tolist()
    ['Larkspur Hotels Campus access - 20 switches', 'Larkspur Hotels', 'Campus Access Switch']
    """
    lines = make_sample_lines(deals, seed=seed)
    accounts = _sample_accounts(deals, seed)
    rng = np.random.default_rng([seed, _NAMES_STREAM])
    style = rng.integers(0, 4, len(deals))
    # each deal's lines as plain lists: (product, quantity) of the lead line, the other products
    lead: dict[object, tuple[str, int]] = {}
    others: dict[object, list[str]] = {}
    for deal_id, line, product, quantity in zip(
        lines["deal_id"], lines["line"], lines["product"], lines["quantity"], strict=True
    ):
        if line == 1:
            lead[deal_id] = (product, int(quantity))
            others[deal_id] = []
        else:
            others[deal_id].append(product)
    words = {p[0]: (p[4], p[5]) for p in _PRODUCTS}
    names, products = [], []
    for i, (deal_id, created) in enumerate(zip(deals["deal_id"], deals["created"], strict=True)):
        account = accounts[i]
        if deal_id not in lead:
            names.append(f"{account} - Network refresh {created.year}")
            products.append(None)
            continue
        product, q = lead[deal_id]
        what, unit = words[product]
        units = f"{q} {unit[0] if q == 1 else unit[1]}"
        text = [
            f"{account} - {what} {units}",
            f"{account} - {what} ({units})",
            f"{account} - {what} {created.year}",
            f"{account} {what} - {units}",
        ][style[i]]
        more = others[deal_id]
        if len(more) == 1:
            text += f" + {words[more[0]][0]}"
        elif more:
            text += f" + {len(more)} more"
        names.append(text)
        products.append(product)
    return pd.DataFrame(
        {"deal_id": deals["deal_id"].to_numpy(), "name": names, "account": accounts, "product": products}
    )


def make_sample_partners(*, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """The partner table of the sample program, as a partner manager keeps it.

    Every partner of the exports with its tier, home region and the date it signed the partner
    agreement, plus two partners signed in the last weeks before the export that have no deal
    yet. Three names are spelt as a table kept by hand spells them: ``Cafe Systemes SARL`` (no
    accents), ``Baker & Lowe consulting`` (case) and ``Lumen Reseller Co. `` (a trailing space).

    Parameters
    ----------
    seed : int
        Random seed; the bundled files use :data:`SAMPLE_SEED`.

    Returns
    -------
    pandas.DataFrame
        ``partner``, ``tier``, ``region``, ``signed`` (a date).

    Examples
    --------
    >>> partners = make_sample_partners()
    >>> len(partners), partners["tier"].value_counts().to_dict()
    (26, {'Registered': 9, 'Silver': 8, 'Gold': 6, 'Platinum': 3})
    >>> partners.tail(2)[["partner", "signed"]]
                      partner     signed
    24  Halcyon Edge Networks 2025-12-16
    25     Ridgeway Secure IT 2025-12-29
    """
    rng = np.random.default_rng([seed, _PARTNERS_STREAM])
    start = pd.Timestamp("2023-01-01")
    rows = []
    for name, tier, region, joined in _PARTNERS:
        if joined:  # signed a few weeks before its first month of deals
            signed = start + pd.DateOffset(months=joined) - pd.Timedelta(days=int(rng.integers(7, 76)))
        else:  # in the program before the exports begin
            signed = pd.Timestamp("2019-01-01") + pd.Timedelta(days=int(rng.integers(0, 1461)))
        rows.append((_TABLE_SPELLING.get(name, name), tier, region, signed))
    for name, tier, region in _NEW_PARTNERS:
        rows.append((name, tier, region, EXPORT_DATE - pd.Timedelta(days=int(rng.integers(3, 31)))))
    out = pd.DataFrame(rows, columns=["partner", "tier", "region", "signed"])
    out["signed"] = pd.to_datetime(out["signed"]).astype("datetime64[s]")
    return out


def make_sample_owners() -> pd.DataFrame:
    """The owner table of the sample program: every deal owner's department, unit and manager.

    Each region's channel sales lead manages the region's other owners and reports to the
    channel VP, who owns no deals (so is not a row).

    Returns
    -------
    pandas.DataFrame
        ``owner``, ``department``, ``unit``, ``manager``.

    Examples
    --------
    >>> owners = make_sample_owners()
    >>> owners.loc[owners["owner"] == "Lukas Brandt", ["unit", "manager"]].values.tolist()
    [['EMEA', 'Sofia Lindqvist']]
    """
    rows = [
        (owner, department, unit, _CHANNEL_VP if _REGION_LEADS[unit] == owner else _REGION_LEADS[unit])
        for owner, department, unit in _EMPLOYEES
    ]
    return pd.DataFrame(rows, columns=["owner", "department", "unit", "manager"])


def make_deals(
    n: int,
    *,
    partners: int = 500,
    months: int = 36,
    start: str = "2023-01-01",
    seed: int = 0,
) -> pd.DataFrame:
    """A synthetic canonical deals table of any size, fast (vectorised), for benchmarks and tests.

    Parameters
    ----------
    n : int
        Number of deals.
    partners : int
        Number of partners (sizes follow a Zipf-like law).
    months : int
        Months of creation dates from ``start``.
    seed : int
        Random seed.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, partners + 1) ** 0.9
    partner_idx = rng.choice(partners, n, p=weights / weights.sum())
    names = np.array([f"Partner {i:04d}" for i in range(partners)], dtype=object)
    start_ts = np.datetime64(start, "D")
    span = int((pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timestamp(start)).days)
    created = start_ts + rng.integers(0, span, n).astype("timedelta64[D]")
    cycle = np.maximum(1, rng.lognormal(np.log(45), 0.6, n)).astype(int)
    closed = created + cycle.astype("timedelta64[D]")
    end = start_ts + np.timedelta64(span, "D")
    quality = rng.beta(5, 5, partners)[partner_idx]
    won = rng.random(n) < quality
    open_ = closed > end
    status = np.where(open_, "open", np.where(won, "won", "lost"))
    units = np.array(["North America", "EMEA", "APAC", "LATAM"], dtype=object)
    owners = np.array([f"Rep {i:03d}" for i in range(60)], dtype=object)
    depts = np.array(["Channel Sales", "Inside Sales", "Alliances"], dtype=object)
    sources = np.array(["Partner Referral", "Paid Search", "Web", "Trade Show", "Email", "Word of mouth"], dtype=object)
    channels = np.array(["partner", "paid", "owned", "paid", "owned", "earned"], dtype=object)
    src_idx = rng.integers(0, len(sources), n)
    owner_idx = rng.integers(0, len(owners), n)
    amount = np.round(rng.lognormal(np.log(15_000), 0.8, n), 2)
    amount[rng.random(n) < 0.01] = np.nan
    probability = np.where(open_, rng.choice([0.1, 0.2, 0.5, 0.75, 0.9], n), np.where(won, 1.0, 0.0))
    frame = pd.DataFrame(
        {
            "deal_id": np.char.add("D", np.arange(n).astype(str)).astype(object),
            "partner": names[partner_idx],
            "owner": owners[owner_idx],
            "department": depts[owner_idx % 3],
            "unit": units[partner_idx % 4],
            "channel": channels[src_idx],
            "source": sources[src_idx],
            "stage": np.where(open_, "Negotiation/Review", np.where(won, "Closed Won", "Closed Lost")),
            "status": status,
            "created": created.astype("datetime64[ns]"),
            "closed": np.where(open_, np.datetime64("NaT"), closed).astype("datetime64[ns]"),
            "expected_close": np.where(open_, closed, np.datetime64("NaT")).astype("datetime64[ns]"),
            "amount": amount,
            "currency": "USD",
            "probability": probability,
        }
    )
    return validate_deals(frame)


# --------------------------------------------------------------------------- writing the sample
def _us_date(d: pd.Series) -> pd.Series:
    return d.map(lambda t: f"{t.month}/{t.day}/{t.year}" if pd.notna(t) else "")


def _fiscal_period(d: pd.Series) -> pd.Series:
    return d.map(lambda t: f"Q{(t.month - 1) // 3 + 1}-{t.year}" if pd.notna(t) else "")


def warehouse_frame(deals: pd.DataFrame, *, status: object = "str", text: object = "str") -> pd.DataFrame:
    """The canonical columns as a warehouse query returns them: second-resolution timestamps,
    text as ``status`` (the status column) or ``text`` (the others) dtype, ``object`` or
    ``"str"``, missing values missing, and no optional columns beyond these.

    What the KPI functions get when nobody ran :func:`channelkpi.validate_deals` first (the
    tests compare its numbers with the validated table's; the engine benchmark times both).

    >>> plain = warehouse_frame(toy_deals(), status=object)
    >>> list(plain.columns), str(plain["created"].dtype), plain["status"].dtype == object
    (['deal_id', 'partner', 'owner', 'channel', 'status', 'created', 'closed', 'amount', 'probability'], 'datetime64[s]', True)
    """
    out = {}
    for col in ["deal_id", "partner", "owner", "channel", "status", "created", "closed", "amount", "probability"]:
        values = deals[col]
        if col in ("created", "closed"):
            out[col] = values.astype("datetime64[s]")
        elif values.dtype == "float64":
            out[col] = values
        else:
            as_text = values.astype(object).where(values.notna(), None)
            out[col] = as_text if (status if col == "status" else text) is object else as_text.astype("str")
    return pd.DataFrame(out)


def salesforce_report_frame(deals: pd.DataFrame, *, records: pd.DataFrame | None = None) -> pd.DataFrame:
    """The deals as a Salesforce "Opportunities" report would show them (strings, en_US).

    Parameters
    ----------
    deals : pandas.DataFrame
        A canonical deals table.
    records : pandas.DataFrame, optional
        ``name``, ``account`` and ``product`` of each deal, in the deals' order (the sample's
        come from :func:`make_sample_records`). Without it they come from the deals' own
        ``name``/``account``/``product`` columns where those are filled, and otherwise from
        numbered placeholders (fast enough for the million-row benchmark files).

    Returns
    -------
    pandas.DataFrame
        The report's columns, every value text: ``Opportunity ID``, ``Opportunity Name``,
        ``Account Name``, ``Partner Account``, ... , ``Type`` and ``Product`` (the deal's
        product, blank where it has none).

    Examples
    --------
    >>> salesforce_report_frame(toy_deals())[["Opportunity ID", "Stage", "Amount", "Close Date"]].head(2)
      Opportunity ID       Stage  Amount Close Date
    0             d1  Closed Won  200.00  2/15/2024
    1             d2  Closed Won  400.00  3/20/2024
    """
    close = deals["closed"].fillna(deals["expected_close"])
    age = (deals["closed"].fillna(EXPORT_DATE) - deals["created"]).dt.days
    if records is None:
        records = _placeholder_records(deals)
    return pd.DataFrame(
        {
            "Opportunity ID": deals["deal_id"],
            "Opportunity Name": _text_cells(records["name"]),
            "Account Name": _text_cells(records["account"]),
            "Partner Account": deals["partner"].where(deals["partner"] != DIRECT_PARTNER, ""),
            "Opportunity Owner": deals["owner"],
            "Owner Role": deals["department"],
            "Territory Region": deals["unit"],
            "Stage": deals["stage"],
            "Fiscal Period": _fiscal_period(close),
            "Amount Currency": deals["currency"].fillna(""),
            "Amount": deals["amount"].map(lambda a: f"{a:,.2f}" if pd.notna(a) else ""),
            "Probability (%)": (deals["probability"] * 100).round().astype(int).astype(str) + "%",
            "Age": age.astype(str),
            "Close Date": _us_date(close),
            "Created Date": _us_date(deals["created"]),
            "Lead Source": deals["source"].fillna(""),
            "Type": np.where(np.arange(len(deals)) % 3 == 0, "Existing Customer - Upgrade", "New Customer"),
            "Product": _text_cells(records["product"]),
        }
    )


def _text_cells(values: pd.Series | list) -> np.ndarray:
    """Values as export cells: text, blank where missing."""
    series = pd.Series(values).astype(object)
    return series.where(series.notna(), "").astype(str).to_numpy()


def _placeholder_records(deals: pd.DataFrame) -> pd.DataFrame:
    """Name, account and product of each deal from its own columns, numbered placeholders where
    it has none (no product)."""
    customers = _customer_names(len(deals))
    placeholder = pd.DataFrame(
        {
            "name": [f"{c} - {p}" for c, p in zip(customers, _products(len(deals)), strict=True)],
            "account": customers,
            "product": None,
        }
    )
    for col in placeholder.columns:
        if col in deals.columns:
            own = deals[col].astype(object).reset_index(drop=True)
            placeholder[col] = own.where(own.notna(), placeholder[col])
    return placeholder


def _customer_names(n: int) -> list[str]:
    first = [
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Stark",
        "Wayne",
        "Wonka",
        "Tyrell",
        "Cyberdyne",
        "Soylent",
        "Hooli",
        "Vandelay",
        "Massive Dynamic",
        "Aperture",
        "Gringotts",
        "Oceanic",
        "Monarch",
        "Nakatomi",
        "Dunder",
        "Pied Piper",
    ]
    last = ["Corp", "Industries", "Logistics", "Health", "Bank", "Retail", "Foods", "Energy", "Labs", "Group"]
    return [f"{first[i % len(first)]} {last[(i * 7) % len(last)]}" for i in range(n)]


def _products(n: int) -> list[str]:
    items = [
        "Core Switch Refresh",
        "Campus Wi-Fi",
        "SD-WAN Rollout",
        "Firewall Upgrade",
        "Data Center Fabric",
        "Managed NOC Contract",
        "Branch Routers",
        "Network Assessment",
    ]
    return [items[(i * 5) % len(items)] for i in range(n)]


def write_salesforce_csv(frame: pd.DataFrame, path: Path, n_records: int) -> None:
    """A report frame (:func:`salesforce_report_frame`) as Salesforce writes a "Details Only"
    export: every value quoted, LF line ends, and the footer lines it appends."""

    def q(v: str) -> str:
        return '"' + str(v).replace('"', '""') + '"'

    lines = [",".join(q(c) for c in frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append(",".join(q(v) for v in row))
    lines += [
        "",
        q(f"Grand Totals ({n_records} records)"),
        "",
        q("Confidential Information - Do Not Distribute"),
        q("Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


#: HubSpot's deal+line-item export: deal properties, then the line item's. Repeated per line.
_HUBSPOT_HEADERS = [
    "Record ID",
    "Deal Name",
    "Associated Company",
    "Deal Stage",
    "Pipeline",
    "Close Date",
    "Create Date",
    "Deal owner",
    "HubSpot Team",
    "Region",
    "Partner",
    "Lead Source",
    "Deal probability",
    "Product",
    "Quantity",
    "Unit price",
    "Amount",
]
_HUBSPOT_FORMATS = {
    "Close Date": "yyyy-mm-dd",
    "Create Date": "yyyy-mm-dd hh:mm",
    "Deal probability": "0%",
    "Unit price": "#,##0.00",
    "Amount": "#,##0.00",
}


def _write_hubspot_xlsx(deals: pd.DataFrame, path: Path, records: pd.DataFrame, lines: pd.DataFrame) -> None:
    """One row per line item, the deal's properties repeated on each; ``Amount`` is the line's
    (a deal's amount is the sum of its lines). A deal without lines has one row with blank line
    columns."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    close = deals["closed"].fillna(deals["expected_close"])
    created = deals["created"] + pd.to_timedelta((np.arange(len(deals)) * 37) % 540, unit="min") + pd.Timedelta(hours=8)
    wb = Workbook()
    ws = wb.active
    ws.title = "All deals"
    ws.append(_HUBSPOT_HEADERS)
    by_deal: dict[object, list[tuple]] = {}
    for deal_id, product, quantity, price, amount in zip(
        lines["deal_id"], lines["product"], lines["quantity"], lines["unit_price"], lines["amount"], strict=True
    ):
        by_deal.setdefault(deal_id, []).append((product, int(quantity), float(price), float(amount)))
    for i, d in enumerate(deals.itertuples(index=False)):
        deal = [
            int(d.deal_id[5:]) + 14_000_000_000,
            records["name"].iloc[i],
            records["account"].iloc[i],
            _HUBSPOT_STAGE[d.stage],
            "Partner Pipeline" if d.partner != DIRECT_PARTNER else "Sales Pipeline",
            close.iloc[i].to_pydatetime().date() if pd.notna(close.iloc[i]) else None,
            created.iloc[i].to_pydatetime(),
            d.owner,
            d.department,
            d.unit,
            None if d.partner == DIRECT_PARTNER else d.partner,
            None if pd.isna(d.source) else d.source,
            float(d.probability),
        ]
        for line in by_deal.get(d.deal_id, [(None, None, None, None)]):
            ws.append(deal + list(line))
    for header, fmt in _HUBSPOT_FORMATS.items():
        for cell in ws[get_column_letter(_HUBSPOT_HEADERS.index(header) + 1)][1:]:
            cell.number_format = fmt
    ws.freeze_panes = "A2"
    fixed = _dt.datetime(2026, 1, 5, 9, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.save(path)


def _write_table_csv(frame: pd.DataFrame, path: Path) -> None:
    """A small table as CSV: a header row, dates as ISO, names exactly as given (a trailing space
    stays), LF line ends."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(frame.columns)
        for row in frame.itertuples(index=False):
            out.writerow(v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v for v in row)


_SAMPLE_FILES = {
    "salesforce": "kestrel_salesforce_opportunities.csv",
    "hubspot": "kestrel_hubspot_deals.xlsx",
    "targets": "kestrel_partner_targets.csv",
    "partners": "kestrel_partners.csv",
    "owners": "kestrel_owners.csv",
    "history": "kestrel_opportunity_history.csv",
    "snapshots": "snapshots",
}


def write_sample(folder: str | Path, *, seed: int = SAMPLE_SEED) -> dict[str, Path]:
    """Write the sample exports and tables into ``folder`` and return their paths by name.

    Parameters
    ----------
    folder : str or pathlib.Path
        Where to write (created if missing); ``data/sample`` in a checkout.
    seed : int
        Random seed; the bundled files use :data:`SAMPLE_SEED`.

    Returns
    -------
    dict of str to pathlib.Path
        ``salesforce``, ``hubspot``, ``targets``, ``partners``, ``owners``, ``history`` and
        ``snapshots`` (the names :func:`sample_path` takes).
    """

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    deals = make_sample_deals(seed=seed)
    records = make_sample_records(deals, seed=seed)
    paths = {name: folder / file for name, file in _SAMPLE_FILES.items()}
    sf = salesforce_report_frame(deals, records=records)
    write_salesforce_csv(sf, paths["salesforce"], len(sf))
    _write_hubspot_xlsx(deals, paths["hubspot"], records, make_sample_lines(deals, seed=seed))
    targets = make_sample_targets(deals, seed=seed)
    targets.to_csv(paths["targets"], index=False, float_format="%.2f")
    _write_table_csv(make_sample_partners(seed=seed), paths["partners"])
    _write_table_csv(make_sample_owners(), paths["owners"])
    states = make_sample_states(deals, seed=seed, export_date=EXPORT_DATE)
    write_opportunity_history(states, paths["history"])
    _write_snapshots(deals, records, states, paths["snapshots"])
    return paths


def _write_snapshots(deals: pd.DataFrame, records: pd.DataFrame, states: pd.DataFrame, folder: Path) -> None:
    """The Salesforce export as it read at the end of each snapshot day (the last one: the
    export itself), dated by its name; the folder holds nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    kind = salesforce_report_frame(deals, records=records)["Type"].to_numpy()
    universe, universe_records, universe_kind = report_universe(deals, records, states, kind)
    for day in snapshot_dates(EXPORT_DATE):
        now = sample_state(states, universe, day)
        there = universe["deal_id"].isin(now["deal_id"]).to_numpy()
        report = salesforce_report_frame(now, records=universe_records[there].reset_index(drop=True))
        # as the report read that day: each deal's age then, and its own type
        report["Age"] = (now["closed"].fillna(day) - now["created"]).dt.days.astype(str).to_numpy()
        report["Type"] = universe_kind[there]
        write_salesforce_csv(report, folder / f"{day.date().isoformat()}.csv", len(report))


def sample_path(name: str = "salesforce") -> Path:
    """Path of a bundled sample file.

    Parameters
    ----------
    name : str, default "salesforce"
        ``"salesforce"`` (report export, CSV), ``"hubspot"`` (deal+line-item export, xlsx),
        ``"targets"`` (quarterly targets), ``"partners"`` (partner table: tier, region, signed),
        ``"owners"`` (owner table: department, unit, manager), ``"history"`` (the Salesforce
        ``OpportunityHistory`` of the same deals) or ``"snapshots"`` (the folder of the Salesforce
        export as it read at each month's end and on the export day).

    Returns
    -------
    pathlib.Path
        The installed file (``channelkpi/_sample``), or ``data/sample`` in a checkout.

    Raises
    ------
    ChannelKPIError
        For a name that is not one of the above.

    Examples
    --------
    >>> sample_path("salesforce").name
    'kestrel_salesforce_opportunities.csv'
    >>> sample_path("partners").name
    'kestrel_partners.csv'
    """
    files = _SAMPLE_FILES
    if name not in files:
        from .errors import ChannelKPIError

        raise ChannelKPIError(f"no sample called {name!r}", fix=f"use one of {sorted(files)}")
    here = Path(__file__).resolve().parent
    for folder in (here / "_sample", here.parent / "data" / "sample"):
        if (folder / files[name]).exists():
            return folder / files[name]
    from .errors import FileFormatError

    raise FileFormatError(
        f"the sample file {files[name]!r} is not installed",
        fix="run `python -m channelkpi.datasets data/sample` in a checkout, or reinstall channelkpi",
    )


if __name__ == "__main__":  # python -m channelkpi.datasets [folder]
    import sys

    out = write_sample(sys.argv[1] if len(sys.argv) > 1 else "data/sample")
    for key, p in out.items():
        print(f"{key}: {p}")
