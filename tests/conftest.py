from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the ``source_only`` tests where ``THOTH_SKIP_SOURCE_ONLY`` is set:
    they do not touch Django's database, so the tox environments that
    differ from ``make test`` only in that database need not repeat them."""
    if not os.environ.get("THOTH_SKIP_SOURCE_ONLY"):
        return
    skip = pytest.mark.skip(
        reason="reads harvested databases only: run by `make test` (see tox.ini)"
    )
    for item in items:
        if item.get_closest_marker("source_only") is not None:
            item.add_marker(skip)


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh log root for one test."""
    root = tmp_path / "logs"
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(root)):
        yield root


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """Before the test database is dropped, end sessions of killed workers.

    Worker processes that tests SIGKILL leave PostgreSQL backends that may
    take a moment to go; dropping the database would then fail.
    """
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
