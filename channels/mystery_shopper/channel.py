"""The mystery-shopper channel: an approved report becomes feedback about the employee who served."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema, fields, validate

from core.channel import Channel, FeedbackDraft, IdentityRef

from .blueprint import bp

#: The identity namespace of an employee named by their Plaudit id (the report says who served).
EMPLOYEE_PROVIDER = "plaudit_employee"


class SectionScoreSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = fields.String(load_default=None, allow_none=True)
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 1))


class ApprovedReportSchema(Schema):
    """One approved report, as ``results.record_results`` hands it to the ingestion."""

    report_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    employee_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    visited_at = fields.AwareDateTime(required=True)
    score = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(0, 1))
    sections = fields.List(fields.Nested(SectionScoreSchema), load_default=list)
    template = fields.String(load_default=None, allow_none=True)
    template_version = fields.Integer(load_default=None, allow_none=True)


class MysteryShopper(Channel):
    name = "mystery_shopper"
    title = "Mystery shoppers"
    kinds = ("mystery_report", "mystery_section")
    time_field = "visited_at"
    schema = ApprovedReportSchema
    blueprint = bp
    # Scores come from reports HR approved (results.record_results); a token sending one would skip the
    # assignment, the report and the review, and take the report's id before the real score arrives.
    api_ingest = False

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        report = f"report-{data['report_id']}"
        who = {"subject": IdentityRef(EMPLOYEE_PROVIDER, str(data["employee_id"]))}
        common = {"report_id": data["report_id"], "template": data.get("template"),
                  "template_version": data.get("template_version")}
        if data.get("score") is not None:
            yield FeedbackDraft(kind="mystery_report", external_id=report, occurred_at=data["visited_at"],
                                value=round(data["score"] * 100, 9), scale=(0.0, 100.0), identities=who,
                                payload=common)
        for section in data.get("sections") or ():
            yield FeedbackDraft(kind="mystery_section", external_id=f"{report}:{section['key']}",
                                occurred_at=data["visited_at"], value=round(section["score"] * 100, 9),
                                scale=(0.0, 100.0), identities=who,
                                payload=common | {"section": section["key"], "title": section.get("title")})
