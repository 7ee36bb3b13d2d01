"""The generic ``django.tasks`` task, in a module of its own.

Backends that store or copy a task find it again by its dotted path, which
must name the ``Task`` object itself. Importing this module needs Django 6.0
or later, so ``django_tasks`` imports it only when a job is enqueued.
"""

from __future__ import annotations

from typing import Any

from django.tasks import task

from .django_tasks import call_by_path as _call_by_path

__all__ = ["call_by_path"]


@task
def call_by_path(function: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Import ``function`` and call it with ``args`` and ``kwargs``."""
    return _call_by_path(function, args, kwargs)
