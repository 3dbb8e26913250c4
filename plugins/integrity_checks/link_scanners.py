"""A survey answer recorded by a mail link scanner rather than by the customer.

Mail security gateways open the links in incoming mail to judge them, some within seconds of delivery and
a few by submitting the forms they find. The survey page records nothing on a GET, but a scanner that posts
the form would answer in the customer's name. Two signs give it away: the answer came sooner after the
invitation was sent than a person could read the mail, or the request named a known scanner.

The survey page keeps both in the answer's payload (``answered_via``: ``user_agent``, ``invited_at``); a
survey tool sending answers through the API may send them too. Answers without them are not judged.
"""
from __future__ import annotations

import re
from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

from core.integrity import IntegrityCheck

from .reasons import moment, span

#: User-Agent patterns of mail link scanners, matched case-insensitively anywhere in the header. Each names
#: a product and never appears in a person's browser. Many scanners (Microsoft Defender's Safe Links
#: detonation among them) present an ordinary browser's User-Agent: the time since sending catches those.
KNOWN_SCANNERS = (
    # Microsoft: the link-preview fetcher of Bing and Outlook.com (Bing Webmaster Help, "Which crawlers
    # does Bing use"), Office checking a link before opening it (the "Office Existence Discovery" and
    # "Protocol Discovery" requests), and Office apps fetching a link themselves ("ms-office").
    r"BingPreview",
    r"Microsoft Office (Existence|Protocol) Discovery",
    r"^Microsoft Office/|\bms-office\b",
    # Google's fetcher of links for malware and abuse checks (Google's list of special-case crawlers).
    r"Google-Safety",
    # Secure e-mail gateways that rewrite and follow links, and name themselves when they do.
    r"Barracuda",
    r"Proofpoint|urldefense",
    r"Mimecast",
    r"MessageLabs|Symantec",  # Broadcom's Email Security.cloud, formerly Symantec MessageLabs
    r"Trend ?Micro",
    r"IronPort|Cisco Secure Email",
    # Sandboxes that open links in a headless browser; a person's browser never says so.
    r"HeadlessChrome",
)

_QUOTED_AGENT_LIMIT = 160


def _compiles(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f"not a regular expression: {exc}") from None


class LinkScannerParams(Schema):
    min_seconds = fields.Integer(load_default=10, validate=validate.Range(min=0, max=3600),
                                 metadata={"description": "an answer recorded sooner than this after the "
                                                          "invitation was sent is flagged; 0 turns the "
                                                          "timing test off"})
    user_agents = fields.List(fields.String(validate=[validate.Length(min=1, max=200), _compiles]),
                              load_default=lambda: list(KNOWN_SCANNERS),
                              metadata={"description": "regular expressions (case-insensitive) for the "
                                                       "User-Agent of known mail link scanners; replaces "
                                                       "the built-in list"})


class LinkScanner(IntegrityCheck):
    """A survey answer recorded within seconds of the invitation being sent, or by a known link scanner."""

    name = "link_scanner"
    title = "Link-scanner answer"
    params_schema = LinkScannerParams

    def inspect(self, session, feedback, params):
        scanners = [re.compile(pattern, re.IGNORECASE) for pattern in params["user_agents"]]
        findings = []
        for item in feedback:  # all it needs is in each item's payload: no query
            via = (item.payload or {}).get("answered_via") or {}
            signs = [*_too_soon(item, via.get("invited_at"), params["min_seconds"]),
                     *_named_scanner(via.get("user_agent"), scanners)]
            if signs:
                findings.append((item.id, " ".join(signs)))
        return findings


def _too_soon(item, invited_at: str | None, min_seconds: int) -> list[str]:
    if not invited_at or not min_seconds:
        return []
    try:
        sent = datetime.fromisoformat(invited_at)
    except ValueError:
        return []
    if sent.tzinfo is None:  # not the page's own record; the time cannot be compared safely
        return []
    elapsed = (item.occurred_at - sent).total_seconds()
    if elapsed >= min_seconds:
        return []
    reason = (f"The answer was recorded {span(elapsed)} after the invitation was sent ({moment(sent)}): "
              f"sooner than the {min_seconds} seconds a person needs to open the mail and answer, as a mail "
              f"link scanner does.")
    return [reason]


def _named_scanner(user_agent: str | None, scanners: list[re.Pattern]) -> list[str]:
    if not user_agent:
        return []
    match = next((found for scanner in scanners if (found := scanner.search(user_agent))), None)
    if match is None:
        return []
    shown = user_agent if len(user_agent) <= _QUOTED_AGENT_LIMIT else user_agent[:_QUOTED_AGENT_LIMIT] + "..."
    reason = (f"The answer was sent by a mail link scanner, not the customer's browser: its User-Agent "
              f"\"{shown}\" names \"{match.group(0)}\".")
    return [reason]
