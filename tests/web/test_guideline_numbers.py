"""The guideline editor reads numbers as people write them: a decimal comma, but no guessed thousands mark."""
# ruff: noqa: F811 -- the tests take the fixture imported from test_guideline_pages as an argument
from __future__ import annotations

from sqlalchemy import select

from appraisal.models import Guideline

from .test_guideline_pages import _db, _draft, hr  # noqa: F401 -- hr is a fixture


def test_numbers_written_with_a_decimal_comma_are_read_as_decimals(hr, worked_example):
    data = _draft(hr, weight_csat_percent="52,5", weight_nps="47,5", shrinkage_strength="2,5",
                  budget_cap="1500,50", note="comma", action="publish")
    assert hr.post("/guidelines/edit", data=data).status_code == 302
    with _db() as session:
        document = session.scalar(select(Guideline).order_by(Guideline.version.desc()).limit(1)).document
    assert [m["weight"] for m in document["metrics"]] == [52.5, 47.5]
    assert (document["shrinkage_strength"], document["incentives"]["budget"]["cap"]) == (2.5, 1500.5)
    # A cap of "5,000": five thousand, or five? Refused at its field rather than published as 5.0
    refused = hr.post("/guidelines/edit", data={**data, "budget_cap": ["5,000"], "base_version": ["2"]})
    assert refused.status_code == 400 and 'id="budget_cap" ' in refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in refused.get_data(as_text=True).split('id="budget_cap"')[1][:300]
