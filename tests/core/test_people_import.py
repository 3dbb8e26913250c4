"""``plaudit org import``: the organisation from CSV, all or nothing, idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import transaction
from core.models import (
    AuditEntry,
    Employee,
    EmployeeIdentity,
    Feedback,
    Team,
    User,
    utcnow,
)
from tests.fixtures.app import row_counts

GOOD = """name,email,team,lead,identities
Lea Lead,lea@example.com,Support EMEA,yes,zendesk:361
Ann Agent,ann@example.com,Support EMEA,,zendesk:362; email:ann@example.com
Bob Biller,bob@example.com,Billing,no,
"""


def _run(app, tmp_path, text):
    path = tmp_path / "people.csv"
    path.write_text(text)
    return app.test_cli_runner().invoke(args=["org", "import", str(path)])


def test_import_creates_teams_employees_leads_and_identities(app, session, tmp_path):
    result = _run(app, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "employees created 3, updated 0, unchanged 0; teams created 2" in result.output
    emea = session.scalar(select(Team).where(Team.name == "Support EMEA"))
    assert emea.slug == "support-emea" and emea.manager.email == "lea@example.com"
    ann = session.scalar(select(Employee).where(Employee.email == "ann@example.com"))
    assert ann.team == emea
    assert sorted((i.provider, i.external_id) for i in ann.identities) == [
        ("email", "ann@example.com"), ("zendesk", "362")]


def test_an_import_that_names_a_leaver_again_says_it_made_them_active(app, session, tmp_path):
    """Re-importing an old list brought every leaver back without a word."""
    _run(app, tmp_path, GOOD)
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com"]).exit_code == 0
    again = _run(app, tmp_path, GOOD)
    assert again.exit_code == 0 and "updated 1, unchanged 2" in again.output
    assert "1 of them had been deactivated and are active again: bob@example.com" in again.output
    # audited as `plaudit org activate` audits it
    bob = session.scalar(select(Employee.id).where(Employee.email == "bob@example.com"))
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(bob))
                           .order_by(AuditEntry.id)).all()[-2:] == ["employee.activated", "employee.updated"]
    assert "active again" not in _run(app, tmp_path, GOOD).output


def test_reimport_changes_nothing_and_moves_people_between_teams(app, session, tmp_path):
    _run(app, tmp_path, GOOD)
    before = row_counts(app)
    # every employee was counted "updated" though nothing changed, and people read it as changes
    assert "employees created 0, updated 0, unchanged 3; teams created 0" in _run(app, tmp_path, GOOD).output
    assert row_counts(app) == before
    moved = GOOD.replace("Ann Agent,ann@example.com,Support EMEA", "Ann Agent,ann@example.com,Billing")
    assert "updated 1, unchanged 2" in _run(app, tmp_path, moved).output
    session.expire_all()
    assert session.scalar(select(Employee).where(Employee.email == "ann@example.com")).team.name == "Billing"


def test_what_an_import_changes_is_said_and_audited(app, session, tmp_path):
    """An import moved people between teams, renamed them and added identities with no word but "updated 3",
    and no audit entry: who was in which team, known by which identity, decides who is credited and paid."""
    _run(app, tmp_path, GOOD)
    changed = GOOD.replace("Ann Agent,ann@example.com,Support EMEA,,zendesk:362",
                           "Ann Carter,ann@example.com,Billing,,zendesk:362; phone:214")
    result = _run(app, tmp_path, changed)
    assert result.exit_code == 0, result.output
    assert "  ann@example.com: name Ann Agent -> Ann Carter\n  ann@example.com: team Support EMEA -> Billing" \
        in result.output
    session.expire_all()
    ann = session.scalar(select(Employee.id).where(Employee.email == "ann@example.com"))
    entries = session.execute(select(AuditEntry.action, AuditEntry.before, AuditEntry.after)
                              .where(AuditEntry.entity_type == "employees", AuditEntry.entity_id == str(ann))
                              .order_by(AuditEntry.id)).all()
    assert [action for action, _, _ in entries] == ["employee.created", "employee.updated"]
    assert entries[1][1:] == ({"name": "Ann Agent", "team": "Support EMEA"},
                              {"name": "Ann Carter", "team": "Billing", "identities_added": ["phone:214"]})
    created = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "teams")
                              .order_by(AuditEntry.id)).all()
    assert created == ["team.created", "team.lead_set", "team.created"]  # Support EMEA and its lead; Billing


def test_any_bad_row_imports_nothing_and_every_bad_row_is_named(app, tmp_path):
    before = row_counts(app)
    result = _run(app, tmp_path, GOOD + "No Mail,,Billing,,\nEve,eve@example.com,Billing,maybe,zendesk\n"
                                        "Ann Again,ann@example.com,Billing,,\n")
    assert result.exit_code == 1
    assert "line 5: email: Not a valid email address." in result.stderr
    assert "line 6: lead: give yes or no" in result.stderr
    assert "'zendesk' is not provider:id" in result.stderr
    assert "line 7: email: already on line 3" in result.stderr
    assert "nothing imported: 3 row(s)" in result.stderr
    assert row_counts(app) == before


def test_a_field_past_what_csv_reads_is_named_by_its_line_not_a_traceback(app, tmp_path):
    before = row_counts(app)
    result = _run(app, tmp_path, GOOD + f"Eve,eve@example.com,Billing,,{'x' * 200_000}\n")
    assert result.exit_code == 1
    assert "line 5: file: not readable as CSV from this line: field larger than field limit" in result.stderr
    assert row_counts(app) == before


def test_missing_columns_and_stolen_identities_are_refused(app, session, tmp_path, create_employee):
    assert "missing column(s) team" in _run(app, tmp_path, "name,email\nA,a@example.com\n").stderr
    create_employee("Zed", email="zed@example.com", identities=[("zendesk", "361")])
    result = _run(app, tmp_path, GOOD)
    assert result.exit_code == 1 and "zendesk:361 already belongs to zed@example.com" in result.stderr
    assert session.scalar(select(func.count()).select_from(EmployeeIdentity)) == 1


def test_reimport_with_mixed_case_email_identity_is_idempotent(app, session, tmp_path):
    text = "name,email,team,lead,identities\nAmira,Amira@Example.com,Support,Yes,email:Amira@Example.com\n"
    assert _run(app, tmp_path, text).exit_code == 0
    again = _run(app, tmp_path, text)
    assert again.exit_code == 0, again.output
    assert session.scalar(select(EmployeeIdentity.external_id)) == "amira@example.com"
    assert session.scalar(select(Team)).manager.email == "amira@example.com"  # "Yes" counts as yes


def test_clashes_the_database_would_refuse_are_named_by_line(app, tmp_path):
    before = row_counts(app)
    result = _run(app, tmp_path, "name,email,team,lead,identities\n"
                                 "Ann,ann@example.com,Support EMEA,,zendesk:1\n"
                                 "Bob,bob@example.com,support emea,,zendesk:1\n")
    assert result.exit_code == 1
    assert ("line 3: identities: zendesk:1 is also on line 2; team: 'support emea' clashes with team "
            "'Support EMEA'") in result.stderr
    assert row_counts(app) == before


def test_a_file_naming_more_identities_than_a_statement_takes_parameters_imports(app, session, tmp_path):
    # 17,000 people with two identities each: 68,000 values as (provider, id) pairs, past PostgreSQL's 65,535
    # parameters (and SQLite's 32,766) in one statement; the file was refused with a database error.
    rows = "".join(f"P{n},p{n}@example.com,Team {n % 50},zendesk:{n}; phone:{n}\n" for n in range(17_000))
    result = _run(app, tmp_path, "name,email,team,identities\n" + rows)
    assert result.exit_code == 0, result.output
    assert "employees created 17000" in result.output
    again = _run(app, tmp_path, "name,email,team,identities\nQ,q@example.com,Team 1,phone:16999\n")
    assert again.exit_code == 1 and "phone:16999 already belongs to p16999@example.com" in again.stderr


def test_an_address_given_as_another_rows_identity_is_refused_and_old_overlaps_import_again(app, session, tmp_path,
                                                                                            create_employee):
    both = "name,email,team,identities\nAnn,ann@example.com,T,\nBob,bob@example.com,T,email:ann@example.com\n"
    refused = _run(app, tmp_path, both)
    assert refused.exit_code == 1 and "line 3: identities: email:ann@example.com is the address of line 2" in \
        refused.stderr
    # Stored so before the check: a file naming them as they are imports again, changing nothing.
    create_employee("Ann", email="ann@example.com")
    create_employee("Bob", email="bob@example.com", identities=[("email", "ann@example.com")])
    again = _run(app, tmp_path, both.replace("email:ann@example.com", ""))
    assert again.exit_code == 0, again.output


def test_teams_named_in_any_script_are_teams_of_their_own(app, session, tmp_path):
    """Slugs kept ASCII letters alone: サポート東京, 支持北京 and الدعم القاهرة were all "team", and the import
    refused the second as clashing with the first."""
    result = _run(app, tmp_path, "name,email,team,lead,identities\n"
                                 "Aiko,aiko@example.com,サポート東京,,\n"
                                 "Li,li@example.com,支持北京,,\n"
                                 "Mona,mona@example.com,الدعم القاهرة,,\n"
                                 "Zoë,zoe@example.com,Équipe Zoë,,\n"
                                 "Asha,asha@example.com,टीम राम,,\n"
                                 "Ravi,ravi@example.com,टीम रोम,,\n"
                                 "Niran,niran@example.com,ทีมข่าย,,\n")
    assert result.exit_code == 0, result.stderr
    assert set(session.scalars(select(Team.slug))) == {"الدعم-القاهرة", "サポート東京", "支持北京", "équipe-zoë", "टीम-राम",
                                                         "टीम-रोम", "ทีมข่าย"}
    session.rollback()  # (on SQLite the read would hold the import's write back)
    clash = _run(app, tmp_path, "name,email,team,lead,identities\nZed,zed@example.com,ÉQUIPE ZOË,,\n")
    assert clash.exit_code == 1 and "'ÉQUIPE ZOË' clashes with team 'Équipe Zoë'" in clash.stderr


def test_org_list_shows_ids_leads_and_identities(app, tmp_path):
    _run(app, tmp_path, GOOD)
    output = app.test_cli_runner().invoke(args=["org", "list"]).output
    assert "Support EMEA" in output and "Billing" in output
    lea = next(line for line in output.splitlines() if "Lea Lead" in line)
    assert lea.split()[0].isdigit() and lea.rstrip().endswith("zendesk:361  lead")


def test_row_faults_and_clashes_are_named_in_one_run(app, tmp_path):
    result = _run(app, tmp_path, "name,email,team,lead,identities\n"
                                 "Ann,ann@example.com,Support,,zendesk:1\n"
                                 "Bob,not-an-email,Support,,\n"
                                 "Cy,cy@example.com,Support,,zendesk:1\n")
    assert "line 3: email: Not a valid email address." in result.stderr
    assert "line 4: identities: zendesk:1 is also on line 2" in result.stderr
    assert "nothing imported: 2 row(s)" in result.stderr


def test_a_leavers_identity_passes_to_the_new_hire(app, session, tmp_path):
    """A leaver's desk phone could never be given to the next person at that desk: the import refused it for
    good, and nothing else could move it."""
    _run(app, tmp_path, GOOD)
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "ann@example.com"]).exit_code == 0
    # The next file: Ann gone from it, Nia at her desk.
    hire = GOOD.replace("Ann Agent,ann@example.com,Support EMEA,,zendesk:362; email:ann@example.com",
                        "Nia New,nia@example.com,Support EMEA,,zendesk:362")
    refused = _run(app, tmp_path, hire)
    assert refused.exit_code == 1
    assert ("zendesk:362 already belongs to ann@example.com, who has left: import this row without it, then "
            "`plaudit org move-identity zendesk:362 --to nia@example.com`") in refused.stderr
    assert _run(app, tmp_path, hire.replace(",zendesk:362\n", ",\n")).exit_code == 0
    session.rollback()
    with transaction() as session_:
        ann = session_.scalar(select(Employee.id).where(Employee.email == "ann@example.com"))
        session_.add(Feedback(channel="post_ticket_survey", kind="csat", external_id="old", value=5,
                              occurred_at=utcnow(), employee_id=ann, attributed_identity="zendesk:362",
                              attribution_policy="agent_on_survey", offered_basis="agent_on_survey"))
    moved = app.test_cli_runner().invoke(args=["org", "move-identity", "zendesk:362", "--to", "nia@example.com"])
    assert moved.exit_code == 0, moved.output
    assert "zendesk:362 moved from Ann Agent (ann@example.com, inactive) to Nia New (nia@example.com)" in moved.output
    session.expire_all()
    nia = session.scalar(select(Employee).where(Employee.email == "nia@example.com"))
    assert [(i.provider, i.external_id) for i in nia.identities] == [("zendesk", "362")]
    # Ann's item was hers at the time: it stays hers.
    assert session.scalar(select(Feedback.employee_id).where(Feedback.external_id == "old")) == ann
    assert session.scalar(select(AuditEntry.after).where(AuditEntry.action == "employee.identity_moved")) == {
        "identity": "zendesk:362", "employee_id": nia.id, "with_feedback": False}


def test_an_identity_on_a_duplicate_record_moves_with_its_items(app, session, tmp_path):
    """A helpdesk account mapped to a duplicate record credited the person's ratings to nobody, and HR had no
    way to give them back."""
    _run(app, tmp_path, GOOD + "Ann Again,ann.again@example.com,Support EMEA,,zendesk:999\n")
    with transaction() as session_:
        duplicate = session_.scalar(select(Employee.id).where(Employee.email == "ann.again@example.com"))
        for n in range(2):
            session_.add(Feedback(channel="post_ticket_survey", kind="csat", external_id=f"dup{n}", value=5,
                                  occurred_at=utcnow(), employee_id=duplicate, attributed_identity="zendesk:999",
                                  attribution_policy="agent_on_survey", offered_basis="agent_on_survey"))
        # one a manager credited to the record by hand: a person's decision, which the move leaves alone
        session_.add(Feedback(channel="post_ticket_survey", kind="csat", external_id="kept", value=4,
                              occurred_at=utcnow(), employee_id=duplicate, attributed_identity="zendesk:999",
                              attribution_policy="manual", offered_basis="agent_on_survey"))
    cli = app.test_cli_runner()
    assert cli.invoke(args=["org", "deactivate", "ann.again@example.com"]).exit_code == 0
    moved = cli.invoke(args=["org", "move-identity", " zendesk : 999 ", "--to", "ann@example.com", "--with-feedback"])
    assert moved.exit_code == 0, moved.output
    assert "2 item(s) credited through it moved with it" in moved.output
    assert "appraise those periods again" in moved.stderr
    session.expire_all()
    ann = session.scalar(select(Employee).where(Employee.email == "ann@example.com"))
    assert set(session.scalars(select(Feedback.employee_id).where(Feedback.external_id.like("dup%")))) == {ann.id}
    assert set(session.scalars(select(Feedback.team_id).where(Feedback.external_id.like("dup%")))) == {ann.team_id}
    assert session.scalar(select(Feedback.employee_id).where(Feedback.external_id == "kept")) == duplicate
    session.rollback()  # (SQLite: the reads above would hold the database against the command's writes)
    # Refused, naming why: nobody has it, she has it already, or the one asked for has left.
    for args, said in ((["phone:1", "--to", "ann@example.com"], "nobody is known by phone:1"),
                       (["zendesk:999", "--to", "ann@example.com"], "is Ann Agent's already"),
                       (["zendesk:999", "--to", "ann.again@example.com"], "is inactive (left)"),
                       (["zendesk999", "--to", "ann@example.com"], "is not provider:id"),
                       # her own address: her digests would go there while what names it counted for Lea
                       (["email:ann@example.com", "--to", "lea@example.com"],
                        "email:ann@example.com is Ann Agent's own address")):
        refused = cli.invoke(args=["org", "move-identity", *args])
        assert refused.exit_code == 2 and said in refused.output, refused.output
    # the option at fault named as it is typed
    assert "Invalid value for --to" in cli.invoke(args=["org", "move-identity", "zendesk:999", "--to", "99999"]).output


def test_an_employees_new_email_is_changed_in_place(app, session, tmp_path, create_user):
    """A new e-mail could not be given: the import matched by the old one and refused the row's identities, or
    made a second employee; digests kept going to the old address and the account signed in with it."""
    _run(app, tmp_path, GOOD)
    ann = session.scalar(select(Employee).where(Employee.email == "ann@example.com"))
    create_user("Ann@Example.com", employee=ann)
    session.rollback()
    cli = app.test_cli_runner()
    changed = cli.invoke(args=["org", "set-email", "ann@example.com", "Ann.Carter@example.com"])
    assert changed.exit_code == 0, changed.output
    assert "e-mail ann@example.com -> ann.carter@example.com" in changed.output
    assert "their account signs in as ann.carter@example.com" in changed.output
    session.expire_all()
    ann = session.get(Employee, ann.id)
    assert ann.email == "ann.carter@example.com"
    assert ("email", "ann@example.com") in {(i.provider, i.external_id) for i in ann.identities}  # already was one
    assert session.scalar(select(User.email).where(User.employee_id == ann.id)) == "ann.carter@example.com"
    assert [a for (a,) in session.execute(select(AuditEntry.action).where(AuditEntry.action.like("%email_changed")))
            ] == ["employee.email_changed", "user.email_changed"]
    session.rollback()
    # The next import, with the new address, updates her rather than making a second Ann.
    assert "employees created 0, updated 1, unchanged 2" in _run(app, tmp_path, GOOD.replace("ann@example.com",
                                                                                 "ann.carter@example.com")).output
    # A rating naming Bob's new address before HR gave it to him waited in the queue: it is his now.
    from core.ingestion import ingest
    from tests.fixtures.payloads import survey

    with transaction() as writing:
        waiting = ingest(writing, "post_ticket_survey", [survey("r-new", agent=("email", "Bob.B@Example.com"))])
        waiting_id = waiting.created[0].feedback_id
    assert session.get(Feedback, waiting_id).employee_id is None
    session.rollback()
    bob = cli.invoke(args=["org", "set-email", "bob@example.com", "BOB.B@example.com"])
    assert "1 waiting item(s) that named bob.b@example.com credited to Bob" in bob.output, bob.output
    session.expire_all()
    credited = session.get(Feedback, waiting_id)
    assert credited.employee_id == session.scalar(select(Employee.id).where(Employee.email == "bob.b@example.com"))
    session.rollback()
    assert "email:bob@example.com stays theirs as an identity" in bob.output
    for args, said in ((["bob.b@example.com", "lea@example.com"], "lea@example.com is Lea Lead's"),
                       (["bob.b@example.com", "not an address"], "Not a valid email address"),
                       (["bob.b@example.com", "bob.b@example.com"], "is bob.b@example.com already")):
        refused = cli.invoke(args=["org", "set-email", *args])
        assert refused.exit_code == 2 and said in refused.output, refused.output


def test_a_file_naming_two_leads_for_a_team_makes_the_last_one_lead_once(app, session, tmp_path):
    """Each import of such a file made the first lead, then the second, and counted both as updated."""
    two_leads = GOOD.replace("Ann Agent,ann@example.com,Support EMEA,,", "Ann Agent,ann@example.com,Support EMEA,yes,")
    assert "employees created 3" in _run(app, tmp_path, two_leads).output
    again = _run(app, tmp_path, two_leads)
    assert "employees created 0, updated 0, unchanged 3" in again.output
    emea = session.scalar(select(Team).where(Team.name == "Support EMEA"))
    assert emea.manager.email == "ann@example.com"
    assert session.scalars(select(AuditEntry.after).where(AuditEntry.action == "team.lead_set")).all() == [
        {"lead": "ann@example.com"}]
