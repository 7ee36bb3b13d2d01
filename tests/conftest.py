from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings


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
