"""System pages for admins: helpdesk integrations and their secrets, the loaded plugins, jobs and queues.

Admins run the system; they see no one's appraisal data here. Every change made on these pages is audited,
and a webhook secret is shown once, on the page the form redirects to, never again and never logged.
"""
from __future__ import annotations

import inspect
import logging
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

import core.hookspecs
from channels.post_ticket_survey.helpdesks import HELPDESKS
from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from channels.post_ticket_survey.webhooks import generic_namespace
from core.auth import roles_required
from core.db import get_session, transaction
from core.job_status import outbox_status, queue_status
from core.jobs import (
    CronEntry,
    NotDiscardable,
    cron_entries,
    discard_failed,
    dispatch_pending,
)
from core.local_time import zone_name
from core.models import (
    AuditEntry,
    Integration,
    PendingJob,
    Ticket,
    hash_token,
    record_audit,
    utcnow,
)
from core.plugins import get_plugins

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

WEBHOOK_PATH = "/channels/post_ticket_survey/webhooks/{id}"
#: How long the page a secret form redirects to may show the new secret (once).
REVEAL_TTL = timedelta(minutes=10)


# --- integrations -----------------------------------------------------------------------------------

def _strip(value):
    return value.strip() if isinstance(value, str) else value


SECRET_LENGTH = Length(min=16, max=255, message="A signing secret has 16 to 255 characters.")


def _choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class IntegrationForm(FlaskForm):
    provider = SelectField("Helpdesk", choices=_choices(*((slug, h.title) for slug, h in HELPDESKS.items())))
    name = StringField("Name", validators=[DataRequired(message="Give the integration a name."), Length(max=200)],
                       filters=[_strip])
    namespace = StringField("Namespace (Generic JSON only)", validators=[Optional(), Length(max=50)], filters=[_strip])
    helpdesk_secret = PasswordField("Signing secret made by the helpdesk (Zendesk; leave empty otherwise)",
                                    validators=[Optional(), SECRET_LENGTH], filters=[_strip])
    surveys = BooleanField("Invite customers to a survey after each solved ticket", default=True)
    delivery = SelectField("Survey delivery", choices=_choices(("email", "Plaudit e-mails the customer"),
                                                               ("link", "The link goes back to the helpdesk")))
    sampling = SelectField("Which solves", choices=_choices(("census", "Every solve"), ("percent", "A share of them"),
                                                            ("quota", "Up to a number per agent a week")))
    percent = FloatField("Share to invite (%), for “a share of them”", validators=[Optional()])
    quota_per_week = IntegerField("Invitations per agent a week, for “up to a number”", validators=[Optional()])
    max_age_days = IntegerField("Invite only for tickets solved within this many days", validators=[Optional()])


class SecretForm(FlaskForm):
    helpdesk_secret = PasswordField("The helpdesk's new secret (optional)",
                                    validators=[Optional(), SECRET_LENGTH], filters=[_strip])


@dataclass
class IntegrationRow:
    integration: Integration
    url: str
    masked: str
    namespace: str
    shared: bool
    last_activity: datetime | None


def webhook_url(integration: Integration, secret: str | None = None) -> str:
    """The URL to paste into the helpdesk; Chatwoot's carries the secret, masked unless it is given."""
    url = current_app.config["PUBLIC_URL"].rstrip("/") + WEBHOOK_PATH.format(id=integration.id)
    if integration.provider == "chatwoot":  # it can neither sign nor send a header
        url += f"?token={secret if secret is not None else mask(integration.webhook_secret)}"
    return url


def mask(secret: str) -> str:
    """Enough of a secret to tell two apart, never enough to use it."""
    return "••••••••" + secret[-4:] if len(secret) >= 16 else "••••••••"


def integration_rows(session) -> list[IntegrationRow]:
    """Every integration with its URL and last activity: three queries, however many there are."""
    integrations = session.scalars(select(Integration).order_by(Integration.name, Integration.id)).all()
    namespaces = {i.id: generic_namespace(i) if i.provider == "generic" else i.provider for i in integrations}
    users = defaultdict(int)
    for namespace in namespaces.values():
        users[namespace] += 1
    # Deliveries are not stamped on the integration: the latest ticket stored under its helpdesk's name
    # and the latest invitation it made tell when it was last heard from.
    tickets = dict(session.execute(select(Ticket.provider, func.max(Ticket.updated_at))
                                   .where(Ticket.provider.in_(sorted(set(namespaces.values()))))
                                   .group_by(Ticket.provider)).all())
    invited = dict(session.execute(select(Invitation.integration_id, func.max(Invitation.created_at))
                                   .where(Invitation.integration_id.in_(sorted(namespaces)))
                                   .group_by(Invitation.integration_id)).all())
    rows = []
    for integration in integrations:
        namespace = namespaces[integration.id]
        seen = [t for t in (tickets.get(namespace), invited.get(integration.id)) if t is not None]
        rows.append(IntegrationRow(integration, webhook_url(integration), mask(integration.webhook_secret),
                                   namespace, users[namespace] > 1, max(seen) if seen else None))
    return rows


def _survey_settings(form: IntegrationForm) -> dict | None:
    """The survey settings the form asks for, or None with the errors put on the form's fields."""
    given = {"enabled": form.surveys.data, "delivery": form.delivery.data, "sampling": form.sampling.data}
    for name in ("percent", "quota_per_week", "max_age_days"):
        if getattr(form, name).data is not None:
            given[name] = getattr(form, name).data
    try:
        return SurveySettingsSchema().load(given)
    except ValidationError as exc:
        for name, messages in exc.messages.items():
            field = getattr(form, "surveys" if name == "enabled" else name)
            if not field.errors:  # the form's own message about this field comes first, and is enough
                field.errors.extend(messages)
        return None


def _create(session, form: IntegrationForm, valid: bool) -> tuple[Integration, str] | None:
    """Create the integration the form describes; None with field errors when it cannot be.

    Every check runs even when the form's own validation failed (``valid``), so one round shows every field
    at fault: the namespace and the survey settings were told only once the rest had been fixed.
    """
    provider, name, namespace = form.provider.data, form.name.data, form.namespace.data or None
    if name and session.scalar(select(Integration.id).where(func.lower(Integration.name) == name.lower())):
        form.name.errors.append(f"An integration is already named {name!r}; choose another name.")
    if namespace is not None:
        taken = {generic_namespace(i) for i in session.scalars(
            select(Integration).where(Integration.provider == "generic"))}
        if provider != "generic":
            form.namespace.errors.append("Only a generic integration takes a namespace; leave it empty.")
        elif not namespace.isidentifier() or namespace != namespace.lower() or namespace in HELPDESKS:
            form.namespace.errors.append("Write a snake_case name that no helpdesk uses, such as ourdesk.")
        elif namespace in taken:
            form.namespace.errors.append(f"Another integration writes as {namespace!r} already.")
    settings = _survey_settings(form)
    if not valid or settings is None or form.errors:
        return None
    own_secret = form.helpdesk_secret.data or None
    integration = Integration(provider=provider, name=name, webhook_secret=own_secret or secrets.token_urlsafe(32),
                              settings={"survey": settings, **({"namespace": namespace} if namespace else {})})
    session.add(integration)
    try:
        session.flush()
    except IntegrityError:  # created a moment ago by someone else
        session.rollback()
        form.name.errors.append(f"An integration is already named {name!r}; choose another name.")
        return None
    record_audit(session, "integration.created", integration, actor=current_user.id,
                 after={"provider": provider, "name": name, "namespace": namespace, "survey": settings,
                        "secret": "the helpdesk's" if own_secret else "generated"})
    token = leave_reveal(integration, created=True, shown=own_secret is None)
    session.commit()
    return integration, token


# A new secret is shown on the page the form redirects to (POST-redirect-GET), so that reloading it neither
# submits the form again nor replaces the secret twice. The secret itself never travels: the integration's
# settings keep a reveal, which holds only hashes, and the redirect carries a random token naming it. The
# first GET by the admin who made it, within REVEAL_TTL, claims it and shows the integration's secret while
# it is still the one the reveal was made for; any later GET finds it claimed. A token seen in an access log
# is of no use: it is single-use, short-lived, tied to one account, and shows nothing once claimed.

REVEAL = "reveal"


def leave_reveal(integration: Integration, *, created: bool, shown: bool) -> str:
    """Leave the new secret to be shown once, replacing any earlier reveal; return the redirect's token.

    :param shown: False for the helpdesk's own secret, which the page confirms but never shows back.
    """
    token = secrets.token_urlsafe(32)
    integration.settings = {**(integration.settings or {}), REVEAL: {
        "token": hash_token(token), "user": current_user.id, "created": created,
        "secret": hash_token(integration.webhook_secret) if shown else None,
        "until": (utcnow() + REVEAL_TTL).isoformat(), "shown_at": None}}
    return token


def claim_reveal(integration: Integration, token: str | None) -> tuple[str, dict]:
    """Claim the reveal ``token`` names, once: the state (fresh, shown, expired or gone) and the reveal.

    The caller holds the integration's row for writing, so two requests cannot both claim it.
    """
    reveal = (integration.settings or {}).get(REVEAL) or {}
    if (not token or not reveal or not secrets.compare_digest(reveal["token"], hash_token(token))
            or reveal["user"] != current_user.id):
        return "gone", {}
    if reveal["shown_at"] is not None:
        return "shown", reveal
    if datetime.fromisoformat(reveal["until"]) <= utcnow():
        return "expired", reveal
    if reveal["secret"] is not None and not secrets.compare_digest(reveal["secret"],
                                                                  hash_token(integration.webhook_secret)):
        return "gone", {}  # replaced again since, elsewhere
    integration.settings = {**integration.settings, REVEAL: {**reveal, "shown_at": utcnow().isoformat()}}
    return "fresh", reveal


def _secret_page(integration: Integration, state: str, reveal: dict, form: SecretForm | None = None,
                 status: int = 200):
    """The integration's secret: shown on the ``fresh`` claim of a reveal only, kept out of every cache."""
    secret = integration.webhook_secret if state == "fresh" and reveal["secret"] is not None else None
    shown_at = datetime.fromisoformat(reveal["shown_at"]) if reveal.get("shown_at") else None
    response = make_response(render_template(
        "admin/secret.html", integration=integration, helpdesk=HELPDESKS[integration.provider], state=state,
        secret=secret, created=reveal.get("created", False), shown_at=shown_at, ttl=REVEAL_TTL,
        masked=mask(integration.webhook_secret), url=webhook_url(integration, secret),
        form=form or secret_form(integration.id, formdata=None)), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other pages' logs
    return response


def _list_page(session, form: IntegrationForm, rotating: tuple[int, SecretForm] | None = None):
    """The integrations with their forms; ``rotating`` is a refused secret form to show with its errors."""
    rows = integration_rows(session)
    secret_forms = {row.integration.id: secret_form(row.integration.id, formdata=None) for row in rows}
    if rotating is not None:
        secret_forms[rotating[0]] = rotating[1]
    status = 422 if form.errors or rotating is not None else 200
    return render_template("admin/integrations.html", rows=rows, form=form, secret_forms=secret_forms,
                           helpdesks=HELPDESKS, can_mail=bool(current_app.config["MAIL_SERVER"]),
                           webhooks_served="post_ticket_survey.webhook" in current_app.view_functions), status


def secret_form(integration_id: int, **kwargs) -> SecretForm:
    # One per row: the prefix keeps the rows' fields apart, so an error shows in the right one.
    return SecretForm(prefix=f"secret{integration_id}", **kwargs)


@bp.route("/integrations", methods=["GET", "POST"])
@roles_required("admin")
def integrations():
    """List the helpdesk integrations; a POST creates one and shows its secret once."""
    session = get_session()
    form = IntegrationForm()
    if form.is_submitted():
        created = _create(session, form, form.validate())
        if created is not None:
            integration, token = created
            log.info("integration %s (%s) created by user %s", integration.id, integration.provider,
                     current_user.id)
            return redirect(url_for(".integration_secret", integration_id=integration.id, reveal=token)), 303
    return _list_page(session, form)


def _integration_or_404(session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        abort(404, description=f"There is no integration {integration_id}.")
    return integration


@bp.route("/integrations/<int:integration_id>/secret", methods=["GET", "POST"])
@roles_required("admin")
def integration_secret(integration_id: int):
    """Show an integration's new secret once (GET); a POST replaces it: the old one stops working at once."""
    if request.method == "POST":
        return _replace_secret(integration_id)
    token = request.args.get(REVEAL)
    if not token or request.method == "HEAD":  # a prefetcher's HEAD must not spend the one showing
        return _secret_page(_integration_or_404(get_session(), integration_id), "gone", {})
    # Claiming writes: a session of its own that holds the row (SQLite: the write lock) from the first read.
    with transaction() as session:
        integration = session.get(Integration, integration_id, with_for_update=True)
        if integration is None:
            abort(404, description=f"There is no integration {integration_id}.")
        state, reveal = claim_reveal(integration, token)
        if state == "fresh" and reveal["secret"] is not None:
            record_audit(session, "integration.secret_shown", integration, actor=current_user.id)
        return _secret_page(integration, state, reveal)


def _replace_secret(integration_id: int):
    session = get_session()
    integration = _integration_or_404(session, integration_id)
    form = secret_form(integration_id)
    if not form.validate_on_submit():
        return _list_page(session, IntegrationForm(formdata=None), rotating=(integration_id, form))
    own_secret = form.helpdesk_secret.data or None
    integration.webhook_secret = own_secret or secrets.token_urlsafe(32)
    record_audit(session, "integration.secret_rotated", integration, actor=current_user.id,
                 after={"secret": "the helpdesk's" if own_secret else "generated"})
    token = leave_reveal(integration, created=False, shown=own_secret is None)
    session.commit()
    log.info("integration %s: secret replaced by user %s", integration.id, current_user.id)
    return redirect(url_for(".integration_secret", integration_id=integration.id, reveal=token)), 303


@bp.post("/integrations/<int:integration_id>/active")
@roles_required("admin")
def integration_active(integration_id: int):
    """Switch an integration off (its deliveries are refused with 404) or back on."""
    session = get_session()
    integration = _integration_or_404(session, integration_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400, description="active: send 1 to switch the integration on or 0 to switch it off.")
    active = wanted == "1"
    if integration.active != active:
        record_audit(session, "integration.enabled" if active else "integration.disabled", integration,
                     actor=current_user.id, before={"active": integration.active}, after={"active": active})
        integration.active = active
        session.commit()
    flash(f"{integration.name} is {'on: deliveries are accepted' if active else 'off: deliveries are refused'}.")
    return redirect(url_for(".integrations")), 303


# --- plugins ----------------------------------------------------------------------------------------

#: What a plugin can contribute, by the hook that contributes it.
CONTRIBUTIONS = (("register_channels", "Channels"), ("register_scoring_rules", "Scoring rules"),
                 ("register_integrity_checks", "Integrity checks"))


def schedule(entry: CronEntry) -> str:
    return f"every {entry.interval} s" if entry.interval else f"cron {entry.cron} ({zone_name()})"


def contributions(plugins) -> dict[str, dict[str, list[str]]]:
    """By plugin name: the channels, rules, checks, cron jobs and commands it registers."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for hook, label in CONTRIBUTIONS:
        for impl in getattr(plugins.pm.hook, hook).get_hookimpls():
            for cls in impl.function() or ():
                found[impl.plugin_name][label].append(f"{cls.name} ({cls.title})" if getattr(cls, "title", None)
                                                      else cls.name)
    for impl in plugins.pm.hook.register_cron_jobs.get_hookimpls():
        for entry in impl.function() or ():
            found[impl.plugin_name]["Cron jobs"].append(f"{entry.func}, {schedule(entry)}")
    impls = plugins.pm.hook.register_commands.get_hookimpls()
    packages = {impl.plugin_name: _package(impl.plugin) for impl in impls}
    for impl in impls:
        group = click.Group()  # a scratch group: what the plugin adds is all it holds
        impl.function(cli=group)
        # A group two plugins share (``import``) holds both's commands: each lists those it defines.
        others = tuple(package for name, package in packages.items() if name != impl.plugin_name)
        found[impl.plugin_name]["Commands"] += _command_paths(group, "plaudit", others)
    return found


def _package(plugin) -> str:
    """The package a plugin's code is in: a module's own name, or its object's class's module."""
    name = plugin.__name__ if inspect.ismodule(plugin) else type(plugin).__module__
    return name + "."


def _command_paths(group: click.Group, prefix: str, others: tuple[str, ...] = ()) -> list[str]:
    """The commands a group holds, as typed (a plugin's ``social`` under ``import`` is ``plaudit import social``),
    but those whose code is in one of the ``others`` packages."""
    paths = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group) and command.commands:
            paths += _command_paths(command, f"{prefix} {name}", others)
        elif not (command.callback and (command.callback.__module__ + ".").startswith(others)):
            paths.append(f"{prefix} {name}")
    return paths


def hook_summaries() -> dict[str, str]:
    """Each hook with the first line of its documentation, without its reST markup."""
    summaries = {}
    for name, spec in inspect.getmembers(core.hookspecs, inspect.isfunction):
        if hasattr(spec, "plaudit_spec"):
            first = (inspect.getdoc(spec) or "").splitlines()[0]
            summaries[name] = re.sub(r":\w+:`~?([^`]+)`", r"\1", first).replace("``", "")
    return summaries


def origin(source: str) -> str:
    if source.startswith("built-in"):
        return "built-in"
    return source if source in ("blocked", "registered directly") else "entry point"


@bp.get("/plugins")
@roles_required("admin")
def plugins():
    """List every loaded plugin, where it comes from, the hooks it implements and what it registers."""
    loaded = get_plugins()
    infos = loaded.describe()
    implementers = defaultdict(list)
    for info in infos:
        for hook in info.hooks:
            implementers[hook].append(info.name)
    return render_template("admin/plugins.html", infos=infos, origin=origin, contributions=contributions(loaded),
                           hooks=hook_summaries(), implementers=implementers)


# --- jobs -------------------------------------------------------------------------------------------

@bp.get("/jobs")
@roles_required("admin")
def jobs():
    """Show the outbox, the RQ queue (or that jobs run inline) and the cron schedule."""
    app = current_app._get_current_object()
    return render_template("admin/jobs.html", outbox=outbox_status(get_session()), queue=queue_status(app),
                           cron=[(entry, schedule(entry)) for entry in cron_entries(app)])


@bp.post("/jobs/dispatch")
@roles_required("admin")
def dispatch_jobs():
    """Dispatch the waiting outbox rows now, as the every-minute cron job would."""
    actor = current_user.id
    session = get_session()
    # Dispatching writes in sessions of its own; SQLite has one writer, so end this request's first.
    session.rollback()
    dispatched = dispatch_pending()
    session.add(AuditEntry(action="jobs.dispatched", entity_type=PendingJob.__tablename__, actor_id=actor,
                           after={"dispatched": dispatched}))
    session.commit()
    queued = bool(current_app.config["REDIS_URL"])
    mode = "handed to the queue" if queued else "run here"
    # Without Redis nothing is handed anywhere: only "none is due" can be why (it named Redis regardless).
    why = "none is due, or Redis cannot be reached (see below)" if queued else "none is due"
    flash(f"{dispatched} waiting job(s) {mode}." if dispatched else f"No job was dispatched: {why}.")
    return redirect(url_for(".jobs")), 303


@bp.post("/jobs/<int:job_id>/discard")
@roles_required("admin")
def discard_job(job_id: int):
    """Give up on a failed job: it leaves the outbox and is never tried again (audited)."""
    session = get_session()
    try:
        row = discard_failed(session, job_id, actor=current_user.id)
    except NotDiscardable as exc:
        session.rollback()
        flash(f"Not discarded: {exc}.")
        return redirect(url_for(".jobs")), 303
    session.commit()
    flash(f"Job {job_id} ({row.func}) discarded: it will not run again.")
    return redirect(url_for(".jobs")), 303
