"""Run jobs in the calling process, at once (tests, the CLI's ``--sync``)."""

from __future__ import annotations

import uuid

from django.utils.module_loading import import_string

from .base import Job

__all__ = ["ImmediateRunner"]


class ImmediateRunner:
    """Calls the job's function before ``enqueue`` returns."""

    #: Jobs run in the calling process: an error out of ``enqueue`` is the
    #: job's own, not a broker's refusal.
    in_process = True

    def enqueue(self, job: Job) -> str:
        backend_id = uuid.uuid4().hex
        import_string(job.function)(*job.args, **job.kwargs)
        return backend_id

    def is_active(self, backend_id: str) -> bool | None:
        return False

    def cancel(self, backend_id: str) -> bool:
        return False
