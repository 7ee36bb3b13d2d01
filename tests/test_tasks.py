"""The background path, run in-process: claim, deliver, harvest, record."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlColumn, SqlDb, SqlTable
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.base import Job
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import (
    TASK_FUNCTION,
    request_cancel_sqldb_db_elements_task,
    run_db_elements_task,
    start_async_db_elements_creation,
    start_db_elements_creation,
)

pytestmark = pytest.mark.django_db(transaction=True)

IMMEDIATE = "thoth_db_elements.runners.immediate.ImmediateRunner"
LOG_NAME = re.compile(r"^db_elements_(ws_\d+|no_workspace)_db_(\d+)_\d{8}_\d{6}\.log$")


class RecordingRunner:
    """Keeps jobs instead of running them (to deliver them by hand)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def enqueue(self, job: Job) -> str:
        self.jobs.append(job)
        return f"backend-{len(self.jobs)}"

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False


def make_source(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY,
                customer_id INTEGER NOT NULL REFERENCES customers (id),
                total DECIMAL(10, 2)
            );
            """
        )
    conn.close()
    return path


@pytest.fixture
def source(tmp_path: Path) -> SqlDb:
    path = make_source(tmp_path / "shop.sqlite")
    return SqlDb.objects.create(
        name="shop", db_type="SQLite", db_name=str(path), password="hunter2-secret"
    )


def deliver(job: Job) -> dict[str, Any]:
    assert job.function == TASK_FUNCTION
    return run_db_elements_task(*job.args, **job.kwargs)


def test_immediate_run_completes_and_logs(source: SqlDb, log_dir: Path) -> None:
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE):
        batch = start_async_db_elements_creation(7, [source.pk], 3)
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_task_id == f"{batch}-{source.pk}"
    assert source.db_elements_end_time is not None
    assert source.db_elements_error == ""
    assert source.db_elements_report["tables"]["created"] == 2
    assert source.db_elements_report["relationships"]["created"] == 1
    assert sorted(
        SqlTable.objects.filter(sql_db=source).values_list("name", flat=True)
    ) == [
        "customers",
        "orders",
    ]
    match = LOG_NAME.match(source.db_elements_log_file)
    assert match is not None
    assert match.groups() == ("ws_7", str(source.pk))
    text = (log_dir / "db_elements" / source.db_elements_log_file).read_text()
    assert " - thoth_db_elements.runs.db_" in text
    assert " - INFO - Starting database elements creation" in text
    assert "workspace 7, user 3" in text
    assert "Tables: 2 created" in text
    assert "Finished with status COMPLETED" in text
    assert "hunter2-secret" not in text


def test_no_workspace_in_log_name(source: SqlDb, log_dir: Path) -> None:
    start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    assert source.db_elements_log_file.startswith(
        f"db_elements_no_workspace_db_{source.pk}_"
    )


def test_failure_is_recorded_with_its_reason(log_dir: Path) -> None:
    db = SqlDb.objects.create(
        name="broken",
        db_type="PostgreSQL",
        db_host="127.0.0.1",
        db_port=1,
        db_name="x",
        user_name="u",
        password="hunter2-secret",
    )
    start_db_elements_creation([db], runner=ImmediateRunner())
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.FAILED
    assert db.db_elements_error.startswith(
        "Cannot connect to postgresql://127.0.0.1:1/x"
    )
    assert db.db_elements_report["status"] == "failed"
    text = (log_dir / "db_elements" / db.db_elements_log_file).read_text()
    assert "ERROR - Failed: Cannot connect" in text
    assert "hunter2-secret" not in text + str(db.db_elements_report)


def test_unsupported_type_fails_cleanly(log_dir: Path) -> None:
    db = SqlDb.objects.create(name="ifx", db_type="Informix", db_host="h", db_name="d")
    start_db_elements_creation([db], runner=ImmediateRunner())
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.FAILED
    assert "configure a URL hook" in db.db_elements_error


def test_each_database_gets_its_own_task_and_skips_are_explained(
    source: SqlDb, log_dir: Path
) -> None:
    busy = SqlDb.objects.create(name="busy", db_type="SQLite", db_name=source.db_name)
    runner = RecordingRunner()
    start_db_elements_creation([busy], runner=runner)
    result = start_db_elements_creation([source.pk, busy.pk, 999_999], runner=runner)
    assert [s.sqldb_id for s in result.started] == [source.pk]
    assert [(s.name, s.reason) for s in result.skipped] == [
        ("999999", "Not found"),
        ("busy", "A database elements creation task is currently running"),
    ]
    assert len(runner.jobs) == 2
    assert runner.jobs[0].args[1] != runner.jobs[1].args[1]
    for job in runner.jobs:
        assert "hunter2-secret" not in repr(job)
        assert all(isinstance(a, int | str) for a in job.args)


def test_redelivery_of_a_finished_task_is_ignored(source: SqlDb, log_dir: Path) -> None:
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    assert deliver(job)["status"] == "completed"
    SqlTable.objects.filter(sql_db=source).update(description="curated")
    assert deliver(job)["status"] == "ignored"
    assert set(
        SqlTable.objects.filter(sql_db=source).values_list("description", flat=True)
    ) == {"curated"}


@pytest.mark.django_db(transaction=True)
@override_settings(
    THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.2,
    THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=30,
)
def test_duplicate_delivery_while_running_is_ignored(
    source: SqlDb, log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    from django.db import connections
    from django.utils import timezone

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    # A live worker beats for this run: a second delivery must not start.
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(0.1):
                SqlDb.objects.filter(pk=source.pk).update(
                    db_elements_heartbeat=timezone.now()
                )
        finally:
            connections.close_all()

    SqlDb.objects.filter(pk=source.pk).update(db_elements_heartbeat=timezone.now())
    beating = threading.Thread(target=beat)
    beating.start()
    try:
        assert deliver(job)["status"] == "ignored"
    finally:
        stop.set()
        beating.join()
    assert not SqlTable.objects.filter(sql_db=source).exists()
    assert "its run is alive in another worker" in caplog.text


@override_settings(
    THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.2,
    THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=1,
)
def test_redelivery_soon_after_a_worker_died_waits_and_recovers(
    source: SqlDb, log_dir: Path
) -> None:
    """The broker's retry came before the dead worker's last beat was
    HEARTBEAT_TIMEOUT old: the delivery waits for it to go stale."""
    from django.utils import timezone

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    SqlDb.objects.filter(pk=source.pk).update(db_elements_heartbeat=timezone.now())
    assert deliver(job)["status"] == "completed"
    assert SqlTable.objects.filter(sql_db=source).exists()


def test_redelivery_after_a_dead_worker_recovers(source: SqlDb, log_dir: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    SqlDb.objects.filter(pk=source.pk).update(
        db_elements_heartbeat=timezone.now() - timedelta(minutes=30)
    )
    assert deliver(job)["status"] == "completed"


def test_stale_task_id_is_ignored(source: SqlDb, log_dir: Path) -> None:
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    from thoth_db_elements.validation import force_reset_sqldb_db_elements_task_status

    force_reset_sqldb_db_elements_task_status(SqlDb.objects.get(pk=source.pk))
    assert deliver(job)["status"] == "ignored"
    assert SqlDb.objects.get(pk=source.pk).db_elements_status == TaskStatus.IDLE


def test_cancel_before_the_run_starts_leaves_the_catalogue(
    source: SqlDb, log_dir: Path
) -> None:
    start_db_elements_creation([source], runner=ImmediateRunner())
    SqlColumn.objects.filter(sql_table__sql_db=source).update(column_description="kept")
    before = list(SqlColumn.objects.order_by("pk").values())
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    assert (
        request_cancel_sqldb_db_elements_task(SqlDb.objects.get(pk=source.pk)) is True
    )
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.05):
        deliver(runner.jobs[0])
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error == "Cancelled"
    assert list(SqlColumn.objects.order_by("pk").values()) == before


def test_cancel_only_applies_to_running_rows(source: SqlDb) -> None:
    assert request_cancel_sqldb_db_elements_task(source) is False


def test_enqueue_failure_marks_the_row_failed(source: SqlDb) -> None:
    class BrokenRunner(RecordingRunner):
        def enqueue(self, job: Job) -> str:
            raise ConnectionError("broker at redis://:topsecret@127.0.0.1:1/0 is down")

    start_db_elements_creation([source], runner=BrokenRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error.startswith("Could not queue the task")
    assert "topsecret" not in source.db_elements_error


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_run_log_handlers_are_closed(source: SqlDb, log_dir: Path) -> None:
    import logging

    start_db_elements_creation([source], runner=ImmediateRunner())  # warm-up imports
    before = open_fds()
    for _ in range(5):
        start_db_elements_creation([source], runner=ImmediateRunner())
    assert open_fds() == before
    run_logger = logging.getLogger(f"thoth_db_elements.runs.db_{source.pk}")
    assert run_logger.handlers == []
    assert run_logger.filters == []
    for path in (log_dir / "db_elements").iterdir():
        assert path.stat().st_mode & 0o007 == 0  # not world-readable


@pytest.mark.skipif(
    __import__("django").VERSION < (6, 0), reason="django.tasks needs Django 6.0+"
)
def test_django_tasks_runner(source: SqlDb, log_dir: Path) -> None:
    from thoth_db_elements.runners.django_tasks import DjangoTasksRunner

    tasks = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=tasks):
        result = start_db_elements_creation([source], runner=DjangoTasksRunner())
    assert result.started
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert DjangoTasksRunner().is_active("x") is None
    assert DjangoTasksRunner().cancel("x") is False


def test_get_runner_follows_the_setting() -> None:
    from thoth_db_elements.exceptions import ConfigurationError
    from thoth_db_elements.runners import get_runner
    from thoth_db_elements.runners.django_q import DjangoQRunner

    assert isinstance(get_runner(), DjangoQRunner)
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE):
        assert isinstance(get_runner(), ImmediateRunner)
    with override_settings(THOTH_DB_ELEMENTS_RUNNER="nowhere.Runner"):
        with pytest.raises(ConfigurationError, match="cannot be imported"):
            get_runner()
    with override_settings(
        THOTH_DB_ELEMENTS_RUNNER="thoth_db_elements.models.TaskStatus"
    ):
        with pytest.raises(ConfigurationError, match="not a task runner"):
            get_runner()


def test_django_q_runner_queues_ids_only(source: SqlDb) -> None:
    from django_q.models import OrmQ

    from thoth_db_elements.runners.django_q import DjangoQRunner

    runner = DjangoQRunner()
    result = start_db_elements_creation([source], runner=runner, workspace_id=2)
    [queued] = OrmQ.objects.all()
    task = queued.task
    assert task["func"] == TASK_FUNCTION
    assert task["args"] == (source.pk, result.started[0].task_id)
    assert "hunter2-secret" not in repr(task)
    assert "timeout" not in task
    assert runner.is_active(queued.task_id()) is True
    assert runner.cancel(queued.task_id()) is True
    assert runner.cancel(queued.task_id()) is False
    assert runner.is_active(queued.task_id()) is None


@override_settings(
    THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.2,
    THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=30,
)
def test_a_redelivery_stopped_by_the_worker_while_waiting_leaves_a_beating_run(
    source: SqlDb, log_dir: Path
) -> None:
    """django-q2's timeout (1 s here) comes while the delivery waits for a
    heartbeat younger than 30 s: it may be a live worker's (the usual
    duplicate delivery), so the run is left to it; if that worker is dead,
    the run is stale once its heartbeat is 30 s old."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.exceptions import TimeoutException

    from tests.timeouts import WorkerTimeout
    from thoth_db_elements.validation import is_stale

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    beat = timezone.now()
    SqlDb.objects.filter(pk=source.pk).update(db_elements_heartbeat=beat)
    with pytest.raises(TimeoutException), WorkerTimeout(1):
        deliver(job)
    source.refresh_from_db()
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.RUNNING,
        "",
    )
    assert source.db_elements_heartbeat == beat
    assert is_stale(source, now=beat + timedelta(seconds=31))


def slow_url(sql_db: SqlDb) -> Any:
    """A URL hook that takes its time (a vault, a tunnel)."""
    import time

    from thoth_db_elements.connection import build_url

    time.sleep(3)
    return build_url(sql_db)


@override_settings(THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tasks.slow_url")
def test_a_run_stopped_by_the_worker_while_its_url_is_built_ends_failed(
    source: SqlDb, log_dir: Path
) -> None:
    # django-q2's time-out can come before the harvest proper starts.
    from django_q.exceptions import TimeoutException

    from tests.timeouts import WorkerTimeout

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    with pytest.raises(TimeoutException), WorkerTimeout(1):
        deliver(job)
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error == (
        "Stopped by the worker: Task exceeded maximum timeout value (1 seconds)"
    )
    assert source.db_elements_end_time is not None
    assert source.db_elements_heartbeat is not None


def test_a_run_interrupted_without_a_message_names_the_interruption(
    source: SqlDb, log_dir: Path
) -> None:
    start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    kept = source.db_elements_report["relationships_harvested"]
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    with (
        override_settings(
            THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tasks.interrupting"
        ),
        pytest.raises(KeyboardInterrupt),
    ):
        deliver(job)
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error == "Stopped by the worker: KeyboardInterrupt"
    # Not the report and log of the run before, which completed: only where
    # the catalogue was harvested from and which relationships are the
    # database's, which this run did not change.
    assert (source.db_elements_report, source.db_elements_log_file) == (
        {
            "catalogued_from": {
                "database": f"sqlite:{source.db_name}",
                "schema": "main",
            },
            "relationships_harvested": kept,
        },
        "",
    )


def interrupting(sql_db: SqlDb) -> Any:
    """A URL hook interrupted by Ctrl-C."""
    raise KeyboardInterrupt


def test_an_interrupted_batch_leaves_no_row_claimed_for_nothing(
    source: SqlDb, log_dir: Path
) -> None:
    # Ctrl-C while the first of two databases runs in this process: the
    # second, claimed with it, is not left RUNNING with nothing to run it.
    other = SqlDb.objects.create(name="other", db_type="SQLite", db_name=source.db_name)
    with (
        override_settings(
            THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tasks.interrupting"
        ),
        pytest.raises(KeyboardInterrupt),
    ):
        start_db_elements_creation([source, other], runner=ImmediateRunner())
    source.refresh_from_db()
    other.refresh_from_db()
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.FAILED,
        "Stopped by the worker: KeyboardInterrupt",
    )
    assert (other.db_elements_status, other.db_elements_error) == (
        TaskStatus.FAILED,
        "Not started: interrupted (KeyboardInterrupt)",
    )
    assert other.db_elements_end_time is not None
    assert (other.db_elements_report, other.db_elements_log_file) == ({}, "")


class TakenThenInterrupted(RecordingRunner):
    """Queues the first job, which a worker takes at once (its heartbeat
    starts); Ctrl-C comes while the second is queued."""

    def enqueue(self, job: Job) -> str:
        if self.jobs:
            raise KeyboardInterrupt
        from django.utils import timezone

        SqlDb.objects.filter(pk=job.args[0]).update(
            db_elements_heartbeat=timezone.now()
        )
        return super().enqueue(job)


def test_an_interrupted_queueing_leaves_a_run_a_worker_took_alone(
    source: SqlDb,
) -> None:
    other = SqlDb.objects.create(name="other", db_type="SQLite", db_name=source.db_name)
    with pytest.raises(KeyboardInterrupt):
        start_db_elements_creation([source, other], runner=TakenThenInterrupted())
    source.refresh_from_db()
    other.refresh_from_db()
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.RUNNING,
        "",
    )
    assert other.db_elements_status == TaskStatus.FAILED


def test_a_forced_run_of_another_database_after_a_failed_one_warns(
    source: SqlDb, tmp_path: Path, log_dir: Path
) -> None:
    # Pointed at another database, the row's first run fails (the threshold:
    # its tables are others); the forced run that follows hands the old
    # tables' rows over: it warns, though the last report is a failure's.
    start_db_elements_creation([source], runner=ImmediateRunner())
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY);"
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY);"
            "CREATE TABLE payments (id INTEGER PRIMARY KEY);"
        )
    conn.close()
    first = str(source.db_name)
    SqlDb.objects.filter(pk=source.pk).update(db_name=str(other))
    source.refresh_from_db()
    start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_report["catalogued_from"] == {
        "database": f"sqlite:{first}",
        "schema": "main",
    }
    start_db_elements_creation([source], runner=ImmediateRunner(), force=True)
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_report["catalogued_from"] == {
        "database": f"sqlite:{other}",
        "schema": "main",
    }
    text = (log_dir / "db_elements" / source.db_elements_log_file).read_text()
    assert (
        f'WARNING - This run reads schema "main" of "sqlite:{other}"; the '
        f'catalogue was last harvested from schema "main" of "sqlite:{first}".'
    ) in text


def test_every_failed_end_keeps_the_source_of_the_catalogue(
    source: SqlDb, log_dir: Path
) -> None:
    # A failed run changes nothing: whatever ended it (the broker refusing
    # the job, a stale clean-up, the run log failing to open), the stored
    # report still names where the catalogue was harvested from.
    from thoth_db_elements.validation import (
        validate_and_cleanup_running_sqldb_db_elements_task,
    )

    start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    harvested = {"database": f"sqlite:{source.db_name}", "schema": "main"}
    assert source.db_elements_report["catalogued_from"] == harvested
    kept = source.db_elements_report["relationships_harvested"]
    assert kept

    class BrokenRunner(RecordingRunner):
        def enqueue(self, job: Job) -> str:
            raise ConnectionError("the broker is down")

    start_db_elements_creation([source], runner=BrokenRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_report == {
        "catalogued_from": harvested,
        "relationships_harvested": kept,
    }

    long_ago = timezone.now() - timedelta(days=1)
    SqlDb.objects.filter(pk=source.pk).update(
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="gone",
        db_elements_start_time=long_ago,
        db_elements_heartbeat=long_ago,
    )
    source.refresh_from_db()
    assert not validate_and_cleanup_running_sqldb_db_elements_task(source)
    source.refresh_from_db()
    assert source.db_elements_report == {
        "catalogued_from": harvested,
        "relationships_harvested": kept,
    }

    # Under a plain file, no directory can be made, not even by root.
    blocker = log_dir / "a-file"
    blocker.write_text("")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=blocker / "logs"):
        start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.FAILED
    assert source.db_elements_error.startswith("Cannot open the run log")
    assert source.db_elements_report["catalogued_from"] == harvested


def test_the_seeds_entry_point_warns_of_databases_it_did_not_queue(
    source: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    # It returns a batch id whatever happened, as the seed's did: what was
    # not queued is said in the log.
    now = timezone.now()
    SqlDb.objects.filter(pk=source.pk).update(
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=now,
        db_elements_heartbeat=now,
    )
    missing = source.pk + 1000
    with caplog.at_level("WARNING", logger="thoth_db_elements.tasks"):
        batch = start_async_db_elements_creation(1, [source.pk, missing])
    [record] = [r for r in caplog.records if r.name == "thoth_db_elements.tasks"]
    assert record.getMessage() == (
        f"Batch {batch}: 2 of 2 databases not queued: {missing}: Not found; "
        "shop: A database elements creation task is currently running"
    )
    caplog.clear()
    SqlDb.objects.filter(pk=source.pk).update(db_elements_status=TaskStatus.IDLE)
    with (
        override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE),
        caplog.at_level("WARNING", logger="thoth_db_elements.tasks"),
    ):
        start_async_db_elements_creation(1, [source.pk])
    assert [r for r in caplog.records if r.name == "thoth_db_elements.tasks"] == []


@pytest.mark.parametrize("given", ["27", b"27", 27])
def test_one_key_instead_of_a_collection_is_refused(source: SqlDb, given: Any) -> None:
    # "27" would otherwise start databases 2 and 7.
    with pytest.raises(TypeError, match="collection of rows or keys"):
        start_db_elements_creation(given, runner=RecordingRunner())
    with pytest.raises(TypeError, match="collection of rows or keys"):
        start_async_db_elements_creation(1, given)
    with pytest.raises(TypeError, match=r"e\.g\. \[<SqlDb"):
        start_db_elements_creation(source, runner=RecordingRunner())  # type: ignore[arg-type]
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.IDLE


def test_a_database_named_twice_starts_once(source: SqlDb) -> None:
    """As a row and by its key, or twice: one run, and nothing skipped as
    "currently running" (its own run)."""
    runner = RecordingRunner()
    result = start_db_elements_creation(
        [source, source.pk, str(source.pk), source], runner=runner
    )
    assert [s.sqldb_id for s in result.started] == [source.pk]
    assert result.skipped == []
    assert len(runner.jobs) == 1


def test_rows_that_are_no_sqldb_or_not_saved_are_refused(source: SqlDb) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create(username="someone")
    with pytest.raises(TypeError, match="User rows cannot be harvested"):
        start_db_elements_creation([source, user], runner=RecordingRunner())
    with pytest.raises(TypeError, match="no db_elements_status, db_elements_task_id"):
        start_db_elements_creation([user.pk], runner=RecordingRunner(), model=User)
    with pytest.raises(ValueError, match="is not saved"):
        start_db_elements_creation([SqlDb(name="new")], runner=RecordingRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.IDLE  # nothing claimed


def test_create_db_elements_on_a_row_not_saved_or_deleted_says_so(
    source: SqlDb,
) -> None:
    from thoth_db_elements.exceptions import CatalogueChangedError, ConfigurationError
    from thoth_db_elements.harvest import create_db_elements

    unsaved = SqlDb(name="new", db_type="SQLite", db_name=source.db_name)
    with pytest.raises(ConfigurationError, match=r"^SqlDb new - .* is not saved"):
        create_db_elements(unsaved)
    pk = source.pk
    SqlDb.objects.filter(pk=pk).delete()
    with pytest.raises(
        CatalogueChangedError, match=rf"^The SqlDb row {pk} is not in the database"
    ):
        create_db_elements(source)


def test_a_forced_run_that_fails_is_recorded_forced(tmp_path: Path) -> None:
    gone = SqlDb.objects.create(
        name="gone", db_type="SQLite", db_name=str(tmp_path / "missing.sqlite")
    )
    start_db_elements_creation([gone], runner=ImmediateRunner(), force=True)
    gone.refresh_from_db()
    assert gone.db_elements_status == TaskStatus.FAILED
    assert gone.db_elements_report["forced"] is True


def test_job_names_fit_django_q2s_task_name(source: SqlDb) -> None:
    # django-q2 keeps at most 100 characters of a name (Task.name); a UUID
    # key in the old "db_elements_db_<key>_<task id>" made 101.
    import uuid

    from thoth_db_elements.tasks import _job_name

    runner = RecordingRunner()
    result = start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    assert job.name == f"db_elements_{result.started[0].task_id}"
    key = str(uuid.uuid4())
    assert len(_job_name(f"{uuid.uuid4().hex[:12]}-{key}")) == 61
    assert len(_job_name("x" * 300)) == 100


#: The rows ``counting_url`` built a URL for.
URLS_BUILT: list[Any] = []


def counting_url(sql_db: SqlDb) -> Any:
    from thoth_db_elements.connection import build_url

    URLS_BUILT.append(sql_db.pk)
    return build_url(sql_db)


@override_settings(THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tasks.counting_url")
def test_a_run_asks_the_url_hook_once(source: SqlDb, log_dir: Path) -> None:
    # A vault or a tunnel behind the hook is asked once a run.
    URLS_BUILT.clear()
    start_db_elements_creation([source], runner=ImmediateRunner())
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert [source.pk] == URLS_BUILT


def test_a_failed_run_leaves_no_progress_behind(source: SqlDb) -> None:
    # Its writes were rolled back: "333/1000 tables" would mislead.
    from thoth_db_elements.tasks import _finish

    SqlDb.objects.filter(pk=source.pk).update(
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="t-1",
        db_elements_progress_done=333,
        db_elements_progress_total=1000,
    )
    assert _finish(SqlDb, source.pk, "t-1", TaskStatus.FAILED, None, error="boom")
    source.refresh_from_db()
    assert (source.db_elements_progress_done, source.db_elements_progress_total) == (
        None,
        None,
    )


def test_a_delivery_stopped_right_after_taking_its_run_ends_it_failed(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fresh heartbeat is the delivery's own: nobody else runs it.
    from django.db.models import QuerySet
    from django_q.exceptions import TimeoutException

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs

    def stopped(self: QuerySet[Any]) -> Any:
        raise TimeoutException("Task exceeded maximum timeout value (1 seconds)")

    monkeypatch.setattr(QuerySet, "first", stopped)  # the worker's signal, here
    with pytest.raises(TimeoutException):
        deliver(job)
    monkeypatch.undo()
    source.refresh_from_db()
    assert source.db_elements_heartbeat is not None
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.FAILED,
        "Stopped by the worker: Task exceeded maximum timeout value (1 seconds)",
    )


def test_a_job_run_in_process_that_fails_after_taking_its_run_ends_it_failed(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not "Could not queue the task", nor RUNNING with a heartbeat nobody
    # writes: the job ran here, and is over.
    from django.db import OperationalError

    from thoth_db_elements.heartbeat import Heartbeat

    def lost(self: Heartbeat) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Heartbeat, "beat", lost)  # the database, gone here
    result = start_db_elements_creation([source], runner=ImmediateRunner())
    monkeypatch.undo()
    assert result.refused == []
    source.refresh_from_db()
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.FAILED,
        "The run failed: OperationalError: server closed the connection unexpectedly",
    )


def test_a_run_that_cannot_record_its_end_at_first_records_it_as_it_ended(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catalogue is written; recording the end fails (the database away
    # for the retries), then the database is back: COMPLETED, its report
    # and its log, not FAILED over a committed run.
    from django.db import OperationalError

    from thoth_db_elements import tasks

    real_finish = tasks._finish
    calls: list[str] = []

    def away_once(*args: Any, **kwargs: Any) -> bool:
        calls.append(args[3])
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(tasks, "_finish", away_once)
    start_db_elements_creation([source], runner=ImmediateRunner())
    monkeypatch.undo()
    source.refresh_from_db()
    assert calls[:2] == [TaskStatus.COMPLETED, TaskStatus.COMPLETED]
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_report["tables"]["created"] == 2
    assert source.db_elements_log_file
    assert (log_dir / "db_elements" / source.db_elements_log_file).exists()
    assert SqlTable.objects.filter(sql_db=source).count() == 2


def test_a_run_in_process_whose_take_fails_after_taking_it_ends_failed(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its heartbeat is its own: nobody else will end the run.
    from django.db import OperationalError
    from django.db.models import QuerySet

    real_first = QuerySet.first

    def lost_once(self: QuerySet[Any]) -> Any:
        monkeypatch.setattr(QuerySet, "first", real_first)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(QuerySet, "first", lost_once)  # the database, gone here
    start_db_elements_creation([source], runner=ImmediateRunner())
    monkeypatch.undo()
    source.refresh_from_db()
    assert source.db_elements_heartbeat is not None  # taken
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.FAILED,
        "The run failed: OperationalError: server closed the connection unexpectedly",
    )


def test_a_run_log_that_cannot_open_keeps_its_reason_when_recorded_late(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from thoth_db_elements import tasks

    def unwritable(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("[Errno 13] Permission denied: 'logs/db_elements'")

    real_finish = tasks._finish
    calls: list[str] = []

    def away_once(*args: Any, **kwargs: Any) -> bool:
        calls.append(kwargs["error"])
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(tasks, "open_run_log", unwritable)
    monkeypatch.setattr(tasks, "_finish", away_once)
    start_db_elements_creation([source], runner=ImmediateRunner())
    monkeypatch.undo()
    source.refresh_from_db()
    reason = "Cannot open the run log: [Errno 13] Permission denied: 'logs/db_elements'"
    assert (source.db_elements_status, source.db_elements_error) == (
        TaskStatus.FAILED,
        reason,
    )
    assert source.db_elements_report["error"] == reason


def test_a_run_inside_a_callers_transaction_is_completed(
    source: SqlDb, log_dir: Path
) -> None:
    """Its catalogue commits with the caller's transaction, after the run
    has ended: what it wrote is the run's all the same (a host's view under
    ATOMIC_REQUESTS, a test in a transaction)."""
    from django.db import transaction

    from thoth_db_elements.validation import claim_sqldb_db_elements_task

    with transaction.atomic():
        assert claim_sqldb_db_elements_task(source, "t-1") is True
        result = run_db_elements_task(source.pk, "t-1")
        assert result["status"] == "completed"
    source.refresh_from_db()
    assert source.db_elements_status == TaskStatus.COMPLETED
    assert source.db_elements_report["tables"]["created"] == 2
    assert SqlTable.objects.filter(sql_db=source).count() == 2


def test_the_batch_id_finds_the_rows_it_started(tmp_path: Path) -> None:
    """The id the seed's entry point returns (and the admin shows) is on
    no row as it is: each row has its own, made from it."""
    from thoth_db_elements.tasks import sqldbs_of_batch

    rows = [
        SqlDb.objects.create(name=n, db_type="SQLite", db_name=str(tmp_path / n))
        for n in ("a", "b", "c")
    ]
    runner = RecordingRunner()
    first = start_db_elements_creation(rows[:2], runner=runner)
    second = start_db_elements_creation(rows[2:], runner=runner)
    assert not SqlDb.objects.filter(db_elements_task_id=first.batch_id).exists()
    assert set(sqldbs_of_batch(first.batch_id)) == set(rows[:2])
    assert list(sqldbs_of_batch(second.batch_id)) == rows[2:]
    # Not a prefix of the id: the whole id, then "-".
    assert not sqldbs_of_batch(first.batch_id[:-1]).exists()


def _stop_at_the_sync_commit(
    monkeypatch: pytest.MonkeyPatch, *, after_commit: bool
) -> list[str]:
    """Make the worker's stop land as the sync's transaction commits: just
    after the COMMIT reached the server, or just before it was sent."""
    from django.db import connections

    from thoth_db_elements.persistence import _Sync

    armed: list[str] = []
    fired: list[str] = []
    real_delete = _Sync._delete
    wrapper = type(connections["default"])
    real_commit = wrapper._commit

    def last_step(self: Any, *args: Any) -> None:
        real_delete(self, *args)  # the sync's last write: its commit is next
        armed.append("armed")

    def commit(self: Any) -> None:
        if not armed:
            return real_commit(self)
        armed.clear()
        fired.append("stop")
        if after_commit:
            real_commit(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(_Sync, "_delete", last_step)
    monkeypatch.setattr(wrapper, "_commit", commit)
    return fired


@pytest.mark.skipif(
    "postgresql" not in str(__import__("django.db").db.connection.vendor),
    reason="PostgreSQL as Django's database (the tox environments)",
)
@pytest.mark.parametrize("after_commit", [True, False])
def test_a_stop_as_the_catalogue_commits_is_told_by_the_server(
    source: SqlDb,
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    after_commit: bool,
) -> None:
    """PostgreSQL says whether the transaction committed: a run whose
    COMMIT went through before the stop is COMPLETED (it was recorded
    FAILED, "the catalogue was left as it was", though written)."""
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    fired = _stop_at_the_sync_commit(monkeypatch, after_commit=after_commit)
    with pytest.raises(KeyboardInterrupt):
        deliver(job)
    monkeypatch.undo()
    assert fired == ["stop"]
    source.refresh_from_db()
    tables = SqlTable.objects.filter(sql_db=source).count()
    if after_commit:
        assert source.db_elements_status == TaskStatus.COMPLETED
        assert tables > 0
        assert "After the catalogue was written" in caplog.text
    else:
        assert source.db_elements_status == TaskStatus.FAILED
        assert tables == 0
        assert "the catalogue was left as it was" in caplog.text


@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "sqlite",
    reason="SQLite as Django's database: its sync holds the write lock",
)
@pytest.mark.parametrize("interval", [5, 0.2], ids=["no-beat-meanwhile", "beating"])
def test_a_sqlite_sync_longer_than_the_heartbeat_time_out_is_not_taken_over(
    source: SqlDb,
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    interval: float,
) -> None:
    """On SQLite the sync holds the database's write lock, so the heartbeat
    thread cannot write while it runs: a start that saw the heartbeat go
    stale, waiting for the lock, took the run over as soon as the sync
    committed, and the run, COMPLETED, could not record its end."""
    import threading

    from django.db import connections

    from thoth_db_elements.persistence import _Sync
    from thoth_db_elements.validation import claim_sqldb_db_elements_task

    settings.THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS = 1
    settings.THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS = interval
    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    claims: list[bool] = []
    starters: list[threading.Thread] = []
    real_delete, real_run = _Sync._delete, _Sync.run

    def claim() -> None:
        try:
            row = SqlDb.objects.get(pk=source.pk)
            claims.append(claim_sqldb_db_elements_task(row, "second"))
        finally:
            connections.close_all()

    def slow_last_step(self: Any, *args: Any) -> None:
        real_delete(self, *args)
        # The heartbeat, as committed, goes stale while the sync holds the
        # lock; a second start comes and waits for the lock.
        threading.Event().wait(1.5)
        starters.append(threading.Thread(target=claim))
        starters[0].start()
        threading.Event().wait(0.5)

    def run_then_pause(self: Any, *args: Any) -> None:
        real_run(self, *args)
        # Committed: the start gets the lock before the run writes its end.
        starters[0].join(10)

    monkeypatch.setattr(_Sync, "_delete", slow_last_step)
    monkeypatch.setattr(_Sync, "run", run_then_pause)
    outcome = deliver(job)
    source.refresh_from_db()
    assert claims == [False]
    assert outcome["status"] == "completed"
    assert (source.db_elements_status, source.db_elements_task_id) == (
        TaskStatus.COMPLETED,
        job.args[1],
    )
    assert SqlTable.objects.filter(sql_db=source).count() == 2


@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "mysql",
    reason="MySQL/MariaDB as Django's database: the lock saying a run writes",
)
def test_a_runs_sync_says_it_writes_under_its_own_task_id(
    source: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    from thoth_db_elements._catalogue_lock import is_writing
    from thoth_db_elements.persistence import _Sync

    runner = RecordingRunner()
    start_db_elements_creation([source], runner=runner)
    [job] = runner.jobs
    seen: list[tuple[bool, bool]] = []
    real = _Sync._write_tables

    def writing(self: Any, *args: Any) -> Any:
        other = connections.create_connection("default")  # another session
        try:
            with other.cursor() as cursor:
                from thoth_db_elements._catalogue_lock import writing_lock_name

                cursor.execute(
                    "SELECT IS_USED_LOCK(%s) IS NOT NULL, IS_USED_LOCK(%s) IS NOT NULL",
                    [
                        writing_lock_name(source, job.args[1]),
                        writing_lock_name(source, "another-run"),
                    ],
                )
                seen.append(tuple(bool(v) for v in cursor.fetchone()))  # type: ignore[arg-type]
        finally:
            other.close()
        return real(self, *args)

    monkeypatch.setattr(_Sync, "_write_tables", writing)
    deliver(job)
    assert seen == [(True, False)]
    assert not is_writing(source, job.args[1])  # let go with the sync
