"""Importing the organisation from a CSV file: teams, employees, their leads and external identities.

A file is checked whole before anything is written: one bad row and nothing is imported, and every bad row
is reported with its line number. Re-importing is safe: employees are matched by e-mail and updated.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from . import local_time
from .db import slices
from .late_attribution import credit_mapped_identities
from .models import Employee, EmployeeIdentity, FormerTeam, Team, record_audit
from .models.org import normalise_identity

COLUMNS = ("name", "email", "team", "lead", "identities", "started_on")
_IDENTITY = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*:\s*(\S.*?)\s*$")


def _identities(text: str) -> list[tuple[str, str]]:
    found, problems = [], []
    for part in filter(str.strip, (text or "").split(";")):
        match = _IDENTITY.match(part)
        if not match:
            problems.append(f"{part.strip()!r} is not provider:id (e.g. zendesk:361; email:ann@x.io)")
        else:
            identity = (match.group(1), normalise_identity(match.group(1), match.group(2)))
            if len(identity[0]) > 50 or len(identity[1]) > 255:  # as stored: normalising may lengthen it
                problems.append(f"{part.strip()[:60]!r}...: a provider takes at most 50 characters, an id 255")
            elif identity not in found:  # named twice (or in two cases of one address): one identity
                found.append(identity)
    if problems:
        raise ValidationError(problems)
    return found


class PersonRowSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    team = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lead = fields.Boolean(load_default=False, truthy={"yes", "y", "true", "1"},
                          falsy={"no", "n", "false", "0", ""},
                          error_messages={"invalid": "give yes or no (or y/n, true/false, 1/0, or leave it empty)"})
    identities = fields.Function(deserialize=_identities, load_default=list)
    #: The day they joined (YYYY-MM-DD); left empty, an employee's day stays as it was.
    started_on = fields.Date(load_default=None, error_messages={"invalid": "give a day as YYYY-MM-DD"})


@dataclass
class PeopleReport:
    created: int = 0
    #: Employees already there whom the row changed (name, team, active again, the day they joined, an identity
    #: added, made lead).
    updated: int = 0
    #: Employees already there whom the row left as they were.
    unchanged: int = 0
    #: Of the updated, employees who had been deactivated (left) and are active again.
    reactivated: list[str] = field(default_factory=list)
    teams_created: int = 0
    #: Waiting feedback items credited because an identity they named is now someone's.
    credited: int = 0
    #: What the import changed about employees already there: ``"ann@x.io: team Support -> Billing"``.
    changes: list[str] = field(default_factory=list)
    errors: list[tuple[int, dict]] = field(default_factory=list)


def read_rows(lines: Iterable[str]) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]]]:
    """Parse and validate CSV lines; return (line number, row) for the good rows and the errors."""
    reader = csv.DictReader(lines)
    try:
        return _checked_rows(reader)
    except csv.Error as exc:  # a field past the csv module's limit, a NUL: the file's fault, said with its line
        # line_num counts the lines read whole: the fault is in the next.
        return [], [(reader.line_num + 1, {"file": [f"not readable as CSV from this line: {exc}"]})]


def _checked_rows(reader: csv.DictReader) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]]]:
    if reader.fieldnames:  # "Name", " Email ": a spreadsheet's headings, as the columns they are
        reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames]
    missing = [c for c in ("name", "email", "team") if c not in (reader.fieldnames or ())]
    if missing:
        semicolons = len(reader.fieldnames or ()) == 1 and ";" in reader.fieldnames[0]
        return [], [(1, {"header": [
            f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}" + (
                " (the columns are separated by ';': save the file as CSV with commas)" if semicolons else "")]})]
    schema = PersonRowSchema()
    good, bad, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for key, value in row.items() if isinstance(value, str)):
            continue  # the empty rows spreadsheets leave at the end (",,,,,")
        raw = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
        raw = {k: v for k, v in raw.items() if v != "" or k in ("name", "email", "team")}
        if "lead" in raw:
            raw["lead"] = raw["lead"].lower()
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            bad.append((line, exc.messages))
            continue
        email = data["email"].lower()
        if email in seen:
            bad.append((line, {"email": [f"already on line {seen[email]}"]}))
            continue
        seen[email] = line
        good.append((line, data))
    return good, bad


def _said(value) -> str:
    return "none" if value is None else str(value)


def _who(employee: Employee | None) -> str | None:
    return (employee.email or employee.name) if employee is not None else None


def day_text(day) -> str | None:
    """A day as the audit and messages give it (ISO), or None."""
    return day.isoformat() if day else None


def _slug(name: str) -> str:
    """The team's name folded for comparing: case and punctuation aside, letters of every script kept.

    ASCII letters alone had made サポート東京, 支持北京 and الدعم القاهرة all "team", clashing with each other.
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    # Letters, digits and combining marks (a Devanagari vowel sign, a Thai tone mark) are the name; only the
    # rest separates: \W alone took the marks for separators, so "टीम राम" and "टीम रोम" were one team.
    kept = "".join(c if c.isalnum() or unicodedata.category(c).startswith("M") else " " for c in folded)
    return "-".join(kept.split())[:100] or "team"


def _person_key(data: dict) -> tuple:
    """Whom a row is about: the employee an edit names (who may have no e-mail), or else the e-mail."""
    employee = data.get("employee")
    return ("id", employee.id) if employee is not None else ("email", data["email"].lower())


def _conflicts(session: Session, rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """Find what the database would refuse, or what would make one address two people's: identities claimed
    twice, team names that collide."""
    errors: list[tuple[int, dict]] = []
    claimed: dict[tuple[str, str], tuple[int, tuple, dict]] = {}
    for line, data in rows:
        for ident in data["identities"]:
            first = claimed.setdefault(ident, (line, _person_key(data), data))
            if first[1] != _person_key(data):
                errors.append((line, {"identities": [f"{ident[0]}:{ident[1]} is also on line {first[0]}"]}))
    # By id, then by provider here: a list of (provider, id) pairs this long is too deep for PostgreSQL to parse.
    owners = [owner for part in slices(sorted({external_id for _, external_id in claimed}))
              for owner in session.execute(
                  select(EmployeeIdentity.provider, EmployeeIdentity.external_id, Employee.id, Employee.email,
                         Employee.name, Employee.active)
                  .join(Employee, Employee.id == EmployeeIdentity.employee_id)
                  .where(EmployeeIdentity.external_id.in_(part)))
              if (owner.provider, owner.external_id) in claimed]
    for provider, external_id, owner_id, email, name, active in owners:
        line, wanted_by, data = claimed[(provider, external_id)]
        if wanted_by not in (("id", owner_id), ("email", (email or "").lower())):
            # Said how to pass it on: a leaver's desk phone goes to the next person at that desk.
            identity = f"{provider}:{external_id}"
            errors.append((line, {"identities": [
                f"{identity} already belongs to {email or name}" + ("" if active else ", who has left") +
                ": " + (data.get("move_hint") or
                        "import this row without it, then `plaudit org move-identity {identity} --to "
                        f"{data['email']}`").replace("{identity}", identity)]}))
    errors += _address_conflicts(session, rows)
    # Slugs are unique: "Support EMEA" and "support emea" would be one team spelt two ways.
    spelling = {}
    for team in session.scalars(select(Team)):
        spelling[team.slug] = team.name
        spelling.setdefault(_slug(team.name), team.name)  # a team stored before slugs kept every script
    for line, data in rows:
        known = spelling.setdefault(_slug(data["team"]), data["team"])
        if known != data["team"]:
            errors.append((line, {"team": [f"{data['team']!r} clashes with team {known!r}: spell it the same"]}))
    return sorted(errors, key=lambda error: error[0])


def _address_conflicts(session: Session, rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """An address is one person's, as their e-mail or as an identity of theirs (an old address kept on a change):
    a new person's address may be neither another row's identity nor someone's stored one. An employee matched by
    their address is theirs already."""
    errors: list[tuple[int, dict]] = []
    addressed = {data["email"].lower(): (line, data) for line, data in rows if data.get("employee") is None}
    for part in slices(sorted(addressed)):
        for (known,) in session.execute(select(func.lower(Employee.email)).where(func.lower(Employee.email).in_(part))):
            addressed.pop(known, None)
    for line, data in rows:
        for provider, external_id in data["identities"]:
            other = addressed.get(external_id) if provider == "email" else None
            if other is not None and other[0] != line:
                errors.append((line, {"identities": [f"email:{external_id} is the address of line {other[0]}"]}))
    for part in slices(sorted(addressed)):
        for address, owner_email, name in session.execute(
                select(EmployeeIdentity.external_id, Employee.email, Employee.name)
                .join(Employee, Employee.id == EmployeeIdentity.employee_id)
                .where(EmployeeIdentity.provider == "email", EmployeeIdentity.external_id.in_(part))):
            line, _data = addressed[address]
            if (owner_email or "").lower() != address:
                errors.append((line, {"email": [(f"{address} is an identity of {owner_email or name}: give this "
                                                f"person another address")]}))
    return errors


def _keep_former_team(session: Session, employee: Employee, moved_on) -> None:
    """Keep the team ``employee`` leaves today, as theirs up to yesterday; moved twice in a day, the team of the
    day before stays the one kept (the other was theirs for no whole day)."""
    until = moved_on - timedelta(days=1)
    kept = session.scalar(select(FormerTeam.id).where(FormerTeam.employee_id == employee.id,
                                                      FormerTeam.until == until))
    if kept is None:
        session.add(FormerTeam(employee_id=employee.id, team_id=employee.team_id, until=until))


def import_people(session: Session, lines: Iterable[str], progress=None, *, actor=None,
                  note: str = "plaudit org import") -> PeopleReport:
    """Validate every row, then create or update teams, employees, leads and identities in ``session``."""
    rows, errors = read_rows(lines)
    return import_rows(session, rows, errors, progress, actor=actor, note=note)


def import_rows(session: Session, rows: list[tuple[int, dict]], errors: list[tuple[int, dict]] = (),
                progress=None, *, actor=None, note: str) -> PeopleReport:
    """Create or update the people of ``rows`` (:class:`PersonRowSchema`'s data, by line), unless a row or a clash
    with what is stored is at fault: then nothing, and ``errors`` holds every fault.

    A row's data may name the ``employee`` it updates (the people page's edit, for someone who may have no e-mail);
    otherwise employees are matched by e-mail. A row's ``move_hint`` says how to pass on an identity someone else
    holds, where the command line's advice does not fit.
    """
    report = PeopleReport()
    # Clashes are looked for among the rows that are fine on their own, so one run names every fault.
    report.errors = sorted([*errors, *_conflicts(session, rows)], key=lambda error: error[0])
    if report.errors:
        return report
    emails = [data["email"].lower() for _, data in rows if data.get("employee") is None]
    employees = {e.email.lower(): e for part in slices(emails) for e in session.scalars(
        select(Employee).options(selectinload(Employee.identities)).where(func.lower(Employee.email).in_(part)))}
    teams = {t.name: t for t in session.scalars(select(Team))}
    mapped: list[tuple[str, str]] = []
    # Who was whose, and in which team, decides who is credited and paid: every change is audited.
    audits: list[tuple[str, Employee | Team, dict | None, dict]] = []

    # Of several leads a file names for one team, the last wins: the others are not made lead on the way there,
    # or every import of the file would change the lead twice and count both as updated.
    leads = {data["team"]: _person_key(data) for _, data in rows if data["lead"]}
    moved_on = local_time.today()  # a move counts from today: periods that end before it keep the team left
    for _, data in rows:
        team = teams.get(data["team"])
        if team is None:
            team = teams[data["team"]] = Team(name=data["team"], slug=_slug(data["team"]))
            session.add(team)
            report.teams_created += 1
            audits.append(("team.created", team, None, {"name": team.name}))
        employee = data.get("employee") or employees.get(data["email"].lower())
        before = None
        if employee is None:
            employee = Employee(email=data["email"].lower())
            session.add(employee)
            report.created += 1
        else:
            before = {"name": employee.name, "team": employee.team.name if employee.team else None,
                      "active": employee.active, "started_on": day_text(employee.started_on)}
            left_on = day_text(employee.left_on)
            # A leaver named again in the file: said, since an old list would bring back many
            if not employee.active and data.get("employee") is None:
                # with the day they left, which the import forgets: to put back with `org deactivate --left-on`
                report.reactivated.append(employee.email + (f" (left {day_text(employee.left_on)})"
                                                            if employee.left_on else ""))
        if data.get("employee") is None:  # named again in the file, a leaver is back: the day they left no longer holds
            employee.active, employee.left_on = True, None
        if before is not None and employee.team is not team:
            _keep_former_team(session, employee, moved_on)
        employee.name, employee.team = data["name"], team
        if data["started_on"] is not None:
            employee.started_on = data["started_on"]
        known = {(i.provider, i.external_id) for i in employee.identities}
        added = []
        for provider, external_id in data["identities"]:
            if (provider, external_id) not in known:
                employee.identities.append(EmployeeIdentity(provider=provider, external_id=external_id))
                mapped.append((provider, normalise_identity(provider, external_id)))
                added.append(f"{provider}:{external_id}")
        after = {"name": employee.name, "team": team.name, "active": employee.active,
                 "started_on": day_text(employee.started_on)}
        if before is None:
            audits.append(("employee.created", employee, None, {**after, "email": employee.email,
                                                                 "identities": added}))
        elif before != after or added:
            changed = {key: value for key, value in after.items() if before[key] != value}
            if changed.get("active"):  # as `plaudit org activate` audits it, so a search for either finds both
                audits.append(("employee.activated", employee, {"active": False, "left_on": left_on},
                               {"active": True, "left_on": None}))
            audits.append(("employee.updated", employee, {key: before[key] for key in changed},
                           {**changed, **({"identities_added": added} if added else {})}))
            report.changes += [f"{employee.email}: {key} {_said(before[key])} -> {_said(value)}"
                               for key, value in changed.items() if key != "active"]
        made_lead = leads.get(data["team"]) == _person_key(data) and team.manager is not employee
        if made_lead:
            # By name where there is no address (someone edited on the people page): None reads as "no lead".
            audits.append(("team.lead_set", team, {"lead": _who(team.manager)}, {"lead": _who(employee)}))
            team.manager = employee
        if before is not None:
            if before != after or added or made_lead:
                report.updated += 1
            else:
                report.unchanged += 1
        if progress:
            progress(1)
    session.flush()
    for action, entity, before, after in audits:
        record_audit(session, action, entity, actor=actor, before=before, after=after, note=note)
    report.credited = len(credit_mapped_identities(session, mapped, actor=actor))
    return report
