"""Models of a host that starts fresh, and of one with only the seed fields."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from thoth_db_elements.models import (
    AbstractRelationship,
    AbstractSqlColumn,
    AbstractSqlTable,
    DbElementsStatusMixin,
    DbElementsTaskMixin,
    TaskStatus,
)


class SeedOnlySqlDb(models.Model):
    """The four fields declared by hand, as the seed tells ThothAI to."""

    name = models.CharField(max_length=255)
    db_elements_status = models.CharField(
        max_length=20, choices=TaskStatus.choices, default=TaskStatus.IDLE
    )
    db_elements_task_id = models.CharField(max_length=255, blank=True, null=True)
    db_elements_start_time = models.DateTimeField(blank=True, null=True)
    db_elements_end_time = models.DateTimeField(blank=True, null=True)


class StatusOnlySqlDb(DbElementsStatusMixin):
    name = models.CharField(max_length=255)


class SqlDb(DbElementsTaskMixin):
    name = models.CharField(max_length=255)
    db_type = models.CharField(max_length=255, default="SQLite")
    db_host = models.CharField(max_length=255, blank=True)
    db_name = models.CharField(max_length=255, blank=True)
    db_port = models.IntegerField(blank=True, null=True)
    schema = models.CharField(max_length=255, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    password = models.CharField(max_length=255, blank=True)
    db_mode = models.CharField(max_length=255, default="dev")


class ProxySqlDb(SqlDb):
    """The same rows through a proxy (another admin, say)."""

    class Meta:
        proxy = True


class RunningManager(models.Manager["RunningSqlDb"]):
    def get_queryset(self) -> models.QuerySet[RunningSqlDb]:
        return super().get_queryset().filter(db_elements_status=TaskStatus.RUNNING)


class RunningSqlDb(SqlDb):
    """A proxy whose default manager shows the running rows only (an admin
    of "databases being harvested", say)."""

    objects: ClassVar[RunningManager] = RunningManager()

    class Meta:
        proxy = True


class SqlTable(AbstractSqlTable):
    pass


class SqlColumn(AbstractSqlColumn):
    pass


class Relationship(AbstractRelationship):
    pass
