"""Django application configuration."""

from __future__ import annotations

from django.apps import AppConfig


class ThothDbElementsConfig(AppConfig):
    """Registers the system checks, creates the log directories and removes
    a database's run logs with its row."""

    name = "thoth_db_elements"
    verbose_name = "Database elements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks
        from .logging import ensure_log_directories
        from .signals import connect_run_log_cleanup

        checks.register()
        connect_run_log_cleanup()
        # The seed creates these when the app starts; a read-only file system
        # must not stop the project from booting, so failures are only
        # reported (by logging and by check W001), never raised.
        ensure_log_directories(raise_errors=False)
