"""Recorded results: the canonical tables, ledgers and KPI tables of the sample and the real
exports, compared cell for cell with what was recorded before the engine and the loader were
restructured. A change to any number, date, label or ledger row fails here, naming the case and
the column.

The recordings are per-column digests (values written with 12 significant digits), so a real
export's data never enters the repository; the sample's quarterly partner table is also kept in
full (``tests/golden/sample_kpis_partner_q.csv``) to show which cell moved.
``CHANNELKPI_RECORD_GOLDEN=1 pytest tests/test_golden.py`` records them again: only do that
when a number is meant to change, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path

GOLDEN = Path(__file__).parent / "golden"
RECORD = bool(os.environ.get("CHANNELKPI_RECORD_GOLDEN"))


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.12g}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def digests(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's values (in row order) as one digest, plus the column order and row count."""
    out = {"__columns__": "|".join(map(str, frame.columns)), "__rows__": str(len(frame))}
    for col in frame.columns:
        values = frame[col].astype(object).where(frame[col].notna(), None).tolist()
        text = "\x1f".join(_text(v) for v in values)
        out[str(col)] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def _sample_cases(deals: pd.DataFrame, targets: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "kpis_partner_q": ck.kpi_table(deals, by="partner", freq="Q"),
        "kpis_month_compare": ck.kpi_table(deals, freq="M", compare="previous"),
        "kpis_owner_fy4": ck.kpi_table(deals, by="owner", freq="Y", fiscal_year_start=4),
        "kpis_unit_channel_range": ck.kpi_table(
            deals, by=["unit", "channel"], start="2024-03-10", end="2025-06-30", where={"channel": ["partner", "paid"]}
        ),
        "kpis_week": ck.kpi_table(deals, freq="W", start="2025-01-01", end="2025-03-31"),
        "pipeline_stage": ck.pipeline(deals, by="stage"),
        "pipeline_targets": ck.pipeline(deals, by="partner", freq="Q", targets=targets),
        "waterfall_m": ck.pipeline_waterfall(deals, freq="M"),
        "channels_q": ck.channel_performance(deals, freq="Q"),
        "seasonality_unit": ck.seasonality(deals, by="unit"),
        "cycles": ck.cycle_distribution(deals),
        "velocity_q": ck.deal_velocity(deals, freq="Q", compare="year"),
        "size_open_q": ck.average_deal_size(deals, basis="open", freq="Q"),
        "win_value_channel": ck.win_rate(deals, by="channel", weight="value"),
        "win_created_y": ck.win_rate(deals, freq="Y", denominator="created"),
        "quality_y": ck.quality_score(deals, freq="Y"),
        "success_unit_q": ck.deal_success(deals, by="unit", freq="Q"),
        "count_department": ck.deal_count(deals, by="department", freq="Y", compare="previous"),
    }


def _load_cases(name: str, result) -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame([result.summary()])
    return {
        f"{name}_deals": result.deals,
        f"{name}_ledger": result.ledger,
        f"{name}_summary": summary,
        f"{name}_warnings": pd.DataFrame({"warning": list(result.warnings)}),
        f"{name}_kpis": ck.kpi_table(result.deals, by="partner", freq="Q"),
        f"{name}_kpis_owner": ck.kpi_table(result.deals, by="owner", freq="M"),
    }


def _realdata_path(relative: str) -> Path | None:
    from conftest import REALDATA

    path = REALDATA / relative
    return path if path.exists() else None


def cases() -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    sf = ck.load_crm(sample_path("salesforce"))
    out.update(_load_cases("sample_salesforce", sf))
    out.update({f"sample_{k}": v for k, v in _sample_cases(sf.deals, ck.read_targets(sample_path("targets"))).items()})
    out.update(_load_cases("sample_hubspot", ck.load_crm(sample_path("hubspot"))))
    real = {
        "real_salesforce": "salesforce-devorg-powerbi/data/Opportunity.csv",
        "real_salesforce_history": "salesforce-devorg-powerbi/data/OpportunityHistory.csv",
        "real_d365": "d365-contoso-coffee/data/Opportunity.csv",
    }
    for name, relative in real.items():
        path = _realdata_path(relative)
        if path is not None:
            result = ck.load_crm(path)
            out.update(_load_cases(name, result))
            out[f"{name}_pipeline_stage"] = ck.pipeline(result.deals, by="stage")
            out[f"{name}_waterfall"] = ck.pipeline_waterfall(result.deals, freq="Q")
    goals = _realdata_path("d365-contoso-coffee/data/Goal.csv")
    if goals is not None:
        out["real_d365_targets"] = ck.read_targets(goals)
    return out


@pytest.fixture(scope="module")
def computed() -> dict[str, pd.DataFrame]:
    return cases()


@pytest.mark.slow
def test_recorded_results_are_unchanged(computed):
    path = GOLDEN / "digests.json"
    now = {name: digests(frame) for name, frame in computed.items()}
    if RECORD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        computed["sample_kpis_partner_q"].to_csv(
            GOLDEN / "sample_kpis_partner_q.csv", index=False, float_format="%.12g"
        )
    recorded = json.loads(path.read_text())
    if os.environ.get("CHANNELKPI_REQUIRE_REALDATA"):
        assert set(recorded) == set(now), sorted(set(recorded) ^ set(now))
    changed = []
    for name, cols in now.items():
        if name not in recorded:
            changed.append(f"{name}: not recorded")
            continue
        for col in recorded[name].keys() | cols.keys():
            if recorded[name].get(col) != cols.get(col):
                changed.append(f"{name}: {col}")
    assert not changed, "changed since recorded:\n" + "\n".join(changed)


@pytest.mark.slow
def test_the_sample_partner_table_matches_cell_for_cell(computed):
    recorded = pd.read_csv(GOLDEN / "sample_kpis_partner_q.csv", dtype=str, keep_default_na=False)
    now = computed["sample_kpis_partner_q"]
    assert list(recorded.columns) == list(now.columns)
    assert len(recorded) == len(now)
    for col in now.columns:
        got = now[col].map(_text)
        want = recorded[col]
        if col in ("period_start", "period_end"):
            want = pd.to_datetime(want).map(_text)
        bad = np.flatnonzero(got.to_numpy() != want.to_numpy())
        assert not len(bad), f"{col}, row {bad[0]}: recorded {want.iloc[bad[0]]!r}, now {got.iloc[bad[0]]!r}"
