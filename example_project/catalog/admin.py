"""Admin of the example host, shaped like ThothAI's ``SqlDbAdmin``."""

from __future__ import annotations

from django.contrib import admin

from .models import Relationship, SqlColumn, SqlDb, SqlTable


@admin.register(SqlDb)
class SqlDbAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "db_host",
        "db_type",
        "db_name",
        "schema",
        "db_elements_status",
    )
    search_fields = ("name", "db_name")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "db_type",
                    "db_host",
                    "db_port",
                    "db_name",
                    "schema",
                    "user_name",
                    "password",
                    "db_mode",
                )
            },
        ),
        (
            "Database Elements Task Status",
            {
                "fields": (
                    "db_elements_status",
                    "db_elements_task_id",
                    "db_elements_start_time",
                    "db_elements_end_time",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    readonly_fields = (
        "db_elements_status",
        "db_elements_task_id",
        "db_elements_start_time",
        "db_elements_end_time",
    )


@admin.register(SqlTable)
class SqlTableAdmin(admin.ModelAdmin):
    list_display = ("name", "sql_db", "description")
    list_filter = ("sql_db",)
    search_fields = ("name",)


@admin.register(SqlColumn)
class SqlColumnAdmin(admin.ModelAdmin):
    list_display = (
        "original_column_name",
        "sql_table",
        "data_format",
        "pk_field",
        "fk_field",
    )
    list_filter = ("sql_table__sql_db", "data_format")
    search_fields = ("original_column_name",)


@admin.register(Relationship)
class RelationshipAdmin(admin.ModelAdmin):
    list_display = ("source_table", "source_column", "target_table", "target_column")
