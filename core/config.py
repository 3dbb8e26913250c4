"""Configuration: defaults, then the instance file, then ``PLAUDIT_*`` variables, then the caller's mapping.

Every value is checked once at start-up by :class:`ConfigSchema`, so a mistyped setting stops the app with a
message that names the key, instead of surfacing later as an odd failure.
"""
from __future__ import annotations

import difflib
import logging
import os
import secrets
import time
import tomllib
from collections.abc import Iterable, Mapping
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .attribution import ATTRIBUTION_BASES
from .local_time import check_zone

DEFAULTS: dict[str, Any] = {
    # None means "a SQLite file in the instance folder", resolved in load_config().
    "DATABASE_URL": None,
    # None means jobs run inline in the calling process (the embedded default).
    "REDIS_URL": None,
    "QUEUE_NAME": "plaudit",
    "SECRET_KEY": None,
    # Salt for hashing respondent identifiers; None: generated once into the instance folder.
    "RESPONDENT_SALT": None,
    # None: every installed plugin is enabled. A list: only these (built-ins included) load.
    "PLUGINS_ALLOWED": None,
    "PLUGINS_BLOCKED": [],
    # Order in which the attribution bases a channel offers are tried; the first present wins.
    "ATTRIBUTION_POLICY": list(ATTRIBUTION_BASES),
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "INGEST_BATCH_LIMIT": 1000,
    # Raw payloads older than this many days are cut down to what aggregation reads (core/retention.py);
    # None keeps them whole.
    "PAYLOAD_RETENTION_DAYS": 365,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_ENABLED": True,
    # Login throttling (core/throttle.py): this many failed sign-ins within LOGIN_LOCK_SECONDS lock an
    # account (or an address) until that long after the latest of them.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "LOGIN_LOCK_SECONDS": 900,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none, the client is
    # whoever connects). Throttling by address and HTTPS links depend on it.
    "PROXY_HOPS": 0,
    "LOG_LEVEL": "INFO",
    # The address people reach this deployment at, for links in e-mail (survey invitations, reports).
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # SMTP; None: no e-mail is sent (survey links can still be handed back to the helpdesk).
    "MAIL_SERVER": None,
    "MAIL_PORT": 587,
    "MAIL_SECURITY": "starttls",
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_FROM": "plaudit@localhost",
    # Real-time alerts to a manager (plugins/alerts): NPS answers below this, CSAT answers on the lowest
    # this many points of their scale. 0 turns either off.
    "ALERT_NPS_BELOW": 7,
    "ALERT_CSAT_LOWEST": 1,
    # A social mention with a sentiment at or below this (-1..0) alerts the manager; None sends none.
    "ALERT_SOCIAL_BELOW": -0.5,
    # Social sources may be polled at private addresses (loopback, 10.x, 169.254.x...): off, so HR's address
    # cannot make the server read its own network (channels/social_monitoring/addresses.py).
    "SOCIAL_ALLOW_PRIVATE_FEEDS": False,
    # The organisation's time zone (an IANA name): where its days, and so its weeks, months and quarters, begin
    # and end (core/local_time.py), and the clock of ``plaudit cron``'s schedules.
    "TIME_ZONE": "UTC",
}

INSTANCE_FILE = "plaudit.toml"

log = logging.getLogger(__name__)


def _sender(value: str) -> None:
    """An e-mail address, alone or with the name customers see: ``Acme Support <support@acme.example>``."""
    found = getaddresses([value])
    address = found[0][1] if len(found) == 1 else ""
    if not address or address.count("@") != 1 or any(c in value for c in "\r\n"):
        raise ValidationError("must be one e-mail address, alone or as 'Name <address>'")
    try:
        validate.Email()(address)
    except ValidationError:
        raise ValidationError(f"{address!r} is not an e-mail address") from None


def _time_zone(value: str) -> None:
    try:
        check_zone(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and the fix."""


class ConfigSchema(Schema):
    """The settings Plaudit reads, with the rules each must meet."""

    DATABASE_URL = fields.String(required=True, validate=validate.Regexp(
        r"^(sqlite|postgresql)(\+\w+)?://", error="must be a sqlite:// or postgresql:// URL"))
    REDIS_URL = fields.String(allow_none=True, validate=validate.Regexp(
        r"^(redis|rediss|unix)://", error="must be a redis:// URL"))
    QUEUE_NAME = fields.String(validate=validate.Length(min=1))
    SECRET_KEY = fields.String(required=True, validate=validate.Length(
        min=16, error="must be at least 16 characters"))
    RESPONDENT_SALT = fields.String(allow_none=True)
    PLUGINS_ALLOWED = fields.List(fields.String(), allow_none=True)
    PLUGINS_BLOCKED = fields.List(fields.String())
    ATTRIBUTION_POLICY = fields.List(fields.String(validate=validate.OneOf(ATTRIBUTION_BASES)),
                                     validate=validate.Length(min=1))
    MAX_CONTENT_LENGTH = fields.Integer(validate=validate.Range(min=1024))
    INGEST_BATCH_LIMIT = fields.Integer(validate=validate.Range(min=1, max=100_000))
    PAYLOAD_RETENTION_DAYS = fields.Integer(allow_none=True, strict=True, validate=validate.Range(
        min=1, max=36_500, error="must be a number of days from 1 to 36500 (or null: keep payloads whole)"))
    SESSION_COOKIE_SECURE = fields.Boolean()
    SESSION_COOKIE_HTTPONLY = fields.Boolean()
    SESSION_COOKIE_SAMESITE = fields.String(validate=validate.OneOf(["Lax", "Strict"]))
    WTF_CSRF_ENABLED = fields.Boolean()
    LOGIN_MAX_FAILURES = fields.Integer(validate=validate.Range(min=1, max=1000))
    LOGIN_MAX_FAILURES_PER_ADDRESS = fields.Integer(validate=validate.Range(min=1, max=100_000))
    LOGIN_LOCK_SECONDS = fields.Integer(validate=validate.Range(min=1, max=7 * 24 * 3600))
    PROXY_HOPS = fields.Integer(strict=True, validate=validate.Range(min=0, max=5))
    LOG_LEVEL = fields.String(validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
    PUBLIC_URL = fields.String(validate=validate.Regexp(r"^https?://[^/\s]+(/.*)?$",
                                                        error="must be an http:// or https:// address"))
    MAIL_SERVER = fields.String(allow_none=True)
    MAIL_PORT = fields.Integer(validate=validate.Range(min=1, max=65535))
    MAIL_SECURITY = fields.String(validate=validate.OneOf(["starttls", "ssl", "none"]))
    MAIL_USERNAME = fields.String(allow_none=True)
    MAIL_PASSWORD = fields.String(allow_none=True)
    MAIL_FROM = fields.String(validate=_sender)
    ALERT_NPS_BELOW = fields.Integer(validate=validate.Range(min=0, max=10))
    ALERT_CSAT_LOWEST = fields.Integer(validate=validate.Range(min=0, max=9))
    ALERT_SOCIAL_BELOW = fields.Float(allow_none=True, validate=validate.Range(
        min=-1, max=0, error="must be a sentiment from -1 to 0 (or null: no social alerts)"))
    SOCIAL_ALLOW_PRIVATE_FEEDS = fields.Boolean()
    TIME_ZONE = fields.String(validate=_time_zone)

    @validates_schema
    def _allow_and_block_disjoint(self, data, **kwargs):
        allowed = set(data.get("PLUGINS_ALLOWED") or ())
        both = allowed & set(data.get("PLUGINS_BLOCKED") or ())
        if both:
            raise ValidationError(f"plugins both allowed and blocked: {', '.join(sorted(both))}",
                                  "PLUGINS_BLOCKED")


def _instance_secret(instance_path: Path, name: str) -> str:
    """Return a secret generated for this instance, creating its file (mode 0600) on first use.

    The embedded default must work on a fresh machine without setup, yet sessions and respondent hashes
    must survive a restart, so each secret is generated once and kept beside the SQLite file.
    """
    key_file = instance_path / name
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made earlier, or just now by a process starting beside us
        for _ in range(50):
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.01)  # the other process has created the file but not yet written it
        raise ConfigError(f"{key_file} is empty: delete it, or set PLAUDIT_{name.upper()}") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_config(app, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` in precedence order and validate it.

    :raises ConfigError: naming every key that is wrong.
    """
    app.config.update(DEFAULTS)
    instance_path = Path(app.instance_path)
    instance_file = instance_path / INSTANCE_FILE
    if instance_file.exists():
        try:
            settings = tomllib.loads(instance_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{instance_file}: not valid TOML ({exc})") from None
        lower = sorted(key for key in settings if not key.isupper())
        if lower:  # Flask would silently ignore them
            raise ConfigError(f"{instance_file}: settings are upper-case: write "
                              f"{', '.join(key.upper() for key in lower)}")
        app.config.update(settings)
    app.config.from_prefixed_env("PLAUDIT")
    if overrides:
        app.config.update(overrides)
    schema = ConfigSchema()
    for key, field in schema.fields.items():
        # PLAUDIT_ variables are parsed as JSON, so a numeric secret arrives as a number: it is still text.
        value = app.config.get(key)
        if isinstance(field, fields.String) and isinstance(value, int | float) and not isinstance(value, bool):
            app.config[key] = str(value)

    if not app.config["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance_path / 'plaudit.db'}"
    if str(app.config["DATABASE_URL"]).startswith("postgres://"):
        # The form Heroku and other hosts hand out; SQLAlchemy knows only postgresql://.
        app.config["DATABASE_URL"] = "postgresql://" + app.config["DATABASE_URL"].removeprefix("postgres://")
    on_postgresql = str(app.config["DATABASE_URL"]).startswith("postgresql")
    generated = [name for name in ("SECRET_KEY", "RESPONDENT_SALT") if not app.config[name]]
    for name in generated:
        # The salt has its own file: rotating the session key must not change every respondent's hash.
        app.config[name] = _instance_secret(instance_path, name.lower())
    if generated and on_postgresql:
        log.warning("%s taken from this machine's instance folder: set %s in the environment when more "
                    "than one machine serves this database", " and ".join(generated),
                    " and ".join(f"PLAUDIT_{name}" for name in generated))
    if on_postgresql and app.config["PUBLIC_URL"] == DEFAULTS["PUBLIC_URL"]:
        log.warning("PLAUDIT_PUBLIC_URL is not set: links in e-mails, and the survey links handed to helpdesks, "
                    "point to %s", DEFAULTS["PUBLIC_URL"])
    if app.config["REDIS_URL"] == "":
        app.config["REDIS_URL"] = None

    try:
        # Only Plaudit's own keys: Flask and extensions own the rest (TESTING, SERVER_NAME, ...).
        checked = schema.load({k: app.config[k] for k in schema.fields if k in app.config})
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {'; '.join(_problems(exc.messages))}") from None
    app.config.update(checked)


#: PLAUDIT_ variables that are not settings of Plaudit's own, or that belong to Flask and its extensions.
_OTHER_VARIABLES = {"INSTANCE_PATH", "REQUIRE_SERVICES", "TEST_POSTGRES_URL", "TEST_REDIS_URL",
                    "BIND"}  # the Procfile's gunicorn address
_EXTENSION_PREFIXES = ("API_", "OPENAPI_", "WTF_", "SESSION_", "REMEMBER_COOKIE_", "USE_SESSION_FOR_NEXT")


def warn_unknown_variables(plugin_names: Iterable[str] = ()) -> None:
    """Log PLAUDIT_ variables nothing reads, with the closest known name: a typo must not go unnoticed.

    ``PLAUDIT_<PLUGIN>_...`` of a loaded plugin is that plugin's own setting (docs/plugins.md), not a typo.
    """
    from flask import Flask

    known = set(DEFAULTS) | set(ConfigSchema().fields) | set(Flask.default_config) | _OTHER_VARIABLES
    plugins = tuple(f"{name.upper()}_" for name in plugin_names)
    for variable in sorted(os.environ):
        if not variable.startswith("PLAUDIT_"):
            continue
        key = variable.removeprefix("PLAUDIT_")
        if key in known or key.startswith(_EXTENSION_PREFIXES + plugins):
            continue
        close = difflib.get_close_matches(key, sorted(set(DEFAULTS) | set(ConfigSchema().fields)), n=1)
        log.warning("%s is not a Plaudit setting and is ignored%s", variable,
                    f"; did you mean PLAUDIT_{close[0]}?" if close else "")


def _problems(messages: dict) -> list[str]:
    """``PLAUDIT_KEY: message`` per fault; a list item's fault names its position, ``PLAUDIT_KEY[1]``."""
    problems = []
    for key, faults in sorted(messages.items(), key=lambda item: str(item[0])):
        if isinstance(faults, dict):
            problems += [f"PLAUDIT_{key}[{index}]: {' '.join(msgs)}" for index, msgs in sorted(faults.items())]
        else:
            problems.append(f"PLAUDIT_{key}: {' '.join(map(str, faults))}")
    return problems
