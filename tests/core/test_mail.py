"""A refused message's error names no recipient: it is kept where jobs keep their errors, past an erasure."""
from __future__ import annotations

import traceback

import pytest

from core.mail import MailRefused, send_mail
from tests.fixtures.mail import _free_port


class Refusing:
    """A mail server that knows nobody at private.example, and says so, quoting the address as servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@private.example"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server():
    from aiosmtpd.controller import Controller

    controller = Controller(Refusing(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port
    controller.stop()


def test_a_refused_recipient_is_not_named_in_the_error(make_app, refusing_server):
    """The outbox's last_error, RQ's failed job and the worker's log held frank.miller@private.example after
    the customer's data was erased."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing_server, MAIL_SECURITY="none",
                   MAIL_FROM="plaudit@example.com")
    with app.app_context(), pytest.raises(MailRefused) as refused:
        send_mail("Frank.Miller@private.example", "How did we do?", "Rate us")
    said = "".join(traceback.format_exception_only(refused.value))
    assert said == ("core.mail.MailRefused: SMTPRecipientsRefused: the server refused the recipient: 550 5.1.1 "
                    "<<recipient>>: Recipient address rejected: User unknown\n")
    # nor in the exception it replaced: not chained, so no traceback prints it
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    with app.app_context(), pytest.raises(MailRefused) as both:  # an alert goes to several people
        send_mail("Frank.Miller@private.example, Olga@Private.example", "Alert", "A detractor")
    assert "frank.miller" not in str(both.value).lower() and "olga" not in str(both.value).lower()


def test_a_message_has_a_date_and_may_name_its_sender(make_app, smtp_server):
    """Messages went without the Date header every message must have, and 'Acme Support <...>' was refused, so
    customers read a bare address and no company's name."""
    inbox, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none",
                   MAIL_FROM='"Acme Support, EMEA" <support@acme.example>')
    with app.app_context():
        send_mail("rita@example.com", "How did we do?", "Rate us")
    [message] = inbox.messages
    assert message["From"] == '"Acme Support, EMEA" <support@acme.example>'
    assert message["Date"] and message["Message-ID"].endswith("@acme.example>")


@pytest.mark.parametrize("sender", ["a@x.example, b@y.example", "Acme <not an address>", "nobody"])
def test_a_sender_that_is_not_one_address_stops_start_up(make_app, sender):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match="MAIL_FROM"):
        make_app(MAIL_FROM=sender)
