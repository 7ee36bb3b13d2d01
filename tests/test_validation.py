from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import models
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlDb as CatalogSqlDb
from tests.testapp.models import SeedOnlySqlDb, StatusOnlySqlDb
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.validation import (
    check_sqldb_db_elements_can_start,
    claim_sqldb_db_elements_task,
    force_reset_sqldb_db_elements_task_status,
    is_stale,
    validate_and_cleanup_running_sqldb_db_elements_task,
)

pytestmark = pytest.mark.django_db

MODELS = [CatalogSqlDb, SeedOnlySqlDb, StatusOnlySqlDb]


@pytest.fixture(params=MODELS, ids=lambda m: m.__name__)
def model(request: pytest.FixtureRequest) -> type[models.Model]:
    return request.param  # type: ignore[no-any-return]


def make(model: type[models.Model], **fields: object) -> models.Model:
    return model._default_manager.create(name="db", **fields)


@pytest.mark.parametrize(
    "status", [TaskStatus.IDLE, TaskStatus.COMPLETED, TaskStatus.FAILED]
)
def test_ready_states(model: type[models.Model], status: str) -> None:
    db = make(model, db_elements_status=status)
    assert check_sqldb_db_elements_can_start(db) == (True, "Ready to start")


def test_running_recent_task_blocks(model: type[models.Model]) -> None:
    db = make(
        model,
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
    )
    assert check_sqldb_db_elements_can_start(db) == (
        False,
        "A database elements creation task is currently running",
    )


def test_running_task_older_than_timeout_is_cleaned(model: type[models.Model]) -> None:
    start = timezone.now() - timedelta(hours=2, minutes=1)
    db = make(
        model, db_elements_status=TaskStatus.RUNNING, db_elements_start_time=start
    )
    assert check_sqldb_db_elements_can_start(db) == (
        True,
        "Previous task was stale and has been cleaned up",
    )
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.FAILED  # type: ignore[attr-defined]
    assert db.db_elements_end_time is not None  # type: ignore[attr-defined]


def test_running_task_without_start_time_is_stale(model: type[models.Model]) -> None:
    db = make(model, db_elements_status=TaskStatus.RUNNING, db_elements_start_time=None)
    assert check_sqldb_db_elements_can_start(db) == (
        True,
        "Previous task was stale and has been cleaned up",
    )
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.FAILED  # type: ignore[attr-defined]


def test_unknown_status(model: type[models.Model]) -> None:
    db = make(model, db_elements_status="PAUSED")
    assert check_sqldb_db_elements_can_start(db) == (False, "Unknown status: PAUSED")


def test_can_start_reads_the_database_not_the_instance(
    model: type[models.Model],
) -> None:
    db = make(model)
    model._default_manager.filter(pk=db.pk).update(
        db_elements_status=TaskStatus.RUNNING, db_elements_start_time=timezone.now()
    )
    assert check_sqldb_db_elements_can_start(db)[0] is False


def test_validate_respects_timeout_hours(model: type[models.Model]) -> None:
    start = timezone.now() - timedelta(minutes=90)
    db = make(
        model, db_elements_status=TaskStatus.RUNNING, db_elements_start_time=start
    )
    assert validate_and_cleanup_running_sqldb_db_elements_task(db) is True
    assert (
        validate_and_cleanup_running_sqldb_db_elements_task(db, timeout_hours=1)
        is False
    )
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.FAILED  # type: ignore[attr-defined]


def test_validate_on_a_row_that_is_not_running(model: type[models.Model]) -> None:
    db = make(model, db_elements_status=TaskStatus.COMPLETED)
    assert validate_and_cleanup_running_sqldb_db_elements_task(db) is False
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.COMPLETED  # type: ignore[attr-defined]


def test_validate_does_not_clobber_a_newer_claim(model: type[models.Model]) -> None:
    old = timezone.now() - timedelta(hours=3)
    db = make(
        model,
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=old,
        db_elements_task_id="old",
    )
    # Someone else claimed it after we loaded the row.
    model._default_manager.filter(pk=db.pk).update(
        db_elements_task_id="new", db_elements_start_time=timezone.now()
    )
    # Still running: the newer claim's run (it said False, and a start then
    # said the previous task had been cleaned up, then could not claim).
    assert validate_and_cleanup_running_sqldb_db_elements_task(db) is True
    fresh = model._default_manager.get(pk=db.pk)
    assert fresh.db_elements_status == TaskStatus.RUNNING  # type: ignore[attr-defined]
    assert fresh.db_elements_task_id == "new"  # type: ignore[attr-defined]


def test_heartbeat_older_than_window_is_stale() -> None:
    now = timezone.now()
    db = CatalogSqlDb.objects.create(
        name="db",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=now - timedelta(minutes=10),
        db_elements_heartbeat=now - timedelta(minutes=6),
    )
    assert is_stale(db, now=now) is True
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=600):
        assert is_stale(db, now=now) is False
    db.db_elements_heartbeat = None  # still queued: judged by start time only
    assert is_stale(db, now=now) is False


def test_force_reset(
    model: type[models.Model], caplog: pytest.LogCaptureFixture
) -> None:
    db = make(
        model,
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="t-1",
        db_elements_start_time=timezone.now(),
    )
    before = timezone.now()
    with caplog.at_level(logging.WARNING, logger="thoth_db_elements.validation"):
        assert force_reset_sqldb_db_elements_task_status(db, reason="stuck") is True
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.IDLE  # type: ignore[attr-defined]
    assert db.db_elements_task_id is None  # type: ignore[attr-defined]
    assert db.db_elements_end_time >= before  # type: ignore[attr-defined]
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == (
        f"Force reset db_elements for SqlDb {db.pk}: stuck (was: RUNNING, task_id: t-1)"
    )


def test_force_reset_logs_the_rows_state_not_an_older_instances(
    model: type[models.Model], caplog: pytest.LogCaptureFixture
) -> None:
    db = make(model, db_elements_status=TaskStatus.COMPLETED, db_elements_task_id="a")
    # A run started since this instance was loaded.
    model._default_manager.filter(pk=db.pk).update(
        db_elements_status=TaskStatus.RUNNING, db_elements_task_id="b"
    )
    with caplog.at_level(logging.WARNING, logger="thoth_db_elements.validation"):
        assert force_reset_sqldb_db_elements_task_status(db, reason="stuck") is True
    assert caplog.records[-1].getMessage() == (
        f"Force reset db_elements for SqlDb {db.pk}: stuck (was: RUNNING, task_id: b)"
    )
    assert model._default_manager.get(pk=db.pk).db_elements_status == TaskStatus.IDLE  # type: ignore[attr-defined]


def test_force_reset_of_a_deleted_row_fails(caplog: pytest.LogCaptureFixture) -> None:
    db = make(CatalogSqlDb)
    CatalogSqlDb.objects.filter(pk=db.pk).delete()
    assert force_reset_sqldb_db_elements_task_status(db) is False
    assert "Failed to force reset" in caplog.text
    assert CatalogSqlDb.objects.count() == 0


def test_force_reset_default_reason(caplog: pytest.LogCaptureFixture) -> None:
    db = make(CatalogSqlDb)
    with caplog.at_level(logging.WARNING, logger="thoth_db_elements.validation"):
        force_reset_sqldb_db_elements_task_status(db)
    assert "Manual reset" in caplog.text


def test_force_reset_failure_returns_false(caplog: pytest.LogCaptureFixture) -> None:
    db = make(CatalogSqlDb)
    db.pk = None  # an unsaved instance cannot be saved with update_fields
    assert force_reset_sqldb_db_elements_task_status(db) is False
    assert "Failed to force reset" in caplog.text


def test_claim_moves_to_running_and_stores_the_task_id(
    model: type[models.Model],
) -> None:
    db = make(model, db_elements_status=TaskStatus.FAILED)
    assert claim_sqldb_db_elements_task(db, "task-a") is True
    fresh = model._default_manager.get(pk=db.pk)
    assert fresh.db_elements_status == TaskStatus.RUNNING  # type: ignore[attr-defined]
    assert fresh.db_elements_task_id == "task-a"  # type: ignore[attr-defined]
    assert fresh.db_elements_start_time is not None  # type: ignore[attr-defined]
    assert fresh.db_elements_end_time is None  # type: ignore[attr-defined]
    assert db.db_elements_task_id == "task-a"  # type: ignore[attr-defined]
    # A second claim loses while the first is alive.
    assert claim_sqldb_db_elements_task(db, "task-b") is False
    assert model._default_manager.get(pk=db.pk).db_elements_task_id == "task-a"  # type: ignore[attr-defined]


def test_claim_takes_over_a_stale_run(model: type[models.Model]) -> None:
    old = timezone.now() - timedelta(hours=5)
    db = make(
        model,
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=old,
        db_elements_task_id="dead",
    )
    assert claim_sqldb_db_elements_task(db, "fresh") is True
    assert model._default_manager.get(pk=db.pk).db_elements_task_id == "fresh"  # type: ignore[attr-defined]


def test_claim_rejects_an_empty_task_id() -> None:
    db = make(CatalogSqlDb)
    with pytest.raises(ValueError, match="task_id"):
        claim_sqldb_db_elements_task(db, "")


def test_claim_resets_lifecycle_fields() -> None:
    db = CatalogSqlDb.objects.create(
        name="db",
        db_elements_status=TaskStatus.FAILED,
        db_elements_error="boom",
        db_elements_cancel_requested=True,
        db_elements_progress_done=3,
    )
    assert claim_sqldb_db_elements_task(db, "t")
    db.refresh_from_db()
    assert (db.db_elements_error, db.db_elements_cancel_requested) == ("", False)
    assert db.db_elements_progress_done is None


def test_a_beating_run_is_live_however_long_it_has_lasted() -> None:
    # Hours in the queue or at work: a worker's fresh heartbeat is what
    # counts, not the start time, so no second run starts beside it.
    now = timezone.now()
    db = CatalogSqlDb.objects.create(
        name="db",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="long",
        db_elements_start_time=now - timedelta(hours=5),
        db_elements_heartbeat=now - timedelta(seconds=20),
    )
    assert is_stale(db) is False
    assert check_sqldb_db_elements_can_start(db) == (
        False,
        "A database elements creation task is currently running",
    )
    assert claim_sqldb_db_elements_task(db, "second") is False
    assert validate_and_cleanup_running_sqldb_db_elements_task(db) is True
    db.refresh_from_db()
    assert (db.db_elements_status, db.db_elements_task_id) == (
        TaskStatus.RUNNING,
        "long",
    )
    # Its heartbeat stops: stale after the heartbeat window.
    CatalogSqlDb.objects.filter(pk=db.pk).update(
        db_elements_heartbeat=now - timedelta(minutes=6)
    )
    assert claim_sqldb_db_elements_task(db, "second") is True


def test_a_stale_run_and_a_reset_leave_no_progress_behind() -> None:
    # The stale run's writes were rolled back; a reset row runs nothing.
    start = timezone.now() - timedelta(hours=3)
    stale = CatalogSqlDb.objects.create(
        name="stale",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=start,
        db_elements_progress_done=333,
        db_elements_progress_total=1000,
    )
    assert validate_and_cleanup_running_sqldb_db_elements_task(stale) is False
    reset = CatalogSqlDb.objects.create(
        name="reset",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
        db_elements_progress_done=5,
        db_elements_progress_total=10,
    )
    assert force_reset_sqldb_db_elements_task_status(reset) is True
    for row in (stale, reset):
        row.refresh_from_db()
        assert (row.db_elements_progress_done, row.db_elements_progress_total) == (
            None,
            None,
        )


def test_a_stale_run_keeps_no_report_of_the_run_before() -> None:
    """The report on the row was the previous run's: cleared with the stale
    one, as when a run is not started; its log file stays (the dead run
    named its own when it opened it)."""
    stale = CatalogSqlDb.objects.create(
        name="stale",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now() - timedelta(hours=3),
        db_elements_report={"status": "completed", "tables": {"created": 4}},
        db_elements_log_file="db_elements_db_1_20261201_070349.log",
    )
    assert validate_and_cleanup_running_sqldb_db_elements_task(stale) is False
    stale.refresh_from_db()
    assert stale.db_elements_status == TaskStatus.FAILED
    assert stale.db_elements_report == {}
    assert stale.db_elements_log_file == "db_elements_db_1_20261201_070349.log"


@pytest.mark.django_db(transaction=True)
def test_a_run_that_ends_as_it_is_judged_stale_is_not_said_cleaned_up() -> None:
    """The row looked stale, then its run recorded its end before the
    clean-up's update: nothing was cleaned up, yet the can-start check said
    "Previous task was stale and has been cleaned up"."""
    from tests.meanwhile import meanwhile
    from thoth_db_elements.validation import MESSAGE_READY

    db = make(
        CatalogSqlDb,
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="t",
        db_elements_start_time=timezone.now() - timedelta(hours=1),
        db_elements_heartbeat=timezone.now() - timedelta(hours=1),
    )

    def the_run_ends() -> None:
        CatalogSqlDb.objects.filter(pk=db.pk).update(
            db_elements_status=TaskStatus.COMPLETED
        )

    with meanwhile(the_run_ends, before="UPDATE") as ended:
        assert check_sqldb_db_elements_can_start(db) == (True, MESSAGE_READY)
    assert ended
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.COMPLETED  # type: ignore[attr-defined]


def test_a_claim_clears_the_previous_runs_log_file() -> None:
    """Until the run names its own log (and should its worker die before,
    on a model without a heartbeat, whose take writes nothing), the row
    named the previous run's log as this run's."""
    db = make(CatalogSqlDb, db_elements_log_file="db_elements_no_workspace_db_1_x.log")
    assert claim_sqldb_db_elements_task(db, "new-1")
    db.refresh_from_db()
    assert db.db_elements_log_file == ""  # type: ignore[attr-defined]
