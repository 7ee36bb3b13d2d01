"""Faults on the catalogue side: locks held by others, the database away at the end."""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import override_settings

from catalog.models import SqlColumn, SqlDb, SqlTable
from thoth_db_elements.exceptions import CatalogueLockedError
from thoth_db_elements.harvest import create_db_elements
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import start_db_elements_creation

pytestmark = pytest.mark.django_db(transaction=True)


def make_source(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));"
        )
    conn.close()
    return path


@pytest.fixture
def source(tmp_path: Path) -> SqlDb:
    return SqlDb.objects.create(
        name="src", db_type="SQLite", db_name=str(make_source(tmp_path / "s.sqlite"))
    )


@pytest.mark.skipif(
    connection.vendor not in ("postgresql", "mysql"),
    reason="row locks with a wait time-out: PostgreSQL and MariaDB as Django's database",
)
def test_a_locked_catalogue_fails_cleanly_and_a_later_run_succeeds(
    source: SqlDb,
) -> None:
    create_db_elements(source)
    with sqlite3.connect(source.db_name) as conn:
        conn.execute("ALTER TABLE a ADD COLUMN w INTEGER")
    conn.close()
    before = list(SqlColumn.objects.order_by("pk").values())
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                list(SqlTable.objects.select_for_update().filter(sql_db=source))
                list(
                    SqlColumn.objects.select_for_update().filter(
                        sql_table__sql_db=source
                    )
                )
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        with override_settings(THOTH_DB_ELEMENTS_CATALOGUE_LOCK_TIMEOUT=1):
            with pytest.raises(
                CatalogueLockedError, match="locked by another transaction"
            ):
                create_db_elements(source)
    finally:
        release.set()
        holder.join()
    assert list(SqlColumn.objects.order_by("pk").values()) == before
    assert create_db_elements(source).columns.created == 1


def test_the_end_is_recorded_when_the_database_comes_back(
    source: SqlDb, log_dir: Path
) -> None:
    failures = {"left": 2}

    def flaky(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        finishing = (
            sql.startswith("UPDATE") and bool(params) and params[0] == "COMPLETED"
        )
        if finishing and "db_elements_end_time" in sql and failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(flaky):
        start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    assert failures["left"] == 0
    assert source.db_elements_status == TaskStatus.COMPLETED
    text = (log_dir / "db_elements" / source.db_elements_log_file).read_text()
    assert "Finished with status COMPLETED" in text


def _end_fails(status: str, times: int) -> tuple[dict[str, int], Any]:
    """An execute wrapper: the first ``times`` writes of a run's end as
    ``status`` fail as when the database is away."""
    left = {"left": times}

    def flaky(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ending = sql.startswith("UPDATE") and bool(params) and params[0] == status
        if ending and "db_elements_end_time" in sql and left["left"]:
            left["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return left, flaky


def test_a_committed_run_the_worker_stops_while_its_end_is_retried_is_completed(
    source: SqlDb, log_dir: Path
) -> None:
    """django-q2's time-out lands in the back-off between attempts to write
    the end of a run whose harvest committed: the run is COMPLETED, with its
    report, and the time-out goes on to the worker."""
    from django_q.exceptions import TimeoutException

    from tests.test_tasks import RecordingRunner, deliver
    from tests.timeouts import WorkerTimeout

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    left, flaky = _end_fails("COMPLETED", 3)  # 0.5 s + 1 s + 2 s of back-off
    with connection.execute_wrapper(flaky):
        with pytest.raises(TimeoutException), WorkerTimeout(1):
            deliver(runner.jobs[0])
    source.refresh_from_db()
    assert left["left"] == 0
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_error == ""
    assert source.db_elements_report["tables"]["created"] == 2
    assert SqlTable.objects.filter(sql_db=source).count() == 2


def test_a_stop_outlives_a_failed_recording_of_its_end(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the harvest of the first database of a ``--sync`` batch,
    and the database away while its end is written: the interrupt, not the
    database's error, reaches the caller, and the batch stops."""
    from thoth_db_elements import tasks

    monkeypatch.setattr(tasks, "_FINISH_DELAYS", (0.01,))
    other = SqlDb.objects.create(name="other", db_type="SQLite", db_name=source.db_name)
    left, flaky = _end_fails("FAILED", 2)  # the whole of the harvest's attempts
    interrupted = {"left": 1}

    def interrupt(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("INSERT") and "sqltable" in sql and interrupted["left"]:
            interrupted["left"] -= 1
            raise KeyboardInterrupt
        return flaky(execute, sql, params, many, context)

    with connection.execute_wrapper(interrupt), pytest.raises(KeyboardInterrupt):
        start_db_elements_creation([source, other], runner=ImmediateRunner())
    source.refresh_from_db()
    other.refresh_from_db()
    assert (interrupted["left"], left["left"]) == (0, 0)
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error == "Stopped by the worker: KeyboardInterrupt"
    assert other.db_elements_status == TaskStatus.FAILED
    assert other.db_elements_error == "Not started: interrupted (KeyboardInterrupt)"
    assert not SqlTable.objects.exists()


class _StopOnCounts(logging.Handler):
    """Raises ``stop`` when the run logs its counts: after the catalogue
    committed, before the harvest returned."""

    def __init__(self, stop: BaseException) -> None:
        super().__init__()
        self.stop = stop

    def handle(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Tables:"):
            raise self.stop
        return True


@pytest.mark.parametrize(
    "stop", [KeyboardInterrupt(), RuntimeError("log full")], ids=["stop", "error"]
)
def test_a_run_stopped_or_failing_after_its_catalogue_committed_is_completed(
    tmp_path: Path, log_dir: Path, stop: BaseException
) -> None:
    """Its report is the harvest's, its texts cleared of the password (a
    broken view's error names it here), and the run log says the catalogue
    was written."""
    path = make_source(tmp_path / "s.sqlite")
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE hunter2 (id INTEGER PRIMARY KEY);"
            "CREATE VIEW v AS SELECT * FROM hunter2; DROP TABLE hunter2;"
        )
    conn.close()
    source = SqlDb.objects.create(
        name="src", db_type="SQLite", db_name=str(path), password="hunter2"
    )
    runs = logging.getLogger("thoth_db_elements.runs")
    handler = _StopOnCounts(stop)
    runs.addHandler(handler)
    try:
        # The stop goes on to the caller; an error is the run's own.
        stopped = isinstance(stop, KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt) if stopped else nullcontext():
            start_db_elements_creation([source], runner=ImmediateRunner())
    finally:
        runs.removeHandler(handler)
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_error == ""
    report = source.db_elements_report
    assert (report["status"], report["tables"]["created"]) == ("completed", 2)
    assert report["failed_tables"] == [
        {"name": "v", "error": "[not shown: it contained a password]"}
    ]
    assert SqlTable.objects.filter(sql_db=source).count() == 2
    text = (log_dir / "db_elements" / source.db_elements_log_file).read_text()
    assert "After the catalogue was written: " in text
    assert "the catalogue was left as it was" not in text
    assert "hunter2" not in text


def test_a_run_failing_after_its_catalogue_is_written_in_a_callers_transaction(
    source: SqlDb, log_dir: Path
) -> None:
    """The catalogue and the run's end go with the caller's transaction:
    both as written, COMPLETED."""
    from thoth_db_elements.tasks import run_db_elements_task
    from thoth_db_elements.validation import claim_sqldb_db_elements_task

    runs = logging.getLogger("thoth_db_elements.runs")
    handler = _StopOnCounts(RuntimeError("log full"))
    runs.addHandler(handler)
    try:
        with transaction.atomic():
            assert claim_sqldb_db_elements_task(source, "t-1") is True
            result = run_db_elements_task(source.pk, "t-1")
    finally:
        runs.removeHandler(handler)
    assert result["status"] == "completed"
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_report["tables"]["created"] == 2
    assert SqlTable.objects.filter(sql_db=source).count() == 2


def test_a_stop_while_the_heartbeat_is_joined_keeps_the_runs_own_end(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harvest failed; django-q2's time-out (here, Ctrl-C) lands while
    the heartbeat thread is joined, which can take seconds: the row says
    why the harvest failed, as its run log does."""
    from tests.test_tasks import RecordingRunner, deliver
    from thoth_db_elements.heartbeat import Heartbeat

    SqlDb.objects.filter(pk=source.pk).update(schema="nosuch")
    joined = Heartbeat.stop
    stops = {"left": 1}

    def interrupted(self: Heartbeat) -> None:
        joined(self)
        if stops["left"]:
            stops["left"] -= 1
            raise KeyboardInterrupt

    monkeypatch.setattr(Heartbeat, "stop", interrupted)
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    with pytest.raises(KeyboardInterrupt):
        deliver(runner.jobs[0])
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert "nosuch" in source.db_elements_error
    assert source.db_elements_report["error"] == source.db_elements_error


def test_a_stop_while_the_catalogue_session_is_put_back_is_completed(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the catalogue's COMMIT the sync still talks to the database
    (MariaDB's named lock released, the session's lock time-out put back):
    a stop that lands there comes after the catalogue was written."""
    from tests.test_tasks import RecordingRunner, deliver
    from thoth_db_elements import _catalogue_lock

    put_back = _catalogue_lock._Session.end

    def interrupted(self: Any) -> None:
        put_back(self)
        raise KeyboardInterrupt

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    monkeypatch.setattr(_catalogue_lock._Session, "end", interrupted)
    with pytest.raises(KeyboardInterrupt):
        deliver(runner.jobs[0])
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_report["tables"]["created"] == 2
    assert SqlTable.objects.filter(sql_db=source).count() == 2
