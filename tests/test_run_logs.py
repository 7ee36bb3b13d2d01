"""Run logs: how many a database keeps, and their removal with its row."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from catalog.models import SqlDb
from tests.test_tasks import IMMEDIATE, make_source
from tests.testapp.models import ProxySqlDb, SeedOnlySqlDb
from tests.testapp.models import SqlDb as PlainSqlDb
from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.logging import (
    log_label,
    open_run_log,
    run_log_dir,
    run_log_files,
)
from thoth_db_elements.signals import harvested_models
from thoth_db_elements.tasks import start_async_db_elements_creation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source_path(tmp_path: Path) -> Path:
    return make_source(tmp_path / "shop.sqlite")


def _row(path: Path, name: str = "shop") -> SqlDb:
    return SqlDb.objects.create(name=name, db_type="SQLite", db_name=str(path))


def _harvest(*rows: Any, times: int = 1) -> None:
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE):
        for _ in range(times):
            start_async_db_elements_creation(1, [row.pk for row in rows], 1)


def test_all_run_logs_are_kept_by_default(source_path: Path, log_dir: Path) -> None:
    shop = _row(source_path)
    _harvest(shop, times=3)
    assert len(run_log_files(shop.pk)) == 3


def test_only_the_newest_run_logs_are_kept(
    source_path: Path, log_dir: Path, settings: Any
) -> None:
    settings.THOTH_DB_ELEMENTS_RUN_LOGS_KEPT = 2
    shop, other = _row(source_path), _row(source_path, "other")
    _harvest(other)
    names = []
    for _ in range(4):
        _harvest(shop)
        shop.refresh_from_db()
        names.append(shop.db_elements_log_file)
    assert len(set(names)) == 4
    # The last two runs' files stay, the newest first.
    assert [f.name for f in run_log_files(shop.pk)] == names[:1:-1]
    assert len(run_log_files(other.pk)) == 1


def test_deleting_a_row_removes_its_run_logs(source_path: Path, log_dir: Path) -> None:
    shop, other = _row(source_path), _row(source_path, "other")
    _harvest(shop, other)
    pk = shop.pk
    with transaction.atomic():
        shop.delete()
        assert len(run_log_files(pk)) == 1  # not before the deletion commits
    assert run_log_files(pk) == []
    assert len(run_log_files(other.pk)) == 1
    # A new row given the old key lists no logs of the old one.
    assert run_log_files(SqlDb.objects.create(pk=pk, name="new").pk) == []


def test_a_deletion_rolled_back_keeps_the_run_logs(
    source_path: Path, log_dir: Path
) -> None:
    shop = _row(source_path)
    _harvest(shop)
    with pytest.raises(RuntimeError), transaction.atomic():
        SqlDb.objects.filter(pk=shop.pk).delete()
        raise RuntimeError("changed my mind")
    assert len(run_log_files(shop.pk)) == 1


def test_every_model_with_the_status_fields_is_watched() -> None:
    labels = {model._meta.label for model in harvested_models()}
    assert {"catalog.SqlDb", "testapp.SqlDb"} <= labels
    assert SeedOnlySqlDb._meta.label in labels
    assert "catalog.SqlTable" not in labels


def test_a_proxy_shares_the_logs_of_its_rows(log_dir: Path) -> None:
    row = PlainSqlDb.objects.create(name="p")
    assert log_label(ProxySqlDb) == log_label(PlainSqlDb) == "testapp.sqldb"
    with open_run_log(row.pk, model_label=log_label(ProxySqlDb)):
        pass
    # The concrete model's admin lists it, and a deletion through the
    # proxy removes it.
    assert len(run_log_files(row.pk, log_label(PlainSqlDb))) == 1
    ProxySqlDb.objects.get(pk=row.pk).delete()
    assert run_log_files(row.pk, log_label(PlainSqlDb)) == []


def test_a_failed_clean_up_fails_neither_the_deletion_nor_the_hosts_hooks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The log root is a file: listing its run logs raises.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    row = PlainSqlDb.objects.create(name="p")
    hooks: list[str] = []
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(blocker)):
        with transaction.atomic():
            row.delete()
            transaction.on_commit(lambda: hooks.append("host's hook"))
    assert hooks == ["host's hook"]
    assert not PlainSqlDb.objects.filter(pk=row.pk).exists()
    assert "Could not remove the run logs of deleted rows" in caplog.text


def test_many_rows_deleted_at_once_lose_their_logs(log_dir: Path) -> None:
    rows = [PlainSqlDb.objects.create(name=f"r{n}") for n in range(3)]
    kept = PlainSqlDb.objects.create(name="kept")
    for row in [*rows, kept]:
        with open_run_log(row.pk, model_label=log_label(PlainSqlDb)):
            pass
    PlainSqlDb.objects.exclude(pk=kept.pk).delete()
    assert [run_log_files(r.pk, "testapp.sqldb") for r in rows] == [[], [], []]
    assert len(run_log_files(kept.pk, "testapp.sqldb")) == 1


def delete_the_row_then_connect(sql_db: Any) -> str:
    """A URL hook: the row is deleted once a worker has taken its run (its
    heartbeat is set), before the run's log exists."""
    SqlDb.objects.filter(pk=sql_db.pk, db_elements_heartbeat__isnull=False).delete()
    return f"sqlite:///{sql_db.db_name}"


def test_a_row_deleted_before_its_runs_log_existed_leaves_no_log(
    source_path: Path, log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shop = _row(source_path)
    hook = f"{__name__}.delete_the_row_then_connect"
    with override_settings(THOTH_DB_ELEMENTS_URL_BUILDER=hook):
        _harvest(shop)
    assert not SqlDb.objects.filter(pk=shop.pk).exists()
    print("FILES", list(log_dir.rglob("*")))
    print(caplog.text)
    assert "the row was reset or deleted meanwhile" in caplog.text
    assert run_log_files(shop.pk) == []


def test_pruning_keeps_the_run_that_just_ended_whatever_its_name(
    source_path: Path, log_dir: Path, settings: Any
) -> None:
    """Names sort by start time in the worker's own clock and by
    workspace; the last written is the newest all the same (a worker in
    another time zone wrote this one, stamped later, an hour ago)."""
    settings.THOTH_DB_ELEMENTS_RUN_LOGS_KEPT = 1
    shop = _row(source_path)
    directory = log_dir / "db_elements"
    directory.mkdir(parents=True)
    other = directory / f"db_elements_ws_9_db_{shop.pk}_20991231_235959.log"
    other.write_text("x")
    hour_ago = time.time() - 3600
    os.utime(other, (hour_ago, hour_ago))
    _harvest(shop)
    shop.refresh_from_db()
    assert [p.name for p in run_log_files(shop.pk)] == [shop.db_elements_log_file]


def test_a_row_deleted_and_made_again_in_one_transaction_loses_the_old_logs(
    log_dir: Path,
) -> None:
    row = PlainSqlDb.objects.create(name="old")
    pk = row.pk
    with open_run_log(pk, model_label=log_label(PlainSqlDb)):
        pass
    with transaction.atomic():
        row.delete()
        PlainSqlDb.objects.create(pk=pk, name="new")
    assert run_log_files(pk, "testapp.sqldb") == []


def test_a_savepoint_rolled_back_keeps_its_rows_logs(log_dir: Path) -> None:
    kept, gone = (PlainSqlDb.objects.create(name=n) for n in ("kept", "gone"))
    for row in (kept, gone):
        with open_run_log(row.pk, model_label=log_label(PlainSqlDb)):
            pass
    with transaction.atomic():
        gone.delete()
        with pytest.raises(RuntimeError), transaction.atomic():
            PlainSqlDb.objects.filter(pk=kept.pk).delete()
            raise RuntimeError("undo this one")
    assert run_log_files(gone.pk, "testapp.sqldb") == []
    assert len(run_log_files(kept.pk, "testapp.sqldb")) == 1


def test_a_proxy_named_as_sqldb_model_logs_to_the_usual_directory(
    log_dir: Path,
) -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="testapp.ProxySqlDb"):
        assert run_log_dir(log_label(ProxySqlDb)) == log_dir / "db_elements"
        assert run_log_dir("testapp.proxysqldb") == log_dir / "db_elements"
    assert run_log_dir(log_label(ProxySqlDb)) == log_dir / "db_elements/testapp.sqldb"


def test_logs_go_though_another_apps_commit_hook_failed_before_ours(
    log_dir: Path,
) -> None:
    """Django drops the commit hooks after one that raises: the deleted
    row's logs go at the next deletion's commit instead."""
    row, later = (PlainSqlDb.objects.create(name=n) for n in ("row", "later"))
    with open_run_log(row.pk, model_label=log_label(PlainSqlDb)):
        pass

    def fails() -> None:
        raise RuntimeError("another app's hook")

    pk = row.pk
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(fails)
        row.delete()
    assert not PlainSqlDb.objects.filter(pk=pk).exists()
    assert len(run_log_files(pk, "testapp.sqldb")) == 1  # not yet
    later.delete()
    assert run_log_files(pk, "testapp.sqldb") == []


def test_a_failed_tables_error_holding_the_password_is_withheld(
    tmp_path: Path, log_dir: Path
) -> None:
    import sqlite3

    path = tmp_path / "broken.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        raw.execute("CREATE VIEW v AS SELECT * FROM nosuch")
    raw.close()
    row = SqlDb.objects.create(
        name="broken", db_type="SQLite", db_name=str(path), password="nosuch"
    )
    _harvest(row)
    row.refresh_from_db()
    failures = row.db_elements_report["failed_tables"]
    assert [f["name"] for f in failures] == ["v"]
    assert failures[0]["error"] == WITHHELD


def test_run_log_names_hold_any_workspace_and_key(log_dir: Path) -> None:
    # A workspace or a text key with "/" or "%" (or a workspace with "_")
    # stays in the log directory and is found again: such characters are
    # %-escaped; any other is written as it is.
    from datetime import datetime

    from thoth_db_elements.logging import remove_run_logs

    key, label = "x_y/z%", "testapp.sqldb"
    with open_run_log(
        key, "team_a/b", started=datetime(2026, 12, 1, 1, 2, 3), model_label=label
    ) as run_log:
        run_log.logger.info("hello")
    path = run_log.path
    assert path.parent == run_log_dir(label)
    assert path.name == "db_elements_ws_team%5Fa%2Fb_db_x_y%2Fz%25_20261201_010203.log"
    assert run_log_files(key, label) == [path]
    assert run_log_files("x_y", label) == []
    assert remove_run_logs([key], label) == [path]
    # A long key in another script keeps its length (names have 255 bytes).
    with open_run_log(
        "\u8cc7\u6599" * 15,
        1,
        started=datetime(2026, 12, 1, 1, 2, 3),
        model_label=label,
    ) as run_log:
        pass
    assert run_log_files("\u8cc7\u6599" * 15, label) == [run_log.path]
    # Names written before the escaping, raw, are found under their keys.
    older = (
        run_log_dir(label) / "db_elements_no_workspace_db_100%e9_20260101_000000.log"
    )
    older.write_text("")
    assert run_log_files("100%e9", label) == [older]
    # A line break is escaped; a key that looks escaped is not another's.
    stamp = datetime(2026, 12, 1, 1, 2, 4)
    for odd in ("db\n1", "a/b"):
        with open_run_log(odd, None, started=stamp, model_label=label) as run_log:
            pass
        assert run_log_files(odd, label) == [run_log.path]
    assert run_log_files("a%2Fb", label) == []
    assert run_log_files("db%0A1", label) == []
    # A key too long for a name is cut, with a digest; an empty workspace.
    for key, workspace in (("k" * 250, 1), ("/" * 90 + "x", ""), ("e", "")):
        with open_run_log(key, workspace, started=stamp, model_label=label) as run_log:
            pass
        assert len(run_log.path.name.encode()) <= 255
        assert run_log_files(key, label) == [run_log.path]
    assert run_log_files("k" * 249, label) == []
    # A key spelt like a long key's cut name is another key.
    [long_log] = run_log_files("k" * 250, label)
    lookalike = long_log.name.removeprefix("db_elements_ws_1_db_")[
        : -len("_20261201_010204.log")
    ]
    assert "%~" in lookalike
    assert run_log_files(lookalike, label) == []
    # A short raw key of old holding "%~" is no cut id: still listed.
    older = run_log_dir(label) / "db_elements_ws_1_db_50%~off_20250101_000000.log"
    older.write_text("")
    assert run_log_files("50%~off", label) == [older]
    # Integer and UUID keys and workspaces keep the original's names.
    with open_run_log(
        "1f0e-ab", 7, started=datetime(2026, 12, 1, 1, 2, 3), model_label=label
    ) as run_log:
        pass
    assert run_log.path.name == "db_elements_ws_7_db_1f0e-ab_20261201_010203.log"
