"""``plaudit mystery import-template``, ``templates`` and ``move-photos``."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import func, select

from core.accounts import user_by_email
from core.cli.messages import flatten_errors
from core.db import transaction

from .importers import FORMATS, TemplateImportError, read_template
from .models import ReportTemplate
from .template import publish_template, validate_template


def _validated_or_none(document):
    """The document as it would be stored, or None when it would be refused (publishing then says why)."""
    try:
        return validate_template(document)
    except ValidationError:
        return None


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    raise SystemExit(1)


@click.group("mystery")
def mystery_group():
    """Mystery-shopper report templates and photos."""


@mystery_group.command("import-template")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(FORMATS), required=True,
              help="r3ximous: a questionnaire with points like '1.Yes (1)'; 2dii: the 2DII feedback form")
@click.option("--slug", required=True, help="the template's key; importing it again publishes a new version")
@click.option("--title", required=True, help="the title shoppers and reviewers see")
@click.option("--note", default=None, help="what changed and why (kept in the history)")
@click.option("--by", "by", default=None, help="e-mail of the HR user publishing it (for the audit trail)")
@with_appcontext
def import_template_command(file, file_format, slug, title, note, by):
    """Read a questionnaire CSV and publish it as the next version of a report template."""
    notes: list[str] = []
    try:
        document = read_template(file, file_format, notes)
    except (TemplateImportError, UnicodeDecodeError) as exc:
        _fail(f"{file}: {exc}")
    with transaction() as session:
        actor = None
        if by:
            actor = user_by_email(session, by)
            if actor is None:
                raise click.BadParameter(f"no user {by!r}", param_hint="--by")
            if not actor.has_role("hr", "admin"):
                _fail(f"{by} is not HR: only HR publishes report templates")
        latest = session.scalar(select(ReportTemplate).where(ReportTemplate.slug == slug)
                                .order_by(ReportTemplate.version.desc()).limit(1))
        if latest is not None and latest.document == _validated_or_none(document) and latest.title == title.strip():
            # The editor refuses an identical draft; an import of the same file again published a twin version.
            click.echo(f"nothing published: {file.name} is {slug} v{latest.version} already")
            return
        try:
            template = publish_template(session, slug, title, document, actor=actor,
                                        note=note or f"imported from {file.name} ({file_format})")
        except ValidationError as exc:
            session.rollback()
            for line in flatten_errors(exc.messages):
                click.echo(f"  {line}", err=True)
            _fail("nothing published: fix the fields above")
        data = template.document
        click.echo(f"published {template.slug} v{template.version}: {len(data['sections'])} sections, "
                   f"{len(data['questions'])} questions")
        for line in notes:
            click.echo(f"  note: {line}")


@mystery_group.command("templates")
@with_appcontext
def templates_command():
    """List every template with its latest version and its number of questions."""
    with transaction() as session:
        latest = (select(ReportTemplate.slug, func.max(ReportTemplate.version).label("version"))
                  .group_by(ReportTemplate.slug).subquery())
        rows = session.scalars(select(ReportTemplate).join(
            latest, (ReportTemplate.slug == latest.c.slug) & (ReportTemplate.version == latest.c.version))
            .order_by(ReportTemplate.slug))
        found = False
        for template in rows:
            found = True
            click.echo(f"{template.slug:<30} v{template.version:<4} {len(template.document['questions']):>4} "
                       f"questions  {template.created_at:%Y-%m-%d}  {template.title}")
        if not found:
            click.echo("no templates: import one with `plaudit mystery import-template`")


@mystery_group.command("move-photos")
@with_appcontext
def move_photos_command():
    """Move the photos earlier versions kept in this host's instance folder into the database.

    Run it on each host that took mystery reports; it moves what that host holds, a report at a time, and
    deletes each file once its report names the copy. Running it again moves nothing twice.
    """
    from sqlalchemy import or_

    from .models import Report
    from .proof import PHOTO_FOLDER, discard_photo, photo_file, photo_type, store_photo

    def kept_here(stored) -> bool:
        return isinstance(stored, str) and stored.startswith(f"{PHOTO_FOLDER}/")

    with transaction() as session:  # the candidates: a LIKE on the JSON text would miss nothing but is no help
        ids = session.scalars(select(Report.id).where(or_(Report.photo_path.like(f"{PHOTO_FOLDER}/%"),
                                                          Report.answers.is_not(None))).order_by(Report.id)).all()
    moved = missing = 0
    with click.progressbar(ids, label="reports", show_pos=True) as reports:
        for report_id in reports:
            with transaction() as session:
                report = session.get(Report, report_id, with_for_update=True)
                # Only a photo question's answer names a photo: a text answer could name another report's file.
                photo_questions = {q["key"] for q in report.template.document["questions"] if q["type"] == "photo"}
                answers = dict(report.answers or {})
                fields = {"photo_path": report.photo_path} | {key: answers.get(key) for key in photo_questions}
                for field, stored in fields.items():
                    if not kept_here(stored):
                        continue
                    path = photo_file(stored)
                    data = path.read_bytes() if path is not None else None
                    kind = photo_type(data) if data else None
                    if kind is None:  # on another host, or gone: left as it is, and counted
                        missing += 1
                        continue
                    copy = store_photo(session, data, kind)
                    if field == "photo_path":
                        report.photo_path = copy
                    else:
                        answers[field] = copy
                    discard_photo(session, stored)  # the file goes once this commits
                    moved += 1
                if answers != (report.answers or {}):
                    report.answers = answers
    click.echo(f"moved {moved} photo(s) into the database"
               + (f"; {missing} not found in this host's instance folder, left as they were" if missing else ""))
