"""The survey response schema: its quick read of an agent answers exactly as AgentSchema would."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields, validate

from channels.post_ticket_survey.schemas import AgentSchema, SurveyResponseSchema
from core.attribution import ATTRIBUTION_BASES
from tests.fixtures.payloads import survey


class PlainNestedSurveyResponseSchema(SurveyResponseSchema):
    """The same schema with agents read by a nested AgentSchema load, as before the quick read."""

    agent = fields.Nested(AgentSchema, allow_none=True)
    agents = fields.Dict(keys=fields.String(validate=validate.OneOf(ATTRIBUTION_BASES)),
                         values=fields.Nested(AgentSchema), load_default=dict)


AGENTS = [
    {"provider": "helpdesk", "id": "101"},
    {"provider": "e" * 50, "id": "x" * 255},
    {"provider": "", "id": "101"},
    {"provider": "e" * 51, "id": "101"},
    {"provider": "helpdesk", "id": "x" * 256},
    {"provider": "helpdesk"},
    {"provider": "helpdesk", "id": 101},
    {"provider": "helpdesk", "id": None},
    {"provider": b"helpdesk", "id": "101"},
    {"provider": "helpdesk", "id": "101", "name": "Ann"},
    {},
    None,
    "helpdesk:101",
    ["helpdesk", "101"],
]


def _load(schema, payload):
    try:
        return schema.load(payload)
    except ValidationError as exc:
        return exc.messages


@pytest.mark.parametrize("agent", AGENTS)
def test_an_agent_is_read_as_agent_schema_reads_it(agent):
    quick, plain = SurveyResponseSchema(), PlainNestedSurveyResponseSchema()
    for payload in (survey(agent=None) | {"agent": agent},
                    survey(agent=None) | {"agents": {"last_public_replier": agent}}):
        assert _load(quick, payload) == _load(plain, payload)


def test_an_agent_under_an_unknown_basis_is_refused_naming_it():
    errors = _load(SurveyResponseSchema(), survey() | {"agents": {"boss": {"provider": "helpdesk", "id": "1"}}})
    assert errors == {"agents": {"boss": {"key": [f"Must be one of: {', '.join(ATTRIBUTION_BASES)}."]}}}


def test_a_blank_id_is_refused_and_a_blank_comment_is_none(app_context):
    """An id of spaces was stored as an id; a comment of spaces was kept, though the docs say an empty one is
    stored as none."""
    from core.db import transaction
    from core.ingestion import ingest

    with pytest.raises(ValidationError) as refused:
        SurveyResponseSchema().load(survey(response_id="   "))
    assert refused.value.messages == {"response_id": ["must not be blank"]}
    assert SurveyResponseSchema().load(survey(response_id=" abc"))["response_id"] == " abc"  # only blank is
    with transaction() as session:
        report = ingest(session, "post_ticket_survey", [survey("spaces", comment="   "),
                                                         survey("padded", comment="  Quick, thanks \n")])
        stored = {item.external_id: item.feedback_id for item in report.created}
        from core.models import Feedback

        comments = {ext: session.get(Feedback, fid).comment for ext, fid in stored.items()}
    assert comments == {"spaces": None, "padded": "Quick, thanks"}
