"""Settings of thoth-db-elements, read lazily.

Every setting is a Django setting named ``THOTH_DB_ELEMENTS_<NAME>``. The
``app_settings`` object reads it each time a property is accessed, so
``override_settings`` works and nothing is read at import time. The settings
reference in ``docs/settings.md`` documents each one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

__all__ = ["PREFIX", "SETTING_NAMES", "AppSettings", "app_settings"]

PREFIX = "THOTH_DB_ELEMENTS_"

#: Names (without the prefix) of every setting this library reads.
SETTING_NAMES: tuple[str, ...] = (
    "SQLDB_MODEL",
    "TABLE_MODEL",
    "COLUMN_MODEL",
    "RELATIONSHIP_MODEL",
    "LOG_DIR",
    "STALE_TIMEOUT_HOURS",
    "HEARTBEAT_TIMEOUT_SECONDS",
    "URL_BUILDER",
    "TUNNEL",
    "DRIVERS",
    "SQLITE_ROOT",
    "SQLITE_CONFINED",
    "CONNECT_TIMEOUT",
    "INCLUDE_VIEWS",
    "DELETE_THRESHOLD",
    "BATCH_SIZE",
    "RUNNER",
    "HEARTBEAT_INTERVAL_SECONDS",
    "DEFAULT_WORKSPACE_ID",
    "CATALOGUE_LOCK_TIMEOUT",
    "RUN_LOGS_KEPT",
)


class AppSettings:
    """Typed, lazy access to the ``THOTH_DB_ELEMENTS_*`` settings."""

    def _get(self, name: str, default: Any) -> Any:
        return getattr(settings, PREFIX + name, default)

    @property
    def SQLDB_MODEL(self) -> str | None:
        """``app_label.ModelName`` of the host's ``SqlDb`` model."""
        value = self._get("SQLDB_MODEL", None)
        return None if value is None else str(value)

    def _catalogue_model(self, name: str, model_name: str) -> str | None:
        value = self._get(name, None)
        if value is not None:
            return str(value)
        sqldb = self.SQLDB_MODEL
        if sqldb is None or "." not in sqldb:
            return None
        # A ThothAI-shaped host keeps its catalogue beside SqlDb.
        return f"{sqldb.split('.', 1)[0]}.{model_name}"

    @property
    def TABLE_MODEL(self) -> str | None:
        """Catalogue table model; defaults to ``<SqlDb's app>.SqlTable``."""
        return self._catalogue_model("TABLE_MODEL", "SqlTable")

    @property
    def COLUMN_MODEL(self) -> str | None:
        """Catalogue column model; defaults to ``<SqlDb's app>.SqlColumn``."""
        return self._catalogue_model("COLUMN_MODEL", "SqlColumn")

    @property
    def RELATIONSHIP_MODEL(self) -> str | None:
        """Catalogue relationship model; defaults to ``<app>.Relationship``."""
        return self._catalogue_model("RELATIONSHIP_MODEL", "Relationship")

    @property
    def LOG_DIR(self) -> Path:
        """Root of the log tree; per-run files go to ``LOG_DIR/db_elements``."""
        return Path(self._get("LOG_DIR", "logs"))

    @property
    def STALE_TIMEOUT_HOURS(self) -> float:
        """Hours after which a RUNNING row is stale whatever its heartbeat."""
        return self._get("STALE_TIMEOUT_HOURS", 2)  # type: ignore[no-any-return]

    @property
    def HEARTBEAT_TIMEOUT_SECONDS(self) -> float:
        """Seconds without a heartbeat after which a started run is stale."""
        return self._get("HEARTBEAT_TIMEOUT_SECONDS", 300)  # type: ignore[no-any-return]

    @property
    def URL_BUILDER(self) -> str | None:
        """Dotted path of ``callable(sql_db) -> sqlalchemy URL | str``, or None."""
        value = self._get("URL_BUILDER", None)
        return None if value is None else str(value)

    @property
    def TUNNEL(self) -> str | None:
        """Dotted path of ``callable(sql_db, url)`` returning a context
        manager that yields the URL to connect to, or None."""
        value = self._get("TUNNEL", None)
        return None if value is None else str(value)

    @property
    def DRIVERS(self) -> dict[str, str]:
        """Overrides of the SQLAlchemy driver per ``db_type`` (e.g. MariaDB)."""
        return dict(self._get("DRIVERS", {}))

    @property
    def SQLITE_ROOT(self) -> Path:
        """Root of ThothAI's SQLite layout ``{root}/{db_mode}_databases/...``.

        Defaults to ``DB_ROOT_PATH`` as ThothAI has it: a Django setting,
        else the environment variable (which ThothAI reads), then ``data``.
        """
        value = self._get("SQLITE_ROOT", None)
        if value is None:
            value = (
                getattr(settings, "DB_ROOT_PATH", None)
                or os.environ.get("DB_ROOT_PATH")
                or "data"
            )
        path = Path(value)
        try:
            return path.expanduser()
        except RuntimeError:  # no home directory to expand to
            return path

    @property
    def SQLITE_CONFINED(self) -> bool:
        """Whether a SQLite ``db_name`` may only name a file under
        ``SQLITE_ROOT`` (else any file the worker can read)."""
        return bool(self._get("SQLITE_CONFINED", False))

    @property
    def CONNECT_TIMEOUT(self) -> float:
        """Seconds to wait for the harvested database to accept a connection."""
        return self._get("CONNECT_TIMEOUT", 10)  # type: ignore[no-any-return]

    @property
    def INCLUDE_VIEWS(self) -> bool:
        """Whether views are catalogued (flagged ``is_view`` where supported)."""
        return bool(self._get("INCLUDE_VIEWS", True))

    @property
    def DELETE_THRESHOLD(self) -> float:
        """Largest share (0-1) of tables or columns a run may delete unforced."""
        return self._get("DELETE_THRESHOLD", 0.5)  # type: ignore[no-any-return]

    @property
    def BATCH_SIZE(self) -> int:
        """Rows per bulk INSERT/UPDATE statement on the catalogue."""
        return self._get("BATCH_SIZE", 1000)  # type: ignore[no-any-return]

    @property
    def RUNNER(self) -> str:
        """Dotted path of the task-runner class."""
        return str(
            self._get("RUNNER", "thoth_db_elements.runners.django_q.DjangoQRunner")
        )

    @property
    def HEARTBEAT_INTERVAL_SECONDS(self) -> float:
        """Seconds between two heartbeats of a running task."""
        return self._get("HEARTBEAT_INTERVAL_SECONDS", 5)  # type: ignore[no-any-return]

    @property
    def DEFAULT_WORKSPACE_ID(self) -> int | None:
        """Workspace id logged when the request carries none (the seed's 1)."""
        return self._get("DEFAULT_WORKSPACE_ID", 1)  # type: ignore[no-any-return]

    @property
    def CATALOGUE_LOCK_TIMEOUT(self) -> float:
        """Seconds the sync waits for a lock on catalogue rows before failing."""
        return self._get("CATALOGUE_LOCK_TIMEOUT", 30)  # type: ignore[no-any-return]

    @property
    def RUN_LOGS_KEPT(self) -> int | None:
        """Run logs kept for each database, the newest; ``None`` keeps all."""
        return self._get("RUN_LOGS_KEPT", None)  # type: ignore[no-any-return]


app_settings = AppSettings()
