"""The menu: each page's entry and the roles it is offered to, shown only where the page exists."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: str
    roles: tuple[str, ...]
    #: Offered to anyone with an employee record (a manager is appraised too), whatever their roles.
    for_employees: bool = False
    #: The pages under this entry's, which mark it as where one is too (someone's page under People).
    under: tuple[str, ...] = ()


#: In menu order. A page module that is not loaded (a channel switched off) simply drops out.
MENU = (
    Entry("report.mine", "My report", ("employee",), for_employees=True),
    Entry("team.dashboard", "Team", ("manager", "hr")),
    Entry("report.team", "Team report", ("manager", "hr")),
    Entry("team.targets", "Targets", ("manager", "hr")),
    Entry("queue.unattributed", "Unattributed", ("manager", "hr")),
    Entry("review.disputes", "Disputes", ("manager", "hr")),
    Entry("review.recommendations", "Approvals", ("manager", "hr")),
    Entry("mystery_shopper.reviews", "Mystery reports", ("manager", "hr")),
    Entry("mystery_shopper.templates", "Mystery templates", ("hr",)),
    Entry("review.flags", "Integrity queue", ("hr",)),
    Entry("org.overview", "Organisation", ("hr",)),
    Entry("people.index", "People", ("hr",), under=(
        "people.person", "person_details.new", "person_details.edit", "person_details.email",
        "person_details.import_file")),
    Entry("runs.index", "Runs", ("hr",)),
    Entry("guidelines.index", "Guidelines", ("hr",)),
    Entry("social.sources", "Social sources", ("hr", "admin")),
    Entry("privacy.erase", "Privacy", ("hr", "admin")),
    Entry("mystery_shopper.assignments", "Assignments", ("shopper",)),
    Entry("admin.integrations", "Integrations", ("admin",)),
    Entry("admin.plugins", "Plugins", ("admin",)),
    Entry("admin.jobs", "Jobs", ("admin",)),
    Entry("accounts.index", "Accounts", ("admin",), under=("accounts.account",)),
    Entry("tokens.index", "API tokens", ("admin",)),
)


def menu_for(user) -> list[Entry]:
    """The entries ``user`` may open, among the pages this app serves."""
    if not user.is_authenticated:
        return []
    served = current_app.view_functions
    return [entry for entry in MENU if entry.endpoint in served
            and (user.has_role(*entry.roles) or (entry.for_employees and user.employee_id is not None))]


def init_app(app) -> None:
    @app.context_processor
    def _menu():
        return {"menu": menu_for(current_user) if request else [],
                "current_endpoint": request.endpoint if request else None}
