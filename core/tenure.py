"""The days someone joined and left the organisation, and their coming back: the rules ``plaudit org`` and HR's
People pages follow. (The organisation file's import sets the day joined and brings leavers back in its own
batch, audited the same way.)

The day they left is the organisation's date: not one still to come, and not before they joined. A hire who
never started is deactivated with no day, since no period is theirs to appraise. Recording it again corrects
the day and leaves their account as it is (one kept active the first time stays so). Runs of the periods they
worked in appraise them (:mod:`appraisal.employment`); the callers say what that means and commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import local_time
from .accounts import is_last_admin, set_user_active
from .models import Employee, Team, User, record_audit
from .people_import import day_text


class TenureError(ValueError):
    """A day that cannot be recorded so; ``field`` is the input at fault (``left_on``, ``started_on``,
    ``account``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Leaving:
    """What recording a leaving did."""

    #: The day they left, as now recorded: None for a hire who never started, or one deactivated without a day.
    day: date | None
    #: Whether the employee's record changed: deactivated now, or the day corrected.
    recorded: bool
    account: User | None
    account_closed: bool
    #: The teams they still lead: nobody gets those teams' alerts or digests until another lead is named.
    leads: tuple[str, ...]


def record_leaving(session: Session, employee: Employee, left_on: date | None = None, *,
                   keep_account: bool = False, actor=None) -> Leaving:
    """Deactivate ``employee`` from ``left_on`` (today if None), and their account unless ``keep_account``.

    :raises TenureError: for a day still to come or before they joined, or an account that is the last admin's.
    """
    today = local_time.today()
    day = left_on or today
    if day > today:
        raise TenureError("left_on", f"{day.isoformat()} is still to come: the day they left must have passed")
    if employee.started_on is not None and day < employee.started_on:
        if left_on is not None:
            raise TenureError("left_on", f"{day.isoformat()} is before they joined "
                                          f"({employee.started_on.isoformat()})")
        day = None  # a hire who never started: no period of theirs to appraise
    account = session.scalar(select(User).where(User.employee_id == employee.id))
    correcting = not employee.active and left_on is not None
    close_account = account is not None and account.active and not keep_account and not correcting
    recorded = employee.active or (correcting and employee.left_on != day)
    if close_account:
        if is_last_admin(session, account):
            # Each caller adds its own way out: a command's option, a page's box.
            raise TenureError("account", f"{account.email} is the last active admin: deactivating their account "
                                         f"would leave nobody to run the admin pages; first give another account "
                                         f"the role")
        set_user_active(session, account, False, actor=actor)
    if recorded:
        set_employment(session, employee, False, left_on=day, actor=actor)
    leads = tuple(session.scalars(select(Team.name).where(Team.manager_id == employee.id).order_by(Team.name)))
    return Leaving(employee.left_on, recorded, account, close_account, leads)


def record_return(session: Session, employee: Employee, *, actor=None) -> bool:
    """Mark an inactive ``employee`` active again, forgetting the day they left; False if already active.

    Their account stays as it is: a person, not this, decides whether it may sign in again.
    """
    if employee.active:
        return False
    set_employment(session, employee, True, actor=actor)
    return True


def record_joining(session: Session, employee: Employee, started_on: date | None, *, actor=None) -> bool:
    """Set the day ``employee`` joined (None: not known, so counted from the start); False if unchanged.

    A day to come is a hire expected; their runs begin with the period they join in. Items that waited for their
    identity before that day stay waiting (:func:`core.attribution.joined_by`).

    :raises TenureError: for a day after the one they left.
    """
    if employee.left_on is not None and started_on is not None and started_on > employee.left_on:
        raise TenureError("started_on", f"{started_on.isoformat()} is after the day they left "
                                        f"({employee.left_on.isoformat()})")
    if employee.started_on == started_on:
        return False
    # As the organisation file's import records a change of the day, so a search for either finds both.
    record_audit(session, "employee.updated", employee, actor=actor,
                 before={"started_on": day_text(employee.started_on)}, after={"started_on": day_text(started_on)})
    employee.started_on = started_on
    return True


def set_employment(session: Session, employee: Employee, active: bool, *, left_on: date | None = None,
                   actor=None) -> None:
    """Activate ``employee`` (forgetting the day they left), or deactivate them from ``left_on``; audited."""
    before = {"active": employee.active, "left_on": day_text(employee.left_on)}
    employee.active, employee.left_on = active, None if active else left_on
    record_audit(session, "employee.activated" if active else "employee.deactivated", employee, actor=actor,
                 before=before, after={"active": active, "left_on": day_text(employee.left_on)})
