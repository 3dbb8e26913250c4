"""Every kernel model, importable from one place (Alembic's autogenerate reads ``Base.metadata``)."""
from .accounts import ROLES, ApiToken, User, UserRole, hash_token
from .audit import AuditEntry, record_audit
from .base import Base, UTCDateTime, naive_utc, utcnow
from .feedback import (
    STATUSES,
    SURVEY_KINDS,
    Dispute,
    Feedback,
    Flag,
    changed_if,
    late_mark,
    still_open,
)
from .integration import Integration
from .login import LoginFailure
from .org import (
    Employee,
    EmployeeIdentity,
    FormerTeam,
    Team,
    managed_teams,
    team_and_below,
    team_on,
)
from .outbox import PendingJob
from .ticket import Ticket, TicketAssignment, TicketCategory

__all__ = [
    "ROLES", "STATUSES", "SURVEY_KINDS", "ApiToken", "AuditEntry", "Base", "Dispute", "Employee", "EmployeeIdentity",
    "Feedback", "Flag", "FormerTeam", "Integration", "LoginFailure", "PendingJob", "Team", "Ticket", "TicketAssignment", "TicketCategory", "UTCDateTime",
    "User", "UserRole", "changed_if", "hash_token", "late_mark", "managed_teams", "naive_utc", "record_audit", "still_open", "team_and_below", "team_on", "utcnow",
]
