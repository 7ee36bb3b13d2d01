"""The time of the database the run's row lives in.

A heartbeat written by a worker on one host is judged stale by a start on
another. Taken from each host's own clock, a worker whose clock is behind
the web server's by more than ``HEARTBEAT_TIMEOUT_SECONDS`` looked dead
while it beat, and its database was harvested a second time beside it; one
whose clock is ahead hid a dead worker. Every time that is written to a
run's row or compared with one is the database server's instead: this
host's clock corrected by how far it is from the server's, asked of the
server at most once a minute per database (one ``SELECT``).

SQLite has no server: its time is this machine's.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, connections
from django.utils import timezone

__all__ = ["database_now"]

#: How long an offset measured is used before it is asked again (seconds).
_FRESH_FOR = 60.0

#: The server's clock minus this host's, per database alias, and the
#: monotonic time it was measured.
_offsets: dict[str, tuple[timedelta, float]] = {}
_lock = threading.Lock()


def database_now(using: str) -> datetime:
    """Now, by the clock of database ``using``'s server, as Django holds
    times (aware in UTC, or naive in the current time zone without
    ``USE_TZ``)."""
    return timezone.now() + _offset(using)


def forget_offsets() -> None:
    """Ask every server again at the next ``database_now`` (tests)."""
    with _lock:
        _offsets.clear()


def _offset(using: str) -> timedelta:
    with _lock:
        known = _offsets.get(using)
    if known is not None and time.monotonic() - known[1] < _FRESH_FOR:
        return known[0]
    measured = _measure(using)
    if measured is None:  # not asked: the last one known, else none
        return known[0] if known is not None else timedelta(0)
    with _lock:
        _offsets[using] = (measured, time.monotonic())
    return measured


def _measure(using: str) -> timedelta | None:
    """The server's clock minus this host's, or None when the server has
    no clock of its own (SQLite, another vendor) or cannot be asked now."""
    connection = connections[using]
    vendor = connection.vendor
    if vendor == "postgresql":
        # The real time (now() is the transaction's start), in UTC: without
        # USE_TZ it would come in the session's time zone, the host's.
        sql = "SELECT clock_timestamp() AT TIME ZONE 'UTC'"
    elif vendor == "mysql":
        # In UTC whatever the session's time zone.
        sql = "SELECT UTC_TIMESTAMP(6)"
    else:
        return None
    try:
        connection.ensure_connection()  # not the connecting's time
        before = _utc_now()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
        after = _utc_now()
    except DatabaseError:
        return None
    if row is None or not isinstance(row[0], datetime):
        return None
    server = row[0]
    if timezone.is_naive(server):
        server = server.replace(tzinfo=UTC)
    offset = server - (before + (after - before) / 2)
    # Within a second the clocks agree as far as this can tell (the query's
    # round trip); a whole run's times then stay this host's own.
    return offset if abs(offset) >= timedelta(seconds=1) else timedelta(0)


def _utc_now() -> datetime:
    """This host's now, aware: Django's, but without ``USE_TZ`` the
    system's (Django's is then a local wall-clock time, which names the
    hour the clocks go back twice)."""
    now = timezone.now()
    return now if timezone.is_aware(now) else datetime.now(UTC)
