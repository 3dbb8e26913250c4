"""The plaudit command line: accounts, tokens, ingestion from files, jobs."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from core.models import ApiToken, Feedback, User, hash_token, utcnow
from tests.fixtures.payloads import survey


def test_users_create_hashes_the_password_and_sets_roles(app, session):
    result = app.test_cli_runner().invoke(args=["users", "create", "hr@example.com", "--name", "Hana",
                                                "--role", "hr", "--role", "manager", "--password", "long enough"])
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User))
    assert user.roles == {"hr", "manager"} and user.check_password("long enough")
    assert "long enough" not in user.password_hash


def test_users_create_refuses_bad_input_naming_it(app, create_employee):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "create", "a@example.com", "--name", "A", "--role", "hr",
                                "--password", "short"])
    assert short.exit_code == 2 and "--password" in short.output and "8 characters" in short.output
    bad_role = runner.invoke(args=["users", "create", "a@example.com", "--name", "A", "--role", "boss",
                                   "--password", "long enough"])
    assert bad_role.exit_code == 2 and "--role" in bad_role.output
    no_employee = runner.invoke(args=["users", "create", "a@example.com", "--name", "A", "--role", "employee",
                                      "--employee-id", "4242", "--password", "long enough"])
    assert no_employee.exit_code == 2 and "no employee has id 4242" in no_employee.output
    runner.invoke(args=["users", "create", "a@example.com", "--name", "A", "--role", "hr",
                        "--password", "long enough"])
    again = runner.invoke(args=["users", "create", "A@example.com", "--name", "A", "--role", "hr",
                                "--password", "long enough"])
    assert again.exit_code == 2 and "exists" in again.output
    ann = create_employee("Ann")
    runner.invoke(args=["users", "create", "ann@example.com", "--name", "Ann", "--role", "employee",
                        "--employee-id", str(ann.id), "--password", "long enough"])
    second = runner.invoke(args=["users", "create", "ann2@example.com", "--name", "Ann", "--role", "hr",
                                 "--employee-id", str(ann.id), "--password", "long enough"])
    assert second.exit_code == 2 and "already has the account ann@example.com" in second.output  # was a traceback


def test_tokens_create_prints_the_token_once_and_stores_its_hash(app, session, create_user):
    create_user("bot@example.com", roles=["admin"])
    result = app.test_cli_runner().invoke(args=["tokens", "create", "bot@example.com", "--name", "bridge",
                                                "--scope", "feedback:write"])
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip()
    stored = session.scalar(select(ApiToken))
    assert stored.token_hash == hash_token(plain) and stored.scopes == ["feedback:write"]
    assert stored.expires_at is None  # until revoked


def test_a_token_can_be_made_to_expire(app, session, create_user):
    from datetime import timedelta

    from core.models import utcnow

    create_user("bot@example.com", roles=["admin"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "trial", "--scope", "feedback:read",
                                 "--expires-in", "30"])
    assert result.exit_code == 0, result.output
    assert "It stops working on" in result.stderr
    expires = session.scalar(select(ApiToken.expires_at))
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    refused = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "x", "--scope", "feedback:read",
                                  "--expires-in", "0"])
    assert refused.exit_code == 2 and "--expires-in" in refused.output


def test_ingest_file_reports_rejected_payloads_by_position_and_is_idempotent(app, session, tmp_path):
    path = tmp_path / "responses.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in [survey("a"), survey("b", rating=7), survey("c")]))
    runner = app.test_cli_runner()

    first = runner.invoke(args=["ingest", "post_ticket_survey", str(path)])
    assert first.exit_code == 1
    assert "created 2, duplicates 0, rejected 1" in first.stdout
    assert "payload 2: rating: must be between 1 and 5" in first.stderr

    again = runner.invoke(args=["ingest", "post_ticket_survey", str(path)])
    assert "created 0, duplicates 2, rejected 1" in again.stdout
    assert session.scalar(select(func.count()).select_from(Feedback)) == 2


def test_ingest_refuses_unknown_channel_and_broken_json(app, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"response_id": "a",}]')
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["ingest", "pigeon", str(path)])
    assert unknown.exit_code == 2 and ("unknown channel 'pigeon'; loaded: mystery_shopper, post_ticket_survey, social_monitoring, ticket_metrics"
                                         in unknown.output)
    broken = runner.invoke(args=["ingest", "post_ticket_survey", str(path)])
    assert broken.exit_code == 2 and "line 1, column" in broken.output


def test_jobs_status_and_dispatch(app):
    runner = app.test_cli_runner()
    assert "pending in the database: 0" in runner.invoke(args=["jobs", "status"]).output
    assert "queue: inline" in runner.invoke(args=["jobs", "status"]).output
    assert "dispatched 0 job(s)" in runner.invoke(args=["jobs", "dispatch"]).output


def test_worker_and_cron_explain_that_they_need_redis(app):
    runner = app.test_cli_runner()
    for command in ("worker", "cron"):
        result = runner.invoke(args=[command])
        assert result.exit_code == 2 and "PLAUDIT_REDIS_URL is not set" in result.output


def test_tokens_list_and_revoke(app, session, create_user):
    create_user("bot@example.com", roles=["admin"])
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "bridge",
                                "--scope", "feedback:write"]).stdout.strip()
    listing = runner.invoke(args=["tokens", "list"]).output
    assert f"{plain[:12]}  active" in listing and "never used" in listing and plain not in listing
    assert "no expiry" in listing
    ending = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "pilot", "--scope",
                                 "feedback:write", "--expires-in", "30"]).stdout.strip()
    line = next(row for row in runner.invoke(args=["tokens", "list"]).output.splitlines() if "pilot" in row)
    assert line.startswith(ending[:12]) and f"until {utcnow() + timedelta(days=30):%Y-%m-%d}" in line
    assert runner.invoke(args=["tokens", "revoke", plain[:10]]).exit_code == 0  # any unique prefix
    assert f"{plain[:12]}  revoked" in runner.invoke(args=["tokens", "list"]).output
    assert runner.invoke(args=["tokens", "revoke", "pld_nothing"]).exit_code == 2
    assert "at least 8" in runner.invoke(args=["tokens", "revoke", "pld_"]).output
    session.expire_all()
    assert session.scalar(select(ApiToken).where(ApiToken.prefix == plain[:12])).revoked_at is not None


def test_nested_field_errors_read_as_dotted_names(app, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(survey("a") | {"agent": {"provider": "helpdesk"}}))
    result = app.test_cli_runner().invoke(args=["ingest", "post_ticket_survey", str(path)])
    assert "payload 1: agent.id: Missing data for required field." in result.stderr


def test_commands_before_the_schema_exists_say_what_to_do(tmp_path):
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
           "PLAUDIT_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "users", "list"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "run `plaudit db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr
    assert "missing or old in the database configured (by default the instance folder's plaudit.db)" in result.stderr
    # a command meant for the demo's database, run without naming it, is told which one it read
    named = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "users", "list"],
                           env={**env, "PLAUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/other.db"},
                           capture_output=True, text=True, timeout=60, check=False)
    assert f"missing or old in sqlite:///{tmp_path}/other.db: run `plaudit db upgrade`, or point " in named.stderr
    hidden = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "users", "list"], env={
        **env, "PLAUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/other.db?password=s3cret"},
        capture_output=True, text=True, timeout=60, check=False)
    assert "s3cret" not in hidden.stderr and f"sqlite:///{tmp_path}/other.db:" in hidden.stderr


def test_jobs_status_with_redis_down_explains_where_work_waits(make_app):
    from tests.fixtures.services import DEAD_REDIS_URL

    output = make_app(REDIS_URL=DEAD_REDIS_URL).test_cli_runner().invoke(args=["jobs", "status"]).output
    assert "unreachable" in output and "pending jobs wait in the database" in output


def test_tokens_are_refused_to_users_without_an_api_role(app, create_user):
    create_user("ann@example.com", roles=["employee"])
    result = app.test_cli_runner().invoke(args=["tokens", "create", "ann@example.com", "--name", "x",
                                                "--scope", "feedback:write"])
    assert result.exit_code == 2 and "holds no role allowed API tokens" in result.output


def test_service_accounts_own_tokens_but_never_sign_in(app, client, session):
    from tests.fixtures.org import sign_in

    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "bot@example.com", "--name", "Bot", "--role", "hr", "--service"])
    assert created.exit_code == 0 and "service account" in created.output
    token = runner.invoke(args=["tokens", "create", "bot@example.com", "--name", "bridge", "--scope",
                                "feedback:write"])
    assert token.exit_code == 0
    for password in ("", "!service-account", "anything"):
        assert sign_in(client, "bot@example.com", password or "x").status_code in (400, 401)


def test_jobs_dispatch_now_retries_jobs_that_are_backing_off(app, session):
    from datetime import timedelta

    from core.models import PendingJob, utcnow

    session.add(PendingJob(func="core.jobs.dispatch_pending_job", args=[], attempts=1,
                           next_attempt_at=utcnow() + timedelta(hours=1)))
    session.commit()
    runner = app.test_cli_runner()
    assert "dispatched 0 job(s)" in runner.invoke(args=["jobs", "dispatch"]).output
    assert "dispatched 1 job(s)" in runner.invoke(args=["jobs", "dispatch", "--now"]).output


def test_a_token_refused_for_several_reasons_names_every_option(app, create_user):
    create_user("ann@example.com", roles=["employee"])
    refused = app.test_cli_runner().invoke(args=["tokens", "create", "ann@example.com", "--name", " ",
                                                 "--scope", "feedback:read"])
    assert refused.exit_code == 2
    assert "'EMAIL' / '--name'" in refused.output and "EMAIL: ann@example.com holds no role allowed API tokens" in \
        refused.output and "--name: say what the token is for" in refused.output
