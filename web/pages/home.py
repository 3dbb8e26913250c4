"""The signed-in home page: what has arrived, within what the user may see."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from core.auth import signed_in
from core.db import get_session
from core.models import Feedback
from core.plugins import get_plugins
from web.scope import visible_feedback

bp = Blueprint("pages", __name__)


@bp.get("/")
@signed_in
def home():
    """Show the feedback received per channel and kind, and the unattributed queue, in the user's scope."""
    session = get_session()
    scope = visible_feedback(current_user)
    counts = (select(Feedback.channel, Feedback.kind, Feedback.status, func.count(),
                     func.min(Feedback.occurred_at), func.max(Feedback.occurred_at))
              .group_by(Feedback.channel, Feedback.kind, Feedback.status)
              .order_by(Feedback.channel, Feedback.kind, Feedback.status))
    if scope is not None:
        counts = counts.where(scope)
    rows = session.execute(counts).all()
    unattributed = None
    # Unattributed items have no team yet, so only the organisation-wide roles see how many wait.
    if current_user.has_role("admin", "hr"):
        unattributed = session.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.employee_id.is_(None), Feedback.attribution_policy.is_(None)))
    channels = get_plugins().channels
    return render_template("home.html", rows=rows, unattributed=unattributed, channels=channels,
                           scoped=scope is not None)
