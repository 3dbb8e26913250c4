"""Configuration precedence, embedded defaults and clear errors for bad values."""
from __future__ import annotations

import stat

import pytest

from core.app import create_app
from core.config import ConfigError

BASE = {"SECRET_KEY": "k" * 32}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("PLAUDIT_DATABASE_URL", "PLAUDIT_REDIS_URL", "PLAUDIT_SECRET_KEY", "PLAUDIT_INSTANCE_PATH",
                 "PLAUDIT_QUEUE_NAME", "PLAUDIT_PLUGINS_BLOCKED", "PLAUDIT_INGEST_BATCH_LIMIT",
                 "PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS"):
        monkeypatch.delenv(name, raising=False)


def test_embedded_default_is_sqlite_in_the_instance_folder_with_jobs_inline(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'plaudit.db'}"
    assert app.config["REDIS_URL"] is None


def test_generated_secret_key_is_private_and_survives_a_restart(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == first
    assert len(first) >= 32


def test_precedence_defaults_then_instance_file_then_environment_then_argument(tmp_path, monkeypatch):
    (tmp_path / "plaudit.toml").write_text('QUEUE_NAME = "from-file"\nINGEST_BATCH_LIMIT = 50\n'
                                           'PLUGINS_BLOCKED = ["a"]\n')
    app = create_app({"INSTANCE_PATH": str(tmp_path), **BASE})
    assert (app.config["QUEUE_NAME"], app.config["INGEST_BATCH_LIMIT"]) == ("from-file", 50)

    monkeypatch.setenv("PLAUDIT_QUEUE_NAME", "from-env")
    monkeypatch.setenv("PLAUDIT_PLUGINS_BLOCKED", '["b"]')  # JSON, like every PLAUDIT_ variable
    app = create_app({"INSTANCE_PATH": str(tmp_path), **BASE})
    assert app.config["QUEUE_NAME"] == "from-env" and app.config["PLUGINS_BLOCKED"] == ["b"]
    assert app.config["INGEST_BATCH_LIMIT"] == 50

    app = create_app({"INSTANCE_PATH": str(tmp_path), "QUEUE_NAME": "from-argument", **BASE})
    assert app.config["QUEUE_NAME"] == "from-argument"


def test_instance_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAUDIT_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    assert create_app(BASE).instance_path == str(tmp_path / "elsewhere")


@pytest.mark.parametrize("setting, value, message", [
    ("DATABASE_URL", "mysql://x/y", "PLAUDIT_DATABASE_URL: must be a sqlite:// or postgresql:// URL"),
    ("REDIS_URL", "http://localhost", "PLAUDIT_REDIS_URL: must be a redis:// URL"),
    ("SECRET_KEY", "short", "PLAUDIT_SECRET_KEY: must be at least 16 characters"),
    ("INGEST_BATCH_LIMIT", "many", "PLAUDIT_INGEST_BATCH_LIMIT: Not a valid integer."),
    ("ATTRIBUTION_POLICY", ["assignee_at_lunch"], "PLAUDIT_ATTRIBUTION_POLICY"),
    ("SOCIAL_ALLOW_PRIVATE_FEEDS", "perhaps", "PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS: Not a valid boolean."),
])
def test_invalid_values_stop_start_up_naming_the_setting(tmp_path, setting, value, message):
    with pytest.raises(ConfigError) as error:
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE, setting: value})
    assert message in str(error.value)


def test_invalid_environment_value_is_reported_as_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAUDIT_REDIS_URL", "localhost:6379")
    with pytest.raises(ConfigError, match="PLAUDIT_REDIS_URL: must be a redis:// URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE})


def test_private_feeds_are_refused_unless_the_environment_allows_them(tmp_path, monkeypatch):
    assert create_app({"INSTANCE_PATH": str(tmp_path), **BASE}).config["SOCIAL_ALLOW_PRIVATE_FEEDS"] is False
    monkeypatch.setenv("PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS", "true")
    assert create_app({"INSTANCE_PATH": str(tmp_path), **BASE}).config["SOCIAL_ALLOW_PRIVATE_FEEDS"] is True


def test_broken_instance_file_is_named(tmp_path):
    (tmp_path / "plaudit.toml").write_text("QUEUE_NAME = \n")
    with pytest.raises(ConfigError, match="plaudit.toml: not valid TOML"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE})


def test_a_plugin_cannot_be_both_allowed_and_blocked(tmp_path):
    with pytest.raises(ConfigError, match="plugins both allowed and blocked: kudos"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE, "PLUGINS_ALLOWED": ["kudos"],
                    "PLUGINS_BLOCKED": ["kudos"]})


def test_default_instance_folder_is_beside_the_code_wherever_we_run(tmp_path, monkeypatch):
    from core.app import ROOT, default_instance_path

    monkeypatch.chdir(tmp_path)
    assert default_instance_path() == ROOT / "instance"  # a source checkout (setup.cfg beside core/)


def test_numeric_secret_from_the_environment_is_text(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAUDIT_SECRET_KEY", "12345678901234567890")  # JSON-parsed into a number
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "12345678901234567890"


def test_a_bad_list_item_is_named_by_position(tmp_path):
    with pytest.raises(ConfigError, match=r"PLAUDIT_ATTRIBUTION_POLICY\[1\]: Must be one of"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE, "ATTRIBUTION_POLICY": ["subject", "at_lunch"]})


def test_lower_case_keys_in_the_instance_file_are_not_silently_ignored(tmp_path):
    (tmp_path / "plaudit.toml").write_text('queue_name = "x"\n')
    with pytest.raises(ConfigError, match="settings are upper-case: write QUEUE_NAME"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE})


def test_processes_starting_together_share_one_generated_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from core.config import _instance_secret

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _instance_secret(tmp_path, "secret_key"), range(8)))
    assert len(keys) == 1


def test_respondent_salt_does_not_change_with_the_session_key(tmp_path, monkeypatch):
    first = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "a" * 32}).config["RESPONDENT_SALT"]
    rotated = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "b" * 32}).config["RESPONDENT_SALT"]
    assert first == rotated != "a" * 32
    assert stat.S_IMODE((tmp_path / "respondent_salt").stat().st_mode) == 0o600


def test_a_mistyped_variable_is_named_with_a_suggestion(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PLAUDIT_REDIS_ULR", "redis://localhost")
    create_app({"INSTANCE_PATH": str(tmp_path), **BASE})
    assert "PLAUDIT_REDIS_ULR is not a Plaudit setting and is ignored; did you mean PLAUDIT_REDIS_URL?" in caplog.text


def test_a_mistyped_variable_is_named_when_start_up_fails_too(tmp_path, monkeypatch, caplog):
    """The typo is often why the setting it meant is wrong: the hint must come before the refusal."""
    monkeypatch.setenv("PLAUDIT_MAIL_PRT", "25")
    with pytest.raises(ConfigError, match="MAIL_PORT"):
        create_app({"INSTANCE_PATH": str(tmp_path), **BASE, "MAIL_PORT": "abc"})
    assert "PLAUDIT_MAIL_PRT is not a Plaudit setting and is ignored; did you mean PLAUDIT_MAIL_PORT?" in caplog.text


def test_a_loaded_plugins_own_variables_are_not_called_ignored(tmp_path, monkeypatch, caplog):
    """PLAUDIT_<PLUGIN>_<SETTING> is how a plugin reads a setting (docs/plugins.md); it reaches app.config."""
    monkeypatch.setenv("PLAUDIT_TRUSTPILOT_WEBHOOK_SECRET", "s3cret-value")
    monkeypatch.setenv("PLAUDIT_TRUSTPILOT_X", "1")
    app = create_app({"INSTANCE_PATH": str(tmp_path), **BASE}, extra_plugins={"trustpilot": object()})
    assert app.config["TRUSTPILOT_WEBHOOK_SECRET"] == "s3cret-value"
    assert "TRUSTPILOT" not in caplog.text
    caplog.clear()
    create_app({"INSTANCE_PATH": str(tmp_path), **BASE})  # without the plugin, the same variables are typos
    assert "PLAUDIT_TRUSTPILOT_WEBHOOK_SECRET is not a Plaudit setting and is ignored" in caplog.text


def test_the_procfiles_bind_address_is_not_called_ignored(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PLAUDIT_BIND", "0.0.0.0")
    create_app({"INSTANCE_PATH": str(tmp_path), **BASE})
    assert "PLAUDIT_BIND" not in caplog.text


def test_a_hosts_postgres_url_is_taken_as_postgresql(tmp_path):
    """Heroku and others hand out postgres://, which SQLAlchemy does not know."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), **BASE,
                      "DATABASE_URL": "postgres://plaudit:pw@127.0.0.1:1/plaudit"})
    assert app.config["DATABASE_URL"] == "postgresql://plaudit:pw@127.0.0.1:1/plaudit"


def test_a_production_database_without_a_public_url_is_warned_about(tmp_path, caplog):
    """Deployed without PLAUDIT_PUBLIC_URL, every link in e-mails and every survey link pointed to 127.0.0.1."""
    production = {"INSTANCE_PATH": str(tmp_path), **BASE, "RESPONDENT_SALT": "s" * 32,
                  "DATABASE_URL": "postgresql://plaudit@127.0.0.1:1/plaudit"}
    create_app(production)
    assert "PLAUDIT_PUBLIC_URL is not set" in caplog.text
    caplog.clear()
    create_app({**production, "PUBLIC_URL": "https://plaudit.example.com"})
    create_app({"INSTANCE_PATH": str(tmp_path), **BASE})  # the demo on SQLite: 127.0.0.1 is right
    assert "PLAUDIT_PUBLIC_URL" not in caplog.text
