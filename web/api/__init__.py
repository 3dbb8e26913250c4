"""REST API v1 (flask-smorest); its OpenAPI 3 document is served at ``/api/v1/openapi.json``."""
from __future__ import annotations

import importlib
import pkgutil

from flask import abort, current_app, request
from flask_smorest import Api, Blueprint
from flask_smorest.pagination import PaginationMetadataSchema
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from core.auth import csrf, public_endpoint
from core.form_text import FormRequest
from core.messages import field_messages
from web.arguments import MAX_ID, IdConverter

from .error_responses import ErrorResponses


def init_app(app) -> Api:
    app.config.setdefault("API_TITLE", "Plaudit")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "info": {"description": "Feed Plaudit from your own systems. Authenticate with an API token: "
                                "`Authorization: Bearer <token>` (create one with `plaudit tokens create`)."},
    })
    api = PlauditApi(app, spec_kwargs={"extra_plugins": [ErrorResponses(app)]})
    # Ids in paths run from 1, as in queries and bodies: the converter's own schema said from 0.
    api.register_converter(IdConverter, lambda _converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    for blueprint in blueprints():
        api.register_blueprint(blueprint)
        # Token-authenticated: no browser session, so no CSRF token to check.
        csrf.exempt(blueprint)
    # The OpenAPI document is public, like any published API description.
    public_endpoint(app, "api-docs.openapi_json")
    app.request_class = JsonRequest
    app.before_request(_json_bodies_only)
    app.register_error_handler(RecursionError, _nested_too_deeply)
    return api


def _nested_too_deeply(error: RecursionError):
    """JSON nested deeper than Python's stack is a body at fault (400), wherever it was parsed: Werkzeug and
    webargs turn only ValueError into a 400, and this was a 500. Any other RecursionError is a bug."""
    if "decoding a JSON" not in str(error):
        raise error
    return current_app.handle_http_exception(BadRequest("the body is not valid JSON: it is nested too deeply"))


class PlauditApi(Api):
    """flask-smorest's Api, with the ``X-Pagination`` header described as the JSON it is, and a ``message`` on
    every refusal."""

    def handle_http_exception(self, error):
        payload, status, headers = super().handle_http_exception(error)
        # A body or query the schema refused carried its errors without the one line every other refusal has:
        # a client logging ``message`` logged nothing for the commonest mistake.
        if "message" not in payload and isinstance(payload.get("errors"), dict):
            said = [f"{path}: {message}" if path else message
                    for where in payload["errors"].values() for path, message in field_messages(where)]
            if said:
                payload["message"] = "; ".join(said)
        return payload, status, headers

    def _register_pagination_header(self):
        # flask-smorest gives the header an object schema, which OpenAPI 3 reads in its "simple" header style
        # (total,6,page,1), so a client or schemathesis checking the header against the document found JSON
        # where the document promised that. ``content`` says the value is a JSON document of that schema.
        if self.spec.openapi_version.major >= 3:
            self.spec.components.header("PAGINATION", {
                "description": "Where this page sits in the list, as JSON",
                "content": {"application/json": {"schema": PaginationMetadataSchema}}}, lazy=True)


class JsonRequest(FormRequest):
    """A request whose unreadable JSON body is refused saying so (Flask's own 400 names no cause); its form
    text as the browser counted it (see core.form_text)."""

    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:  # not sent as JSON at all
            raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json")
        raise BadRequest(f"the body is not valid JSON: {e}")


def _json_bodies_only():
    """Refuse an API body that is not JSON with 415: read as no body, it was 'missing' every field instead."""
    # Only on a route there is (else 404), and a body sent in chunks has no Content-Length but is a body.
    sent = request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "")
    if (request.path.startswith("/api/") and request.url_rule is not None
            and request.method in ("POST", "PUT", "PATCH") and sent and not request.is_json):
        abort(415, description=f"send the body as JSON with Content-Type: application/json, not "
                               f"{request.mimetype or 'no type'}")


class BodyParser(FlaskParser):
    """webargs' parser, reading a body as the channels' endpoints do (web/api/channels.py), once the token is
    checked: unreadable JSON says where it breaks (it said "json: Invalid JSON body."), and JSON null is a 400
    (it was a 422 naming no field)."""

    def _raw_load_json(self, req):
        if not is_json_request(req) or not req.get_data(cache=True):
            return missing  # no body: each required field is named missing
        data = req.get_json()  # unreadable: 400 saying why (JsonRequest)
        if data is None:
            abort(400, description="the body is JSON null: send a payload")
        return data


# Set before the resources' modules are imported: each @blp.arguments takes the parser when it decorates.
Blueprint.ARGUMENTS_PARSER = BodyParser()


def blueprints():
    """Yield the ``blp`` of every resource module in this package, in name order."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        blueprint = getattr(importlib.import_module(f"{__name__}.{module.name}"), "blp", None)
        if blueprint is not None:
            yield blueprint
