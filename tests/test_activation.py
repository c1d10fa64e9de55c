"""Partner activation: values worked out by hand on a small table, and on a generated one against
DuckDB SQL written from the definition, on every engine."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_deals


# --------------------------------------------------------------------------- by hand
def _hand_deals() -> pd.DataFrame:
    rows = [
        # deal, partner, status, created, closed
        ("a1", "Acme", "won", "2023-12-20", "2024-01-05"),  # before signing: does not count, not even the win
        ("a2", "Acme", "lost", "2024-01-21", "2024-02-10"),
        ("a3", "Acme", "won", "2024-03-01", "2024-03-31"),
        ("a4", "Acme", "open", None, None),  # no created date
        ("b1", "Birch", "open", "2024-04-15", None),
        ("b2", "Birch", "won", "2024-05-01", None),  # a win without a close date dates no win
        ("e1", "Elm", "won", "2024-02-10", "2024-02-20"),
        ("f1", "Fir", "won", "2024-05-25", "2024-07-15"),  # won after as_of: open as of then
        ("f2", "Fir", "open", "2024-07-01", None),  # created after as_of
        ("g1", "Gum", "open", "2024-06-05", None),
        ("x1", "(direct)", "won", "2024-03-03", "2024-03-09"),
        ("z1", "Zed", "open", "2024-02-02", None),  # Zed is not in the partner table
        ("z2", "Zed", "lost", "2024-04-04", "2024-04-20"),
    ]
    return ck.validate_deals(pd.DataFrame(rows, columns=["deal_id", "partner", "status", "created", "closed"]))


HAND_PARTNERS = pd.DataFrame(
    {
        "partner": ["Acme", "Birch", "Cedar", "Dune", "Elm", "Fir", "Gum"],
        "signed": ["2024-01-01", "2024-02-01", "2024-06-10", "2024-03-01", None, "2024-05-20", "2024-06-01"],
        "tier": ["gold", "silver", "silver", "gold", "bronze", "gold", "silver"],
    }
)


def _hand(**options):
    with pytest.warns(UserWarning, match=r"1 partner\(s\) with deals are not in the partner table.*'Zed'"):
        return ck.partner_activation(
            _hand_deals(), partners=HAND_PARTNERS, within=30, as_of="2024-06-30", trailing=90, **options
        )


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.mark.slow
def test_per_partner_days_and_status_by_hand():
    got = _hand().partners.set_index("partner")
    # partner: first created, first won, days to each, deals, won, before signing, eligible, status
    expected = {
        "Acme": ("2024-01-21", "2024-03-31", 20, 90, 2, 1, 1, True, "activated"),
        "Birch": ("2024-04-15", None, 74, None, 2, 0, 0, True, "not activated"),
        "Dune": (None, None, None, None, 0, 0, 0, True, "not activated"),
        "Fir": ("2024-05-25", None, 5, None, 1, 0, 0, True, "activated"),
        "Gum": ("2024-06-05", None, 4, None, 1, 0, 0, False, "activated"),  # early: not yet eligible
        "Cedar": (None, None, None, None, 0, 0, 0, False, "pending"),
        "Elm": ("2024-02-10", "2024-02-20", None, None, 1, 1, 0, False, "no signed date"),
    }
    assert list(got.index) == ["Acme", "Birch", "Dune", "Fir", "Gum", "Cedar", "Elm"]  # by signed date
    for partner, (first, won, d_first, d_win, deals, n_won, before, eligible, status) in expected.items():
        row = got.loc[partner]
        assert (pd.isna(row["first_created"]) and first is None) or row["first_created"] == pd.Timestamp(first)
        assert (pd.isna(row["first_won"]) and won is None) or row["first_won"] == pd.Timestamp(won), partner
        assert (pd.isna(row["days_to_first_deal"]) and d_first is None) or row["days_to_first_deal"] == d_first, partner
        assert (pd.isna(row["days_to_first_win"]) and d_win is None) or row["days_to_first_win"] == d_win, partner
        assert (row["deals"], row["won"], row["deals_before_signed"]) == (deals, n_won, before), partner
        assert (bool(row["eligible"]), row["status"]) == (eligible, status), partner


@pytest.mark.slow
def test_summary_by_tier_by_hand():
    got = _hand(by="tier").summary.set_index("tier")
    assert list(got.index) == ["bronze", "gold", "silver"]
    columns = ["partners", "no_signed_date", "signed", "pending", "eligible", "activated", "activated_late"]
    assert got.loc["gold", columns].tolist() == [3, 0, 3, 0, 3, 2, 0]  # Acme, Fir activated; Dune not
    assert got.loc["silver", columns].tolist() == [3, 0, 3, 2, 1, 0, 1]  # Cedar, Gum pending; Birch late
    assert got.loc["bronze", columns].tolist() == [1, 1, 0, 0, 0, 0, 0]  # Elm: no signed date
    assert got["not_activated"].tolist() == [0, 1, 1]
    assert got.loc["gold", "activation_rate"] == pytest.approx(2 / 3)
    low, high = _wilson(2, 3)
    assert got.loc["gold", "activation_rate_low"] == pytest.approx(low)
    assert got.loc["gold", "activation_rate_high"] == pytest.approx(high)
    assert got.loc["silver", "activation_rate"] == 0.0
    assert np.isnan(got.loc["bronze", "activation_rate"]) and np.isnan(got.loc["bronze", "activation_rate_low"])
    assert got.loc["gold", "median_days_to_first_deal"] == 12.5  # Acme 20, Fir 5
    assert got.loc["silver", "median_days_to_first_deal"] == 39.0  # Birch 74, Gum 4
    assert got.loc["gold", "median_days_to_first_win"] == 90.0
    assert np.isnan(got.loc["silver", "median_days_to_first_win"])


@pytest.mark.slow
def test_active_partners_per_month_by_hand():
    got = _hand().active
    assert got["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    # signed by the month's end (Elm, without a date, always): Acme+Elm, +Birch, +Dune, -, +Fir, +Gum+Cedar
    assert got["partners"].tolist() == [2, 3, 4, 4, 5, 7]
    # a counted deal created in the 90 days to the month's end (Acme's December deal predates signing)
    assert got["active"].tolist() == [1, 2, 2, 3, 2, 3]
    assert got["window_end"].iloc[-1] == pd.Timestamp("2024-06-30")
    # the deals begin on 20 December 2023: a 90-day window is whole from the one ending on
    # 18 March; before it the share would count partners inactive for want of data
    assert got["window_complete"].tolist() == [False, False, True, True, True, True]
    assert got["active_share"].iloc[:2].isna().all() and got["active_share"].iloc[2] == 0.5


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "prepared"])
@pytest.mark.slow
def test_the_edges_of_both_windows(engine):
    """Day 0 is the signing day; day ``within`` still activates and makes a partner eligible; the
    activity window holds the ``trailing`` days up to its end and not the day before them."""
    partners = pd.DataFrame(
        {
            "partner": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "signed": ["2024-05-31", "2024-06-01", "2024-03-01", "2024-03-01", "2024-03-01", "2024-03-01"],
        }
    )
    rows = [
        ("d3", "P3", "2024-03-31"),  # day 30
        ("d4", "P4", "2024-04-01"),  # day 31; 90 days before 30 June: just outside the activity window
        ("d5", "P5", "2024-04-02"),  # day 32; the activity window's first day
        ("d6a", "P6", "2024-02-29"),  # the day before signing
        ("d6b", "P6", "2024-03-01"),  # day 0
    ]
    deals = ck.validate_deals(
        pd.DataFrame(
            {
                "deal_id": [r[0] for r in rows],
                "partner": [r[1] for r in rows],
                "status": "open",
                "created": [r[2] for r in rows],
            }
        )
    )
    table = ck.prepare(deals) if engine == "prepared" else deals
    result = ck.partner_activation(
        table,
        partners=partners,
        within=30,
        as_of="2024-06-30",
        trailing=90,
        freq=None,
        engine="auto" if engine != "pandas" else "pandas",
    )
    got = result.partners.set_index("partner")
    assert got["status"].astype(str).to_dict() == {
        "P1": "not activated",
        "P2": "pending",
        "P3": "activated",
        "P4": "not activated",
        "P5": "not activated",
        "P6": "activated",
    }
    assert got["eligible"].to_dict() == {"P1": True, "P2": False, "P3": True, "P4": True, "P5": True, "P6": True}
    assert got.loc["P6", ["days_to_first_deal", "deals", "deals_before_signed"]].tolist() == [0, 1, 1]
    assert result.summary[["eligible", "activated", "activated_late", "pending"]].iloc[0].tolist() == [5, 2, 2, 1]
    assert result.active[["partners", "active"]].iloc[0].tolist() == [6, 1]


@pytest.mark.slow
def test_active_window_end_is_cut_at_as_of_and_freq_none_is_one_row():
    with pytest.warns(UserWarning):
        cut = ck.partner_activation(
            _hand_deals(), partners=HAND_PARTNERS, within=30, as_of="2024-06-12", trailing=90, freq="Q"
        )
    assert cut.active["period"].tolist() == ["2024-Q1", "2024-Q2"]
    assert cut.active["window_end"].tolist() == [pd.Timestamp("2024-03-31"), pd.Timestamp("2024-06-12")]
    # 12 June: Acme, Birch, Dune, Elm, Fir, Gum, Cedar signed; deals since 15 March: Birch, Fir, Gum
    assert cut.active[["partners", "active"]].iloc[-1].tolist() == [7, 3]
    one = _hand(freq=None).active
    assert list(one.columns) == ["window_end", "window_complete", "partners", "active", "active_share"]
    assert one[["partners", "active"]].iloc[0].tolist() == [7, 3]


@pytest.mark.slow
def test_exclusions_unlisted_partners_and_the_count_of_used_deals():
    result = _hand()
    assert result.excluded == {
        "filtered_out": 0,
        "no_partner": 1,
        "not_in_partner_table": 2,
        "before_signed": 1,
        "no_created_date": 1,
        "after_as_of": 1,
    }
    assert result.unlisted.to_dict("list") == {
        "partner": ["Zed"],
        "deals": [2],
        "first_created": [pd.Timestamp("2024-02-02")],
    }
    meta = result.summary.attrs["channelkpi"]
    assert (meta["rows"], meta["used"], meta["as_of"]) == (13, 7, "2024-06-30")
    assert "Zed" in result.warnings[0]
    assert "partner activation" in ck.explain("partner_activation").lower()
    assert "rows:      13 in the table, 7 used" in ck.explain(result.summary)


@pytest.mark.slow
def test_start_and_end_select_signing_dates_and_periods():
    result = _hand(start="2024-02-01", end="2024-05-31")
    assert result.partners["partner"].tolist() == ["Birch", "Dune", "Fir"]  # Elm has no date to place
    assert result.active["period"].tolist() == ["2024-02", "2024-03", "2024-04", "2024-05"]
    # every partner of the table counts in the active table (start/end bound its periods only)
    assert result.active["partners"].tolist() == [3, 4, 4, 5]
    # without as_of, the range is read as of its end: Fir (signed 20 May) is then pending
    with pytest.warns(UserWarning):
        at_end = ck.partner_activation(_hand_deals(), partners=HAND_PARTNERS, within=30, end="2024-05-31")
    assert at_end.as_of == pd.Timestamp("2024-05-31")
    assert at_end.partners.set_index("partner")["status"].astype(str).to_dict() == {
        "Acme": "activated",
        "Birch": "not activated",
        "Dune": "not activated",
        "Fir": "activated",  # its deal of 25 May: activated before its window closed
    }
    assert at_end.summary[["eligible", "pending"]].iloc[0].tolist() == [3, 1]


@pytest.mark.slow
def test_where_filters_deals_and_as_of_defaults_to_the_last_date():
    deals = _hand_deals().assign(channel=["partner"] * 6 + ["paid"] + ["partner"] * 6)
    with pytest.warns(UserWarning):
        result = ck.partner_activation(deals, partners=HAND_PARTNERS, within=30, where={"channel": ["partner"]})
    assert result.as_of == pd.Timestamp("2024-07-15")  # f1's close date, the last date in the deals
    elm = result.partners.set_index("partner").loc["Elm"]
    assert elm["deals"] == 0 and pd.isna(elm["first_created"])  # its only deal is a paid one
    assert result.excluded["filtered_out"] == 1
    # signed dates count as data: a partner signed after the last deal moves as_of
    later = HAND_PARTNERS.assign(signed=HAND_PARTNERS["signed"].replace("2024-06-10", "2024-08-01"))
    with pytest.warns(UserWarning):
        assert ck.partner_activation(_hand_deals(), partners=later).as_of == pd.Timestamp("2024-08-01")


@pytest.mark.slow
def test_a_load_result_gives_deals_and_partners():
    loaded = types.SimpleNamespace(deals=_hand_deals(), partners=HAND_PARTNERS)
    with pytest.warns(UserWarning):
        got = ck.partner_activation(loaded, within=30, as_of="2024-06-30", trailing=90)
    pd.testing.assert_frame_equal(got.partners, _hand().partners)
    with pytest.warns(UserWarning):
        other = ck.partner_activation(loaded, partners=HAND_PARTNERS.iloc[:2], as_of="2024-06-30")
    assert other.partners["partner"].tolist() == ["Acme", "Birch"]


@pytest.mark.slow
def test_direct_in_the_partner_table_is_ignored_and_the_input_is_not_modified():
    deals = _hand_deals()
    before = deals.copy()
    table = pd.concat([HAND_PARTNERS, pd.DataFrame({"partner": ["(direct)", "Zed"], "signed": ["2024-01-01"] * 2})])
    with pytest.warns(UserWarning, match=r"\(direct\), which is never a partner"):
        result = ck.partner_activation(deals, partners=table, within=30, as_of="2024-06-30")
    assert "(direct)" not in set(result.partners["partner"]) and len(result.unlisted) == 0
    pd.testing.assert_frame_equal(deals, before)


@pytest.mark.parametrize(
    ("partners", "options", "message"),
    [
        (None, {}, "needs a partner table"),
        (HAND_PARTNERS.drop(columns="signed"), {}, r"no 'signed' column; its columns are \['partner', 'tier'\]"),
        (HAND_PARTNERS.rename(columns={"partner": "name"}), {}, "no 'partner' column"),
        (pd.concat([HAND_PARTNERS, HAND_PARTNERS.iloc[[1]]]), {}, r"lists 'Birch' more than once \(rows \[3, 9\]\)"),
        (HAND_PARTNERS.assign(signed=["2024-01-01", "soon", *[None] * 5]), {}, "row 3.*'soon'"),
        (HAND_PARTNERS, {"by": "region"}, "by='region' is not a column of the partner table"),
        (HAND_PARTNERS, {"within": -1}, "within=-1"),
        (HAND_PARTNERS, {"trailing": 0}, "trailing=0"),
    ],
)
def test_bad_input_is_a_clear_error(partners, options, message):
    with pytest.raises(ck.ChannelKPIError, match=message):
        ck.partner_activation(_hand_deals(), partners=partners, **options)


# --------------------------------------------------------------------------- generated, against SQL
AS_OF = "2025-03-31"
WITHIN, TRAILING = 60, 180


@pytest.fixture(scope="module")
def generated():
    deals = make_deals(4000, partners=80, months=24, seed=11).copy()
    rng = np.random.default_rng(11)
    idx = rng.choice(len(deals), 200, replace=False)
    deals.loc[idx[:40], "created"] = pd.NaT
    deals.loc[idx[40:80], "partner"] = "(direct)"
    won = deals.index[deals["status"] == "won"]
    deals.loc[won[:25], "closed"] = pd.NaT
    deals = ck.validate_deals(deals)
    names = [f"Partner {i:04d}" for i in range(75)] + ["Newcomer", "Dormant"]  # 75-79 are unlisted
    signed = pd.Timestamp("2022-09-01") + pd.to_timedelta(rng.integers(0, 930, len(names)), unit="D")
    partners = pd.DataFrame({"partner": names, "signed": signed, "tier": rng.choice(["gold", "silver"], len(names))})
    partners.loc[[5, 17], "signed"] = pd.NaT
    partners.loc[len(names) - 2, "signed"] = pd.Timestamp("2025-03-20")  # pending, no deals
    return deals, partners


def _sql_expected(deals: pd.DataFrame, partners: pd.DataFrame, where_channels: list[str]):
    """The definition, in SQL: one query per table."""
    import duckdb

    con = duckdb.connect()
    con.register("deals", deals.assign(status=deals["status"].astype(str)))
    con.register("partners", partners)
    channels = ", ".join(f"'{c}'" for c in where_channels)
    counted = f"""
        SELECT d.partner, CAST(d.created AS DATE) AS cr, CAST(d.closed AS DATE) AS cl, d.status
        FROM deals d JOIN partners p ON d.partner = p.partner
        WHERE d.channel IN ({channels}) AND d.created IS NOT NULL AND CAST(d.created AS DATE) <= DATE '{AS_OF}'
          AND (p.signed IS NULL OR CAST(d.created AS DATE) >= CAST(p.signed AS DATE))
    """
    per_partner = con.sql(f"""
        WITH c AS ({counted})
        SELECT p.partner, p.tier, CAST(p.signed AS DATE) AS signed, min(c.cr) AS first_created,
               min(CASE WHEN c.status = 'won' AND c.cl IS NOT NULL AND c.cl <= DATE '{AS_OF}' THEN c.cl END) AS first_won,
               count(c.cr) AS deals
        FROM partners p LEFT JOIN c ON c.partner = p.partner
        GROUP BY ALL
    """).df()
    # the deals begin on the first created or close date of any deal, whatever the filter
    start = "(SELECT least(min(CAST(created AS DATE)), min(CAST(closed AS DATE))) FROM deals)"
    per_partner["status"] = con.sql(f"""
        SELECT CASE WHEN signed IS NULL THEN 'no signed date'
                    WHEN date_diff('day', signed, first_created) <= {WITHIN} THEN 'activated'
                    WHEN signed < {start} THEN 'signed before the data'
                    WHEN date_diff('day', signed, DATE '{AS_OF}') >= {WITHIN} THEN 'not activated'
                    ELSE 'pending' END AS status
        FROM per_partner
    """).df()["status"]
    summary = con.sql(f"""
        WITH s AS (SELECT *, signed IS NOT NULL AND signed >= {start} AS judged FROM per_partner)
        SELECT tier,
               count(*) FILTER (WHERE judged AND date_diff('day', signed, DATE '{AS_OF}') >= {WITHIN}) AS eligible,
               count(*) FILTER (WHERE judged AND date_diff('day', signed, DATE '{AS_OF}') >= {WITHIN}
                                AND date_diff('day', signed, first_created) <= {WITHIN}) AS activated,
               count(*) FILTER (WHERE judged AND date_diff('day', signed, DATE '{AS_OF}') < {WITHIN}) AS pending,
               count(*) FILTER (WHERE signed IS NOT NULL AND NOT judged) AS signed_before_data
        FROM s GROUP BY tier ORDER BY tier
    """).df()
    active = con.sql(f"""
        WITH c AS ({counted}),
        ends AS (SELECT least(CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE), DATE '{AS_OF}') AS e
                 FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '{AS_OF}', INTERVAL 1 MONTH) t(m))
        SELECT e,
               count(*) FILTER (WHERE p.signed IS NULL OR CAST(p.signed AS DATE) <= e) AS partners,
               count(*) FILTER (WHERE (p.signed IS NULL OR CAST(p.signed AS DATE) <= e) AND EXISTS (
                   SELECT 1 FROM c WHERE c.partner = p.partner AND c.cr <= e AND c.cr > e - {TRAILING})) AS active
        FROM ends, partners p GROUP BY e ORDER BY e
    """).df()
    return per_partner.set_index("partner"), summary, active


ENGINES = ["pandas", "duckdb", "prepared", "polars", "polars_lazy", "duckdb_parquet", "spark"]


def _on(engine, deals, request, tmp_path_factory):
    if engine == "prepared":
        return ck.prepare(deals)
    if engine in ("polars", "polars_lazy"):
        pl = pytest.importorskip("polars")
        frame = pl.from_pandas(deals.assign(status=deals["status"].astype(str)))
        return frame.lazy() if engine == "polars_lazy" else frame
    if engine in ("duckdb_parquet", "spark"):
        folder = tmp_path_factory.mktemp("activation") / "deals"
        ck.to_parquet(deals, folder)
        if engine == "spark":
            return request.getfixturevalue("spark").read.parquet(str(folder))
        import duckdb

        return duckdb.connect().read_parquet(str(folder / "*.parquet"))
    return deals


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.slow
def test_generated_table_matches_sql_on_every_engine(engine, generated, request, tmp_path_factory):
    deals, partners = generated
    channels = ["partner", "paid", "earned"]
    native = _on(engine, deals, request, tmp_path_factory)
    with pytest.warns(UserWarning) as caught:
        got = ck.partner_activation(
            native,
            partners=partners,
            by="tier",
            within=WITHIN,
            trailing=TRAILING,
            as_of=AS_OF,
            start=None,
            where={"channel": channels},
            engine="pandas" if engine == "pandas" else "auto",
        )
    assert got.engine == {
        "pandas": "pandas",
        "prepared": "numpy",
        "polars_lazy": "polars",
        "duckdb_parquet": "duckdb",
    }.get(engine, "pyspark" if engine == "spark" else engine)
    per_partner, summary, active = _sql_expected(deals, partners, channels)
    mine = got.partners.set_index("partner").loc[per_partner.index]
    for column in ("first_created", "first_won"):
        expected = pd.to_datetime(per_partner[column])
        assert ((mine[column] == expected) | (mine[column].isna() & expected.isna())).all(), column
    assert (mine["deals"] == per_partner["deals"]).all()
    assert (mine["status"].astype(str) == per_partner["status"]).all()
    assert set(per_partner["status"]) == {
        "activated",
        "not activated",
        "pending",
        "no signed date",
        "signed before the data",
    }
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and messages[0].startswith("5 partner(s) with deals are not in the partner table")
    early = (partners["signed"] < pd.Timestamp("2023-01-01")).sum()  # the deals begin on 1 January 2023
    assert messages[1].startswith(f"{early} partner(s) signed before the deals begin (2023-01-01)")
    s = got.summary.set_index("tier").loc[summary["tier"]]
    assert s["eligible"].tolist() == summary["eligible"].tolist()
    assert s["activated"].tolist() == summary["activated"].tolist()
    assert s["pending"].tolist() == summary["pending"].tolist()
    assert s["signed_before_data"].tolist() == summary["signed_before_data"].tolist()
    totals = got.active.groupby("window_end")[["partners", "active"]].sum()
    totals = totals[totals.index >= pd.Timestamp("2024-01-01")]
    assert totals.index.tolist() == pd.to_datetime(active["e"]).tolist()
    assert totals["partners"].tolist() == active["partners"].tolist()
    assert totals["active"].tolist() == active["active"].tolist()
    unlisted = deals[
        deals["partner"].isin([f"Partner {i:04d}" for i in range(75, 80)]) & deals["channel"].isin(channels)
    ]
    assert got.unlisted.set_index("partner")["deals"].to_dict() == unlisted["partner"].value_counts().to_dict()
    assert got.unlisted["deals"].is_monotonic_decreasing


@pytest.mark.slow
def test_every_engine_gives_the_pandas_tables(generated, tmp_path_factory, request):
    deals, partners = generated
    options = {"partners": partners, "by": "tier", "freq": "Q", "within": 45, "start": "2023-06-01"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = ck.partner_activation(deals, engine="pandas", **options)
        for engine in ("duckdb", "prepared", "polars_lazy"):
            got = ck.partner_activation(_on(engine, deals, request, tmp_path_factory), **options)
            for table in ("partners", "summary", "active", "unlisted"):
                pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table), obj=f"{engine} {table}")
            assert got.excluded == expected.excluded and got.as_of == expected.as_of


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "prepared"])
@pytest.mark.slow
def test_no_deals_at_all(engine):
    empty = _hand_deals().iloc[:0]
    table = ck.prepare(empty) if engine == "prepared" else empty
    engine_option = "pandas" if engine == "pandas" else "auto"
    result = ck.partner_activation(table, partners=HAND_PARTNERS, within=30, engine=engine_option)
    assert result.as_of == pd.Timestamp("2024-06-10")  # the last signed date: nothing else is dated
    assert result.partners.set_index("partner").loc["Acme", "status"] == "not activated"
    assert result.active["active"].sum() == 0
    undated = HAND_PARTNERS.assign(signed=None)
    with pytest.raises(ck.ChannelKPIError, match="no date in the deals or the partner table"):
        ck.partner_activation(table, partners=undated, engine=engine_option)


@pytest.mark.slow
def test_partners_signed_before_the_deals_begin_are_not_judged():
    # the deals begin on 10 January 2024: a partner signed before then may have had its first
    # deal before the data, so only a deal seen inside its window says anything
    deals = ck.validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["d1", "d2", "d3", "d4"],
                "partner": ["Old", "Older", "New", "Old"],
                "status": ["open", "open", "open", "open"],
                "created": pd.to_datetime(["2024-01-20", "2024-03-01", "2024-05-01", "2024-01-10"]),
            }
        )
    )
    partners = pd.DataFrame({"partner": ["Old", "Older", "New"], "signed": ["2023-11-01", "2023-06-01", "2024-01-15"]})
    with pytest.warns(UserWarning, match=r"2 partner\(s\) signed before the deals begin \(2024-01-10\)") as caught:
        got = ck.partner_activation(deals, partners=partners, within=90, trailing=90, as_of="2024-06-30")
    assert "'Older'" in str(caught[0].message)
    rows = got.partners.set_index("partner")
    # Old: first deal seen on day 70 (1 Nov -> 10 Jan), inside its window: activated, yet not judged
    assert rows.loc["Old", "days_to_first_deal"] == 70 and rows.loc["Old", "status"] == "activated"
    assert rows.loc["Older", "status"] == "signed before the data"  # 274 days: nothing in the data says
    assert rows.loc["New", "status"] == "not activated"  # 107 days from 15 Jan to 1 May
    assert rows["eligible"].tolist() == [False, False, True]  # Older, Old, New by signed date
    summary = got.summary.iloc[0]
    assert (summary["signed_before_data"], summary["eligible"], summary["activated"], summary["pending"]) == (
        2,
        1,
        0,
        0,
    )
    active = got.active.set_index("window_end")
    # a 90-day window ending on 31 January reaches back to 3 November, before the deals
    assert not active.loc["2024-01-31", "window_complete"] and np.isnan(active.loc["2024-01-31", "active_share"])
    # ending on 30 April it starts on 1 February: complete; Old (10/20 Jan) is no longer active
    assert active.loc["2024-04-30", "window_complete"]
    assert active.loc["2024-04-30", ["partners", "active"]].tolist() == [3, 1]
