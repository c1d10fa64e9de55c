"""The history analyses read tables derived once per History (channelkpi.metrics.derived): after
many calls on other partners and ranges, each gives what a fresh History (an equal one with
nothing derived yet) gives, and the derived tables are made once, not per call."""

from __future__ import annotations

import dataclasses
import gc

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.metrics import visits

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample():
    from channelkpi.datasets import sample_path

    export = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))
    return ck.load_history(sample_path("history"), current=export)


def _cases(history):
    partners = sorted(history.deals["partner"].dropna().unique())
    return [
        {},
        {"where": {"partner": partners[:1]}},
        {"where": {"partner": partners[1:4]}, "start": "2025-01-01", "end": "2025-06-30"},
        {"start": "2025-04-01", "end": "2025-12-31"},
        {"where": {"partner": partners[-2:]}, "start": "2024-07-01", "end": "2025-09-30"},
        {"by": "partner", "start": "2025-01-01", "end": "2025-12-31"},
        {"where": {"partner": ["no such partner"]}},
    ]


CALLS = {
    "stage_funnel": lambda h, o: ck.stage_funnel(h, **o),
    "time_in_stage": lambda h, o: ck.time_in_stage(h, **o),
    "time_in_stage overlapping": lambda h, o: ck.time_in_stage(h, visits="overlapping", **o),
    "funnel_deals": lambda h, o: ck.funnel_deals(h, stage=1, measure="entered", **o),
    "stage_visits": lambda h, o: ck.stage_visits(h, **o),
    "movement": lambda h, o: ck.pipeline_movement(
        h, freq="Q", **{"by": None, **{k: v for k, v in o.items() if k != "by"}}
    ),
}


def test_every_call_on_a_used_history_equals_a_fresh_one(sample):
    cases = _cases(sample)
    assert len(cases[2]["where"]["partner"]) == 3
    for options in cases:  # every table derived and used before the comparison
        for call in CALLS.values():
            call(sample, options)
    for options in cases:
        for name, call in CALLS.items():
            fresh = dataclasses.replace(sample)  # equal, another object: nothing derived for it
            got, expected = call(sample, options), call(fresh, options)
            pd.testing.assert_frame_equal(got, expected, obj=f"{name} {options}")
            assert got.attrs == expected.attrs, (name, options)
    # the selections above really differ: the partners' funnels are not all the same table
    entered = {str(o): int(ck.stage_funnel(sample, **o)["entered"].sum()) for o in cases if "by" not in o}
    assert len(set(entered.values())) >= 4, entered


def test_stage_visits_are_derived_once_per_history(sample, monkeypatch):
    made = []
    real = visits._make_segments
    monkeypatch.setattr(visits, "_make_segments", lambda h: made.append(1) or real(h))
    history = dataclasses.replace(sample)
    for options in _cases(sample):
        ck.stage_funnel(history, **options)
        ck.time_in_stage(history, **options)
    assert made == [1]
    ck.stage_funnel(dataclasses.replace(sample))  # another History: its own
    assert made == [1, 1]


def test_a_caller_cannot_change_what_the_next_call_reads(sample):
    history = dataclasses.replace(sample)
    before = ck.stage_visits(history)
    rows = visits.stage_visit_rows(history, visits.stage_order(history))
    rows["days"] = -1.0  # the caller's copy
    pd.testing.assert_frame_equal(ck.stage_visits(history), before)


def test_derived_tables_go_with_their_history(sample):
    from channelkpi.metrics import derived

    history = dataclasses.replace(sample)
    ck.stage_funnel(history)
    assert history in derived._STORE
    count = len(derived._STORE)
    del history
    gc.collect()
    assert len(derived._STORE) == count - 1
