"""One test per system check id (see docs/checks.md)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings
from django.test.utils import isolate_apps

from thoth_db_elements.checks import (
    check_catalogue_models,
    check_hooks,
    check_log_dir,
    check_numeric_settings,
    check_psycopg,
    check_q_cluster,
    check_runner,
    check_sqldb_model,
    psycopg_warnings,
)


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages if m.id]


def test_configured_example_project_is_clean() -> None:
    assert check_sqldb_model() == []
    assert check_catalogue_models() == []
    assert check_numeric_settings() == []
    assert check_log_dir() == []
    assert check_runner() == []
    assert check_q_cluster() == []
    assert check_psycopg() == []


@pytest.mark.parametrize("value", [None, "", "nope.Model", "not-a-label"])
def test_e001_sqldb_model_missing_or_unknown(value: str | None) -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL=value):
        assert ids(check_sqldb_model()) == ["thoth_db_elements.E001"]


def test_e002_sqldb_model_without_status_fields() -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="auth.User"):
        [message] = check_sqldb_model()
    assert message.id == "thoth_db_elements.E002"
    assert "db_elements_status" in message.msg


def test_e003_catalogue_model_missing_fields() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_SQLDB_MODEL="catalog.SqlDb",
        THOTH_DB_ELEMENTS_COLUMN_MODEL="auth.Group",
        THOTH_DB_ELEMENTS_TABLE_MODEL="missing.Table",
    ):
        messages = check_catalogue_models()
    assert ids(messages) == ["thoth_db_elements.E003", "thoth_db_elements.E003"]
    assert messages[0].msg == (
        "THOTH_DB_ELEMENTS_TABLE_MODEL refers to 'missing.Table', which is not "
        "an installed model."
    )
    assert messages[0].hint == (
        "Define the model in your app (inherit thoth_db_elements.models."
        "AbstractSqlTable, then makemigrations), or set "
        "THOTH_DB_ELEMENTS_TABLE_MODEL to 'app_label.ModelName' of your own."
    )
    assert "original_column_name" in messages[1].msg


def test_e003_a_default_catalogue_model_not_defined_says_it_is_the_default() -> None:
    # The host wrote the SqlDb model only: the catalogue models default to
    # its app, and the message names the default, not a setting never set.
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="auth.User"):
        messages = check_catalogue_models()
    assert [m.msg for m in messages] == [
        f"THOTH_DB_ELEMENTS_{kind}_MODEL is not set, and its default "
        f"'auth.{name}' (beside the SqlDb model) is not an installed model."
        for kind, name in (
            ("TABLE", "SqlTable"),
            ("COLUMN", "SqlColumn"),
            ("RELATIONSHIP", "Relationship"),
        )
    ]
    assert "AbstractSqlColumn" in str(messages[1].hint)


def test_catalogue_models_default_to_the_sqldb_app() -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="testapp.SqlDb"):
        assert check_catalogue_models() == []
        from thoth_db_elements.conf import app_settings

        assert app_settings.RELATIONSHIP_MODEL == "testapp.Relationship"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STALE_TIMEOUT_HOURS", 0),
        ("STALE_TIMEOUT_HOURS", "2"),
        ("HEARTBEAT_TIMEOUT_SECONDS", -5),
        ("HEARTBEAT_TIMEOUT_SECONDS", True),
    ],
)
def test_e004_numeric_settings(name: str, value: object) -> None:
    with override_settings(**{f"THOTH_DB_ELEMENTS_{name}": value}):
        [message] = check_numeric_settings()
    assert message.id == "thoth_db_elements.E004"
    assert name in message.msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_w001_log_dir_not_writable_as_user(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(locked / "logs")):
        assert ids(check_log_dir()) == ["thoth_db_elements.W001"]


def test_w001_log_dir_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(blocker / "logs")):
        assert ids(check_log_dir()) == ["thoth_db_elements.W001"]


def test_w001_run_log_dir_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "db_elements").write_text("where the run logs should go")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        [message] = check_log_dir()
    assert message.id == "thoth_db_elements.W001"
    assert str(tmp_path / "db_elements") in message.msg
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path / "fresh")):
        assert check_log_dir() == []


def test_w002_seed_only_model_warns() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_SQLDB_MODEL="testapp.SeedOnlySqlDb",
        THOTH_DB_ELEMENTS_TABLE_MODEL="testapp.SqlTable",
        THOTH_DB_ELEMENTS_COLUMN_MODEL="testapp.SqlColumn",
        THOTH_DB_ELEMENTS_RELATIONSHIP_MODEL="testapp.Relationship",
    ):
        [message] = check_sqldb_model()
    assert message.id == "thoth_db_elements.W002"
    assert isinstance(message, checks.Warning)


def test_checks_are_registered() -> None:
    registered = {c.__name__ for c in checks.registry.registry.get_checks()}
    assert {
        "check_sqldb_model",
        "check_catalogue_models",
        "check_numeric_settings",
        "check_log_dir",
    } <= registered


def test_e004_heartbeat_interval_must_be_shorter_than_timeout() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=60,
        THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=30,
    ):
        [message] = check_numeric_settings()
    assert message.id == "thoth_db_elements.E004"
    assert "HEARTBEAT_INTERVAL_SECONDS" in message.msg


def test_e004_threshold_is_a_share() -> None:
    with override_settings(THOTH_DB_ELEMENTS_DELETE_THRESHOLD=50):
        [message] = check_numeric_settings()
    assert "a share from 0 to 1" in message.msg
    # 0: no deletion without force.
    with override_settings(THOTH_DB_ELEMENTS_DELETE_THRESHOLD=0):
        assert check_numeric_settings() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CATALOGUE_LOCK_TIMEOUT", -5),
        ("CATALOGUE_LOCK_TIMEOUT", "soon"),
        ("CONNECT_TIMEOUT", float("inf")),
        ("STALE_TIMEOUT_HOURS", float("nan")),
        ("BATCH_SIZE", 0.5),
        ("BATCH_SIZE", 0),
        ("DELETE_THRESHOLD", -0.1),
        ("DELETE_THRESHOLD", "half"),
        ("RUN_LOGS_KEPT", 0),
        ("RUN_LOGS_KEPT", 2.5),
        ("RUN_LOGS_KEPT", "3"),
        ("INCLUDE_VIEWS", "False"),
        ("INCLUDE_VIEWS", 0),
        ("SQLITE_CONFINED", "yes"),
    ],
)
def test_e004_catches_values_that_fail_at_run_time(name: str, value: object) -> None:
    with override_settings(**{f"THOTH_DB_ELEMENTS_{name}": value}):
        [message] = check_numeric_settings()
    assert message.id == "thoth_db_elements.E004"
    assert name in message.msg


@pytest.mark.parametrize(
    "cluster",
    [
        {},
        {"timeout": None},
        {"timeout": 600, "retry": 600},
        {"timeout": 600, "retry": 60},
    ],
)
def test_e005_q_cluster_retry_must_exceed_timeout(cluster: dict[str, object]) -> None:
    with override_settings(Q_CLUSTER=cluster):
        assert ids(check_q_cluster()) == ["thoth_db_elements.E005"]


def test_e005_timeout_within_the_stale_rule_without_a_heartbeat() -> None:
    # Without a heartbeat field a run is stale by its age alone: a worker
    # timeout beyond that age would let a second run start beside a live one.
    long = {"timeout": 3 * 3600, "retry": 4 * 3600}
    with override_settings(
        Q_CLUSTER=long, THOTH_DB_ELEMENTS_SQLDB_MODEL="testapp.SeedOnlySqlDb"
    ):
        [message] = check_q_cluster()
        assert message.id == "thoth_db_elements.E005"
        assert "STALE_TIMEOUT_HOURS (2 h)" in message.msg
        with override_settings(THOTH_DB_ELEMENTS_STALE_TIMEOUT_HOURS=4):
            assert check_q_cluster() == []
    with override_settings(Q_CLUSTER=long):  # with a heartbeat: by that
        assert check_q_cluster() == []


@pytest.fixture
def without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the redis package were not installed."""
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "django_q.brokers.redis_broker", raising=False)


def test_e005_the_redis_broker_needs_its_package(without_redis: None) -> None:
    on_redis = {"timeout": 600, "retry": 700, "redis": {"host": "127.0.0.1"}}
    with override_settings(Q_CLUSTER=on_redis):
        [message] = check_q_cluster()
    assert message.id == "thoth_db_elements.E005"
    assert "the redis package is not installed" in message.msg
    assert "thoth-db-elements[redis]" in (message.hint or "")
    # Another broker needs no Redis; SQS's settings may all come from the
    # environment.
    for other in ({"orm": "default"}, {"sqs": {}}, {"broker_class": "x.Y"}):
        with override_settings(Q_CLUSTER={**on_redis, **other}):
            assert check_q_cluster() == [], other


def test_e005_django_q_must_be_installed(settings: Any) -> None:
    installed = [app for app in settings.INSTALLED_APPS if app != "django_q"]
    with override_settings(INSTALLED_APPS=installed):
        [message] = check_q_cluster()
    assert message.id == "thoth_db_elements.E005"
    assert '"django_q" in INSTALLED_APPS' in message.msg
    assert check_q_cluster() == []


def test_e005_only_applies_to_the_django_q_runner() -> None:
    with override_settings(
        Q_CLUSTER={},
        THOTH_DB_ELEMENTS_RUNNER="thoth_db_elements.runners.immediate.ImmediateRunner",
    ):
        assert check_q_cluster() == []


@pytest.mark.parametrize("name", ["URL_BUILDER", "TUNNEL"])
def test_e008_hook_not_importable_or_not_callable(name: str) -> None:
    # More cases, and the run's own error, in test_tunnel.py.
    with override_settings(**{f"THOTH_DB_ELEMENTS_{name}": "nowhere.hook"}):
        assert ids(check_hooks()) == ["thoth_db_elements.E008"]
    with override_settings(**{f"THOTH_DB_ELEMENTS_{name}": "tests.failing_hook.hook"}):
        [error] = check_hooks()
    assert error.msg == (
        f"THOTH_DB_ELEMENTS_{name} = 'tests.failing_hook.hook' cannot be "
        "imported (RuntimeError: needs VAULT_ADDR): every harvest would fail."
    )
    with override_settings(**{f"THOTH_DB_ELEMENTS_{name}": "os.sep"}):
        [error] = check_hooks()
    assert error.msg == (
        f"THOTH_DB_ELEMENTS_{name} = 'os.sep' is not callable: every harvest "
        "would fail."
    )
    assert check_hooks() == []


def test_w004_an_admin_replacing_the_action_is_warned_of() -> None:
    from django.contrib import admin

    from catalog.models import SqlDb
    from thoth_db_elements.admin import DbElementsAdminMixin, DbElementsModelAdmin

    class LeftOver(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
        actions = ["create_db_elements_async"]

        @admin.action(description="The seed's own")
        def create_db_elements_async(self, request: Any, queryset: Any) -> None:
            pass

    [warning] = [
        m for m in LeftOver(SqlDb, admin.site).check() if m.id.startswith("thoth")
    ]
    assert warning.id == "thoth_db_elements.W004"
    assert warning.msg == (
        "LeftOver.create_db_elements_async replaces the action "
        "DbElementsAdminMixin provides."
    )
    assert warning.obj is LeftOver
    assert DbElementsModelAdmin(SqlDb, admin.site).check() == []

    class Extending(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
        @admin.action(description="Harvest, and say so")
        def create_db_elements_async(self, request: Any, queryset: Any) -> None:
            super().create_db_elements_async(request, queryset)

    assert Extending(SqlDb, admin.site).check() == []

    def logged(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return wrapper

    class Decorated(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
        @logged
        def create_db_elements_async(self, request: Any, queryset: Any) -> None:
            super().create_db_elements_async(request, queryset)

    assert Decorated(SqlDb, admin.site).check() == []


def test_e006_runner_not_importable() -> None:
    with override_settings(THOTH_DB_ELEMENTS_RUNNER="nowhere.Runner"):
        assert ids(check_runner()) == ["thoth_db_elements.E006"]


@isolate_apps("tests.testapp")
def test_e007_required_fields_the_harvest_does_not_fill_are_named() -> None:
    from django.db import models

    from thoth_db_elements.checks import unfilled_required_fields

    class Owner(models.Model):
        class Meta:
            app_label = "testapp"

    class Table(models.Model):
        name = models.CharField(max_length=255)
        priority = models.IntegerField()
        owner = models.ForeignKey(Owner, on_delete=models.CASCADE)
        note = models.CharField(max_length=10)  # takes ""
        flag = models.BooleanField(default=False)
        rank = models.IntegerField(db_default=0)
        created = models.DateTimeField(auto_now_add=True)
        maybe = models.IntegerField(null=True)
        is_view = models.BooleanField()  # the harvest writes it

        class Meta:
            app_label = "testapp"

    assert unfilled_required_fields(Table, "TABLE_MODEL") == ["priority", "owner"]


PG = "postgresql"  # PostGIS's backend too
SQLITE = "sqlite"


@pytest.mark.parametrize(
    ("version", "vendors", "expected"),
    [
        ("3.1.20", [SQLITE, PG], ["thoth_db_elements.W003"]),
        ("3.2.10", [PG], ["thoth_db_elements.W003"]),
        ("3.3.0", [PG], []),
        ("3.3.9", [PG], []),
        ("4.0.0.dev1", [PG], []),
        ("3.1.20", [SQLITE], []),
        (None, [PG], []),
    ],
)
def test_w003_psycopg_that_loses_a_stop_during_a_commit(
    version: str | None, vendors: list[str], expected: list[str]
) -> None:
    assert ids(psycopg_warnings(version, vendors)) == expected


def test_w003_with_a_backend_that_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """An alias whose driver is missing: the check says nothing of it (the
    first query will), and does not fail the other checks' run."""
    from django.conf import settings
    from django.db import connections

    from thoth_db_elements import checks as module

    monkeypatch.setattr(module, "package_version", lambda name: "3.1.20")
    oracle = {"ENGINE": "django.db.backends.oracle", "NAME": "x"}
    monkeypatch.setitem(settings.DATABASES, "oracle", oracle)
    monkeypatch.setitem(connections.settings, "oracle", oracle)
    found = module.check_psycopg()
    assert ids(found) == (
        ["thoth_db_elements.W003"]
        if connections["default"].vendor == "postgresql"
        else []
    )
