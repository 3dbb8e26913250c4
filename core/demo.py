"""The demo organisation: teams, employees, a user for every role, and feedback through the real pipeline."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .channel import IdentityRef
from .ingestion import ingest
from .models import Employee, EmployeeIdentity, Team, User

PASSWORD = "plaudit-demo"
DOMAIN = "plaudit.demo"
SEED = 20261125
BATCH = 300
#: Where other modules list their demo steps: (label, steps for the progress bar (or a function giving them),
#: fn(session_factory, progress)).
DEMO_STEPS_KEY = "plaudit.demo_steps"

TEAMS = {
    "support-emea": ("Support EMEA", ["Amira Haddad", "Jonas Weber", "Chloé Martin", "Tomasz Nowak", "Lena Fischer"]),
    "support-americas": ("Support Americas", ["Diego Alvarez", "Grace Kim", "Marcus Reed", "Priya Nair",
                                              "Sam O'Connor"]),
    "billing": ("Billing", ["Yuki Tanaka", "Fatima Zahra", "Ben Carter", "Olga Ivanova", "Noah Brown"]),
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
        user = User(email=login.email, name=employee.name if employee else login.who[0].upper() + login.who[1:],
                    employee=employee)
        user.roles = [login.role]
        user.set_password(PASSWORD)
        session.add(user)
    session.flush()
    return True


def demo_agents(session: Session) -> list[IdentityRef]:
    """The helpdesk identities of the demo employees, which the channels' demo payloads name."""
    return [IdentityRef(provider, external_id) for provider, external_id in session.execute(
        select(EmployeeIdentity.provider, EmployeeIdentity.external_id)
        .where(EmployeeIdentity.provider == "helpdesk").order_by(EmployeeIdentity.external_id))]


def channel_payloads(channels, agents: list[IdentityRef], now: datetime | None = None) -> dict[str, list]:
    """Each loaded channel's demo payloads, by slug; the same on every run (fixed seed), so re-runs are no-ops."""
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    found = {slug: list(channel.demo_payloads(now, random.Random(f"{SEED}:{slug}"), agents))
             for slug, channel in sorted(channels.items())}
    return {slug: payloads for slug, payloads in found.items() if payloads}


def fill(session_factory, payloads_by_channel: dict[str, list], progress=None) -> dict[str, tuple[int, int]]:
    """Ingest the demo payloads; return (created, duplicates) per channel.

    Feedback goes through :func:`core.ingestion.ingest`, exactly as API and webhook deliveries do.
    """
    totals = {}
    for slug, payloads in payloads_by_channel.items():
        created = duplicates = 0
        for start in range(0, len(payloads), BATCH):
            with session_factory() as session, session.begin():
                report = ingest(session, slug, payloads[start:start + BATCH])
            created += len(report.created)
            duplicates += len(report.duplicates)
            if progress:
                progress(len(payloads[start:start + BATCH]))
        totals[slug] = (created, duplicates)
    return totals
