"""Sending e-mail over SMTP: plain text with an HTML alternative. Credentials come from the configuration."""
from __future__ import annotations

import re
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr

from flask import current_app


class MailNotConfigured(RuntimeError):
    """PLAUDIT_MAIL_SERVER is not set, so nothing can be sent."""


class MailRefused(RuntimeError):
    """The mail server refused or failed a message; the message names no recipient."""


#: Headers folded at RFC 5322's 998, not 78: a List-Unsubscribe URL longer than a line was written as an
#: RFC 2047 encoded word, which mail clients do not decode there, and the unsubscribe button broke. Set once the
#: bodies are in, so that their encoding is the default policy's.
HEADER_POLICY = policy.default.clone(max_line_length=998)


def send_mail(to: str, subject: str, text: str, html: str | None = None, headers: dict[str, str] | None = None
              ) -> str:
    """Send one message; return its Message-ID. Raises on any SMTP failure (the caller's job retries).

    :param headers: more headers, such as List-Unsubscribe.
    """
    config = current_app.config
    if not config["MAIL_SERVER"]:
        raise MailNotConfigured("set PLAUDIT_MAIL_SERVER (and PLAUDIT_MAIL_FROM) to send e-mail")
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["Date"] = formatdate(usegmt=True)  # required of every message (RFC 5322); some filters mark it spam
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    # Only now: the bodies' encoding is chosen under the default policy (quoted-printable past 78 characters,
    # as strict relays and DKIM like it); the longer lines are for the headers written out when it is sent.
    message.policy = HEADER_POLICY
    security = config["MAIL_SECURITY"]
    smtp_class = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if security == "ssl" else {}
    try:
        with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30, **kwargs) as smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except smtplib.SMTPException as exc:
        # The error goes where jobs keep theirs (the outbox, RQ's failed jobs, the workers' log), which outlive
        # a customer's erasure: the server's words stay, the address they name does not.
        raise MailRefused(f"{type(exc).__name__}: {_without(_said(exc), to)}") from None
    return message["Message-ID"]


def _said(error: smtplib.SMTPException) -> str:
    """What the server answered, as a line: its code and words."""
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, words = next(iter(error.recipients.values()))
        return f"the server refused the recipient: {code} {_text(words)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error)


def _text(words) -> str:
    return words.decode(errors="replace") if isinstance(words, bytes) else str(words)


def _without(said: str, to: str) -> str:
    """``said`` with each address of ``to`` replaced, whatever its case: servers quote the recipient in their
    refusals, and an alert goes to several."""
    for _name, address in getaddresses([to]):
        if address:
            said = re.sub(re.escape(address), "<recipient>", said, flags=re.IGNORECASE)
    return said
