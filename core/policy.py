"""The policy in force when items arrive: the attribution bases, and which integrity checks run with what.

HR sets both in the appraisal guideline; the appraisal module registers a provider that reads the guideline
in force (``app.extensions[PROVIDER_KEY]``). Until a guideline is published, the configuration decides:
``PLAUDIT_ATTRIBUTION_POLICY`` and every loaded check with its default parameters.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from .plugins import get_plugins

PROVIDER_KEY = "plaudit.ingestion_policy"


@dataclass(frozen=True)
class IngestionPolicy:
    #: Attribution bases in order of preference (see core.attribution.ATTRIBUTION_BASES).
    attribution: tuple[str, ...]
    #: Enabled integrity checks by slug, each with its validated parameters.
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def default_policy(app=None) -> IngestionPolicy:
    """The policy from configuration alone: every loaded check on, with its default parameters."""
    app = app or current_app
    checks = get_plugins(app).integrity_checks
    return IngestionPolicy(tuple(app.config["ATTRIBUTION_POLICY"]),
                           {slug: check.load_params(None) for slug, check in checks.items()})


def ingestion_policy(session) -> IngestionPolicy:
    """Return the policy in force now, read through ``session``."""
    provider = current_app.extensions.get(PROVIDER_KEY)
    policy = provider(session) if provider is not None else None
    return policy if policy is not None else default_policy()
