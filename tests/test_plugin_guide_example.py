"""The plugin guide's complete example, built from docs/plugins.md as written: it loads, maps, ingests, refuses.

A newcomer copies it file by file; a fault in it (a rating of 4.5 stored as 4) was copied into their plugin.
"""
from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from core.models import Feedback

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
#: "`plaudit_phone_survey/channel.py`:" (or with words after the path) and the fenced block below it.
FILE = re.compile(r"^`(plaudit_phone_survey/\w+\.py)`[^\n]*:\n\n```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.fixture
def phone_survey(tmp_path, monkeypatch):
    files = FILE.findall(GUIDE.read_text())
    assert {path for path, _ in files} >= {"plaudit_phone_survey/__init__.py", "plaudit_phone_survey/channel.py",
                                           "plaudit_phone_survey/schemas.py"}, "the guide's example moved"
    for path, code in files:
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("plaudit_phone_survey")
    for name in [name for name in sys.modules if name.startswith("plaudit_phone_survey")]:
        del sys.modules[name]


def test_the_guides_phone_survey_plugin_ingests_and_refuses_a_fractional_score(make_app, worked_example,
                                                                               phone_survey, tmp_path):
    app = make_app(extra_plugins={"phone_survey": phone_survey})
    runner = app.test_cli_runner()
    ann = worked_example.ids["ann"]
    mapped = runner.invoke(args=["phone", "map", "214", str(ann)])
    assert mapped.exit_code == 0 and f"extension 214 -> employee {ann}" in mapped.output
    calls = tmp_path / "calls.jsonl"
    calls.write_text("\n".join(json.dumps(call) for call in (
        {"call_id": "c-1001", "extension": "214", "score": 2, "rated_at": "2026-11-24T16:05:00+01:00"},
        {"call_id": "c-1002", "extension": "214", "score": "5", "rated_at": "2026-11-24T16:09:00+01:00"},
        {"call_id": "c-1003", "extension": "214", "score": 4.5, "rated_at": "2026-11-24T16:12:00+01:00"})) + "\n")
    with app.app_context():
        ingested = runner.invoke(args=["ingest", "phone_survey", str(calls)])
    assert "created 2" in ingested.output and "rejected 1" in ingested.output, ingested.output
    assert "payload 3: score: must be a whole number" in ingested.output  # not stored as 4
    with transaction() as session:
        assert session.execute(select(Feedback.external_id, Feedback.value, Feedback.employee_id)
                               .where(Feedback.channel == "phone_survey").order_by(Feedback.external_id)).all() \
            == [("c-1001", 2.0, ann), ("c-1002", 5.0, ann)]
