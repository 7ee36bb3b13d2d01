"""Times of a run's row are the database server's: hosts' clocks differ."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import SqlDb
from thoth_db_elements._clock import database_now, forget_offsets
from thoth_db_elements.heartbeat import Heartbeat
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.validation import claim_sqldb_db_elements_task, is_stale

pytestmark = pytest.mark.django_db(transaction=True)

has_a_server = pytest.mark.skipif(
    connection.vendor not in ("postgresql", "mysql"),
    reason="a database server's own clock (PostgreSQL, MariaDB)",
)


@pytest.fixture
def skewed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This host's clock 8 s behind the others' (and the server's)."""
    real = timezone.now
    forget_offsets()
    monkeypatch.setattr(timezone, "now", lambda: real() - timedelta(seconds=8))
    yield
    monkeypatch.undo()
    forget_offsets()


@has_a_server
def test_the_servers_time_corrects_this_hosts_clock(skewed: None) -> None:
    server = database_now("default")
    assert abs(server - (timezone.now() + timedelta(seconds=8))) < timedelta(seconds=1)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no server")
def test_sqlite_time_is_this_hosts(skewed: None) -> None:
    assert abs(database_now("default") - timezone.now()) < timedelta(seconds=1)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "UTC"])
def test_a_host_without_use_tz_gets_its_own_local_time(zone: str) -> None:
    """Without USE_TZ, PostgreSQL gave the server's time in the host's time
    zone, taken for UTC: every time of a run's row was off by the zone's
    offset (a fresh heartbeat stale in Kolkata, 5 h 30 min)."""
    from django.test import override_settings

    with override_settings(USE_TZ=False, TIME_ZONE=zone):
        forget_offsets()
        before = timezone.now()
        now = database_now("default")
        assert timezone.is_naive(now)
        assert before <= now <= timezone.now()
    forget_offsets()


def test_clocks_within_a_second_of_the_servers_are_left_as_they_are() -> None:
    forget_offsets()
    before = timezone.now()
    assert before <= database_now("default") <= timezone.now()


@has_a_server
def test_a_worker_whose_clock_is_behind_is_not_taken_for_dead(
    skewed: None, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's host is 8 s behind the web server's, the heartbeat
    time-out 5 s: its heartbeats, written by its clock, looked 8 s old as
    soon as written, and a start took the live run over (the database was
    harvested twice at once)."""
    settings.THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS = 5  # type: ignore[attr-defined]
    row = SqlDb.objects.create(
        name="db",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=timezone.now(),
    )
    Heartbeat(SqlDb, row.pk, "first", "default").beat()  # the worker, behind
    monkeypatch.undo()  # the web server, on time
    forget_offsets()
    row.refresh_from_db()
    assert not is_stale(row)
    assert not claim_sqldb_db_elements_task(row, "second")
    row.refresh_from_db()
    assert row.db_elements_task_id == "first"
