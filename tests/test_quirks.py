"""Quirk schemas on real SQLite, PostgreSQL and MariaDB, read and harvested.

Expected values are written out by hand from the DDL in ``tests/quirks.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from django.db import connection
from django.test.utils import CaptureQueriesContext
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests import quirks
from tests.services import require_mariadb, require_postgres
from tests.testapp.models import Relationship, SqlColumn, SqlDb, SqlTable
from thoth_db_elements.exceptions import SchemaNotFoundError
from thoth_db_elements.harvest import create_db_elements
from thoth_db_elements.introspection import SchemaSnapshot, read_schema

Row = tuple[str, str, str, bool, int | None]


def read(url: str, schema: str | None = None, **kwargs: Any) -> SchemaSnapshot:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return read_schema(conn, schema, **kwargs)
    finally:
        engine.dispose()


def columns(snapshot: SchemaSnapshot, table: str) -> list[Row]:
    return [
        (c.name, c.raw_type, c.data_format, c.nullable, c.primary_key_position)
        for c in snapshot.table(table).columns
    ]


def fks(snapshot: SchemaSnapshot, table: str) -> list[tuple[Any, ...]]:
    return [
        (fk.columns, fk.referred_schema, fk.referred_table, fk.referred_columns)
        for fk in snapshot.table(table).foreign_keys
    ]


def row_for(url: str, db_type: str) -> SqlDb:
    parsed = make_url(url)
    return SqlDb.objects.create(
        name=db_type,
        db_type=db_type,
        db_host=parsed.host or "",
        db_port=parsed.port,
        db_name=parsed.database or "",
        user_name=parsed.username or "",
        password=parsed.password or "",
    )


# -- SQLite -------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{quirks.sqlite_quirks(tmp_path / 'quirks.sqlite')}"


def test_sqlite_quirks(sqlite_url: str) -> None:
    snap = read(sqlite_url)
    assert (snap.dialect, snap.schema, snap.failures) == ("sqlite", "main", ())
    assert [(t.name, t.is_view) for t in snap.tables] == [
        ("big_customers", True),
        ("customers", False),
        ("group", False),
        ("order", False),
        ("select", False),
    ]
    assert columns(snap, "customers") == [
        ("id", "INTEGER", "INT", False, 1),
        ("referrer_id", "INTEGER", "INT", True, None),
        ("joined", "DATETIME", "TIMESTAMP", True, None),
        ("balance", "DECIMAL(10, 2)", "DECIMAL", True, None),
        ("visits", "INTEGER(11)", "INT", True, None),
        ("flag", "TINYINT", "INT", True, None),
        ("nick", "NVARCHAR(30)", "VARCHAR", True, None),
        ("ratio", "DOUBLE", "DOUBLE", True, None),
        ("score", "REAL", "DOUBLE", True, None),
        ("anything", "", "VARCHAR", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "INTEGER", "INT", False, 1),
        ("region", "CHAR(2)", "CHAR", False, 2),
        ("customer_id", "INTEGER", "INT", True, None),
    ]
    assert columns(snap, "select") == [
        ("a b", "TEXT", "VARCHAR", True, None),
        ("MixedCase", "BOOLEAN", "BOOLEAN", True, None),
        ('naïve "q" col', "DATE", "DATE", True, None),
    ]
    # SQLite's foreign keys have no names; the original lost them entirely.
    assert fks(snap, "customers") == [(("referrer_id",), None, "customers", ("id",))]
    assert fks(snap, "group") == [
        (("order id", "order region"), None, "order", ("id", "region")),
    ]
    assert snap.table("group").foreign_keys[0].name is None
    assert read(sqlite_url, include_views=False).table("customers")
    assert "big_customers" not in [
        t.name for t in read(sqlite_url, include_views=False).tables
    ]


def test_sqlite_unknown_schema(sqlite_url: str) -> None:
    with pytest.raises(SchemaNotFoundError, match="Schema 'nope' does not exist"):
        read(sqlite_url, "nope")


def test_sqlite_broken_view_is_reported_and_the_rest_harvested(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE gone (id INTEGER)")
        conn.exec_driver_sql("CREATE VIEW dangling AS SELECT id FROM gone")
        conn.exec_driver_sql("PRAGMA legacy_alter_table = ON")
        conn.exec_driver_sql("DROP TABLE gone")
    engine.dispose()
    snap = read(f"sqlite:///{path}")
    assert [t.name for t in snap.tables] == ["kept"]
    assert [f.name for f in snap.failures] == ["dangling"]
    assert "gone" in snap.failures[0].error
    assert snap.complete is False


# -- PostgreSQL ---------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    name, url = quirks.fresh_pg_database()
    try:
        quirks.run_script(url, quirks.PG_QUIRKS)
        yield url
    finally:
        quirks.drop_pg_database(name)


def test_postgres_quirks(pg_url: str) -> None:
    snap = read(pg_url)
    assert (snap.dialect, snap.schema, snap.failures) == ("postgresql", "public", ())
    assert [(t.name, t.is_view) for t in snap.tables] == [
        ("Users", False),
        ("active_users", True),
        ("group", False),
        (quirks.LONG_PG, False),
        ("measurements", False),
        ('naïve "quoted" table', False),
        ("order", False),
        ("users", False),
    ]
    assert columns(snap, "Users") == [
        ("id", "integer", "INT", False, 1),
        ("Full Name", "character varying(100)", "VARCHAR", False, None),
    ]
    assert columns(snap, "users") == [
        ("id", "bigint", "INT", False, 1),
        ("manager_id", "bigint", "INT", True, None),
        ("email", "text", "VARCHAR", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "integer", "INT", False, 1),
        ("region", "character(2)", "CHAR", False, 2),
        ("select", "positive_int", "INT", True, None),
        ("total", "numeric(10,2)", "DECIMAL", True, None),
        ("placed", "timestamp(6) with time zone", "TIMESTAMP", True, None),
        ("location", "point", "VARCHAR", True, None),
        ("doc", "xml", "VARCHAR", True, None),
        ("feeling", "mood", "ENUM", True, None),
        ("tags", "text[]", "VARCHAR", True, None),
        ("archive_id", "integer", "INT", True, None),
    ]
    assert columns(snap, quirks.LONG_PG) == [
        ("id", "integer", "INT", False, 1),
        ("Weight", "real", "FLOAT", True, None),
        ("seen", "time without time zone", "TIME", True, None),
    ]
    assert columns(snap, 'naïve "quoted" table') == [
        ("ünïcode", "character varying(10)", "VARCHAR", True, None),
        ("it's", "boolean", "BOOLEAN", True, None),
    ]
    # The partitioned parent is catalogued, its partitions are not.
    assert columns(snap, "measurements") == [
        ("id", "integer", "INT", True, None),
        ("taken", "date", "DATE", False, None),
        ("value", "double precision", "DOUBLE", True, None),
    ]
    assert fks(snap, "users") == [(("manager_id",), None, "users", ("id",))]
    assert fks(snap, "group") == [
        (("order id", "order region"), None, "order", ("id", "region")),
    ]
    assert fks(snap, "order") == [(("archive_id",), "other", "archive", ("id",))]
    assert snap.table("users").comment == "People who log in"
    assert snap.table("users").columns[2].comment == "Login address"
    assert [u.columns for u in snap.table("users").unique_constraints] == [("email",)]


def test_postgres_other_schema_sees_public_targets(pg_url: str) -> None:
    snap = read(pg_url, "other")
    assert [t.name for t in snap.tables] == ["archive", "audit"]
    assert fks(snap, "audit") == [(("user_id",), "public", "users", ("id",))]
    with pytest.raises(SchemaNotFoundError):
        read(pg_url, "missing")


@pytest.mark.django_db
def test_postgres_harvest_and_rerun(pg_url: str) -> None:
    sql_db = row_for(pg_url, "PostgreSQL")
    report = create_db_elements(sql_db)
    assert report.tables.created == 8
    placed = SqlColumn.objects.get(
        sql_table__sql_db=sql_db, original_column_name="placed"
    )
    assert (placed.data_type, placed.data_format) == (
        "timestamp(6) with time zone",
        "TIMESTAMP",
    )
    email = SqlColumn.objects.get(sql_table__name="users", original_column_name="email")
    assert email.db_comment == "Login address"
    assert (
        SqlTable.objects.get(sql_db=sql_db, name="users").db_comment
        == "People who log in"
    )
    assert SqlTable.objects.get(sql_db=sql_db, name="active_users").is_view is True
    pairs = set(
        Relationship.objects.filter(source_table__sql_db=sql_db).values_list(
            "source_column__original_column_name", "target_column__original_column_name"
        )
    )
    # Cross-schema targets are not catalogued, so only in-schema pairs.
    assert pairs == {
        ("manager_id", "id"),
        ("order id", "id"),
        ("order region", "region"),
    }
    with CaptureQueriesContext(connection) as captured:
        again = create_db_elements(sql_db)
    assert again.writes == 0
    assert [
        q
        for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ] == []


# -- MariaDB ------------------------------------------------------------------
@pytest.fixture(scope="module")
def maria_url() -> Iterator[str]:
    require_mariadb()
    name, url = quirks.fresh_mariadb_database()
    try:
        quirks.run_script(url, quirks.MARIADB_QUIRKS)
        yield url
    finally:
        quirks.drop_mariadb_database(name)


def test_mariadb_quirks(maria_url: str) -> None:
    snap = read(maria_url)
    assert (snap.dialect, snap.schema, snap.failures) == (
        "mariadb",
        make_url(maria_url).database,
        (),
    )
    assert [(t.name, t.is_view) for t in snap.tables] == [
        ("active_customers", True),
        ("customers", False),
        ("group", False),
        (quirks.LONG_MARIADB, False),
        ('naïve "quoted" table', False),
        ("order", False),
        ("select", False),
    ]
    assert columns(snap, "customers") == [
        ("id", "int(11)", "INT", False, 1),
        ("active", "tinyint(1)", "BOOLEAN", False, None),
        ("level", "mediumint(9)", "INT", True, None),
        ("score", "double", "DOUBLE", True, None),
        ("balance", "decimal(10,2)", "DECIMAL", True, None),
        ("created", "datetime", "TIMESTAMP", True, None),
        ("bio", "text", "VARCHAR", True, None),
        ("kind", "enum('a','b')", "ENUM", True, None),
        ("tags", "set('x','y')", "VARCHAR", True, None),
        ("email", "varchar(200)", "VARCHAR", True, None),
        ("email_lower", "varchar(200)", "VARCHAR", True, None),
        ("referrer_id", "int(11)", "INT", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "int(11)", "INT", False, 1),
        ("region", "char(2)", "CHAR", False, 2),
        ("customer_id", "int(11)", "INT", True, None),
    ]
    assert columns(snap, "select") == [
        ("a b", "tinyint(4)", "INT", True, None),
        ("MixedCase", "float", "FLOAT", True, None),
        ("Real", "double", "DOUBLE", True, None),
    ]
    assert columns(snap, quirks.LONG_MARIADB) == [
        ("id", "bigint(20) unsigned", "INT", False, 1),
        ("d", "date", "DATE", True, None),
        ("t", "time", "TIME", True, None),
        ("y", "year(4)", "INT", True, None),
    ]
    assert columns(snap, 'naïve "quoted" table') == [
        ("ünïcode", "varchar(10)", "VARCHAR", True, None),
        ("it's", "bit(1)", "BOOLEAN", True, None),
    ]
    assert fks(snap, "customers") == [(("referrer_id",), None, "customers", ("id",))]
    assert fks(snap, "group") == [
        (("order id", "order region"), None, "order", ("id", "region")),
    ]
    assert snap.table("customers").comment == "People who buy"
    assert snap.table("customers").columns[9].comment == "Login address"
    assert [u.columns for u in snap.table("customers").unique_constraints] == [
        ("email",)
    ]


@pytest.mark.django_db
def test_mariadb_harvest_and_rerun(maria_url: str) -> None:
    sql_db = row_for(maria_url, "MariaDB")
    report = create_db_elements(sql_db)
    assert report.tables.created == 7
    active = SqlColumn.objects.get(
        sql_table__sql_db=sql_db, original_column_name="active"
    )
    assert (active.data_type, active.data_format, active.is_nullable) == (
        "tinyint(1)",
        "BOOLEAN",
        False,
    )
    referrer = SqlColumn.objects.get(
        sql_table__name="customers", original_column_name="referrer_id"
    )
    assert referrer.fk_field == "customers.id"
    with CaptureQueriesContext(connection) as captured:
        again = create_db_elements(sql_db)
    assert again.writes == 0
    assert [
        q
        for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ] == []
