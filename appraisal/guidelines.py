"""Publishing and reading HR guideline versions. A version never changes; every publication is audited."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import record_audit
from core.plugins import get_plugins
from core.policy import IngestionPolicy

from .guideline_schema import PART_PERIOD_DEFAULT, validate_guideline
from .models import Guideline

#: The guideline a new organisation starts with; HR is expected to publish its own.
DEFAULT_GUIDELINE: dict[str, Any] = {
    "metrics": [
        {"rule": "csat_percent", "weight": 40, "target_bounds": {"min": 50, "max": 100}},
        {"rule": "nps", "weight": 20, "target_bounds": {"min": -20, "max": 100}},
        {"rule": "first_response_sla", "weight": 20, "target_bounds": {"min": 50, "max": 100}},
        {"rule": "resolution_sla", "weight": 20, "target_bounds": {"min": 50, "max": 100}},
    ],
    "min_sample": 10,
    "shrinkage_strength": 5,
    "composite_min_weight": 50,
    "comment_visibility": "redacted",
    "incentives": {
        "tiers": [
            {"name": "Outstanding service", "conditions": {"min_percentile": 90, "min_composite": 80, "min_n": 30},
             "gives": [{"kind": "bonus", "amount": 300}, {"kind": "recognition"}]},
            {"name": "Strong service", "conditions": {"min_percentile": 75, "min_composite": 70, "min_n": 30},
             "gives": [{"kind": "recognition"}]},
            {"name": "Coaching", "group": "development", "conditions": {"max_composite": 50,
                                                                        "no_open_flags": False},
             "gives": [{"kind": "coaching", "note": "a coaching plan with the team lead"}]},
        ],
        "budget": {"cap": 3000, "allocation": "rank_order"},
    },
    "approval_required": ["bonus", "coaching"],
}


class GuidelineError(ValueError):
    """A guideline cannot be published or found as asked; the message says why."""


def rule_params(document: Mapping[str, Any], rule) -> dict[str, Any]:
    """The parameters ``document`` gives ``rule``: a metric's own, else the rule's defaults (a case-mix metric
    the guideline does not weigh is worked out, and shown, with them)."""
    given = next((m.get("params") for m in document["metrics"] if m["rule"] == rule.name), None)
    if given is not None:
        return dict(given)
    return rule.params_schema().load({}) if rule.params_schema else {}


def metric_bounds(metric: Mapping[str, Any], rule) -> tuple[float, float] | None:
    """The values of a guideline metric that map to 0 and 100 on the composite's scale, as ``(min, max)``: the
    guideline's own ``bounds``, else the rule's natural ones (None for a rule with none)."""
    if metric.get("bounds"):
        return metric["bounds"]["min"], metric["bounds"]["max"]
    bounds = rule.value_bounds(metric.get("params") or {})
    return tuple(bounds) if bounds else None


def current_guideline(session: Session) -> Guideline | None:
    """The guideline in force: the highest version, or None before anything is published."""
    return session.scalar(select(Guideline).order_by(Guideline.version.desc()).limit(1))


def guideline_version(session: Session, version: int) -> Guideline:
    """:raises GuidelineError: when no such version exists."""
    guideline = session.scalar(select(Guideline).where(Guideline.version == version))
    if guideline is None:
        raise GuidelineError(f"no guideline version {version}")
    return guideline


def publish_guideline(session: Session, document: Mapping[str, Any], *, actor=None, note: str | None = None,
                      plugins=None) -> Guideline:
    """Validate ``document`` and publish it as the next version, audited with its difference to the last.

    :raises marshmallow.ValidationError: naming each field that is wrong; nothing is written then.
    """
    data = validate_guideline(document, plugins or get_plugins())
    # Versions are taken under a lock of the latest row, so two HR users publishing at once get 2 and 3.
    latest = session.scalar(select(Guideline).order_by(Guideline.version.desc()).limit(1).with_for_update())
    number = (latest.version if latest else 0) + 1
    guideline = Guideline(version=number, document=data, note=note, created_by=getattr(actor, "id", actor))
    session.add(guideline)
    session.flush()
    record_audit(session, "guideline.published", guideline, actor=actor,
                 before=latest.document if latest else None, after=data, note=note)
    return guideline


def refused_now(document: Mapping[str, Any], plugins=None) -> list[str]:
    """What publishing ``document`` again would be refused for (``field: message``), or [] when nothing.

    A version published before a check was added, or under a plugin since removed, stays in force as it
    was stored: this says what HR should correct in the next version.
    """
    from marshmallow import ValidationError

    from core.cli.messages import flatten_errors

    try:
        validate_guideline(document, plugins or get_plugins())
    except ValidationError as exc:
        return flatten_errors(exc.messages)
    return []


def guideline_in_force(session: Session, plugins=None) -> Guideline:
    """The current guideline; publish :data:`DEFAULT_GUIDELINE` (audited) when none exists yet."""
    guideline = current_guideline(session)
    if guideline is None:
        plugins = plugins or get_plugins()
        document = copy.deepcopy(DEFAULT_GUIDELINE)
        # Keep only the rules that are loaded, re-weighted to 100, so a trimmed install still starts.
        loaded = [m for m in document["metrics"] if m["rule"] in plugins.scoring_rules]
        if not loaded:
            raise GuidelineError("no guideline is published and none of the default rules is loaded; "
                                 "publish one with `plaudit guidelines publish`")
        total = sum(m["weight"] for m in loaded)
        for metric in loaded:
            metric["weight"] = metric["weight"] * 100 / total
        document["metrics"] = loaded
        guideline = publish_guideline(session, document, note="the default guideline", plugins=plugins)
    return guideline


def guideline_history(session: Session) -> list[Guideline]:
    return list(session.scalars(select(Guideline).order_by(Guideline.version)))


def ingestion_policy_from_guideline(session: Session) -> IngestionPolicy | None:
    """The ingestion policy the guideline in force sets, or None to let the configuration decide."""
    from flask import current_app

    guideline = current_guideline(session)
    if guideline is None:
        return None
    document = guideline.document
    checks = get_plugins().integrity_checks
    enabled = {}
    for slug, check in checks.items():
        settings = document.get("integrity", {}).get(slug, {"enabled": True, "params": {}})
        if settings.get("enabled", True):
            enabled[slug] = check.load_params(settings.get("params"))
    attribution = document.get("attribution_policy") or current_app.config["ATTRIBUTION_POLICY"]
    return IngestionPolicy(tuple(attribution), enabled)


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{path}.{key}" if path else str(key)))
        return flat or {path: {}}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        flat = {}
        for index, inner in enumerate(value):
            # Metrics and tiers are told apart by name, not position, so reordering is not a change.
            label = inner.get("rule") or inner.get("name") or str(index)
            flat.update(_flatten(inner, f"{path}[{label}]"))
        return flat
    return {path: value}


def with_later_sections(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with the sections added since it may have been published, as their absence meant them."""
    return {"part_period": dict(PART_PERIOD_DEFAULT), **document}


def guideline_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """What changed between two guideline documents: ``(path, before, after)``, sorted by path."""
    # A section later versions added is not a change to a document published without it: its absence meant
    # what its defaults say.
    before, after = _flatten(with_later_sections(old)), _flatten(with_later_sections(new))
    changes = []
    for path in sorted(before.keys() | after.keys()):
        old_value, new_value = before.get(path), after.get(path)
        # An empty section or list that gained entries (or lost them all) shows as those entries, not as
        # [] -> null: the entries themselves appear as added or removed.
        if old_value == new_value or (old_value in ({}, []) and path not in after) or (
                new_value in ({}, []) and path not in before):
            continue
        changes.append((path, old_value, new_value))
    return changes
