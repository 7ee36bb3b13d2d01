"""The heartbeat thread against real rows: what it writes and what it hears."""

from __future__ import annotations

import time
from datetime import UTC
from typing import TypeVar

import pytest
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlDb
from tests.meanwhile import meanwhile
from tests.testapp.models import SeedOnlySqlDb
from thoth_db_elements.heartbeat import CANCELLED, DELETED, LOST, Heartbeat, owned_rows
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.validation import force_reset_sqldb_db_elements_task_status

pytestmark = pytest.mark.django_db(transaction=True)

TASK = "batch-1"


RowT = TypeVar("RowT", SqlDb, SeedOnlySqlDb)


def running(model: type[RowT]) -> RowT:
    return model._default_manager.create(
        name="db",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id=TASK,
        db_elements_start_time=timezone.now(),
    )


def wait_for_total(row: SqlDb, total: int) -> float:
    """Wait (up to 10 s) until the heartbeat wrote ``total``; the deadline."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.db_elements_progress_total == total:
            break
        time.sleep(0.05)
    return deadline


def test_beat_writes_liveness_and_progress() -> None:
    row = running(SqlDb)
    heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
    heartbeat.done, heartbeat.total = 4, 9
    before = timezone.now()
    heartbeat.beat()
    row.refresh_from_db()
    assert heartbeat.stop_reason is None
    assert (row.db_elements_progress_done, row.db_elements_progress_total) == (4, 9)
    assert row.db_elements_heartbeat is not None
    assert row.db_elements_heartbeat >= before


def test_beat_hears_a_reset() -> None:
    row = running(SqlDb)
    heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
    force_reset_sqldb_db_elements_task_status(row, reason="test")
    heartbeat.done = 5
    heartbeat.beat()
    assert heartbeat.stop_reason == LOST
    row.refresh_from_db()
    # A run that lost its row writes nothing on it.
    assert row.db_elements_progress_done is None
    assert row.db_elements_heartbeat is None


def test_beat_hears_a_takeover_by_another_run() -> None:
    row = running(SqlDb)
    heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
    SqlDb.objects.filter(pk=row.pk).update(db_elements_task_id="batch-2")
    heartbeat.beat()
    assert heartbeat.stop_reason == LOST


def test_beat_hears_a_cancel() -> None:
    row = running(SqlDb)
    SqlDb.objects.filter(pk=row.pk).update(db_elements_cancel_requested=True)
    heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
    heartbeat.beat()
    assert heartbeat.stop_reason == CANCELLED


def test_seed_only_model_checks_ownership_without_writing() -> None:
    row = running(SeedOnlySqlDb)
    heartbeat = Heartbeat(SeedOnlySqlDb, row.pk, TASK, "default")
    heartbeat.beat()
    assert heartbeat.stop_reason is None
    SeedOnlySqlDb.objects.filter(pk=row.pk).update(
        db_elements_status=TaskStatus.IDLE, db_elements_task_id=None
    )
    heartbeat.beat()
    assert heartbeat.stop_reason == LOST


def test_thread_beats_until_stopped() -> None:
    row = running(SqlDb)
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.05):
        heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
        heartbeat.done, heartbeat.total = 2, 6
        heartbeat.start()
        deadline = wait_for_total(row, 6)
        SqlDb.objects.filter(pk=row.pk).update(db_elements_cancel_requested=True)
        while heartbeat.stop_reason is None and time.monotonic() < deadline:
            time.sleep(0.05)
        heartbeat.stop()
    assert not heartbeat.is_alive()
    assert (row.db_elements_progress_done, row.db_elements_progress_total) == (2, 6)
    assert row.db_elements_heartbeat is not None
    assert heartbeat.stop_reason == CANCELLED


def test_a_failing_beat_is_logged_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = running(SqlDb)
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.05):
        heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
        # The column's CHECK (a PositiveIntegerField) refuses it: beats fail.
        heartbeat.total = -1
        heartbeat.start()
        deadline = time.monotonic() + 10
        while "Heartbeat of SqlDb" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heartbeat.is_alive()
        heartbeat.total = 3
        wait_for_total(row, 3)
        heartbeat.stop()
    assert f"Heartbeat of SqlDb {row.pk} failed" in caplog.text
    assert row.db_elements_progress_total == 3


def test_stop_before_start_returns_at_once() -> None:
    row = running(SqlDb)
    heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
    started = time.monotonic()
    heartbeat.stop()
    assert time.monotonic() - started < 1
    assert not heartbeat.is_alive()


class BreaksItsConnectionOnce(Heartbeat):
    """Its first beat finds the database connection gone (server restart,
    killed backend): the DB-API connection is closed behind Django's back."""

    broken = False

    def beat(self) -> None:
        if not self.broken:
            self.broken = True
            connections[self.using].ensure_connection()
            connections[self.using].connection.close()
        super().beat()


def test_a_lost_connection_is_opened_again_by_the_next_beat(
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = running(SqlDb)
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.05):
        heartbeat = BreaksItsConnectionOnce(SqlDb, row.pk, TASK, "default")
        heartbeat.done, heartbeat.total = 1, 5
        heartbeat.start()
        wait_for_total(row, 5)
        heartbeat.stop()
    assert f"Heartbeat of SqlDb {row.pk} failed" in caplog.text
    assert row.db_elements_progress_total == 5
    assert heartbeat.stop_reason is None


def test_the_thread_ends_when_the_run_lost_its_row() -> None:
    row = running(SqlDb)
    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS=0.05):
        heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default")
        heartbeat.start()
        force_reset_sqldb_db_elements_task_status(row, reason="test")
        heartbeat.join(timeout=10)
    assert not heartbeat.is_alive()
    assert heartbeat.stop_reason == LOST


@pytest.mark.parametrize("model", [SqlDb, SeedOnlySqlDb])
def test_beat_and_check_hear_that_the_row_was_deleted(model: type[RowT]) -> None:
    row = running(model)
    for hear in ("beat", "check"):
        heartbeat = Heartbeat(model, row.pk, TASK, "default")
        getattr(heartbeat, hear)()
        assert heartbeat.stop_reason is None
    model._default_manager.filter(pk=row.pk).delete()
    for hear in ("beat", "check"):
        heartbeat = Heartbeat(model, row.pk, TASK, "default")
        getattr(heartbeat, hear)()
        assert heartbeat.stop_reason == DELETED == "The database's row was deleted"


def taken(row: SqlDb) -> Heartbeat:
    """The heartbeat of a delivery that took ``row``'s run just now."""
    now = timezone.now()
    SqlDb.objects.filter(pk=row.pk).update(db_elements_heartbeat=now)
    return Heartbeat(SqlDb, row.pk, TASK, "default", taken_at=now)


def test_a_beat_written_while_another_thread_reads_is_still_its_own() -> None:
    """``check`` on the run's thread while the heartbeat thread writes a
    beat between ``check``'s building of its question and its answer: the
    row is still this delivery's (it was taken for lost, and a healthy
    run aborted)."""
    row = running(SqlDb)
    heartbeat = taken(row)
    heartbeat.beat()
    with meanwhile(heartbeat.beat, before="SELECT") as fired:
        heartbeat.check()
    assert fired
    assert heartbeat.stop_reason is None


def test_a_beat_another_thread_wrote_while_a_beat_waited_is_still_its_own() -> None:
    """On SQLite the run beats inside the sync's transaction while the
    heartbeat thread's beat waits for the lock with the beats it knew
    before; once the sync commits, the row holds the run's beat. The
    waiting beat is written over it (it found the row taken, and the
    heartbeat thread stopped for good)."""
    row = running(SqlDb)
    heartbeat = taken(row)

    def beat_in_a_transaction() -> None:
        heartbeat.beat(in_transaction=True)

    with meanwhile(beat_in_a_transaction, before="UPDATE") as fired:
        heartbeat.beat()
    assert fired
    assert heartbeat.stop_reason is None
    row.refresh_from_db()
    assert row.db_elements_heartbeat == heartbeat.beats()[0]


def test_a_beat_in_a_transaction_tried_as_another_beat_ends_stays_its_own() -> None:
    """The heartbeat thread's beat is written; before it notes so, the run
    beats in the sync's transaction. Noting its beat, the heartbeat thread
    forgot every other one tried: the run's, which the sync then
    committed, and its next beat found the row "taken over"."""
    from django.db import transaction

    row = running(SqlDb)
    heartbeat = taken(row)

    def sync_beats() -> None:
        with transaction.atomic():
            heartbeat.beat(in_transaction=True)

    with meanwhile(sync_beats, after="UPDATE") as fired:
        heartbeat.beat()
    assert fired
    assert heartbeat.stop_reason is None
    heartbeat.beat()
    assert heartbeat.stop_reason is None


def test_a_beat_in_a_transaction_rolled_back_leaves_the_row_its_own() -> None:
    """The end of a run whose sync rolled back (a time-out, an error) is
    written over the beat before the sync: the beats inside it are kept
    beside it, not instead of it."""
    from django.db import transaction

    row = running(SqlDb)
    heartbeat = taken(row)
    with pytest.raises(RuntimeError), transaction.atomic():
        heartbeat.beat(in_transaction=True)
        raise RuntimeError("the sync failed")
    # As the run's end is written: on the row holding a beat it knows.
    mine = owned_rows(SqlDb, "default", row.pk, TASK, heartbeat.beats())
    assert mine.update(db_elements_log_file="end.log") == 1


def test_a_heartbeat_of_long_ago_is_still_its_own() -> None:
    """Under REPEATABLE READ the catalogue transaction's ``check`` sees the
    heartbeat of when it began, many beats ago."""
    row = running(SqlDb)
    heartbeat = taken(row)
    first = SqlDb.objects.get(pk=row.pk).db_elements_heartbeat
    for _ in range(10):
        heartbeat.beat()
    assert heartbeat.stop_reason is None
    assert heartbeat.owns(first)
    assert not heartbeat.owns(timezone.now())


def test_write_only_while_the_row_is_its_own() -> None:
    row = running(SqlDb)
    heartbeat = taken(row)
    assert heartbeat.write(db_elements_log_file="mine.log")
    SqlDb.objects.filter(pk=row.pk).update(db_elements_heartbeat=timezone.now())
    assert not heartbeat.write(db_elements_log_file="not-mine.log")
    row.refresh_from_db()
    assert row.db_elements_log_file == "mine.log"


def test_a_beat_in_the_hour_the_clocks_go_back_is_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database that stores local times (``TIME_ZONE`` of a SQLite or
    MariaDB database) reads a time of the second 02:30 of the night the
    clocks go back as the first, an hour earlier: not the value written,
    but still this delivery's heartbeat."""
    from datetime import datetime, timedelta

    connection = connections["default"]
    if connection.vendor not in ("sqlite", "mysql"):
        pytest.skip("a database that stores local times")
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    monkeypatch.setitem(connection.settings_dict, "TIME_ZONE", "Europe/Paris")
    for cached in ("timezone", "timezone_name"):
        monkeypatch.delitem(connection.__dict__, cached, raising=False)
    try:
        row = running(SqlDb)
        SqlDb.objects.filter(pk=row.pk).update(db_elements_heartbeat=second)
        back = SqlDb.objects.values_list("db_elements_heartbeat", flat=True).get(
            pk=row.pk
        )
        # Read as the first 02:30 (CEST), an hour before the one written.
        assert back.astimezone(UTC) == second - timedelta(hours=1)
        heartbeat = Heartbeat(SqlDb, row.pk, TASK, "default", taken_at=second)
        heartbeat.check()
        assert heartbeat.stop_reason is None
        # This host's clock, as the database's: uncorrected by a server.
        monkeypatch.setattr(timezone, "now", lambda: second + timedelta(seconds=5))
        monkeypatch.setattr(
            "thoth_db_elements.heartbeat.database_now", lambda using: timezone.now()
        )
        heartbeat.beat()
        heartbeat.check()
        assert heartbeat.stop_reason is None
        assert heartbeat.write(db_elements_log_file="mine.log")
    finally:
        for cached in ("timezone", "timezone_name"):
            connection.__dict__.pop(cached, None)
