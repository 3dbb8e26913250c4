"""The development server's access log without credentials in its URLs.

``plaudit run`` and ``plaudit demo`` serve with Werkzeug, which logs every request line: Chatwoot's webhook
secret travels as ``?token=``, and a survey link's path is the customer's credential. Production logs are the
proxy's and gunicorn's, which docs/deploy.md says how to scrub.
"""
from __future__ import annotations

import logging
import re

#: A secret in a query string, and the token of a survey link (``/s/<token>``, ``/s/<token>/opt-out``).
SECRETS = re.compile(r"((?:[?&]token=)|(?:/s/))[^&\s\"/?]+")


class WithoutSecrets(logging.Filter):
    """Rewrites a Werkzeug request line, keeping where the secret was: ``?token=[hidden]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(SECRETS.sub(r"\1[hidden]", arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = SECRETS.sub(r"\1[hidden]", record.msg)
        return True


def hide_secrets_in_access_log() -> None:
    """Filter Werkzeug's request log; once per process, however many apps are made."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, WithoutSecrets) for f in werkzeug.filters):
        werkzeug.addFilter(WithoutSecrets())
