"""Reaching this machine's PostgreSQL, MariaDB and Redis from tests.

On a laptop without a service the test skips with the reason; with ``CI`` set
a missing service fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

PG_URL = os.environ.get(
    "TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_URL = os.environ.get(
    "TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(service: str, error: BaseException) -> None:
    """Skip (or, under CI, fail) because ``service`` cannot be reached."""
    message = f"{service} is not reachable: {error}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def probe(service: str, check: Callable[[], object]) -> None:
    try:
        check()
    except Exception as exc:
        unavailable(service, exc)


def connect_once(url: str) -> None:
    """Open and close one connection to ``url`` (raises when unreachable)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        engine.connect().close()
    finally:
        engine.dispose()


def require_postgres() -> None:
    probe("PostgreSQL", lambda: connect_once(PG_URL))


def require_mariadb() -> None:
    probe("MariaDB", lambda: connect_once(MARIADB_URL))
