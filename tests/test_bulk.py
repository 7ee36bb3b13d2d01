"""The plain multi-row INSERT writes exactly what ``bulk_create`` would;
the one-piece fetch reads what ``values_list`` reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import DataError, connection, models
from django.db.models.functions import Upper
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext, isolate_apps

from catalog.models import Relationship, SqlColumn, SqlDb, SqlTable
from thoth_db_elements import _bulk
from thoth_db_elements._bulk import (
    _plain_field,
    delete_keys,
    deletes_by_key,
    fetch_values,
    insert_values,
    supports_plain_insert,
    supports_plain_update,
    update_values,
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
        # Its value goes into SQL of the field's own (MySQL's _binary %s).
        (models.BinaryField(), False),
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


#: Fields of the SqlDb model of every kind the update is asked to write.
_UPDATED = [
    "db_name",
    "db_port",
    "db_elements_cancel_requested",
    "db_elements_start_time",
    "db_elements_report",
    "db_elements_error",
]


def _new_values(number: int) -> tuple[Any, ...]:
    """Values of ``_UPDATED``, some of them NULL, texts with quotes, a
    percent sign, a backslash and characters beyond ASCII."""
    odd = number % 2
    return (
        f"naïve 'db' %s \\ {number}",
        None if odd else 5400 + number,
        bool(odd),
        None if odd else datetime(2026, 1, 2, 3, 4, number % 60, tzinfo=UTC),
        {"tables": {"created": number}, "text": "100% 'done'"} if odd else None,
        "" if odd else f"error\nline {number}",
    )


def _stored(names: list[str]) -> list[tuple[Any, ...]]:
    return list(
        SqlDb.objects.filter(name__in=names).order_by("name").values_list(*_UPDATED)
    )


def test_update_values_writes_what_bulk_update_writes() -> None:
    ours = [SqlDb.objects.create(name=f"a{i:03d}", db_name="x") for i in range(120)]
    theirs = [SqlDb.objects.create(name=f"b{i:03d}", db_name="x") for i in range(120)]
    rows = [(db.pk, *_new_values(i)) for i, db in enumerate(ours)]
    # Small batches: several statements, the last one shorter.
    assert update_values(SqlDb, "default", _UPDATED, rows, 50) == 120
    for number, db in enumerate(theirs):
        for name, value in zip(_UPDATED, _new_values(number), strict=True):
            setattr(db, name, value)
    SqlDb.objects.bulk_update(theirs, _UPDATED)
    written = _stored([db.name for db in ours])
    assert written == _stored([db.name for db in theirs])
    assert written[1][4] == {"tables": {"created": 1}, "text": "100% 'done'"}
    assert written[2][3] == datetime(2026, 1, 2, 3, 4, 2, tzinfo=UTC)


def test_update_values_writes_only_the_rows_named() -> None:
    kept = SqlDb.objects.create(name="kept", db_name="x")
    changed = SqlDb.objects.create(name="changed", db_name="x")
    assert update_values(SqlDb, "default", ["db_name"], [(changed.pk, "y")], 10) == 1
    assert SqlDb.objects.get(pk=kept.pk).db_name == "x"
    assert SqlDb.objects.get(pk=changed.pk).db_name == "y"
    # A key no row has is no row written.
    assert (
        update_values(SqlDb, "default", ["db_name"], [(changed.pk + 99, "z")], 10) == 0
    )
    assert update_values(SqlDb, "default", ["db_name"], [], 10) == 0


def test_update_values_only_where_empty() -> None:
    empty = SqlDb.objects.create(name="empty", db_name="x")
    full = SqlDb.objects.create(name="full", db_name="x", db_elements_error="mine")
    written = update_values(
        SqlDb,
        "default",
        ["db_elements_error"],
        [(empty.pk, "filled"), (full.pk, "filled")],
        10,
        only_empty="db_elements_error",
    )
    assert written == 1
    assert SqlDb.objects.get(pk=empty.pk).db_elements_error == "filled"
    assert SqlDb.objects.get(pk=full.pk).db_elements_error == "mine"


def test_update_values_cuts_batches_by_their_text() -> None:
    dbs = [SqlDb.objects.create(name=f"t{i}", db_name="x") for i in range(5)]
    rows = [(db.pk, "e" * 40) for db in dbs]
    with CaptureQueriesContext(connection) as queries:
        assert (
            update_values(SqlDb, "default", ["db_elements_error"], rows, 10, 100) == 5
        )
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3  # two rows, two rows, one row
    assert set(SqlDb.objects.values_list("db_elements_error", flat=True)) == {"e" * 40}


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite keeps text of any length"
)
def test_update_values_refuses_a_value_too_long_as_django_does() -> None:
    db = SqlDb.objects.create(name="long", db_name="x")
    with pytest.raises(DataError):
        update_values(SqlDb, "default", ["db_name"], [(db.pk, "x" * 300)], 10)


def test_what_update_values_leaves_to_django() -> None:
    assert supports_plain_update(SqlDb, ["db_name", "db_port"], "default")
    # The key itself, and no field at all.
    assert not supports_plain_update(SqlDb, ["id"], "default")
    assert not supports_plain_update(SqlDb, [], "default")
    db = SqlDb.objects.create(name="k", db_name="x")
    assert update_values(SqlDb, "default", ["id"], [(db.pk, db.pk + 1)], 10) is None
    assert SqlDb.objects.filter(pk=db.pk).exists()


@isolate_apps("tests.testapp")
def test_a_field_with_a_placeholder_is_left_to_django() -> None:
    class Marked(models.Model):
        name = models.CharField(max_length=20)
        data = models.BinaryField()

        class Meta:
            app_label = "testapp"

    assert supports_plain_update(Marked, ["name"], "default")
    assert not supports_plain_update(Marked, ["name", "data"], "default")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite release")
def test_an_sqlite_without_update_from_is_left_to_django(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_bulk, "_SQLITE_UPDATE_FROM", (99, 0, 0))
    db = SqlDb.objects.create(name="old", db_name="x")
    assert not supports_plain_update(SqlDb, ["db_name"], "default")
    assert update_values(SqlDb, "default", ["db_name"], [(db.pk, "y")], 10) is None
    assert SqlDb.objects.get(pk=db.pk).db_name == "x"


def _catalogued(name: str) -> SqlDb:
    """A database with two tables, a key from one to the other."""
    db = SqlDb.objects.create(name=name, db_name="x")
    parent, child = (SqlTable.objects.create(sql_db=db, name=n) for n in ("p", "c"))
    target = SqlColumn.objects.create(sql_table=parent, original_column_name="id")
    source = SqlColumn.objects.create(sql_table=child, original_column_name="p_id")
    Relationship.objects.create(
        source_table=child,
        target_table=parent,
        source_column=source,
        target_column=target,
    )
    return db


def test_delete_keys_deletes_what_refers_to_the_rows_too() -> None:
    family = (SqlTable, SqlColumn, Relationship)
    assert deletes_by_key(family)
    doomed, kept = _catalogued("doomed"), _catalogued("kept")
    parent = SqlTable.objects.get(sql_db=doomed, name="p")
    delete_keys(SqlTable, "default", [parent.pk, parent.pk])
    # The table, its column and the key to it; the other table stays.
    assert list(
        SqlTable.objects.filter(sql_db=doomed).values_list("name", flat=True)
    ) == ["c"]
    assert SqlColumn.objects.filter(sql_table__sql_db=doomed).count() == 1
    assert not Relationship.objects.filter(source_table__sql_db=doomed).exists()
    # Nothing of another database.
    assert SqlColumn.objects.filter(sql_table__sql_db=kept).count() == 2
    assert Relationship.objects.filter(source_table__sql_db=kept).count() == 1
    delete_keys(SqlTable, "default", [])


def test_what_delete_keys_leaves_to_djangos_collector() -> None:
    family = (SqlTable, SqlColumn, Relationship)
    # A model refers to the column, and is no part of the family.
    assert not deletes_by_key((SqlTable, SqlColumn))

    def receiver(**kwargs: Any) -> None:
        pass

    post_delete.connect(receiver, sender=SqlColumn)
    try:
        assert not deletes_by_key(family)
    finally:
        post_delete.disconnect(receiver, sender=SqlColumn)
    assert deletes_by_key(family)


def test_delete_keys_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # MySQL/MariaDB join at most so many keys a statement.
    monkeypatch.setattr(_bulk, "_MYSQL_KEYS_A_DELETE", 1)
    doomed, kept = _catalogued("doomed"), _catalogued("kept")
    tables = list(SqlTable.objects.filter(sql_db=doomed).values_list("pk", flat=True))
    delete_keys(SqlTable, "default", tables)
    assert not SqlColumn.objects.filter(sql_table__sql_db=doomed).exists()
    assert SqlColumn.objects.filter(sql_table__sql_db=kept).count() == 2


@pytest.fixture
def bound_alias() -> Any:
    """A second connection to Django's PostgreSQL test database with
    psycopg's server-side binding, where the server counts a statement's
    parameters (65,535 at most)."""
    from django.db import connections

    name = "server_side_bound"
    default = connections["default"]
    settings = {
        **default.settings_dict,
        "OPTIONS": {**default.settings_dict["OPTIONS"], "server_side_binding": True},
    }
    bound = type(default)(settings, alias=name)
    connections[name] = bound
    try:
        yield name
    finally:
        bound.close()
        del connections[name]


@pytest.mark.skipif(
    connection.vendor != "postgresql"
    or not getattr(connection.features, "is_psycopg3", True),
    reason="psycopg's server-side binding on PostgreSQL",
)
def test_server_side_binding_limit(bound_alias: str) -> None:
    from django.db import connections

    from thoth_db_elements._bulk import in_lists, parameter_limit

    assert parameter_limit(connections[bound_alias]) == 65_535
    keys = list(range(1, 70_001))
    chunks = list(in_lists(keys, bound_alias))
    assert [len(c) for c in chunks] == [65_519, 4_481]
    # Real statements: the key lookups of the rows referring to columns,
    # then the deletion (no such rows: nothing is deleted).
    delete_keys(SqlColumn, bound_alias, keys)
    rows = [(k, f"c{k}") for k in keys]
    assert update_values(SqlColumn, bound_alias, ["column_name"], rows, 50_000) == 0
