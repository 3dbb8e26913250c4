"""Real-time alerts: a detractor or a very low CSAT is e-mailed to the employee's manager within a minute."""
from flask import current_app

from core import jobs
from core.plugins import hookimpl

from .triggers import recipient, thresholds, trigger


@hookimpl
def feedback_ingested(session, feedback):
    # Without SMTP an alert could never go out; a job retried forever would only hide real failures.
    if not current_app.config["MAIL_SERVER"] or trigger(feedback, thresholds(current_app.config)) is None:
        return
    if recipient(session, feedback) is not None:
        jobs.enqueue(session, "plugins.alerts.delivery.send_alert", feedback.id)
