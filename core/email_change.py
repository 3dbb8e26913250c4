"""Changing an employee's e-mail address: a new name, a new domain.

The import matches employees by e-mail, so a file with someone's new address would make a second employee of
them. This changes the address in place: the employee's (the import's key, where digests go), and their
account's when it signs in with the old one. The old address stays an ``email:`` identity of theirs, so
feedback and helpdesk accounts that still name it find them; items that waited in the queue for the new one
are credited to them.
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError, fields
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .late_attribution import credit_mapped_identities
from .models import Employee, EmployeeIdentity, User, record_audit


class EmailChangeError(ValueError):
    """The new address cannot be taken; the message says why."""


@dataclass
class EmailChange:
    before: str | None
    after: str
    account: User | None  # the account whose sign-in address changed with it
    kept_identity: bool  # the old address kept as an email: identity
    credited: list[int]  # items that waited for the new address, credited to them now


def change_email(session: Session, employee: Employee, address: str, *, actor=None) -> EmailChange:
    """Give ``employee`` the e-mail ``address``, audited; the caller commits.

    :raises EmailChangeError: when it is not an address, or another employee or account has it.
    """
    try:
        new = fields.Email().deserialize(address.strip()).lower()
    except ValidationError as exc:
        raise EmailChangeError(f"{address!r}: {' '.join(exc.messages)}") from None
    old = employee.email
    if old is not None and old.lower() == new:
        raise EmailChangeError(f"{employee.name}'s address is {old} already")
    holder = session.scalar(select(Employee).where(func.lower(Employee.email) == new, Employee.id != employee.id))
    identity = session.scalar(select(EmployeeIdentity).where(EmployeeIdentity.provider == "email",
                                                            EmployeeIdentity.external_id == new,
                                                            EmployeeIdentity.employee_id != employee.id))
    account = session.scalar(select(User).where(User.employee_id == employee.id))
    other_account = session.scalar(select(User).where(func.lower(User.email) == new,
                                                      User.id != getattr(account, "id", None)))
    if holder is not None:
        raise EmailChangeError(f"{new} is {holder.name}'s address (employee {holder.id}): if that record is a "
                               f"duplicate of this one, give it another first (`plaudit org set-email {holder.id} "
                               f"NEW`) and move its identities here (`plaudit org move-identity ... --with-feedback`)")
    if identity is not None:
        owner = session.get(Employee, identity.employee_id)
        raise EmailChangeError(f"{new} is an identity of {owner.name} (employee {owner.id}): move it here first "
                               f"(`plaudit org move-identity email:{new} --to {employee.id}`)")
    if other_account is not None:
        raise EmailChangeError(f"{new} already signs in to another account ({other_account.email})")
    employee.email = new
    record_audit(session, "employee.email_changed", employee, actor=actor, before={"email": old},
                 after={"email": new})
    kept = False
    known = {(i.provider, i.external_id) for i in employee.identities}
    taken = old is not None and session.scalar(select(EmployeeIdentity.id).where(
        EmployeeIdentity.provider == "email", EmployeeIdentity.external_id == old.lower()))
    if old is not None and ("email", old.lower()) not in known and not taken:
        employee.identities.append(EmployeeIdentity(provider="email", external_id=old))
        kept = True
    signs_in = account is not None and old is not None and account.email.lower() == old.lower()
    if signs_in:
        record_audit(session, "user.email_changed", account, actor=actor, before={"email": account.email},
                     after={"email": new})
        account.email = new
    credited = credit_mapped_identities(session, [("email", new)], actor=actor)
    return EmailChange(old, new, account if signs_in else None, kept, credited)
