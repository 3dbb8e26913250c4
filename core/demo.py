"""The demo organisation: teams, employees, a user for every role, and feedback through the real pipeline."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .ingestion import ingest
from .models import Employee, EmployeeIdentity, Team, User

PASSWORD = "plaudit-demo"
DOMAIN = "plaudit.demo"
WEEKS = 12
SEED = 20261125

TEAMS = {
    "support-emea": ("Support EMEA", ["Amira Haddad", "Jonas Weber", "Chloé Martin", "Tomasz Nowak", "Lena Fischer"]),
    "support-americas": ("Support Americas", ["Diego Alvarez", "Grace Kim", "Marcus Reed", "Priya Nair",
                                              "Sam O'Connor"]),
    "billing": ("Billing", ["Yuki Tanaka", "Fatima Zahra", "Ben Carter", "Olga Ivanova", "Noah Brown"]),
}
COMMENTS = {
    "good": ["Quick and friendly, problem solved.", "Explained everything clearly.", "Went the extra mile!",
             "Very patient with my questions.", "Fixed it on the first reply."],
    "bad": ["Took days to get an answer.", "Had to repeat myself three times.", "Closed my ticket without fixing it.",
            "Felt like a canned reply.", "Transferred me around."],
}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    who: str


def demo_logins() -> list[DemoLogin]:
    return [DemoLogin(f"admin@{DOMAIN}", "admin", "administrator"),
            DemoLogin(f"hr@{DOMAIN}", "hr", "HR partner"),
            DemoLogin(f"manager@{DOMAIN}", "manager", "Amira Haddad, lead of Support EMEA"),
            DemoLogin(f"employee@{DOMAIN}", "employee", "Jonas Weber, Support EMEA"),
            DemoLogin(f"shopper@{DOMAIN}", "shopper", "a mystery shopper")]


def _email(name: str) -> str:
    return name.lower().replace("é", "e").replace("'", "").replace(" ", ".") + f"@{DOMAIN}"


def build_organisation(session: Session) -> bool:
    """Create the demo teams, employees and users unless they exist; return True if it created them."""
    if session.scalar(select(Team).where(Team.slug == "customer-service")) is not None:
        return False
    root = Team(name="Customer Service", slug="customer-service")
    session.add(root)
    agent_number = 100
    people: dict[str, Employee] = {}
    for slug, (title, names) in TEAMS.items():
        team = Team(name=title, slug=slug, parent=root)
        session.add(team)
        for name in names:
            agent_number += 1
            employee = Employee(name=name, email=_email(name), team=team)
            employee.identities = [EmployeeIdentity(provider="email", external_id=employee.email),
                                   EmployeeIdentity(provider="helpdesk", external_id=str(agent_number))]
            session.add(employee)
            people[name] = employee
        session.flush()
        team.manager = people[names[0]]
    links = {"manager": people["Amira Haddad"], "employee": people["Jonas Weber"]}
    for login in demo_logins():
        employee = links.get(login.role)
        user = User(email=login.email, name=employee.name if employee else login.who.capitalize(),
                    employee=employee)
        user.roles = [login.role]
        user.set_password(PASSWORD)
        session.add(user)
    session.flush()
    return True


def survey_responses(now: datetime, rng: random.Random) -> Iterator[dict]:
    """Yield twelve weeks of survey answers: agents differ in skill, a few answers name an unknown agent."""
    skill = {number: rng.uniform(-0.9, 0.6) for number in range(101, 116)}
    start = now - timedelta(weeks=WEEKS)
    for index in range(1, WEEKS * 150 + 1):
        agent = rng.choice(list(skill))
        answered = start + timedelta(seconds=rng.uniform(0, WEEKS * 7 * 86400))
        kind = rng.choices(["csat", "nps", "ces"], weights=[70, 20, 10])[0]
        mood = rng.gauss(skill[agent], 1.0)
        if kind == "csat":
            rating = max(1, min(5, round(4 + mood)))
        elif kind == "nps":
            rating = max(0, min(10, round(8 + 2 * mood)))
        else:
            rating = max(1, min(7, round(5.5 + mood)))
        payload = {"response_id": f"demo-{index:05d}", "kind": kind, "rating": rating,
                   "answered_at": answered.isoformat(), "ticket_id": f"T-{40000 + index}",
                   "respondent": f"customer{rng.randint(1, 900)}@example.com",
                   "agent": {"provider": "helpdesk", "id": str(agent if rng.random() > 0.02 else 999)}}
        if rng.random() < 0.35:
            payload["comment"] = rng.choice(COMMENTS["good" if mood > -0.2 else "bad"])
        yield payload


#: What the demo feeds each channel it knows, by channel slug.
FEEDERS: dict[str, Callable[[datetime, random.Random], Iterator[dict]]] = {
    "post_ticket_survey": survey_responses,
}


def fill(session_factory, channels, progress=None, now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Ingest the demo feedback of every loaded channel the demo knows; return (created, duplicates) each.

    Feedback goes through :func:`core.ingestion.ingest`, exactly as API and webhook deliveries do. Ids are
    deterministic, so running the demo again stores nothing twice.
    """
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    totals = {}
    for slug, feeder in FEEDERS.items():
        if slug not in channels:
            continue
        payloads = list(feeder(now, random.Random(SEED)))
        created = duplicates = 0
        for start in range(0, len(payloads), 300):
            with session_factory() as session, session.begin():
                report = ingest(session, slug, payloads[start:start + 300])
            created += len(report.created)
            duplicates += len(report.duplicates)
            if progress:
                progress(min(300, len(payloads) - start))
        totals[slug] = (created, duplicates)
    return totals


def feedback_count() -> int:
    return sum(len(list(feeder(datetime.now(UTC), random.Random(SEED)))) for feeder in FEEDERS.values())
