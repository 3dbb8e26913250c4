"""Real-time alerts: a detractor, a very low CSAT or a negative social mention is e-mailed within a minute
to the employee's manager (a mention credited to nobody, to HR)."""
from flask import current_app

from core import jobs
from core.plugins import hookimpl

from .triggers import recipients, thresholds, trigger


@hookimpl
def feedback_ingested(session, feedback):
    # Without SMTP an alert could never go out; a job retried forever would only hide real failures.
    why = trigger(feedback, thresholds(current_app.config)) if current_app.config["MAIL_SERVER"] else None
    if why is not None and recipients(session, feedback, why) is not None:
        jobs.enqueue(session, "plugins.alerts.delivery.send_alert", feedback.id)
