"""Log directories and (later) the per-run file logger.

The seed writes one log file per run under ``logs/db_elements/``; the root
directory is the ``THOTH_DB_ELEMENTS_LOG_DIR`` setting (default ``logs``,
relative to the working directory as in the seed).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .conf import app_settings

__all__ = ["LOG_FORMAT", "RUN_LOG_SUBDIR", "ensure_log_directories", "run_log_dir"]

logger = logging.getLogger(__name__)

#: The seed's log line format.
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

#: Sub-directory of the log root that holds one file per run.
RUN_LOG_SUBDIR = "db_elements"


def run_log_dir() -> Path:
    """Directory of the per-run log files (``LOG_DIR/db_elements``)."""
    return app_settings.LOG_DIR / RUN_LOG_SUBDIR


def ensure_log_directories(*, raise_errors: bool = True) -> list[Path]:
    """Create the log root and its ``db_elements`` directory if missing.

    Returns the directories. With ``raise_errors=False`` a failure (read-only
    file system, permissions) is logged instead of raised; check W001 reports
    it too.
    """
    directories = [app_settings.LOG_DIR, run_log_dir()]
    for directory in directories:
        try:
            # Not world-readable: run logs name hosts, schemas and users.
            directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            if raise_errors:
                raise
            logger.warning("Cannot create log directory %s: %s", directory, exc)
    return directories
