"""Starting and running harvests: the paths ``tests/test_tasks.py`` leaves out.

Keys with an explicit model, nothing to start, a broker that refuses a
whole batch, a host with only the seed's four fields, and a row reset by
an admin while its harvest runs.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlDb, SqlTable
from tests.testapp.models import SeedOnlySqlDb
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.base import Job
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import (
    request_cancel_sqldb_db_elements_task,
    run_db_elements_task,
    start_db_elements_creation,
)
from thoth_db_elements.validation import (
    check_sqldb_db_elements_can_start,
    force_reset_sqldb_db_elements_task_status,
    is_stale,
)

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingRunner:
    """Keeps jobs; ``enqueue_many`` queues a batch at once, like django-q2's."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.batches = 0

    def enqueue(self, job: Job) -> str:
        self.jobs.append(job)
        return f"backend-{len(self.jobs)}"

    def enqueue_many(self, jobs: list[Job]) -> list[str]:
        self.batches += 1
        return [self.enqueue(job) for job in jobs]

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False


class RefusingBatchRunner(RecordingRunner):
    """A broker that is down: the whole batch is refused."""

    def enqueue_many(self, jobs: list[Job]) -> list[str]:
        raise ConnectionError("broker redis://:s3cr3t@10.0.0.9:6379/0 refused")


def sqlite_source(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    return path


@pytest.fixture
def shop(tmp_path: Path) -> SqlDb:
    path = sqlite_source(tmp_path / "shop.sqlite")
    return SqlDb.objects.create(name="shop", db_type="SQLite", db_name=str(path))


def test_keys_with_an_explicit_model_class(shop: SqlDb) -> None:
    runner = RecordingRunner()
    result = start_db_elements_creation([shop.pk], model=SqlDb, runner=runner)
    assert [s.sqldb_id for s in result.started] == [shop.pk]
    assert result.skipped == []
    [job] = runner.jobs
    assert job.kwargs["model"] == "catalog.SqlDb"
    assert runner.batches == 1
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.RUNNING


def test_only_unknown_keys_queue_nothing() -> None:
    runner = RecordingRunner()
    result = start_db_elements_creation(["123456", 654321], runner=runner)
    assert result.started == []
    assert [(s.sqldb_id, s.reason) for s in result.skipped] == [
        ("123456", "Not found"),
        (654321, "Not found"),
    ]
    assert runner.jobs == []
    assert runner.batches == 0


def test_a_refused_batch_leaves_every_row_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        SqlDb.objects.create(
            name=name, db_type="SQLite", db_name=str(tmp_path / f"{name}.sqlite")
        )
        for name in ("one", "two")
    ]
    result = start_db_elements_creation(rows, runner=RefusingBatchRunner())
    # The claims were committed before the broker was asked.
    assert len(result.started) == 2
    for row in rows:
        row.refresh_from_db()
        assert row.db_elements_status == TaskStatus.FAILED
        assert row.db_elements_end_time is not None
        assert row.db_elements_error == (
            "Could not queue the task: broker redis://:***@10.0.0.9:6379/0 refused"
        )
    assert "s3cr3t" not in caplog.text


class PartlyRefusingBatchRunner(RecordingRunner):
    """A broker that took the first job, which a worker took at once (or
    ran to its end), and then refused the rest (Redis queues job by job)."""

    def __init__(self, first: dict[str, Any]) -> None:
        super().__init__()
        self.first = first

    def enqueue_many(self, jobs: list[Job]) -> list[str]:
        SqlDb.objects.filter(pk=jobs[0].args[0]).update(**self.first)
        raise ConnectionError("broker went away")


@pytest.mark.parametrize(
    ("first", "status"),
    [
        ({"db_elements_heartbeat": timezone.now()}, TaskStatus.RUNNING),
        ({"db_elements_status": TaskStatus.COMPLETED}, TaskStatus.COMPLETED),
    ],
    ids=["taken", "ended"],
)
def test_a_batch_refused_in_part_leaves_a_workers_run_to_it(
    tmp_path: Path, first: dict[str, Any], status: str
) -> None:
    rows = [
        SqlDb.objects.create(
            name=name, db_type="SQLite", db_name=str(tmp_path / f"{name}.sqlite")
        )
        for name in ("one", "two")
    ]
    result = start_db_elements_creation(rows, runner=PartlyRefusingBatchRunner(first))
    workers, refused = rows
    workers.refresh_from_db()
    refused.refresh_from_db()
    assert workers.db_elements_status == status
    assert workers.db_elements_error == ""
    assert refused.db_elements_status == TaskStatus.FAILED
    # Only the job that will not run is told as refused.
    assert [r.sqldb_id for r in result.refused] == [refused.pk]
    assert [s.sqldb_id for s in result.queued] == [workers.pk]


def test_seed_only_host_runs_and_records_failure(log_dir: Path) -> None:
    """A model with only the seed's four fields: no heartbeat, progress or
    error fields, so the run records its status and end time, and the log
    file says why it failed."""
    row = SeedOnlySqlDb.objects.create(name="seed")
    result = start_db_elements_creation([row], runner=ImmediateRunner())
    [started] = result.started
    row.refresh_from_db()
    assert row.db_elements_status == TaskStatus.FAILED
    assert row.db_elements_task_id == started.task_id
    assert row.db_elements_end_time is not None
    # Not the SQLDB_MODEL: its run logs have a directory of their own.
    [log] = (log_dir / "db_elements" / "testapp.seedonlysqldb").iterdir()
    assert log.name.startswith(f"db_elements_no_workspace_db_{row.pk}_")
    assert "ERROR - Failed: The database has no db_type." in log.read_text()


def test_seed_only_host_cannot_be_cancelled() -> None:
    row = SeedOnlySqlDb.objects.create(
        name="seed",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
    )
    assert request_cancel_sqldb_db_elements_task(row) is False


def test_seed_only_duplicate_delivery_runs_once(log_dir: Path) -> None:
    """Without a heartbeat field the task id alone decides; a delivery of a
    run that already finished is ignored."""
    row = SeedOnlySqlDb.objects.create(name="seed")
    runner = RecordingRunner()
    start_db_elements_creation([row], runner=runner)
    [job] = runner.jobs
    first = run_db_elements_task(*job.args, **job.kwargs)
    assert first["status"] == "failed"
    again = run_db_elements_task(*job.args, **job.kwargs)
    assert again == {
        "status": "ignored",
        "task_id": job.args[1],
        "sqldb_id": row.pk,
    }


def resetting_url(sql_db: Any) -> str:
    """A URL hook during which an admin force-resets the row."""
    force_reset_sqldb_db_elements_task_status(
        SqlDb.objects.get(pk=sql_db.pk), reason="reset while running"
    )
    return f"sqlite:///{sql_db.db_name}"


def test_run_reset_meanwhile_is_not_recorded(shop: SqlDb, log_dir: Path) -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_edges_tasks.resetting_url"
    ):
        start_db_elements_creation([shop], runner=ImmediateRunner())
    shop.refresh_from_db()
    # The reset wins: the row stays IDLE, without the run's result.
    assert shop.db_elements_status == TaskStatus.IDLE
    assert shop.db_elements_task_id is None
    assert shop.db_elements_report is None
    [log] = (log_dir / "db_elements").iterdir()
    text = log.read_text()
    assert "but the row was reset or deleted meanwhile: not recorded" in text
    assert "Finished with status" not in text


def test_is_stale_only_for_running_rows(shop: SqlDb) -> None:
    long_ago = timezone.now() - timedelta(days=3)
    shop.db_elements_start_time = long_ago
    for status in (TaskStatus.IDLE, TaskStatus.COMPLETED, TaskStatus.FAILED):
        shop.db_elements_status = status
        assert is_stale(shop) is False
    shop.db_elements_status = TaskStatus.RUNNING
    assert is_stale(shop) is True


def test_queue_log_names_each_task(
    shop: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    runner = RecordingRunner()
    with caplog.at_level(logging.INFO, logger="thoth_db_elements.tasks"):
        result = start_db_elements_creation([shop], runner=runner)
    [started] = result.started
    assert (
        f"Queued db_elements task {started.task_id} for SqlDb {shop.pk} (backend-1)"
        in caplog.text
    )
    assert not SqlTable.objects.exists()


def broken_url_builder(sql_db: Any) -> str:
    raise RuntimeError("vault unreachable")


def heartbeat_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("thoth-db-elements-heartbeat")
    ]


def test_a_url_hook_that_fails_is_recorded_and_the_heartbeat_ends(
    shop: SqlDb, log_dir: Path
) -> None:
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    hook = f"{__name__}.broken_url_builder"
    with override_settings(THOTH_DB_ELEMENTS_URL_BUILDER=hook):
        result = run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert result["status"] == "failed"
    assert shop.db_elements_status == TaskStatus.FAILED
    assert "vault unreachable" in shop.db_elements_error
    assert heartbeat_threads() == []


@pytest.mark.parametrize("stopped", [False, True], ids=["", "stopped-while-joined"])
def test_a_run_log_that_cannot_be_opened_is_recorded_and_the_heartbeat_ends(
    shop: SqlDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped: bool
) -> None:
    """Also when the worker's stop lands while the heartbeat is joined: the
    row keeps why the run failed."""
    from thoth_db_elements.heartbeat import Heartbeat

    not_a_directory = tmp_path / "logs"
    not_a_directory.write_text("a file where the log directory should be")
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    joined, stops = Heartbeat.stop, {"left": int(stopped)}

    def stop(self: Heartbeat) -> None:
        joined(self)
        if stops["left"]:
            stops["left"] -= 1
            raise KeyboardInterrupt

    monkeypatch.setattr(Heartbeat, "stop", stop)
    result: dict[str, Any] = {"status": "failed"}
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(not_a_directory)):
        with pytest.raises(KeyboardInterrupt) if stopped else nullcontext():
            result = run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert result["status"] == "failed"
    assert shop.db_elements_status == TaskStatus.FAILED
    assert shop.db_elements_error.startswith("Cannot open the run log:")
    assert shop.db_elements_report["error"] == shop.db_elements_error
    assert not SqlTable.objects.filter(sql_db=shop).exists()
    assert heartbeat_threads() == []


def test_a_cancel_after_the_catalogue_is_written_is_too_late(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thoth_db_elements import tasks

    harvest = tasks.create_db_elements

    def harvest_then_cancel(sql_db: SqlDb, **kwargs: Any) -> Any:
        report = harvest(sql_db, **kwargs)
        assert request_cancel_sqldb_db_elements_task(sql_db)
        tasks.Heartbeat.beat(heartbeat[0])  # the heartbeat hears it at once
        return report

    heartbeat: list[Any] = []
    start = tasks.Heartbeat.start

    def remember(self: Any) -> None:
        heartbeat.append(self)
        start(self)

    monkeypatch.setattr(tasks, "create_db_elements", harvest_then_cancel)
    monkeypatch.setattr(tasks.Heartbeat, "start", remember)
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    result = run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert heartbeat[0].stop_reason == "Cancelled"
    assert result["status"] == "completed"
    assert shop.db_elements_status == TaskStatus.COMPLETED
    assert SqlTable.objects.filter(sql_db=shop).count() == 1


@pytest.mark.parametrize(
    "bad", ["abc", 1.5, None, [1], float("inf"), 10**20, Decimal("5.5")]
)
def test_a_bad_key_is_not_found_and_spoils_nothing(shop: SqlDb, bad: Any) -> None:
    runner = RecordingRunner()
    result = start_db_elements_creation([bad, shop.pk], runner=runner)
    assert [s.sqldb_id for s in result.started] == [shop.pk]
    assert [(s.sqldb_id, s.reason) for s in result.skipped] == [(bad, "Not found")]


def test_a_whole_float_key_finds_its_row(shop: SqlDb) -> None:
    result = start_db_elements_creation([float(shop.pk)], runner=RecordingRunner())
    assert [s.sqldb_id for s in result.started] == [shop.pk]


def test_a_row_deleted_after_it_was_selected_is_not_found(
    shop: SqlDb, tmp_path: Path
) -> None:
    other = SqlDb.objects.create(name="other", db_type="SQLite", db_name="x.sqlite")
    gone = SqlDb.objects.get(pk=other.pk)
    other.delete()
    runner = RecordingRunner()
    result = start_db_elements_creation([gone, shop], runner=runner)
    assert [s.sqldb_id for s in result.started] == [shop.pk]
    assert [(s.name, s.reason) for s in result.skipped] == [("other", "Not found")]
    assert len(runner.jobs) == 1


def test_a_cancel_sent_during_the_read_stops_the_run_before_it_writes(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The heartbeat beats every 5 s here: a short run used to end COMPLETED
    # with the cancel dropped, having never heard it.
    from thoth_db_elements import harvest

    read = harvest.read_schema

    def read_then_cancel(*args: Any, **kwargs: Any) -> Any:
        snapshot = read(*args, **kwargs)
        assert request_cancel_sqldb_db_elements_task(shop)
        return snapshot

    monkeypatch.setattr(harvest, "read_schema", read_then_cancel)
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=60):
        result = run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert result["status"] == "failed"
    assert (shop.db_elements_status, shop.db_elements_error) == (
        TaskStatus.FAILED,
        "Cancelled",
    )
    assert not SqlTable.objects.filter(sql_db=shop).exists()
    assert heartbeat_threads() == []


def test_a_run_the_worker_times_out_is_recorded_failed(
    tmp_path: Path, log_dir: Path
) -> None:
    """django-q2 stops a task past Q_CLUSTER's timeout by raising its
    TimeoutException (a SystemExit) from a SIGALRM handler: the row is
    FAILED with the reason, the catalogue untouched, the exception let
    through to the worker."""
    from django_q.exceptions import TimeoutException

    from tests.timeouts import WorkerTimeout

    path = tmp_path / "big.sqlite"
    with sqlite3.connect(path) as conn:
        # About 120,000 columns: seconds to harvest, a second to create.
        conn.executescript(
            "BEGIN;"
            + ";".join(
                f"CREATE TABLE t{n:04d} (id INTEGER PRIMARY KEY, "
                + ", ".join(f"c{c} TEXT" for c in range(30))
                + ")"
                for n in range(4000)
            )
            + ";COMMIT;"
        )
    conn.close()
    big = SqlDb.objects.create(name="big", db_type="SQLite", db_name=str(path))
    runner = RecordingRunner()
    start_db_elements_creation([big], runner=runner)
    with pytest.raises(TimeoutException), WorkerTimeout(1):
        run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    big.refresh_from_db()
    assert big.db_elements_status == TaskStatus.FAILED
    assert big.db_elements_error == (
        "Stopped by the worker: Task exceeded maximum timeout value (1 seconds)"
    )
    assert big.db_elements_log_file
    assert not SqlTable.objects.filter(sql_db=big).exists()
    assert heartbeat_threads() == []


def vault_url_builder(sql_db: Any) -> str:
    """A hook that connects with a password of its own, not the row's."""
    from tests.services import PG_URL

    server = sa.make_url(PG_URL)
    return server.set(password="vaultpw", database="vaultpw").render_as_string(
        hide_password=False
    )


def test_the_password_a_url_hook_uses_is_hidden_too(shop: SqlDb, log_dir: Path) -> None:
    """Here the database is named like the password: every line naming it
    would tell the password of the hook's URL, which the row does not hold."""
    from tests.services import require_postgres
    from thoth_db_elements._secrets import WITHHELD

    require_postgres()
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    with override_settings(
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_edges_tasks.vault_url_builder"
    ):
        result = run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert result["status"] == "failed"
    assert shop.db_elements_error.endswith(WITHHELD)
    log = next(log_dir.rglob(shop.db_elements_log_file)).read_text()
    assert "vaultpw" not in log
    assert WITHHELD in log


def test_a_delivery_whose_run_was_taken_over_writes_nothing_more(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker paused (a host or VM frozen) long enough for its heartbeat to
    go stale: a redelivery of the same job, same task id, takes the run
    over. Resumed, the first delivery must find the run no longer its own:
    it writes no catalogue and no end over the live run."""
    from thoth_db_elements import tasks

    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    harvest = tasks.create_db_elements
    other: list[tasks.AsyncDbElementsTask] = []

    def paused_meanwhile(sql_db: SqlDb, **kwargs: Any) -> Any:
        SqlDb.objects.filter(pk=shop.pk).update(
            db_elements_heartbeat=timezone.now() - timedelta(hours=1)
        )
        other.append(tasks.AsyncDbElementsTask(*job.args, **job.kwargs))
        assert other[0]._take() is not None
        return harvest(sql_db, **kwargs)

    monkeypatch.setattr(tasks, "create_db_elements", paused_meanwhile)
    result = run_db_elements_task(*job.args, **job.kwargs)
    shop.refresh_from_db()
    assert result["status"] == "failed"
    assert result["error"] == "The task was reset or taken over by another run"
    assert shop.db_elements_status == TaskStatus.RUNNING
    assert shop.db_elements_heartbeat == other[0]._taken_at
    assert not SqlTable.objects.filter(sql_db=shop).exists()
    # The run is the redelivery's, to the end.
    assert tasks._finish(
        SqlDb,
        shop.pk,
        other[0].task_id,
        TaskStatus.COMPLETED,
        None,
        beats=other[0]._beats(),
    )


def test_an_end_is_not_written_over_a_run_taken_over(shop: SqlDb) -> None:
    """The end of a delivery (django-q2's time-out landing when a paused
    worker resumes) is recorded only while the row holds its heartbeat."""
    from thoth_db_elements import tasks

    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    first = tasks.AsyncDbElementsTask(*job.args, **job.kwargs)
    second = tasks.AsyncDbElementsTask(*job.args, **job.kwargs)
    assert first._take() is not None
    SqlDb.objects.filter(pk=shop.pk).update(
        db_elements_heartbeat=timezone.now() - timedelta(hours=1)
    )
    assert second._take() is not None
    first._record_end(SystemExit("Task exceeded maximum timeout value"), None)
    heartbeat = tasks.Heartbeat(
        SqlDb, shop.pk, first.task_id, "default", taken_at=first._taken_at
    )
    heartbeat.beat()
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.RUNNING
    assert shop.db_elements_heartbeat == second._taken_at
    assert heartbeat.stop_reason == "The task was reset or taken over by another run"


def refusing_takes(times: int) -> Any:
    """An execute wrapper refusing the first ``times`` writes of a heartbeat
    (``None``: every one), as the database does when it restarts, runs out
    of connections or times out waiting for the row's lock."""
    refused = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if re.search(r"SET [`\"]db_elements_heartbeat[`\"]", sql) and (
            times is None or refused[0] < times
        ):
            refused[0] += 1
            raise OperationalError("canceling statement due to lock timeout")
        return execute(sql, params, many, context)

    wrapper.refused = refused  # type: ignore[attr-defined]
    return wrapper


def test_a_take_that_fails_for_a_moment_is_tried_again(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thoth_db_elements import tasks

    monkeypatch.setattr(tasks, "_FINISH_DELAYS", (0.01, 0.01, 0.01))
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    flaky = refusing_takes(2)
    with connection.execute_wrapper(flaky):
        result = run_db_elements_task(*job.args, **job.kwargs)
    shop.refresh_from_db()
    assert flaky.refused[0] == 2
    assert result["status"] == "completed"
    assert shop.db_elements_status == TaskStatus.COMPLETED


def test_a_run_that_cannot_be_taken_ends_failed_not_running(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker drops a job that fails as it is picked up: its row must not
    wait RUNNING for ``STALE_TIMEOUT_HOURS`` with nothing to run it."""
    from thoth_db_elements import tasks

    monkeypatch.setattr(tasks, "_FINISH_DELAYS", (0.01, 0.01))
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    refused = refusing_takes(None)
    with connection.execute_wrapper(refused), pytest.raises(OperationalError):
        run_db_elements_task(*job.args, **job.kwargs)
    shop.refresh_from_db()
    assert refused.refused[0] == 3
    assert shop.db_elements_status == TaskStatus.FAILED
    assert shop.db_elements_error == (
        "Not started: the worker could not take the run: "
        "OperationalError: canceling statement due to lock timeout"
    )
    assert shop.db_elements_report == {}
    assert check_sqldb_db_elements_can_start(shop)[0]


def test_a_run_names_its_log_file_on_its_row_as_it_starts(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-run leaves the row naming its own log, not the
    previous run's."""
    from thoth_db_elements import tasks

    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    before = shop.db_elements_log_file
    harvest = tasks.create_db_elements
    during: list[str] = []

    def look(sql_db: SqlDb, **kwargs: Any) -> Any:
        during.append(
            SqlDb.objects.values_list("db_elements_log_file", flat=True).get(pk=shop.pk)
        )
        return harvest(sql_db, **kwargs)

    monkeypatch.setattr(tasks, "create_db_elements", look)
    start_db_elements_creation([shop], runner=runner)
    run_db_elements_task(*runner.jobs[1].args, **runner.jobs[1].kwargs)
    shop.refresh_from_db()
    assert before
    assert during == [shop.db_elements_log_file]
    assert during[0] != before
    assert (log_dir / "db_elements" / during[0]).exists()


def committed_then_refused(times: int | None) -> Any:
    """An execute wrapper letting the take's write through, then answering
    it with an error (the connection lost after the COMMIT), ``times``
    times (None: once, and every take after fails before running)."""
    seen = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if re.search(r"SET [`\"]db_elements_heartbeat[`\"]", sql):
            seen[0] += 1
            if times is None and seen[0] > 1:
                raise OperationalError("server closed the connection unexpectedly")
            if times is None or seen[0] <= times:
                execute(sql, params, many, context)
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return wrapper


def test_a_take_written_though_answered_with_an_error_is_its_own(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next attempt knows the heartbeat as its own: no wait for it to
    go stale (``HEARTBEAT_TIMEOUT_SECONDS``, 300 s here)."""
    from thoth_db_elements import tasks

    monkeypatch.setattr(tasks, "_FINISH_DELAYS", (0.01, 0.01))
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    task = tasks.AsyncDbElementsTask(*job.args, **job.kwargs)
    with connection.execute_wrapper(committed_then_refused(1)):
        started = time.monotonic()
        assert task._take_retrying() is not None
    assert time.monotonic() - started < 30
    assert task._took


def test_a_take_written_then_refused_for_good_ends_failed(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thoth_db_elements import tasks

    monkeypatch.setattr(tasks, "_FINISH_DELAYS", (0.01, 0.01))
    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    task = tasks.AsyncDbElementsTask(*job.args, **job.kwargs)
    with (
        connection.execute_wrapper(committed_then_refused(None)),
        pytest.raises(OperationalError),
    ):
        task._take_retrying()
    shop.refresh_from_db()
    assert shop.db_elements_heartbeat is not None  # the first take was written
    assert shop.db_elements_status == TaskStatus.FAILED
    assert shop.db_elements_error.startswith(
        "Not started: the worker could not take the run: OperationalError"
    )


def test_a_run_that_dies_before_its_log_names_no_log_of_another(
    shop: SqlDb, log_dir: Path
) -> None:
    """Taken, the row names no log until the run opens its own: a run that
    dies before (in the URL hook, say) and is found stale does not name the
    previous run's."""
    from thoth_db_elements import tasks

    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    run_db_elements_task(*runner.jobs[0].args, **runner.jobs[0].kwargs)
    shop.refresh_from_db()
    assert shop.db_elements_log_file
    start_db_elements_creation([shop], runner=runner)
    assert tasks.AsyncDbElementsTask(
        *runner.jobs[1].args, **runner.jobs[1].kwargs
    )._take()
    SqlDb.objects.filter(pk=shop.pk).update(
        db_elements_heartbeat=timezone.now() - timedelta(hours=1)
    )
    shop.refresh_from_db()
    assert check_sqldb_db_elements_can_start(shop)[0]
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.FAILED
    assert shop.db_elements_log_file == ""


class StoppedInTheBackOff(SystemExit):
    """django-q2's time-out (a ``SystemExit``) landing while the take waits
    before its next attempt."""


def test_a_stop_after_a_take_written_though_refused_ends_failed(
    shop: SqlDb, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row holds this delivery's own heartbeat, which the take wrote
    though it was answered with an error: the stop ends the run FAILED, not
    RUNNING for ``STALE_TIMEOUT_HOURS``."""
    from thoth_db_elements import tasks

    def stopped(seconds: float) -> None:
        raise StoppedInTheBackOff("Task exceeded maximum timeout value (1 seconds)")

    runner = RecordingRunner()
    start_db_elements_creation([shop], runner=runner)
    [job] = runner.jobs
    monkeypatch.setattr(tasks.time, "sleep", stopped)
    with (
        connection.execute_wrapper(committed_then_refused(1)),
        pytest.raises(StoppedInTheBackOff),
    ):
        run_db_elements_task(*job.args, **job.kwargs)
    monkeypatch.undo()
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.FAILED
    assert shop.db_elements_error == (
        "Stopped by the worker: Task exceeded maximum timeout value (1 seconds)"
    )
