"""The demo organisation: teams, employees, a user for every role, and feedback through the real pipeline."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import local_time
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
#: The demo brand's account on social media, which its agents answer customers from.
BRAND_HANDLE = "plauditcare"
#: The helpdesk agent number of the first demo employee; the rest follow in the order of TEAMS.
FIRST_AGENT = 101


@dataclass(frozen=True)
class DemoAgent:
    """A demo employee as the outside systems know them: helpdesk number, social handle, sign-off."""

    helpdesk_id: str
    name: str

    @property
    def email(self) -> str:
        """Their work address, the demo's ``email`` identity: ``amira.haddad@plaudit.demo``."""
        return _email(self.name)

    @property
    def handle(self) -> str:
        """Their own account, which customers name: ``@amira_haddad``."""
        return self.email.partition("@")[0].replace(".", "_")

    @property
    def signoff(self) -> str:
        """The initials they end the brand's replies with: ``^AH``."""
        return "".join(part[0] for part in self.name.split()).upper()

    def identities(self, **employee) -> list[EmployeeIdentity]:
        return [EmployeeIdentity(provider="helpdesk", external_id=self.helpdesk_id, **employee),
                EmployeeIdentity(provider="social_handle", external_id=self.handle, **employee),
                EmployeeIdentity(provider="social_signoff", external_id=f"{BRAND_HANDLE}/{self.signoff}",
                                 **employee)]


def demo_window(now: datetime, weeks: int) -> tuple[datetime, float]:
    """Where the demo's items begin, and how many seconds they span to ``now``: from the organisation's Monday
    ``weeks`` weeks before this one, the oldest week the demo appraises. Begun ``weeks`` weeks before now, in
    the middle of a week, they left that week nearly empty and the first point of every trend on two people."""
    today = local_time.day_of(now)
    start = local_time.midnight(today - timedelta(days=today.weekday(), weeks=weeks))
    return start, (now - start).total_seconds()


def demo_roster() -> dict[str, DemoAgent]:
    """Every demo employee by helpdesk number, so a channel's demo can name them its own way."""
    names = [name for _title, team in TEAMS.values() for name in team]
    return {str(number): DemoAgent(str(number), name) for number, name in enumerate(names, FIRST_AGENT)}


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
        _add_missing_identities(session)
        return False
    root = Team(name="Customer Service", slug="customer-service")
    session.add(root)
    roster = iter(demo_roster().values())
    people: dict[str, Employee] = {}
    for slug, (title, names) in TEAMS.items():
        team = Team(name=title, slug=slug, parent=root)
        session.add(team)
        for name in names:
            agent = next(roster)
            employee = Employee(name=agent.name, email=agent.email, team=team)
            employee.identities = [EmployeeIdentity(provider="email", external_id=employee.email),
                                   *agent.identities()]
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


def _add_missing_identities(session: Session) -> None:
    """Give a demo built before the social channel its agents' handles and sign-offs (found by helpdesk id)."""
    known = {tuple(row) for row in session.execute(select(EmployeeIdentity.provider, EmployeeIdentity.external_id))}
    by_helpdesk_id = dict(session.execute(select(EmployeeIdentity.external_id, EmployeeIdentity.employee_id)
                                          .where(EmployeeIdentity.provider == "helpdesk")).all())
    for agent in demo_roster().values():
        if agent.helpdesk_id in by_helpdesk_id:
            session.add_all(identity for identity in agent.identities(employee_id=by_helpdesk_id[agent.helpdesk_id])
                            if (identity.provider, identity.external_id) not in known)


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
