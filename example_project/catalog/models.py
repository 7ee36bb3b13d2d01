"""A catalogue shaped like ThothAI's ``thoth_core`` models.

Field names, types, choices and related names follow ThothAI, on purpose
without the unique constraints ThothAI lacks: the library must work with a
host's models unchanged. ``SqlDb`` adds the status fields through the mixin.
"""

from __future__ import annotations

from django.db import models

from thoth_db_elements.models import ColumnDataFormat, DbElementsTaskMixin


class SQLDBChoices(models.TextChoices):
    INFORMIX = "Informix", "Informix"
    MARIADB = "MariaDB", "MariaDB"
    MYSQL = "MySQL", "MySQL"
    ORACLE = "Oracle", "Oracle"
    POSTGRES = "PostgreSQL", "PostgreSQL"
    SQLSERVER = "SQLServer", "SQLServer"
    SQLITE = "SQLite", "SQLite"


class DBMODEChoices(models.TextChoices):
    DEV = "dev", "dev"
    TEST = "test", "test"
    PROD = "prod", "prod"


class SqlDb(DbElementsTaskMixin, models.Model):
    name = models.CharField(max_length=255)
    db_host = models.CharField(max_length=255, blank=True)
    db_type = models.CharField(
        max_length=255, choices=SQLDBChoices.choices, default=SQLDBChoices.POSTGRES
    )
    db_name = models.CharField(max_length=255)
    db_port = models.IntegerField(blank=True, null=True)
    schema = models.CharField(max_length=255, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    password = models.CharField(max_length=255, blank=True)
    db_mode = models.CharField(
        max_length=255, choices=DBMODEChoices.choices, default=DBMODEChoices.DEV
    )

    class Meta:
        verbose_name = "SQL database"

    def __str__(self) -> str:
        return f"{self.name} - {self.db_name}"


class SqlTable(models.Model):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    generated_comment = models.TextField(blank=True)
    sql_db = models.ForeignKey(SqlDb, on_delete=models.CASCADE, related_name="tables")

    def __str__(self) -> str:
        return self.name


class SqlColumn(models.Model):
    original_column_name = models.CharField(max_length=255)
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
    sql_table = models.ForeignKey(
        SqlTable, on_delete=models.CASCADE, related_name="columns"
    )

    def __str__(self) -> str:
        return self.original_column_name


class Relationship(models.Model):
    source_table = models.ForeignKey(
        SqlTable, on_delete=models.CASCADE, related_name="source_tables"
    )
    target_table = models.ForeignKey(
        SqlTable, on_delete=models.CASCADE, related_name="target_tables"
    )
    source_column = models.ForeignKey(
        SqlColumn, on_delete=models.CASCADE, related_name="source_columns"
    )
    target_column = models.ForeignKey(
        SqlColumn, on_delete=models.CASCADE, related_name="target_columns"
    )

    def __str__(self) -> str:
        return f"{self.source_table} -> {self.target_table}"
