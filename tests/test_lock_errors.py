"""Deadlocks and lock time-outs told apart by the driver's own error codes,
whichever driver Django's PostgreSQL backend runs on: psycopg 3 gives the
SQLSTATE as ``sqlstate``, psycopg2 as ``pgcode``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError

from tests.services import PG_URL, require_postgres
from thoth_db_elements._catalogue_lock import _is_deadlock, _is_lock_timeout

psycopg2 = pytest.importorskip("psycopg2")


def _dsn() -> str:
    import sqlalchemy as sa

    url = sa.make_url(PG_URL)
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"


@pytest.fixture
def tables() -> Iterator[tuple[str, str]]:
    require_postgres()
    names = tuple(f"lock_{uuid.uuid4().hex[:8]}_{n}" for n in "ab")
    with psycopg2.connect(_dsn()) as owner, owner.cursor() as cursor:
        for name in names:
            cursor.execute(f"CREATE TABLE {name} (id integer)")
    owner.close()
    yield names  # type: ignore[misc]
    with psycopg2.connect(_dsn()) as owner, owner.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
    owner.close()


def _raised(call: Callable[[], object]) -> OperationalError | None:
    """The error ``call`` raises, wrapped as Django wraps a driver's; None
    when it raises none."""
    try:
        call()
    except psycopg2.Error as exc:
        wrapped = OperationalError(*exc.args)
        wrapped.__cause__ = exc
        return wrapped
    return None


def test_a_psycopg2_lock_timeout_is_known(tables: tuple[str, str]) -> None:
    holder = psycopg2.connect(_dsn())
    waiter = psycopg2.connect(_dsn())
    try:
        holder.cursor().execute(f"LOCK TABLE {tables[0]}")
        cursor = waiter.cursor()
        error = _raised(lambda: cursor.execute(f"LOCK TABLE {tables[0]} NOWAIT"))
    finally:
        holder.close()
        waiter.close()
    assert error is not None
    assert error.__cause__.pgcode == "55P03"  # type: ignore[union-attr]
    assert _is_lock_timeout(error)
    assert not _is_deadlock(error)


def test_a_psycopg2_deadlock_is_known(tables: tuple[str, str]) -> None:
    first, second = (psycopg2.connect(_dsn()) for _ in range(2))
    errors: list[OperationalError] = []
    both_hold = threading.Barrier(2)

    def lock(connection: Any, mine: str, theirs: str) -> None:
        cursor = connection.cursor()
        cursor.execute("SET deadlock_timeout = '50ms'")
        cursor.execute(f"LOCK TABLE {mine}")
        both_hold.wait()
        error = _raised(lambda: cursor.execute(f"LOCK TABLE {theirs}"))
        if error is not None:  # the one PostgreSQL chose to stop
            errors.append(error)
        connection.rollback()

    threads = [
        threading.Thread(target=lock, args=(first, *tables)),
        threading.Thread(target=lock, args=(second, *reversed(tables))),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        first.close()
        second.close()
    (error,) = errors
    assert error.__cause__.pgcode == "40P01"  # type: ignore[union-attr]
    assert _is_deadlock(error)
    assert not _is_lock_timeout(error)
