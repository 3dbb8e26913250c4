"""Sending e-mail over SMTP: plain text with an HTML alternative. Credentials come from the configuration."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app


class MailNotConfigured(RuntimeError):
    """PLAUDIT_MAIL_SERVER is not set, so nothing can be sent."""


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> str:
    """Send one message; return its Message-ID. Raises on any SMTP failure (the caller's job retries)."""
    config = current_app.config
    if not config["MAIL_SERVER"]:
        raise MailNotConfigured("set PLAUDIT_MAIL_SERVER (and PLAUDIT_MAIL_FROM) to send e-mail")
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    security = config["MAIL_SECURITY"]
    smtp_class = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if security == "ssl" else {}
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30, **kwargs) as smtp:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    return message["Message-ID"]
