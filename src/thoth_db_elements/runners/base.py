"""The task-runner interface: enqueue a job by dotted path with plain arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Job", "TaskRunner"]


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of background work.

    ``function`` is the dotted path of a module-level callable; ``args`` and
    ``kwargs`` are plain values (ids, never credentials), so any broker can
    store them.
    """

    function: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    group: str = "thoth_db_elements"


@runtime_checkable
class TaskRunner(Protocol):
    """What a backend provides. ``enqueue`` is required; the rest may say "unknown"."""

    def enqueue(self, job: Job) -> str:
        """Queue ``job``; return the backend's id for it."""
        ...

    def is_active(self, backend_id: str) -> bool | None:
        """Whether the job is still queued or running; None when unknown."""
        ...

    def cancel(self, backend_id: str) -> bool:
        """Try to drop a job that has not started; True if it was dropped."""
        ...
