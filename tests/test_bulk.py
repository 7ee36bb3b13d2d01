"""The plain multi-row INSERT writes exactly what ``bulk_create`` would;
the one-piece fetch reads what ``values_list`` reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.db.models.functions import Upper
from django.test.utils import isolate_apps

from catalog.models import SqlColumn, SqlDb, SqlTable
from thoth_db_elements._bulk import (
    _plain_field,
    fetch_values,
    insert_values,
    supports_plain_insert,
)

pytestmark = pytest.mark.django_db


def _columns_of(table: SqlTable) -> list[dict[str, Any]]:
    return list(
        SqlColumn.objects.filter(sql_table=table)
        .order_by("original_column_name")
        .values(*[f.name for f in SqlColumn._meta.concrete_fields if f.name != "id"])
    )


def test_same_rows_as_bulk_create() -> None:
    db = SqlDb.objects.create(name="d", db_type="SQLite", db_name="x")
    ours, theirs = (SqlTable.objects.create(sql_db=db, name=n) for n in "ab")
    rows = [
        {
            "original_column_name": f"c{i:03d}",
            "column_name": f"c{i:03d}",
            "data_format": "INT",
            "pk_field": "PK" if i == 0 else "",
            "column_description": "naïve 'quoted' ; text" if i % 2 else "",
        }
        for i in range(250)
    ]
    # Small batches: several statements, the last one shorter.
    assert insert_values(
        SqlColumn, "default", [{**r, "sql_table_id": ours.pk} for r in rows], 40
    )
    SqlColumn.objects.bulk_create([SqlColumn(sql_table=theirs, **r) for r in rows])
    mine, reference = _columns_of(ours), _columns_of(theirs)
    assert len(mine) == 250
    for row in (*mine, *reference):
        row.pop("sql_table")
    assert mine == reference


def test_a_model_instance_stands_for_its_key() -> None:
    db = SqlDb.objects.create(name="d", db_type="SQLite", db_name="x")
    table = SqlTable.objects.create(sql_db=db, name="t")
    assert insert_values(
        SqlColumn, "default", [{"sql_table": table, "original_column_name": "c"}], 10
    )
    assert SqlColumn.objects.get(sql_table=table).original_column_name == "c"


def test_a_key_nobody_provides_is_left_to_django() -> None:
    assert not supports_plain_insert(Session, "default")
    assert not insert_values(Session, "default", [{"session_data": "x"}], 10)
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    ("field", "plain"),
    [
        (models.CharField(max_length=3), True),
        (models.DateTimeField(null=True), True),
        (models.DateTimeField(auto_now=True), False),
        (models.DateField(auto_now_add=True), False),
        (models.FileField(), False),
    ],
)
def test_fields_with_save_logic_are_left_to_django(
    field: models.Field[Any, Any], plain: bool
) -> None:
    assert _plain_field(field) is plain


def test_fetch_values_reads_what_values_list_reads() -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    SqlDb.objects.create(name="a", db_name="x", db_port=5432)
    SqlDb.objects.create(
        name="b",
        db_name="y",
        db_elements_cancel_requested=True,
        db_elements_start_time=started,
        db_elements_report={"tables": {"created": 3}},
    )
    query = SqlDb.objects.order_by("name").values_list(
        "pk",
        "name",
        "db_port",
        "db_elements_cancel_requested",
        "db_elements_start_time",
        "db_elements_report",
    )
    fetched = fetch_values(query)
    assert fetched == list(query)
    # Converters other than the booleans' run as Django runs them: a
    # datetime, not SQLite's text; JSON decoded.
    assert fetched[1][4] == started
    assert fetched[1][5] == {"tables": {"created": 3}}
    # A boolean keeps the database's value, equal to Django's.
    assert fetched[1][3] == True  # noqa: E712
    assert all(type(row) is tuple for row in fetched)


def test_fetch_values_of_nothing() -> None:
    assert fetch_values(SqlDb.objects.none().values_list("pk")) == []
    assert fetch_values(SqlDb.objects.filter(name="none").values_list("pk")) == []


@pytest.mark.django_db(transaction=True)
@isolate_apps("tests.testapp")
def test_a_generated_field_is_left_to_the_database() -> None:
    class Shouting(models.Model):
        name = models.CharField(max_length=20)
        loud = models.GeneratedField(
            expression=Upper("name"),
            output_field=models.CharField(max_length=20),
            db_persist=True,
        )

        class Meta:
            app_label = "testapp"

    with connection.schema_editor() as editor:
        editor.create_model(Shouting)
    try:
        assert insert_values(Shouting, "default", [{"name": "hi"}, {"name": "ho"}], 10)
        assert list(Shouting.objects.order_by("pk").values_list("loud", flat=True)) == [
            "HI",
            "HO",
        ]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Shouting)
