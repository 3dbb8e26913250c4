"""The generic JSON survey response: the format any survey tool or script can send (docs/api.md)."""
from __future__ import annotations

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from core.attribution import ATTRIBUTION_BASES
from core.fields import WholeNumber

#: The scales each kind accepts, the first being the default.
SCALES: dict[str, tuple[tuple[int, int], ...]] = {
    # 0-1 is a helpdesk's good/bad, 1-3 Help Scout's three faces.
    "csat": ((1, 5), (1, 7), (1, 10), (0, 1), (1, 3)),
    "nps": ((0, 10),),
    "ces": ((1, 7), (1, 5)),
}


#: The longest identity namespace and identity an agent may be named by.
PROVIDER_LIMIT, AGENT_ID_LIMIT = 50, 255


class AgentSchema(Schema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=PROVIDER_LIMIT),
                             metadata={"description": "identity namespace: email, zendesk, freshdesk, ..."})
    id = fields.String(required=True, validate=validate.Length(min=1, max=AGENT_ID_LIMIT))


class Agent(fields.Nested):
    """An :class:`AgentSchema`, read without a schema load of its own when it is plainly valid.

    A nested load cost a third of loading a whole survey response. Two strings of allowed length and
    nothing else are what AgentSchema would return as they are; anything else goes through AgentSchema,
    which names the faulty field.
    """

    def __init__(self, **kwargs):
        super().__init__(AgentSchema, **kwargs)

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if type(value) is dict and value.keys() == {"provider", "id"}:
            provider, agent_id = value["provider"], value["id"]
            if (type(provider) is str and type(agent_id) is str and 1 <= len(provider) <= PROVIDER_LIMIT
                    and 1 <= len(agent_id) <= AGENT_ID_LIMIT):
                return {"provider": provider, "id": agent_id}
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


#: The longest User-Agent kept with an answer; a browser's is a few hundred characters.
USER_AGENT_LIMIT = 500


class AnsweredViaSchema(Schema):
    """How an answer reached us, for the link-scanner check: the request's User-Agent and when the invitation
    was sent. No IP address is kept."""

    user_agent = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=USER_AGENT_LIMIT))
    invited_at = fields.AwareDateTime(load_default=None, allow_none=True, format="iso")

    @post_load
    def _invited_at_as_text(self, data, **kwargs):
        # Kept in the item's JSON payload: a datetime would not serialise.
        if data["invited_at"] is not None:
            data["invited_at"] = data["invited_at"].isoformat()
        return data


class SurveyResponseSchema(Schema):
    response_id = fields.String(required=True, validate=[
        validate.Length(min=1, max=200),
        # An id of spaces was stored, and told apart from another only by how many spaces it had.
        validate.Regexp(r"[\s\S]*\S", error="must not be blank")])  # anywhere: Regexp matches from the start
    kind = fields.String(required=True, validate=validate.OneOf(sorted(SCALES)))
    rating = WholeNumber(required=True)
    scale = fields.List(fields.Integer(), validate=validate.Length(equal=2),
                        metadata={"description": "[low, high]; defaults to the kind's usual scale"})
    answered_at = fields.AwareDateTime(required=True, format="iso")
    comment = fields.String(validate=validate.Length(max=10_000), allow_none=True)
    ticket_id = fields.String(validate=validate.Length(max=200), allow_none=True)
    respondent = fields.String(validate=validate.Length(max=320), allow_none=True)
    agent = Agent(allow_none=True)
    agent_basis = fields.String(load_default="assignee_at_solve", validate=validate.OneOf(ATTRIBUTION_BASES))
    agents = fields.Dict(keys=fields.String(validate=validate.OneOf(ATTRIBUTION_BASES)),
                         values=Agent(), load_default=dict,
                         metadata={"description": "more agents by attribution basis, e.g. last_public_replier; "
                                                  "the attribution policy picks one"})
    answered_via = fields.Nested(AnsweredViaSchema, allow_none=True,
                                 metadata={"description": "the answering request's User-Agent and when the "
                                                          "invitation was sent, to tell mail link scanners"})

    @validates_schema(skip_on_field_errors=False)  # report a bad rating with any other field error
    def _rating_on_scale(self, data, **kwargs):
        kind = data.get("kind")
        if kind not in SCALES or "rating" not in data:
            return
        scale = tuple(data.get("scale") or SCALES[kind][0])
        if scale not in SCALES[kind]:
            allowed = ", ".join(f"[{lo}, {hi}]" for lo, hi in SCALES[kind])
            raise ValidationError(f"{kind} takes the scales {allowed}", "scale")
        low, high = scale
        if not low <= data["rating"] <= high:
            raise ValidationError(f"must be between {low} and {high} on this {kind} scale", "rating")
        data["scale"] = scale


class QuestionSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$",
                                                                error="use a short snake_case key"))
    kind = fields.String(required=True, validate=validate.OneOf(sorted(SCALES)))
    scale = fields.List(fields.Integer(), validate=validate.Length(equal=2))
    wording = fields.String(required=True, validate=validate.Length(min=1, max=500))
    low_label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    high_label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))

    @validates_schema
    def _scale_fits_kind(self, data, **kwargs):
        scale = tuple(data.get("scale") or SCALES[data["kind"]][0])
        if scale not in SCALES[data["kind"]] or scale in ((0, 1), (1, 3)):  # those two are helpdesks' own
            raise ValidationError(f"{data['kind']} takes the scales "
                                  f"{', '.join(f'[{lo}, {hi}]' for lo, hi in SCALES[data['kind']][:3])}", "scale")
        data["scale"] = list(scale)


class SurveyTemplateSchema(Schema):
    """A survey template as HR writes it (JSON); loading it validates every question."""

    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]{0,99}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    intro = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1, max=10))
    comment_prompt = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        keys = [q["key"] for q in data.get("questions", ())]
        if len(keys) != len(set(keys)):
            raise ValidationError("each question needs its own key", "questions")


def _from(low: int, high: int, unit: str = "") -> validate.Range:
    """A range said as HR's other fields say theirs ("give a share from 0 to 100"), not marshmallow's own
    ("Must be greater than or equal to 0 and less than or equal to 100.")."""
    return validate.Range(low, high, error=f"give {unit or 'a number'} from {low:,} to {high:,}")


class SurveySettingsSchema(Schema):
    """How an integration surveys solved tickets (``Integration.settings["survey"]``)."""

    enabled = fields.Boolean(load_default=True)
    template = fields.String(load_default="default")
    sampling = fields.String(load_default="census", validate=validate.OneOf(["census", "percent", "quota"]))
    percent = fields.Float(load_default=100.0, allow_nan=False, validate=_from(0, 100, "a share (%)"))
    quota_per_week = fields.Integer(load_default=5, validate=_from(1, 10_000, "a number of invitations"),
                                    metadata={"description": "invitations per agent per ISO week"})
    delivery = fields.String(load_default="email", validate=validate.OneOf(["email", "link"]))
    expiry_days = fields.Integer(load_default=14, validate=_from(1, 365, "a number of days"))
    change_window_hours = fields.Integer(load_default=72, validate=_from(0, 24 * 90, "a number of hours"),
                                         metadata={"description": "how long an answer may still be changed"})
    resurvey_days = fields.Integer(load_default=30, validate=_from(0, 3650, "a number of days"),
                                   metadata={"description": "don't invite the same customer again sooner"})
    max_age_days = fields.Integer(load_default=14, validate=_from(1, 365, "a number of days"),
                                  metadata={"description": "invite only for tickets solved at most this many days "
                                                           "ago"})
