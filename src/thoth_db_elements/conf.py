"""Settings of thoth-db-elements, read lazily.

Every setting is a Django setting named ``THOTH_DB_ELEMENTS_<NAME>``. The
``app_settings`` object reads it each time a property is accessed, so
``override_settings`` works and nothing is read at import time. The settings
reference in ``docs/settings.md`` documents each one.
"""

from __future__ import annotations

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


app_settings = AppSettings()
