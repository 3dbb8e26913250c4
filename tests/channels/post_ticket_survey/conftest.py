"""The signed-webhook fixtures (``integration``, ``deliver``) for every test of the survey channel."""
from .helpdesk_webhooks import deliver, integration  # noqa: F401 (fixtures)
