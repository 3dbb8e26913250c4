"""Why a run failed, in a line HR can act on: the scoring rule at fault when there is one, never a page of SQL.

A run reads every metric in one aggregate statement, so the database's error cannot say which rule's SQL it
choked on. When a run fails, each rule of its guideline is tried alone on an empty selection (no rows read),
and the first that fails is named with its plugin.
"""
from __future__ import annotations

import logging

from sqlalchemy import false, select
from sqlalchemy.exc import DBAPIError, OperationalError

from core.db import database_unreachable, transaction
from core.models import Feedback
from core.plugins import get_plugins

from .guidelines import rule_params
from .models import AppraisalRun

log = logging.getLogger(__name__)


def short_error(error: BaseException) -> str:
    """The error's kind and first line; for a database error, the driver's, without the statement."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def failure_reason(run_id: int, error: BaseException) -> str:
    """What to record as run ``run_id``'s error: the faulty scoring rule and its error if one is found."""
    if isinstance(error, OperationalError) and database_unreachable(error):
        return short_error(error)  # the database, not a rule: trying the rules would only blame one
    try:
        faulty = faulty_rule(run_id)
    except Exception:  # diagnosing must not hide the failure it diagnoses
        log.exception("could not look for a faulty scoring rule in run %s", run_id)
        faulty = None
    return faulty or short_error(error)


def faulty_rule(run_id: int) -> str | None:
    """The first scoring rule of the run's guideline (its metrics, then its case-mix metric) whose points fail
    to build or to run on their own, with its plugin and error; None when each works alone."""
    plugins = get_plugins()
    with transaction() as session:
        document = session.get(AppraisalRun, run_id).guideline.document
        names = [m["rule"] for m in document["metrics"]]
        names += [document["case_mix_metric"]] if document.get("case_mix_metric") not in names else []
        for name in names:
            rule = plugins.scoring_rules.get(name)
            if rule is None:
                continue
            try:
                with session.begin_nested():
                    points = rule.points(Feedback, rule_params(document, rule))
                    session.execute(select(points).select_from(Feedback).where(false()).limit(0))
            except OperationalError as error:
                if database_unreachable(error):  # the database went meanwhile: no rule is to blame
                    return None
                return _blame(name, rule, error)
            except Exception as error:  # noqa: BLE001 (any fault of a plugin's rule is what is looked for)
                return _blame(name, rule, error)
    return None


def _blame(name: str, rule, error: BaseException) -> str:
    return (f"scoring rule {name!r} ({type(rule).__module__}) fails: {short_error(error)}; fix the "
            f"plugin, and the run, tried again with backoff, completes; or appraise the period again "
            f"under a guideline without the rule")
