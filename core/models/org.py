"""The organisation: teams (a tree), employees and the external identities that point at them."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
    case,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Base, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), index=True)
    # The employee who leads the team; an employee's manager is their team's manager.
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL", use_alter=True), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Team | None] = relationship(remote_side=[id])
    # post_update: a new team and its new lead point at each other; set the lead after both rows exist.
    manager: Mapped[Employee | None] = relationship(foreign_keys=[manager_id], post_update=True)

    def __repr__(self) -> str:
        return f"<Team {self.slug}>"


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (
        # Someone employed has no day of leaving, and nobody leaves before joining (core.tenure keeps both too).
        CheckConstraint("NOT active OR left_on IS NULL", name="left_only_when_inactive"),
        CheckConstraint("started_on IS NULL OR left_on IS NULL OR started_on <= left_on", name="joined_before_left"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The organisation's days they joined and left, when known: a period is theirs if they worked in it.
    started_on: Mapped[date | None]
    left_on: Mapped[date | None]

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    identities: Mapped[list[EmployeeIdentity]] = relationship(
        back_populates="employee", cascade="all, delete-orphan")

    @hybrid_property
    def creditable(self) -> bool:
        """Whether feedback may be credited to them by hand: active, or left on a known day (then only what came
        from the days they worked, :meth:`worked_on`)."""
        return self.active or self.left_on is not None

    @creditable.inplace.expression
    @classmethod
    def _creditable(cls):
        return cls.active | cls.left_on.is_not(None)

    def worked_on(self, day: date) -> bool:
        """Whether they worked here on ``day``: they had joined, and are active or left on or after it.

        Someone deactivated without a day (before the days were kept) worked on no day one can tell.
        """
        joined = self.started_on is None or self.started_on <= day
        return joined and (self.active or (self.left_on is not None and self.left_on >= day))

    def not_working(self, day: date) -> str | None:
        """Why an item of ``day`` cannot be theirs, in a sentence; None when it can."""
        if self.worked_on(day):
            return None
        if self.started_on is not None and day < self.started_on:
            return f"{self.name} joined on {self.started_on.isoformat()}, after the item ({day.isoformat()})"
        if self.left_on is not None:
            return f"{self.name} left on {self.left_on.isoformat()}, before the item ({day.isoformat()})"
        return f"{self.name} is no longer an active employee"

    def __repr__(self) -> str:
        return f"<Employee {self.id} {self.name}>"


def managed_teams(employee_id: int):
    """A SELECT of the ids of the teams an employee leads, and every team below them (one recursive query)."""
    return _and_below(Team.manager_id == employee_id, "managed")


def team_and_below(team_id: int):
    """A SELECT of the id of a team and of every team below it (one recursive query)."""
    return _and_below(Team.id == team_id, "subtree")


def _and_below(roots, name: str):
    tree = select(Team.id).where(roots).cte(name, recursive=True)
    tree = tree.union(select(Team.id).where(Team.parent_id == tree.c.id))
    return select(tree.c.id)


#: Identity providers whose ids match regardless of case.
CASELESS_PROVIDERS = frozenset({"email", "social_handle", "social_signoff"})


def normalise_identity(provider: str, external_id: str) -> str:
    """Return the form an identity is stored and matched in: trimmed, and lower-case where case means nothing.

    E-mail addresses, social handles and agents' sign-offs (``brand/initials``) match whatever their case.
    Every identity is in Unicode's composed form (NFC): "Zoë" typed on one system and spelt e + combining
    diaeresis by another (as macOS may write it) are the same name, and looked the same in the queue while
    they did not match.
    """
    external_id = unicodedata.normalize("NFC", str(external_id).strip())
    return external_id.lower() if provider in CASELESS_PROVIDERS else external_id


class EmployeeIdentity(Base):
    """An id by which an outside system knows an employee: helpdesk agent id, e-mail, social handle."""

    __tablename__ = "employee_identities"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(back_populates="identities")

    def __init__(self, **fields):
        # Normalise against the provider whatever order the keywords come in.
        if "external_id" in fields:
            fields["external_id"] = normalise_identity(fields.get("provider", ""), fields["external_id"])
        super().__init__(**fields)

    @validates("external_id")
    def _normalise(self, _key, external_id):
        return normalise_identity(self.provider or "", external_id)


class FormerTeam(Base):
    """A team someone was in until a day, before a move: runs of periods that end by then count them in it.

    Only past teams are kept; the team someone is in now is ``Employee.team_id``. Someone never moved has none.
    """

    __tablename__ = "former_teams"
    __table_args__ = (UniqueConstraint("employee_id", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    #: None: they were in no team then.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    #: The last day (the organisation's) they were in it.
    until: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def team_on(day: date):
    """SQL for each employee's team on ``day``: the earliest former team held up to a day on or after it, or the
    team they are in now (for a query over ``employees``)."""
    former = (select(FormerTeam.team_id).where(FormerTeam.employee_id == Employee.id, FormerTeam.until >= day)
              .order_by(FormerTeam.until).limit(1))
    has_former = select(FormerTeam.id).where(FormerTeam.employee_id == Employee.id, FormerTeam.until >= day).exists()
    return case((has_former, former.scalar_subquery()), else_=Employee.team_id)
