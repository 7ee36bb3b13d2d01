"""django-q2 backend (the default). ``django_q`` is imported only when used.

Configure ``Q_CLUSTER`` with a ``timeout`` longer than your largest harvest
and ``retry`` larger than ``timeout`` (check ``thoth_db_elements.E005``),
or a long harvest is delivered twice. This runner never passes
``timeout=None`` (it crashes django-q2 workers): the cluster's timeout holds.
"""

from __future__ import annotations

from typing import Any

from thoth_db_elements.exceptions import ConfigurationError

from .base import Job

__all__ = ["DjangoQRunner"]


class DjangoQRunner:
    """Queue jobs with ``django_q.tasks.async_task``."""

    def enqueue(self, job: Job) -> str:
        from django_q.tasks import async_task

        options: dict[str, Any] = {"group": job.group}
        if job.name:
            options["task_name"] = job.name
        try:
            return str(async_task(job.function, *job.args, **job.kwargs, **options))
        except ModuleNotFoundError as exc:
            if exc.name != "redis":
                raise
            from thoth_db_elements.checks import NO_REDIS, NO_REDIS_HINT

            raise ConfigurationError(f"{NO_REDIS} {NO_REDIS_HINT}") from exc

    def enqueue_many(self, jobs: list[Job]) -> list[str]:
        """Queue ``jobs`` together: with the ORM broker, in one transaction.

        With ``Q_CLUSTER['sync']`` each job runs as it is queued, in this
        process: not inside a transaction, whose locks its heartbeat would
        wait for.
        """
        from django.db import transaction
        from django_q.conf import Conf

        if Conf.SYNC or not Conf.ORM:
            return [self.enqueue(job) for job in jobs]
        with transaction.atomic(using=Conf.ORM):
            return [self.enqueue(job) for job in jobs]

    def is_active(self, backend_id: str) -> bool | None:
        from django_q.models import Task

        if Task.objects.filter(id=backend_id).exists():
            return False
        if _queued(backend_id) is not None:
            return True
        return None  # running, or queued on Redis: django-q2 cannot tell

    def cancel(self, backend_id: str) -> bool:
        """Drop the job while it waits in the ORM broker's queue. A job a
        worker has taken stays: the broker keeps it, locked until
        ``retry`` from then, to deliver it again should that worker die;
        dropping it would not stop the run, only that redelivery."""
        from django.utils import timezone

        queued = _queued(backend_id)
        if queued is None:
            return False
        waiting = (
            type(queued)
            ._default_manager.using(queued._state.db)
            .filter(pk=queued.pk, lock=queued.lock, lock__lte=timezone.now())
        )
        deleted: int = waiting.delete()[0]
        return deleted > 0


def _queued(backend_id: str) -> Any:
    """The ORM broker's queue entry of job ``backend_id``, if any (on the
    broker's database, ``Q_CLUSTER['orm']``)."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return None
    for queued in OrmQ.objects.using(Conf.ORM).iterator():
        if queued.task_id() == backend_id:
            return queued
    return None
