"""``plaudit review``: the HR review queue from the command line: integrity flags, disputes, recommendations."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core.db import transaction
from core.models import Dispute, Employee, Feedback, Flag

from . import review
from .cli import _fail, _user
from .models import Recommendation
from .periods import dates_text


@click.group("review")
def review_group():
    """The HR review queue: integrity flags, disputes and recommendations awaiting a decision."""


@review_group.command("flags")
@click.option("--all", "everything", is_flag=True, help="decided flags too")
@with_appcontext
def flags_command(everything):
    """List integrity flags awaiting HR's decision."""
    with transaction() as session:
        query = select(Flag, Feedback.channel, Feedback.external_id, Feedback.value).outerjoin(
            Feedback, Feedback.id == Flag.feedback_id).order_by(Flag.id)
        if not everything:
            query = query.where(Flag.decision.is_(None))
        for flag, channel, external_id, value in session.execute(query):
            subject = (f"feedback {flag.feedback_id} ({channel}:{external_id} = {value})" if flag.feedback_id
                       else f"employee {flag.employee_id}, {dates_text(flag.period_start, flag.period_end)}")
            click.echo(f"{flag.id:>5}  {flag.check:<26} {flag.decision or 'open':<9} {subject}: {flag.reason}")


def _decide(action, *args, **kwargs):
    try:
        return action(*args, **kwargs)
    except (LookupError, review.DecisionError) as exc:
        _fail(str(exc))
    except PermissionError as exc:
        _fail(f"refused: {exc}")


@review_group.command("decide-flag")
@click.argument("flag_id", type=int)
@click.option("--uphold/--dismiss", required=True, help="uphold: the item stays out; dismiss: it counts")
@click.option("--note", default=None)
@click.option("--by", "by", required=True)
@with_appcontext
def decide_flag_command(flag_id, uphold, note, by):
    """Uphold or dismiss an integrity flag."""
    with transaction() as session:
        flag = _decide(review.decide_flag, session, flag_id, _user(session, by), uphold=uphold, note=note)
        click.echo(f"flag {flag.id} {flag.decision}")


@review_group.command("disputes")
@click.option("--all", "everything", is_flag=True, help="decided disputes too")
@with_appcontext
def disputes_command(everything):
    """List disputes awaiting a decision."""
    with transaction() as session:
        query = select(Dispute).order_by(Dispute.id)
        if not everything:
            query = query.where(Dispute.status == "open")
        for dispute in session.scalars(query):
            click.echo(f"{dispute.id:>5}  {dispute.status:<9} feedback {dispute.feedback_id}: {dispute.reason}"
                       + (f" -> {dispute.outcome}" if dispute.outcome else ""))


@review_group.command("dispute")
@click.argument("feedback_id", type=int)
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help="e-mail of the employee's user account")
@with_appcontext
def dispute_command(feedback_id, reason, by):
    """Dispute an item credited to you."""
    with transaction() as session:
        dispute = _decide(review.raise_dispute, session, feedback_id, _user(session, by), reason)
        click.echo(f"dispute {dispute.id} raised")


@review_group.command("decide-dispute")
@click.argument("dispute_id", type=int)
@click.option("--uphold/--reject", required=True)
@click.option("--outcome", required=True, help="what the employee is told")
@click.option("--reassign-to", type=int, default=None, help="when upheld: credit the item to this employee id")
@click.option("--by", "by", required=True)
@with_appcontext
def decide_dispute_command(dispute_id, uphold, outcome, reassign_to, by):
    """Uphold or reject a dispute."""
    with transaction() as session:
        dispute = _decide(review.decide_dispute, session, dispute_id, _user(session, by), uphold=uphold,
                          outcome=outcome, reassign_to=reassign_to)
        click.echo(f"dispute {dispute.id} {dispute.status}")


@review_group.command("recommendations")
@click.option("--run", "run_id", type=int, default=None, help="one run's (default: every proposed one)")
@with_appcontext
def recommendations_command(run_id):
    """List recommendations awaiting approval, or every recommendation of one run."""
    with transaction() as session:
        query = select(Recommendation, Employee.name).join(Employee, Employee.id == Recommendation.employee_id)
        query = (query.where(Recommendation.run_id == run_id) if run_id
                 else query.where(Recommendation.status == "proposed"))
        for rec, name in session.execute(query.order_by(Recommendation.id)):
            amount = "" if rec.amount is None else f" {rec.amount:.2f}"
            click.echo(f"{rec.id:>5}  run {rec.run_id:<4} {rec.status:<9} {name:<24} {rec.kind}{amount}: {rec.reason}")


@review_group.command("decide-recommendation")
@click.argument("recommendation_id", type=int)
@click.option("--approve/--reject", required=True)
@click.option("--note", default=None)
@click.option("--by", "by", required=True)
@with_appcontext
def decide_recommendation_command(recommendation_id, approve, note, by):
    """Approve or reject a proposed recommendation."""
    with transaction() as session:
        rec = _decide(review.decide_recommendation, session, recommendation_id, _user(session, by),
                      approve=approve, note=note)
        click.echo(f"recommendation {rec.id} {rec.status}")
