"""The plugin manager of one app, and a small facade the rest of the code calls instead of raw hooks."""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pluggy
from marshmallow import Schema

from . import hookspecs
from .channel import Channel
from .integrity import IntegrityCheck
from .scoring import ScoringRule

log = logging.getLogger(__name__)

PROJECT = "plaudit"
EXTENSION_KEY = "plaudit.plugins"
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Built-in plugins, registered by module name under their slug; they are ordinary plugins.
BUILTIN_PLUGINS: dict[str, str] = {
    "post_ticket_survey": "channels.post_ticket_survey",
    "mystery_shopper": "channels.mystery_shopper",
    "survey_scores": "plugins.survey_scores",
    "mystery_scores": "plugins.mystery_scores",
    "social_scores": "plugins.social_scores",
    "ticket_sla": "plugins.ticket_sla",
    "integrity_checks": "plugins.integrity_checks",
    "alerts": "plugins.alerts",
    "social_monitoring": "channels.social_monitoring",
}

#: The social source kinds the social_monitoring channel serves itself: no client plugin may take them.
BUILTIN_SOCIAL_KINDS = ("rss", "push")

#: The labels a ``sentiment`` answer may give.
SENTIMENT_LABELS = ("negative", "neutral", "positive")


class PluginError(RuntimeError):
    """A plugin cannot be loaded as configured; the message says which and why."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    hooks: tuple[str, ...]


class Plugins:
    """What the enabled plugins contribute: channels, scoring rules, checks, and typed hook calls."""

    def __init__(self, pm: pluggy.PluginManager, sources: dict[str, str]):
        self.pm = pm
        self._sources = sources
        self.channels = _collect(pm, "register_channels", "channel", Channel, schema=_is_schema, kinds=_are_kinds)
        self.scoring_rules = _collect(pm, "register_scoring_rules", "scoring rule", ScoringRule,
                                      kinds=_are_kinds)
        fed = {kind for channel in self.channels.values() for kind in channel.kinds}
        for rule in self.scoring_rules.values():
            unfed = sorted(set(rule.kinds) - fed)
            if unfed:  # not refused: a channel may come with a plugin enabled later; but say why it scores nothing
                log.warning("scoring rule %r reads feedback kind(s) %s, which no loaded channel produces: its "
                            "metric stays empty (loaded kinds: %s)", rule.name, ", ".join(unfed),
                            ", ".join(sorted(fed)) or "none")
        self.integrity_checks = _collect(pm, "register_integrity_checks", "integrity check", IntegrityCheck)
        #: Platform API clients for social sources, by the ``kind`` slug a source names. Their base class
        #: belongs to the social channel, which the kernel does not import.
        self.social_source_clients = _collect(pm, "register_social_source_clients", "social source client")
        taken = sorted(set(self.social_source_clients) & set(BUILTIN_SOCIAL_KINDS))
        if taken:
            # Refused at start-up: found later, it would fail every sources page and poll instead.
            raise PluginError(f"social source client kind(s) {', '.join(taken)} are built in; give the client "
                              f"another name or block its plugin with PLAUDIT_PLUGINS_BLOCKED")

    def channel(self, slug: str):
        """Return the channel with this slug; raise ``KeyError`` with the known slugs otherwise."""
        try:
            return self.channels[slug]
        except KeyError:
            raise KeyError(f"unknown channel {slug!r}; loaded: {', '.join(sorted(self.channels)) or 'none'}")

    def resolve_employee(self, session, provider: str, external_id: str, draft) -> int | None:
        return self.pm.hook.resolve_employee(session=session, provider=provider, external_id=external_id,
                                             draft=draft)

    def sentiment(self, text: str) -> tuple[float, str]:
        """The score (-1..1) and label of ``text``, by the first plugin that answers.

        :raises PluginError: if no plugin answers, or an answer is off the scale or has an unknown label.
        """
        answer = self.pm.hook.sentiment(text=text)
        if answer is None:
            raise PluginError("no plugin answers the sentiment hook; enable social_monitoring or another")
        try:
            score, label = float(answer[0]), str(answer[1])
        except (TypeError, ValueError, IndexError):
            raise PluginError(f"a sentiment answer must be (score, label), not {answer!r}") from None
        if not -1 <= score <= 1 or label not in SENTIMENT_LABELS:
            raise PluginError(f"sentiment answer {answer!r}: the score must be on -1..1 and the label one of "
                              f"{', '.join(SENTIMENT_LABELS)}")
        return score, label

    def feedback_ingested(self, session, feedback) -> None:
        self.pm.hook.feedback_ingested(session=session, feedback=feedback)

    def related_feedback(self, session, feedback) -> list[int]:
        """The ids of the items that stand or fall with ``feedback``, by every plugin's answer, itself excluded."""
        answers = self.pm.hook.related_feedback(session=session, feedback=feedback)
        return sorted({int(item_id) for answer in answers for item_id in answer or ()} - {feedback.id})

    def feedback_credited(self, session, feedback_ids) -> None:
        if feedback_ids:
            self.pm.hook.feedback_credited(session=session, feedback_ids=list(feedback_ids))

    def dispute_decided(self, session, dispute, items) -> None:
        self.pm.hook.dispute_decided(session=session, dispute=dispute, items=items)

    def appraisal_completed(self, session, run) -> None:
        self.pm.hook.appraisal_completed(session=session, run=run)

    @property
    def recommends(self) -> bool:
        """True when some plugin implements ``recommend``."""
        return bool(self.pm.hook.recommend.get_hookimpls())

    def recommendations(self, result, guideline) -> list[tuple[str, dict]]:
        """Every plugin's answers to ``recommend``, each with the plugin's name (the record's source)."""
        offered = {"result": result, "guideline": guideline}
        found = []
        for impl in self.pm.hook.recommend.get_hookimpls():
            answers = impl.function(**{name: offered[name] for name in impl.argnames}) or ()
            found += [(impl.plugin_name, answer) for answer in answers]
        return found

    def recommend(self, result, guideline) -> list[dict]:
        return [answer for _, answer in self.recommendations(result, guideline)]

    def training_needs(self, session, period_start, period_end, up_to: int, employee_ids, settings
                       ) -> list[tuple[str, dict]]:
        """Every plugin's answer to ``training_needs`` ({employee_id: [need]}), each with the plugin's name."""
        offered = {"session": session, "period_start": period_start, "period_end": period_end, "up_to": up_to,
                   "employee_ids": employee_ids, "settings": settings}
        return [(impl.plugin_name, impl.function(**{name: offered[name] for name in impl.argnames}) or {})
                for impl in self.pm.hook.training_needs.get_hookimpls()]

    def cron_jobs(self) -> list:
        return [entry for entries in self.pm.hook.register_cron_jobs() for entry in entries or ()]

    def register_commands(self, cli, reserved: frozenset[str] = frozenset()) -> None:
        """Let each plugin add commands to ``cli``; none may replace a command there or take a reserved name."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = dict(cli.commands)
            impl.function(**({"cli": cli} if "cli" in impl.argnames else {}))
            replaced = sorted({name for name, command in before.items() if cli.commands.get(name) is not command}
                              | (set(cli.commands) & reserved))
            if replaced:
                raise PluginError(f"plugin {impl.plugin_name!r} replaces the command(s) {', '.join(replaced)}; "
                                  f"give its commands other names")

    def describe(self) -> list[PluginInfo]:
        """Each loaded plugin with where it came from and the hooks it implements, sorted by name."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked: pluggy keeps the name so it can never be registered
                infos.append(PluginInfo(name=name, source="blocked", hooks=()))
                continue
            hooks = tuple(sorted(hc.name for hc in self.pm.get_hookcallers(plugin) or ()))
            infos.append(PluginInfo(name=name, source=self._sources.get(name, "?"), hooks=hooks))
        return sorted(infos, key=lambda info: info.name)


def _collect(pm: pluggy.PluginManager, hook_name: str, what: str, base: type | None = None,
             **required: Callable[[Any], bool]) -> dict[str, Any]:
    """Call a ``register_*`` hook plugin by plugin and index the classes by slug, refusing duplicates.

    A plugin's mistake stops start-up with its name and what is wrong: an answer that is not a list of
    ``base`` subclasses, a class without a slug or without one of the ``required`` attributes (each given with
    its test; ``title`` always is), or one that cannot be created. Found later, it would fail a request instead.
    """
    required = {"title": _is_text, **required}
    found: dict[str, Any] = {}
    owners: dict[str, str] = {}
    kind = f"{what} classes" + (f" (subclasses of {base.__module__}.{base.__qualname__})" if base else "")
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        answer = impl.function()
        if answer is None:
            continue
        if not isinstance(answer, list | tuple):
            raise PluginError(f"plugin {impl.plugin_name!r}: {hook_name} returned {answer!r}; "
                              f"it must return a list of {kind}")
        for cls in answer:
            if not isinstance(cls, type) or (base is not None and not issubclass(cls, base)):
                raise PluginError(f"plugin {impl.plugin_name!r}: {hook_name} returned {cls!r}, "
                                  f"which is not one of the {kind} it must return")
            slug = getattr(cls, "name", None)
            if not isinstance(slug, str) or not slug.isidentifier() or slug != slug.lower():
                raise PluginError(f"plugin {impl.plugin_name!r}: {what} {cls!r} needs a snake_case `name` slug")
            missing = [attribute for attribute, valid in required.items() if not valid(getattr(cls, attribute, None))]
            if missing:
                # `schema = PayloadSchema()`: an instance where the class was wanted, an easy slip to name.
                instances = [f"; `{attribute}` is an instance of {type(value).__name__}: give the class itself"
                             for attribute in missing
                             if not isinstance(value := getattr(cls, attribute, None), type) and value is not None
                             and required[attribute](type(value))]
                raise PluginError(f"plugin {impl.plugin_name!r}: {what} {slug!r} lacks a valid "
                                  f"{', '.join(f'`{attribute}`' for attribute in missing)} (docs/plugins.md)"
                                  + "".join(instances))
            if slug in found:
                first, second = sorted([owners[slug], impl.plugin_name])
                raise PluginError(f"duplicate {what} slug {slug!r}: registered by plugin {first!r} "
                                  f"and by plugin {second!r}; rename one or block a plugin "
                                  f"with PLAUDIT_PLUGINS_BLOCKED")
            try:
                found[slug] = cls()
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name!r}: {what} {slug!r} could not be created: "
                                  f"{type(exc).__name__}: {exc}") from exc
            owners[slug] = impl.plugin_name
    return found


def _is_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_schema(value) -> bool:
    return isinstance(value, type) and issubclass(value, Schema)


def _are_kinds(value) -> bool:
    return isinstance(value, tuple | list) and bool(value) and all(map(_is_text, value))


def _spec_arguments(pm: pluggy.PluginManager, error: pluggy.PluginValidationError) -> str:
    """What the hook a refused hookimpl implements takes, so the fix can be read off the message."""
    match = re.search(r"for hook '(\w+)'", str(error))
    caller = getattr(pm.hook, match.group(1), None) if match else None
    if caller is None or caller.spec is None:
        return ""
    return f" ({match.group(1)} takes: {', '.join(caller.spec.argnames) or 'no arguments'})"


def _where(error: BaseException) -> str:
    """An import failure as a line: its kind, message, and the plugin's file and line it was raised from."""
    if isinstance(error, SyntaxError):  # its message names the file and line already
        return f"{type(error).__name__}: {error}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if "importlib" not in frame.filename and frame.filename != __file__]
    place = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{place}"


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=PROJECT)


def build_plugins(allowed: Iterable[str] | None = None, blocked: Iterable[str] = (),
                  extra: dict[str, Any] | None = None) -> Plugins:
    """Create the plugin manager: specs, built-ins by module name, entry points, then validation.

    :param allowed: if given, only plugins with these names load (installed is not enabled).
    :param blocked: plugins that never load, even when installed.
    :param extra: plugin objects to register directly by name (tests, embedding applications).
    :raises PluginError: on an unknown hook, a duplicate slug or a plugin that fails to import.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    allowed_set = None if allowed is None else set(allowed)
    for name in blocked:
        pm.set_blocked(name)

    def wanted(name: str) -> bool:
        return not pm.is_blocked(name) and (allowed_set is None or name in allowed_set)

    sources: dict[str, str] = {}

    def register(plugin, name: str, source: str) -> None:
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:  # a hookimpl whose arguments match no spec
            raise PluginError(f"plugin {name!r} ({source}): {exc}{_spec_arguments(pm, exc)}") from None
        except ValueError:  # pluggy refuses a taken name, or one plugin object under two names
            if pm.has_plugin(name):
                raise PluginError(f"two plugins are named {name!r}: {sources.get(name, '?')} and {source}; "
                                  f"rename one (blocking the name would block both)") from None
            raise PluginError(f"plugin {name!r} ({source}) is already loaded as {pm.get_name(plugin)!r}; "
                              f"register it once") from None
        sources[name] = source

    for name, module_name in BUILTIN_PLUGINS.items():
        if wanted(name):
            register(importlib.import_module(module_name), name, f"built-in ({module_name})")
    for ep in _entry_points():
        if not wanted(ep.name):
            continue
        if pm.has_plugin(ep.name):
            raise PluginError(f"two plugins are named {ep.name!r}: {sources[ep.name]} and entry point "
                              f"{ep.value!r}; rename the entry point in its package (blocking the name would "
                              f"block both)")
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to import: {_where(exc)}; fix it, or "
                              f"start without it: PLAUDIT_PLUGINS_BLOCKED='[\"{ep.name}\"]'") from exc
        dist = ep.dist
        register(plugin, ep.name, f"{dist.name} {dist.version}" if dist else ep.value)
    for name, plugin in (extra or {}).items():
        if wanted(name):
            register(plugin, name, "registered directly")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r}: {exc} "
                          f"(a misspelled hook name? docs/plugins.md lists every hook)") from None
    if allowed_set:
        unknown = allowed_set - set(sources)
        if unknown:
            log.warning("PLAUDIT_PLUGINS_ALLOWED names plugins that are not installed: %s",
                        ", ".join(sorted(unknown)))
    return Plugins(pm, sources)


def init_app(app, extra: dict[str, Any] | None = None) -> Plugins:
    plugins = build_plugins(app.config["PLUGINS_ALLOWED"], app.config["PLUGINS_BLOCKED"], extra)
    app.extensions[EXTENSION_KEY] = plugins
    return plugins


def get_plugins(app=None) -> Plugins:
    from flask import current_app

    return (app or current_app).extensions[EXTENSION_KEY]
