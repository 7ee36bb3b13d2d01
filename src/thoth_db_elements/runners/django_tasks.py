"""Adapter for Django 6's ``django.tasks`` (Django >= 6.0 only).

Django ships the enqueue API and pluggable backends but no worker; use a
backend that has one. The job is sent through one generic task that imports
the target by dotted path, so arguments stay plain values.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from thoth_db_elements.exceptions import ConfigurationError

from .base import Job

__all__ = ["DjangoTasksRunner", "call_by_path"]


def call_by_path(function: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Import ``function`` and call it (the body of the generic task)."""
    return import_string(function)(*args, **kwargs)


def _task() -> Any:
    """The generic task (importable by its path, as storing backends need)."""
    try:
        from ._django_task import call_by_path as generic_task
    except ImportError as exc:
        raise ConfigurationError(
            "DjangoTasksRunner needs Django 6.0 or later (django.tasks)."
        ) from exc
    return generic_task


class DjangoTasksRunner:
    """Enqueue through ``django.tasks`` with the project's default backend."""

    def enqueue(self, job: Job) -> str:
        result = _task().enqueue(job.function, list(job.args), dict(job.kwargs))
        return str(result.id)

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False
