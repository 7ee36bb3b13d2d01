"""Admin of the example host, shaped like ThothAI's ``SqlDbAdmin``.

The host keeps its own ``actions`` (callables and strings), ``list_display``
and ``fieldsets``; ``DbElementsAdminMixin`` adds its action, status badge,
fieldset additions and log viewer on top.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.http import HttpResponse

from thoth_db_elements.admin import DbElementsAdminMixin
from thoth_db_elements.connection import source_connection

from .models import Relationship, SqlColumn, SqlDb, SqlTable


@admin.action(description="Export selected databases to CSV")
def export_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="sqldb.csv"'
    writer = csv.writer(response)
    writer.writerow(["name", "db_type", "db_host", "db_name"])
    for row in queryset:
        writer.writerow([row.name, row.db_type, row.db_host, row.db_name])
    return response


@admin.register(SqlDb)
class SqlDbAdmin(DbElementsAdminMixin, admin.ModelAdmin):
    actions = (export_csv, "test_connection")
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
                "description": "Status for database elements creation tasks.",
            },
        ),
    )

    @admin.action(description="Test the connection")
    def test_connection(self, request, queryset):
        for sql_db in queryset:
            try:
                with source_connection(sql_db):
                    pass
            except Exception as exc:
                messages.error(request, f"{sql_db.name}: {exc}")
            else:
                messages.success(request, f"{sql_db.name}: connection OK")


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
