"""Status choices, the ``SqlDb`` status mixins and abstract catalogue models.

This module defines no concrete model, so listing the app in
``INSTALLED_APPS`` adds no table: the host keeps its own models and inherits
what it needs from here.
"""

from __future__ import annotations

from django.db import models

from .fields import IdentifierField

__all__ = [
    "LIFECYCLE_FIELD_NAMES",
    "SEED_FIELD_NAMES",
    "AbstractRelationship",
    "AbstractSqlColumn",
    "AbstractSqlTable",
    "ColumnDataFormat",
    "DbElementsStatusMixin",
    "DbElementsTaskMixin",
    "TaskStatus",
]


class TaskStatus(models.TextChoices):
    """State of a database's element-creation task (values as in ThothAI)."""

    IDLE = "IDLE", "Idle"
    RUNNING = "RUNNING", "Running"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"


class ColumnDataFormat(models.TextChoices):
    """Normalised column type families, the values of ThothAI's ``data_format``."""

    INT = "INT", "INT"
    FLOAT = "FLOAT", "FLOAT"
    DOUBLE = "DOUBLE", "DOUBLE"
    DECIMAL = "DECIMAL", "DECIMAL"
    VARCHAR = "VARCHAR", "VARCHAR"
    CHAR = "CHAR", "CHAR"
    DATE = "DATE", "DATE"
    TIME = "TIME", "TIME"
    TIMESTAMP = "TIMESTAMP", "TIMESTAMP"
    BOOLEAN = "BOOLEAN", "BOOLEAN"
    ENUM = "ENUM", "ENUM"


#: The four fields the seed adds to ``SqlDb``; every helper needs only these.
SEED_FIELD_NAMES: tuple[str, ...] = (
    "db_elements_status",
    "db_elements_task_id",
    "db_elements_start_time",
    "db_elements_end_time",
)

#: Optional fields used when present (see ``DbElementsTaskMixin``).
LIFECYCLE_FIELD_NAMES: tuple[str, ...] = (
    "db_elements_heartbeat",
    "db_elements_progress_done",
    "db_elements_progress_total",
    "db_elements_error",
    "db_elements_report",
    "db_elements_log_file",
    "db_elements_cancel_requested",
)


class DbElementsStatusMixin(models.Model):
    """The seed's four status fields, exactly as the ThothAI guide defines them.

    Adds:

    * ``db_elements_status`` -- ``CharField(max_length=20)``, choices
      ``TaskStatus``, default ``IDLE``;
    * ``db_elements_task_id`` -- ``CharField(max_length=255, null, blank)``;
    * ``db_elements_start_time`` -- ``DateTimeField(null, blank)``;
    * ``db_elements_end_time`` -- ``DateTimeField(null, blank)``.

    A host that already declared these four fields itself (as the seed tells
    ThothAI to) needs neither mixin: every helper works on the four fields.
    """

    db_elements_status = models.CharField(
        max_length=20,
        choices=TaskStatus.choices,
        default=TaskStatus.IDLE,
    )
    db_elements_task_id = models.CharField(max_length=255, blank=True, null=True)
    db_elements_start_time = models.DateTimeField(blank=True, null=True)
    db_elements_end_time = models.DateTimeField(blank=True, null=True)

    class Meta:
        abstract = True


class DbElementsTaskMixin(DbElementsStatusMixin):
    """The seed's four fields plus what a safe, observable lifecycle needs.

    Adds, besides the fields of ``DbElementsStatusMixin``:

    * ``db_elements_heartbeat`` -- ``DateTimeField(null)``: written by the
      running task every few seconds, so a dead worker is found in minutes
      rather than after ``STALE_TIMEOUT_HOURS``;
    * ``db_elements_progress_done`` / ``db_elements_progress_total`` --
      ``PositiveIntegerField(null)``: tables done of total, for the admin;
    * ``db_elements_error`` -- ``TextField(blank)``: why the last run failed
      (the seed kept no error text);
    * ``db_elements_report`` -- ``JSONField(null)``: the last run's report,
      with ``catalogued_from`` (what the catalogue was harvested from);
    * ``db_elements_log_file`` -- ``CharField(max_length=500, blank)``: the
      last run's log file, so the admin can show it;
    * ``db_elements_cancel_requested`` -- ``BooleanField(default=False)``:
      set by a cancel request, read by the running task at each step.

    Every one of these is optional for the library: a model with only the
    seed's four fields works, without those features.
    """

    db_elements_heartbeat = models.DateTimeField(blank=True, null=True)
    db_elements_progress_done = models.PositiveIntegerField(blank=True, null=True)
    db_elements_progress_total = models.PositiveIntegerField(blank=True, null=True)
    db_elements_error = models.TextField(blank=True, default="")
    db_elements_report = models.JSONField(blank=True, null=True)
    db_elements_log_file = models.CharField(max_length=500, blank=True, default="")
    db_elements_cancel_requested = models.BooleanField(default=False)

    class Meta:
        abstract = True


class AbstractSqlTable(models.Model):
    """A catalogued table, with ThothAI's field names and a unique name per db.

    ``name`` is an ``IdentifierField``: case-sensitive on every backend, so
    PostgreSQL's ``"Users"`` and ``users`` are two rows even on MariaDB.

    The foreign key names ``"SqlDb"`` without an app label, so it resolves to
    the ``SqlDb`` model of the concrete subclass's own app.

    Adds ``name``, ``description``, ``generated_comment`` and ``sql_db`` (as
    ThothAI), plus ``db_comment`` (the database's own comment, kept apart from
    people's descriptions) and ``is_view``.
    """

    name = IdentifierField(max_length=255)
    description = models.TextField(blank=True)
    generated_comment = models.TextField(blank=True)
    sql_db = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlDb", on_delete=models.CASCADE, related_name="tables"
    )
    db_comment = models.TextField(blank=True, default="")
    is_view = models.BooleanField(default=False)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["sql_db", "name"],
                name="%(app_label)s_%(class)s_unique_name",
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)


class AbstractSqlColumn(models.Model):
    """A catalogued column, with ThothAI's field names and a unique name per table.

    Adds ThothAI's ``original_column_name``, ``column_name``, ``data_format``,
    ``column_description``, ``generated_comment``, ``value_description``,
    ``pk_field``, ``fk_field`` and ``sql_table``, plus what the original
    discarded: ``data_type`` (the raw type as the database reports it),
    ``is_nullable``, ``default_value``, ``db_comment`` and ``ordinal_position``.
    """

    original_column_name = IdentifierField(max_length=255)
    column_name = models.CharField(max_length=255, blank=True)
    data_format = models.CharField(
        max_length=255,
        choices=ColumnDataFormat.choices,
        default=ColumnDataFormat.VARCHAR,
    )
    column_description = models.TextField(blank=True)
    generated_comment = models.TextField(blank=True)
    value_description = models.TextField(blank=True)
    pk_field = models.TextField(blank=True)
    fk_field = models.TextField(blank=True)
    sql_table = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlTable", on_delete=models.CASCADE, related_name="columns"
    )
    data_type = models.CharField(max_length=255, blank=True, default="")
    is_nullable = models.BooleanField(default=True)
    default_value = models.TextField(blank=True, null=True)
    db_comment = models.TextField(blank=True, default="")
    ordinal_position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["sql_table", "original_column_name"],
                name="%(app_label)s_%(class)s_unique_name",
            ),
        ]

    def __str__(self) -> str:
        return str(self.original_column_name)


class AbstractRelationship(models.Model):
    """A foreign-key column pair, with ThothAI's field and related names.

    One row per column pair: a composite foreign key gives several rows. A
    pair is stored once (unique on source and target column).
    """

    source_table = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlTable", on_delete=models.CASCADE, related_name="source_tables"
    )
    target_table = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlTable", on_delete=models.CASCADE, related_name="target_tables"
    )
    source_column = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlColumn", on_delete=models.CASCADE, related_name="source_columns"
    )
    target_column = models.ForeignKey(  # type: ignore[misc]  # app-relative
        "SqlColumn", on_delete=models.CASCADE, related_name="target_columns"
    )

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["source_column", "target_column"],
                name="%(app_label)s_%(class)s_unique_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_column_id} -> {self.target_column_id}"
