"""The channel's URLs: ``POST /channels/post_ticket_survey/webhooks/<integration>``."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from core.auth import csrf, public
from core.db import get_session
from core.models import Integration
from web import JSON_ERROR_PATHS_KEY

from .helpdesks import PayloadError

bp = Blueprint("post_ticket_survey", __name__, template_folder="templates")
log = logging.getLogger(__name__)


@bp.record_once
def _add_demo_step(state) -> None:
    """Let ``plaudit demo`` store the tickets its answers rate, so the demo shows a case mix by ticket category.

    First among the steps, right after the answers are fed: channels register after the appraisal module, and
    the demo's appraisal step must find the tickets already linked.
    """
    from core.demo import DEMO_STEPS_KEY

    from .demo import demo_ticket_steps, open_demo_tickets

    state.app.extensions.setdefault(DEMO_STEPS_KEY, []).insert(
        0, ("opening the tickets the demo's answers rate", demo_ticket_steps, open_demo_tickets))


@bp.record_once
def _webhook_errors_as_json(state) -> None:
    """A helpdesk reads the webhook's refusals (413, 405, 404...) as JSON, as a platform reads the push's."""
    state.app.extensions.setdefault(JSON_ERROR_PATHS_KEY, []).append(f"{state.url_prefix}/webhooks/")


@bp.post("/webhooks/<int:integration_id>")
@csrf.exempt
@public  # a helpdesk cannot sign in: each delivery proves itself with the integration's secret
def webhook(integration_id: int):
    """Receive a helpdesk delivery: 200 with what was stored, 401 on a bad signature, 422 naming a field."""
    from .webhooks import Unauthorised, receive  # the channel class imports this module

    session = get_session()
    integration = session.get(Integration, integration_id)
    if integration is None or not integration.active:
        log.warning("helpdesk delivery to integration %s refused with 404: %s", integration_id,
                    "no such integration" if integration is None else "it is switched off")
        return jsonify(code=404, message=f"no active integration {integration_id}"), 404
    try:
        result = receive(session, integration, request.headers, request.args, request.get_data(cache=False))
    except Unauthorised as exc:
        session.rollback()
        # Logged, so that an operator who replaced a secret sees the helpdesk still signing with the old one
        # (the reason names what was wrong, never a secret).
        log.warning("helpdesk delivery to integration %s (%s) refused with 401: %s", integration.id,
                    integration.name, exc)
        return jsonify(code=401, message=str(exc)), 401
    except PayloadError as exc:
        session.rollback()
        # The fields only: the message may quote what the customer wrote.
        log.warning("helpdesk delivery to integration %s (%s) refused with 422 on %s", integration.id,
                    integration.name, ", ".join(sorted(exc.errors)))
        return jsonify(code=422, message="the delivery was refused; nothing was stored", errors=exc.errors), 422
    session.commit()
    return jsonify(result.as_dict()), 200


@bp.route("/s/<token>", methods=["GET", "POST"])
@csrf.exempt  # the customer has no session; the unguessable token in the link is the credential
@public
def survey(token: str):
    """The survey a customer was invited to: GET shows it, POST records the answer."""
    from .survey_page import answer, show

    return answer(token) if request.method == "POST" else show(token)


@bp.route("/s/<token>/opt-out", methods=["GET", "POST"])
@csrf.exempt  # the token is the credential, and a mail client's one-click unsubscribe POSTs with no session
@public
def survey_opt_out(token: str):
    """Stop surveys for the customer the link was sent to: GET asks, POST (or the mail client's button) does."""
    from .survey_page import opt_out_page

    return opt_out_page(token)


@bp.post("/s/<token>/opt-in")
@csrf.exempt
@public
def survey_opt_in(token: str):
    """Undo an opt-out from the same link."""
    from .survey_page import opt_in_page

    return opt_in_page(token)
