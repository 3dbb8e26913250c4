"""What the load drives at: an org with agents, a generic webhook integration, survey invitations to answer,
and the signed requests wrk sends (one per line: ``path<TAB>signature<TAB>body``; ``-`` for no signature).

Every request names an item of its own (a new ticket and rating, a not yet answered invitation), so each
acknowledgement is a new stored item and the two can be counted against each other.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .stack import plaudit

NAMESPACE = "loaddesk"
AGENTS = 20
WEBHOOK_PATH = re.compile(r"webhook URL path: (\S+)")
SECRET = re.compile(r"secret: (\S+)")
COMMENTS = ("Quick and friendly.", "Took two days, but it is fixed.", "Nobody read my first message.",
            "Thanks, <b>Ann</b> & co!", "Réponse rapide, merci.", "")


def agent_email(number: int) -> str:
    return f"agent{number}@load.example"


def seed_org(environment: dict) -> tuple[str, str]:
    """Agents in a team, and a generic integration made with the real command; return its path and secret."""
    rows = "\n".join(f"Agent {n},{agent_email(n)},Support" for n in range(AGENTS))
    _seed_employees(environment, rows)
    out = plaudit(environment, "integrations", "create", "generic", "Load desk", "--namespace", NAMESPACE)
    return WEBHOOK_PATH.search(out).group(1), SECRET.search(out).group(1)


def _seed_employees(environment: dict, rows: str) -> None:
    from core.app import create_app
    from core.db import transaction
    from core.models import Employee, EmployeeIdentity, Team

    with _app(environment, create_app).app_context(), transaction() as session:
        team = Team(name="Support", slug="support")
        session.add(team)
        for line in rows.splitlines():
            name, email, _team = line.split(",")
            employee = Employee(name=name, email=email, team=team)
            employee.identities.append(EmployeeIdentity(provider="email", external_id=email))
            session.add(employee)


def _app(environment: dict, create_app):
    return create_app({"DATABASE_URL": environment["PLAUDIT_DATABASE_URL"],
                       "REDIS_URL": environment["PLAUDIT_REDIS_URL"],
                       "SECRET_KEY": environment["PLAUDIT_SECRET_KEY"],
                       "RESPONDENT_SALT": environment["PLAUDIT_RESPONDENT_SALT"],
                       "INSTANCE_PATH": environment["PLAUDIT_INSTANCE_PATH"], "LOG_LEVEL": "WARNING"})


def seed_invitations(environment: dict, count: int, batch: int = 1000) -> list[str]:
    """Solved tickets with a survey invitation each, through the channel's own code; return the link paths."""
    from channels.post_ticket_survey.invitations import (
        Solve,
        invite_solved,
        survey_settings,
        survey_url,
    )
    from core.app import create_app
    from core.channel import IdentityRef
    from core.db import transaction
    from core.models import Integration
    from core.tickets import upsert_tickets

    app = _app(environment, create_app)
    solved = datetime.now(UTC) - timedelta(hours=1)
    paths = []
    with app.app_context():
        for start in range(0, count, batch):
            with transaction() as session:
                integration = session.query(Integration).filter_by(name="Load desk").one()
                updates = [_ticket(f"S-{n}", solved, IdentityRef("email", agent_email(n % AGENTS)))
                           for n in range(start, min(start + batch, count))]
                tickets = upsert_tickets(session, updates)
                solves = [Solve(ticket) for ticket in tickets.values()]
                for invitation, _token in invite_solved(session, solves, survey_settings(integration),
                                                        integration.id):
                    paths.append("/" + survey_url(invitation).split("/", 3)[3])
    return paths


def _ticket(external_id: str, solved: datetime, assignee):
    from core.tickets import TicketUpdate

    return TicketUpdate(provider=NAMESPACE, external_id=external_id, subject=f"Surveyed ticket {external_id}",
                        status="solved", opened_at=solved - timedelta(hours=3),
                        first_response_at=solved - timedelta(hours=2), resolved_at=solved, assignee=assignee)


def webhook_requests(path: str, secret: str, count: int, seed: int = 8) -> list[str]:
    """``count`` deliveries in the generic format (docs/surveys.md), each a new solved ticket with its rating,
    signed ``X-Plaudit-Signature: sha256=<hex HMAC-SHA256 of the body>`` as a helpdesk signs them."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    lines = []
    for n in range(count):
        solved = now - timedelta(minutes=rng.randint(5, 600))
        agent = agent_email(rng.randrange(AGENTS))
        body = json.dumps({
            "provider": NAMESPACE,
            "ticket": {"id": f"W-{n}", "subject": f"Load ticket {n}", "category": rng.choice(["billing", "login"]),
                       "channel": "email", "status": "solved",
                       "opened_at": (solved - timedelta(minutes=rng.randint(60, 2000))).isoformat(),
                       "first_response_at": (solved - timedelta(minutes=rng.randint(1, 59))).isoformat(),
                       "resolved_at": solved.isoformat(), "assignee": {"provider": "email", "id": agent}},
            "ratings": [{"response_id": f"{NAMESPACE}:rating:{n}", "kind": "csat", "rating": rng.randint(1, 5),
                         "answered_at": (solved + timedelta(minutes=rng.randint(1, 4))).isoformat(),
                         "ticket_id": f"{NAMESPACE}:W-{n}", "comment": rng.choice(COMMENTS) or None}],
        }, separators=(",", ":"), ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        lines.append(f"{path}\t{signature}\t{body.decode()}")
    return lines


def survey_requests(paths: list[str], seed: int = 8) -> list[str]:
    """One form POST per invitation, as the public survey page's form sends it."""
    from urllib.parse import urlencode

    rng = random.Random(seed)
    return [f"{path}\t-\t{urlencode({'csat': rng.randint(1, 5), 'comment': rng.choice(COMMENTS)})}"
            for path in paths]


def write_lines(lines: list[str], into: Path) -> Path:
    into.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return into
