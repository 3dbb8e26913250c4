"""Kudos: colleagues and customers thank an employee by name. An external plugin, as a developer writes one."""
from __future__ import annotations

import click
from marshmallow import Schema, fields, validate

from core import hookimpl
from core.channel import Channel, FeedbackDraft, IdentityRef


class KudosSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    to = fields.Email(required=True)
    sender = fields.String(required=True, validate=validate.Length(min=1, max=200))
    message = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    sent_at = fields.AwareDateTime(required=True)


class Kudos(Channel):
    name = "kudos"
    title = "Kudos"
    kinds = ("kudos",)
    schema = KudosSchema

    def to_feedback(self, data):
        yield FeedbackDraft(kind="kudos", external_id=data["id"], occurred_at=data["sent_at"], value=1.0,
                            scale=(0.0, 1.0), comment=data["message"], respondent=data["sender"],
                            identities={"subject": IdentityRef("email", data["to"].lower())})


@hookimpl
def register_channels():
    return [Kudos]


@hookimpl
def register_commands(cli):
    @cli.command("kudos-hello")
    def hello():
        """Say that the kudos plugin is loaded."""
        click.echo("kudos plugin loaded")
