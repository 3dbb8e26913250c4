"""Mystery shoppers: versioned report templates, assignments, the shopper's form, review and scoring."""
from core.plugins import hookimpl

from . import disputes, training
from .channel import EMPLOYEE_PROVIDER, MysteryShopper


@hookimpl
def register_channels():
    return [MysteryShopper]


@hookimpl
def resolve_employee(session, provider, external_id):
    """A report names the employee who served by their Plaudit id; the kernel checks that they exist."""
    if provider == EMPLOYEE_PROVIDER and external_id.isdigit():
        return int(external_id)
    return None


@hookimpl
def register_commands(cli):
    from .cli import mystery_group

    cli.add_command(mystery_group)


@hookimpl
def training_needs(session, period_start, period_end, up_to, employee_ids, settings):
    """The sections of approved reports where an employee scores well below the organisation's mean."""
    return training.training_needs(session, period_start, period_end, up_to, employee_ids, settings)


@hookimpl
def related_feedback(session, feedback):
    """The items of one report stand or fall together: a dispute on the visit is about all of them."""
    return disputes.report_items(session, feedback)


@hookimpl
def dispute_decided(session, dispute, items):
    """A report whose items were credited to someone else names them as who served."""
    disputes.follow_dispute(session, dispute, items)
