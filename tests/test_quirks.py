"""Quirk schemas harvested into the catalogue on real servers.

``tests/test_introspection.py`` checks the snapshots of the quirk schemas in
``tests/schemas.py`` value by value; this module checks what reaches the
catalogue models, and that a second run writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from sqlalchemy.engine import make_url

from tests import schemas
from tests.services import require_mariadb, require_postgres
from tests.testapp.models import Relationship, SqlColumn, SqlDb, SqlTable
from thoth_db_elements.harvest import create_db_elements, read_snapshot

pytestmark = pytest.mark.django_db


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


def writes(captured: CaptureQueriesContext) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE")
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith(verbs)]


def pairs(sql_db: SqlDb) -> set[tuple[str, str, str, str]]:
    return set(
        Relationship.objects.filter(source_table__sql_db=sql_db).values_list(
            "source_table__name",
            "source_column__original_column_name",
            "target_table__name",
            "target_column__original_column_name",
        )
    )


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    with schemas.pg_quirk_database() as url:
        yield url


@pytest.fixture(scope="module")
def maria_url() -> Iterator[str]:
    require_mariadb()
    with schemas.mariadb_quirk_database() as url:
        yield url


def test_sqlite_harvest_and_rerun(tmp_path: Path) -> None:
    url = schemas.create_sqlite_quirk(tmp_path / "quirks.sqlite")
    sql_db = SqlDb.objects.create(
        name="q", db_type="SQLite", db_name=make_url(url).database
    )
    report = create_db_elements(sql_db)
    assert report.tables.created == 5
    assert pairs(sql_db) == {
        ("customers", "referrer_id", "customers", "id"),
        ("order", "customer_id", "customers", "id"),
        ("group", "order region", "order", "region"),
        ("group", "order id", "order", "id"),
        ("select", "customer", "customers", "id"),
    }
    region = SqlColumn.objects.get(
        sql_table__name="group", original_column_name="order region"
    )
    assert region.fk_field == "order.region"
    with CaptureQueriesContext(connection) as captured:
        assert create_db_elements(sql_db).writes == 0
    assert writes(captured) == []


def test_postgres_harvest_and_rerun(pg_url: str) -> None:
    sql_db = row_for(pg_url, "PostgreSQL")
    report = create_db_elements(sql_db)
    assert report.tables.created == 8
    placed = SqlColumn.objects.get(
        sql_table__sql_db=sql_db, original_column_name="placed"
    )
    assert (placed.data_type, placed.data_format, placed.is_nullable) == (
        "timestamp(6) with time zone",
        "TIMESTAMP",
        False,
    )
    quantity = SqlColumn.objects.get(
        sql_table__sql_db=sql_db, original_column_name="quantity"
    )
    assert quantity.data_format == "INT"  # a domain over a domain over integer
    email = SqlColumn.objects.get(sql_table__name="users", original_column_name="email")
    assert email.db_comment == "Login address"
    users = SqlTable.objects.get(sql_db=sql_db, name="users")
    assert users.db_comment == "People who log in"
    assert SqlTable.objects.filter(sql_db=sql_db, name="Users").exists()  # beside users
    assert SqlTable.objects.get(sql_db=sql_db, name="active_users").is_view is True
    # ledger.accounts is another schema: not catalogued, so no pair for it.
    assert pairs(sql_db) == {
        ("users", "manager_id", "users", "id"),
        ("group", "order region", "order", "region"),
        ("group", "order id", "order", "id"),
    }
    with CaptureQueriesContext(connection) as captured:
        assert create_db_elements(sql_db).writes == 0
    assert writes(captured) == []


def test_postgres_other_schema_harvest(pg_url: str) -> None:
    sql_db = row_for(pg_url, "PostgreSQL")
    sql_db.schema = schemas.PG_OTHER_SCHEMA
    report = create_db_elements(sql_db)
    assert report.schema == "ledger"
    assert sorted(
        SqlTable.objects.filter(sql_db=sql_db).values_list("name", flat=True)
    ) == [
        "accounts",
        "entries",
    ]
    assert pairs(sql_db) == {("entries", "account_id", "accounts", "id")}


def test_postgres_schema_named_with_blanks() -> None:
    # The schema is the one named, blanks and all; blanks alone name none.
    require_postgres()
    ddl = (
        'CREATE SCHEMA "sales "',
        'CREATE TABLE "sales ".orders (id int)',
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.decoy (x int)",
    )
    with schemas.pg_database(ddl) as url:
        sql_db = row_for(url, "PostgreSQL")
        sql_db.schema = "sales "
        assert [t.name for t in read_snapshot(sql_db).tables] == ["orders"]
        assert create_db_elements(sql_db).schema == "sales "
        assert list(SqlTable.objects.values_list("name", flat=True)) == ["orders"]
        sql_db.schema = "  "
        assert read_snapshot(sql_db).schema == "public"


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
    assert (
        SqlTable.objects.get(sql_db=sql_db, name="customers").db_comment
        == "People who buy"
    )
    with CaptureQueriesContext(connection) as captured:
        assert create_db_elements(sql_db).writes == 0
    assert writes(captured) == []


def test_mariadb_column_names_with_a_backtick_or_a_line_break() -> None:
    # SQLAlchemy's parser of SHOW CREATE TABLE kept the backtick doubled and
    # lost the column with a line break, with the primary key and the
    # relationship that name it.
    require_mariadb()
    ddl = (
        "CREATE TABLE bt (`x``y` int COMMENT 'tick', `p\nq` int PRIMARY KEY)",
        "CREATE TABLE r (a int, FOREIGN KEY (a) REFERENCES bt (`p\nq`))",
    )
    with schemas.mariadb_database(ddl) as url:
        sql_db = row_for(url, "MariaDB")
        report = create_db_elements(sql_db)
        assert report.columns.created == 3
        columns = SqlColumn.objects.filter(sql_table__name="bt").order_by("pk")
        assert [
            (c.original_column_name, c.db_comment, c.pk_field) for c in columns
        ] == [("x`y", "tick", ""), ("p\nq", "", "PK")]
        assert pairs(sql_db) == {("r", "a", "bt", "p\nq")}
        with CaptureQueriesContext(connection) as captured:
            assert create_db_elements(sql_db).writes == 0
        assert writes(captured) == []


@pytest.mark.parametrize("method", ["fast", "inspector"])
def test_mariadb_view_of_time_functions_has_time_columns(method: str) -> None:
    # MariaDB spells such a column "time /* mariadb-5.3 */" (its old
    # temporal format); the comment made it VARCHAR.
    require_mariadb()
    from thoth_db_elements.connection import source_connection
    from thoth_db_elements.introspection import read_schema

    ddl = (
        "CREATE TABLE t (id int PRIMARY KEY, tm time)",
        "CREATE VIEW v AS SELECT tm, curtime() AS now_t, sec_to_time(id) AS st FROM t",
    )
    with schemas.mariadb_database(ddl) as url:
        with source_connection(row_for(url, "MariaDB")) as conn:
            snapshot = read_schema(conn, None, method=method)
    view = snapshot.table("v")
    assert [(c.name, c.data_format) for c in view.columns] == [
        ("tm", "TIME"),
        ("now_t", "TIME"),
        ("st", "TIME"),
    ]
