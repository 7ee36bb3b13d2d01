"""Task runners: the interface, its backends, and the configured one.

``get_runner()`` returns an instance of the class named by the
``THOTH_DB_ELEMENTS_RUNNER`` setting (default: the django-q2 runner).
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from thoth_db_elements.conf import PREFIX, app_settings
from thoth_db_elements.exceptions import ConfigurationError

from .base import Job, TaskRunner

__all__ = ["Job", "TaskRunner", "get_runner"]


def get_runner() -> TaskRunner:
    """An instance of the configured runner class."""
    path = app_settings.RUNNER
    try:
        runner_class = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(
            f"{PREFIX}RUNNER = {path!r} cannot be imported."
        ) from exc
    if not isinstance(runner_class, type) or not callable(
        getattr(runner_class, "enqueue", None)
    ):
        raise ConfigurationError(f"{PREFIX}RUNNER = {path!r} is not a task runner.")
    runner = runner_class()
    if not isinstance(runner, TaskRunner):
        raise ConfigurationError(f"{PREFIX}RUNNER = {path!r} is not a task runner.")
    return runner
