"""The tables and charts of a view are declared once (:data:`channelkpi.views.TABLES`,
:data:`channelkpi.views.CHARTS`), and what is derived from the declarations holds: two views with
equal cache keys for a table get equal tables, a maker or a chart cannot read what it does not
declare, the tiles need only :data:`channelkpi.tiles.TILE_TABLES`. The old public spellings
(``level=``, ``selected=``, ``View.filter``, names that moved) still work, with a warning.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
from pathlib import Path

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import formats, tiles, views
from channelkpi.datasets import sample_path
from channelkpi.views import View


@pytest.fixture(scope="module")
def prepared():
    return ck.prepare(ck.read_crm(sample_path("salesforce")))


@pytest.fixture(scope="module")
def targets():
    return ck.read_targets(sample_path("targets"))


def variants(targets) -> list[View]:
    """A view, and it with each field changed (some twice, some together): every field of
    :class:`View` is changed at least once, and some changes leave some tables' keys equal."""
    base = View(by="partner", freq="Q", start="2025-01-01", end="2025-12-31", targets=targets)
    r = dataclasses.replace
    out = [
        base,
        r(base, by="unit"),
        r(base, freq="M"),
        r(base, start="2024-10-01"),
        r(base, end="2025-09-30"),
        r(base, start=None),
        r(base, start=None, freq="M"),
        r(base, end=None),
        r(base, end=None, freq="Y"),
        r(base, where={"channel": ["partner"]}),
        r(base, where={"partner": ["Brightline IT", "Cobalt Integrations"]}),
        r(base, where={"partner": ["Brightline IT", "Cobalt Integrations"]}, by="unit"),
        r(base, selection=["Brightline IT"]),
        r(base, selection=["Brightline IT"], by="unit"),  # no such unit: an empty view
        r(base, by="unit", selection=["EMEA"]),
        r(base, targets=None),
        r(base, fiscal_year_start=4),
        r(base, fiscal_year_start=4, start=None),
        # the sample ends on 5 Jan 2026: only a fiscal year from April ends its default range
        # elsewhere than at the end of 2025
        r(base, fiscal_year_start=4, end=None),
        r(base, fiscal_year_start=4, end=None, freq="Y"),
    ]
    changed = {
        f.name for v in out[1:] for f in dataclasses.fields(View) if getattr(v, f.name) is not getattr(base, f.name)
    }
    assert changed == {f.name for f in dataclasses.fields(View)}
    return out


def mismatches(prepared, views_: list[View]) -> tuple[list[str], int]:
    """Pairs of views whose keys for a table are equal but whose tables differ, and how many
    pairs with equal keys there were."""
    made = [views.view_tables(prepared, v) for v in views_]
    bad, equal = [], 0
    for name in views.CHART_TABLES.keys() | {"kpis", "now", "before", "ranking", "trend"}:
        for name_ in views.CHART_TABLES.get(name, (name,)):
            for (i, a), (j, b) in itertools.combinations(enumerate(views_), 2):
                if views.table_key(name_, a) != views.table_key(name_, b):
                    continue
                equal += 1
                ta, tb = made[i].get(name_), made[j].get(name_)
                if (ta is None) != (tb is None):
                    bad.append(f"{name_}: views {i} and {j}")
                elif ta is not None:
                    try:
                        pd.testing.assert_frame_equal(ta, tb)
                    except AssertionError:
                        bad.append(f"{name_}: views {i} and {j}")
    return sorted(set(bad)), equal


@pytest.mark.slow
def test_views_with_equal_keys_for_a_table_get_equal_tables(prepared, targets):
    bad, equal = mismatches(prepared, variants(targets))
    assert not bad
    assert equal > 50  # the check compared something: e.g. the totals do not depend on by or freq


@pytest.mark.slow
def test_a_key_that_leaves_out_what_the_value_depends_on_is_caught(prepared, targets, monkeypatch):
    # the default range depends on the period size: a key without it makes two views share a
    # cache entry although their ranges differ
    wrong = dataclasses.replace(views.INPUTS["range"], key=lambda v: (str(v.start), str(v.end)))
    monkeypatch.setitem(views.INPUTS, "range", wrong)
    bad, _ = mismatches(prepared, variants(targets))
    assert any(b.startswith("now:") for b in bad)


@pytest.mark.slow
def test_a_maker_cannot_read_an_input_its_declaration_does_not_list(prepared, monkeypatch):
    for name, table in views.TABLES.items():
        for dropped in table.inputs:
            short = dataclasses.replace(table, inputs=tuple(i for i in table.inputs if i != dropped))
            with monkeypatch.context() as m:
                m.setitem(views.TABLES, name, short)
                shown = name if table.shown else {"scores": "ranking", "period_scores": "kpis"}[name]
                view = View(start="2025-01-01", end="2025-12-31", targets=ck.read_targets(sample_path("targets")))
                with pytest.raises(LookupError, match=f"reads '{dropped}'"):
                    views.view_tables(prepared, view, only=[shown])


def test_the_table_inputs_are_derived_from_the_declarations():
    assert views.TABLE_INPUTS["now"] == ("fiscal_year_start", "range", "where")
    # the KPI table is made from the scores among the ranking's peers: their inputs are its inputs
    assert set(views.TABLE_INPUTS["kpis"]) == {"fiscal_year_start", "by", "freq", "peers", "range", "where"}
    assert set(views.TABLE_INPUTS["ranking"]) == {"fiscal_year_start", "by", "peers", "range", "shown"}
    assert views.CHART_TABLES["waterfall"] == ("waterfall", "targets")
    assert views.CHART_TITLES == {name: chart.title for name, chart in views.CHARTS.items()}


@pytest.mark.slow
def test_each_chart_needs_only_the_tables_it_declares(prepared, monkeypatch):
    tables = views.view_tables(
        prepared, View(start="2025-01-01", end="2025-12-31", targets=ck.read_targets(sample_path("targets")))
    )
    for name, needs in views.CHART_TABLES.items():
        chart = views.view_charts({t: tables[t] for t in needs if t in tables}, only=[name])[name]
        assert chart.to_dict()["description"], name
    short = dataclasses.replace(views.CHARTS["waterfall"], tables=("waterfall",))
    monkeypatch.setitem(views.CHARTS, "waterfall", short)
    with pytest.raises(LookupError, match="reads 'targets'"):
        views.view_charts(tables, only=["waterfall"])


@pytest.mark.slow
def test_the_tiles_need_only_their_tables(prepared):
    tables = views.view_tables(prepared, View(start="2025-01-01", end="2025-12-31"))
    assert tiles.tile_values({t: tables[t] for t in tiles.TILE_TABLES}) == tiles.tile_values(tables)


# --------------------------------------------------------------------------- one vocabulary
@pytest.mark.slow
def test_the_old_keywords_work_with_a_warning(prepared):
    new = View(by="unit", freq="Q", start="2025-01-01", end="2025-12-31", selection=["EMEA"])
    with pytest.warns(DeprecationWarning, match="by="):
        old = View(level="unit", freq="Q", start="2025-01-01", end="2025-12-31", selection=["EMEA"])
    assert old == new
    with pytest.warns(DeprecationWarning, match="selection="):
        assert View(by="unit", freq="Q", start="2025-01-01", end="2025-12-31", selected=["EMEA"]) == new
    with pytest.warns(DeprecationWarning, match="View.by"):
        assert new.level == "unit"
    with pytest.warns(DeprecationWarning, match="View.selection"):
        assert list(new.selected) == ["EMEA"]
    with pytest.warns(DeprecationWarning, match="effective_where"):
        assert new.filter == {"unit": ["EMEA"]}
    with pytest.warns(DeprecationWarning, match="by="):
        tables = views.view_tables(prepared, level="unit", start="2025-01-01", end="2025-12-31", only=["kpis"])
    assert list(tables["kpis"].columns[:1]) == ["unit"]
    with pytest.warns(DeprecationWarning, match="by="):
        charts = views.view_charts({"ranking": tables_ranking(prepared)}, level="unit", only=["ranking"])
    assert "Unit" in str(charts["ranking"].to_dict())
    with pytest.raises(TypeError, match="both"):
        views.view_tables(prepared, level="unit", by="unit")
    with pytest.raises(TypeError, match="colour"):
        View(colour="red")


def tables_ranking(prepared):
    return views.view_tables(prepared, View(by="unit", start="2025-01-01", end="2025-12-31"), only=["ranking"])[
        "ranking"
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("LEVEL_TITLES", formats.BY_TITLES),
        ("view_filter", views.view_where),
        ("tile_values", tiles.tile_values),
        ("tiles_html", tiles.tiles_html),
        ("CSS", tiles.CSS),
        ("TILE_TABLES", tiles.TILE_TABLES),
        ("format_value", formats.format_value),
    ],
)
def test_names_that_moved_still_import_with_a_warning(old, new):
    with pytest.warns(DeprecationWarning, match=old):
        assert getattr(views, old) is new


def test_the_public_names_of_views_say_by_and_where():
    words = set()
    for name in views.__all__:
        obj = getattr(views, name)
        words.add(name.lower())
        if callable(obj):
            import inspect

            try:
                words.update(inspect.signature(obj).parameters)
            except (TypeError, ValueError):
                pass
    words.update(f.name for f in dataclasses.fields(View))
    assert not [w for w in words if "level" in w or "filter" in w or w == "selected"]


# --------------------------------------------------------------------------- one place for formats
FORMATTING = ("views.py", "tiles.py", "widgets.py", "reports.py", "charts.py")


def number_formats(path: Path) -> list[str]:
    """The f-string format specs that round or scale a number (``:,.0f``, ``:.1%``, ``:+.1f`` ...):
    a KPI's format. (``:,`` alone, a count of rows with thousands separators, is not one.)"""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if re.search(r"\.\d+[fFeEgG%]|%$", spec) and not spec.startswith("%"):  # "%b %Y" is a date
                found.append(f"{path.name}:{node.lineno} :{spec}")
    return found


def test_numbers_are_formatted_only_in_the_formats_module():
    root = Path(views.__file__).parent
    assert number_formats(root / "formats.py")  # the check sees formats where they are
    assert [f for name in FORMATTING for f in number_formats(root / name)] == []
