"""Every API operation's refusals in the OpenAPI document, and the token scope it needs.

flask-smorest describes only an operation's own answers and leaves every refusal to ``default``, so a client
generated from the document knew of no 401, 403, 404, 413, 415 or 503, and nothing said which scope a call
needs. This apispec plugin adds them to each operation from what the route is: token-protected (its scope),
with a path parameter, with a body.
"""
from __future__ import annotations

from apispec import BasePlugin

from core.auth import ACCESS_ATTR

ERROR = {"$ref": "#/components/schemas/Error"}
#: name -> (status, when)
RESPONSES = {
    "BAD_REQUEST": (400, "the body is not JSON that can be read, or is JSON null"),
    "UNAUTHORIZED": (401, "no API token, or one unknown, revoked or expired (`WWW-Authenticate: Bearer`)"),
    "FORBIDDEN": (403, "the token lacks the scope, or its owner no longer holds the role it needs"),
    "NOT_FOUND": (404, "nothing has that id"),
    "PAYLOAD_TOO_LARGE": (413, "the body is over PLAUDIT_MAX_CONTENT_LENGTH (2 MiB by default), or a batch over PLAUDIT_INGEST_BATCH_LIMIT"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "the body is not sent as application/json"),
    "SERVICE_UNAVAILABLE": (503, "the database is unavailable; nothing was saved: send again after `Retry-After`"),
}


class ErrorResponses(BasePlugin):
    def __init__(self, app):
        self.app = app

    def init_spec(self, spec):
        super().init_spec(spec)
        for name, (_status, when) in RESPONSES.items():  # flask-smorest holds the plain names, lazily
            spec.components.response(f"REFUSED_{name}", {"description": when,
                                                         "content": {"application/json": {"schema": ERROR}}})

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        scopes = [mark.removeprefix("token:") for mark in getattr(view, ACCESS_ATTR, ()) if mark.startswith("token:")]
        if not scopes:  # the public OpenAPI document itself
            return
        for operation in (operations or {}).values():
            refusals = ["UNAUTHORIZED", "FORBIDDEN", "SERVICE_UNAVAILABLE"]
            if rule.arguments:
                refusals.append("NOT_FOUND")
            if "requestBody" in operation:
                refusals += ["BAD_REQUEST", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"]
            responses = operation.setdefault("responses", {})
            for name in refusals:
                responses.setdefault(str(RESPONSES[name][0]), f"REFUSED_{name}")
            operation["x-scopes"] = scopes
            needs = f"Needs a token with the `{'`, `'.join(scopes)}` scope."
            operation["description"] = f"{operation['description']}\n\n{needs}" if operation.get("description") \
                else needs
