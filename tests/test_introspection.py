"""``read_schema`` against the quirk schemas on real SQLite, PostgreSQL, MariaDB.

Every expected value is written out by hand from the DDL in
``tests/schemas.py``, never computed by the code under test.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGInspector
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests import schemas
from tests.schemas import (
    LONG_MARIADB_COLUMN,
    LONG_MARIADB_TABLE,
    LONG_PG_COLUMN,
    LONG_PG_TABLE,
)
from tests.services import require_mariadb, require_postgres
from thoth_db_elements.exceptions import IntrospectionError, SchemaNotFoundError
from thoth_db_elements.introspection import (
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    UniqueConstraintSnapshot,
    read_schema,
)

pytestmark = pytest.mark.source_only

#: (name, raw_type, data_format, nullable, primary_key_position)
Column = tuple[str, str, str, bool, int | None]
#: (name, columns, referred_schema, referred_table, referred_columns)
Key = tuple[str | None, tuple[str, ...], str | None, str, tuple[str, ...]]


def read(
    url: str,
    schema: str | None = None,
    *,
    engine_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> SchemaSnapshot:
    engine = sa.create_engine(url, poolclass=NullPool, **(engine_options or {}))
    try:
        with engine.connect() as connection:
            return read_schema(connection, schema, **kwargs)
    finally:
        engine.dispose()


def tables(snapshot: SchemaSnapshot) -> list[tuple[str, bool]]:
    return [(t.name, t.is_view) for t in snapshot.tables]


def columns(snapshot: SchemaSnapshot, table: str) -> list[Column]:
    return [
        (c.name, c.raw_type, c.data_format, c.nullable, c.primary_key_position)
        for c in snapshot.table(table).columns
    ]


def keys(snapshot: SchemaSnapshot, table: str) -> list[Key]:
    return [
        (
            fk.name,
            fk.columns,
            fk.referred_schema,
            fk.referred_table,
            fk.referred_columns,
        )
        for fk in snapshot.table(table).foreign_keys
    ]


def uniques(snapshot: SchemaSnapshot, table: str) -> list[tuple[str | None, ...]]:
    return [(u.name, *u.columns) for u in snapshot.table(table).unique_constraints]


def comments(snapshot: SchemaSnapshot, table: str) -> dict[str, str]:
    return {c.name: c.comment for c in snapshot.table(table).columns if c.comment}


def assert_ordinals(snapshot: SchemaSnapshot) -> None:
    for table in snapshot.tables:
        positions = [c.ordinal_position for c in table.columns]
        assert positions == list(range(1, len(positions) + 1)), table.name


def assert_json(snapshot: SchemaSnapshot) -> None:
    data = json.loads(json.dumps(snapshot.to_dict()))
    assert data["dialect"] == snapshot.dialect
    assert [t["name"] for t in data["tables"]] == [t.name for t in snapshot.tables]


# -- SQLite -----------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return schemas.create_sqlite_quirk(tmp_path / "quirk.sqlite")


def test_sqlite_quirk_schema(sqlite_url: str) -> None:
    snap = read(sqlite_url)
    assert (snap.dialect, snap.schema, snap.failures) == ("sqlite", "main", ())
    assert tables(snap) == [
        ("big_customers", True),
        ("customers", False),
        ("group", False),
        ("order", False),
        ("select", False),
    ]
    assert columns(snap, "customers") == [
        ("id", "INTEGER", "INT", False, 1),
        ("referrer_id", "INTEGER", "INT", True, None),
        ("joined", "DATETIME", "TIMESTAMP", False, None),
        ("balance", "DECIMAL(10, 2)", "DECIMAL", True, None),
        ("visits", "INTEGER(11)", "INT", True, None),
        ("flag", "TINYINT", "INT", True, None),
        ("nick", "NVARCHAR(30)", "VARCHAR", True, None),
        ("ratio", "DOUBLE", "DOUBLE", True, None),
        ("score", "REAL", "DOUBLE", True, None),
        ("born", "DATE", "DATE", True, None),
        ("wakes", "TIME", "TIME", True, None),
        ("active", "BOOLEAN", "BOOLEAN", True, None),
        ("code", "CHAR(3)", "CHAR", True, None),
        ("photo", "BLOB", "VARCHAR", True, None),
        ("odd", "FLOATING POINT", "INT", True, None),
        ("anything", "", "VARCHAR", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "INTEGER", "INT", False, 2),
        ("region", "CHAR(2)", "CHAR", False, 1),
        ("customer_id", "INTEGER", "INT", True, None),
    ]
    assert columns(snap, "group") == [
        ("order region", "CHAR(2)", "CHAR", True, None),
        ("order id", "INTEGER", "INT", True, None),
    ]
    assert columns(snap, "select") == [
        ("a b", "TEXT", "VARCHAR", True, None),
        ("MixedCase", "BOOLEAN", "BOOLEAN", True, None),
        ("naïve \"q\" 'col'", "DATE", "DATE", True, None),
        ("customer", "INTEGER", "INT", True, None),
    ]
    assert columns(snap, "big_customers") == [
        ("id", "INTEGER", "INT", True, None),
        ("balance", "DECIMAL(10, 2)", "DECIMAL", True, None),
    ]
    # SQLite's keys are unnamed unless declared with a table-level
    # CONSTRAINT clause (SQLAlchemy does not parse a column-level one).
    assert keys(snap, "customers") == [
        (None, ("referrer_id",), None, "customers", ("id",))
    ]
    assert keys(snap, "order") == [
        ("order_customer", ("customer_id",), None, "customers", ("id",))
    ]
    assert keys(snap, "group") == [
        (None, ("order region", "order id"), None, "order", ("region", "id"))
    ]
    assert keys(snap, "select") == [(None, ("customer",), None, "customers", ("id",))]
    # ``nick NVARCHAR(30) UNIQUE``: SQLAlchemy's parser misses it, SQLite's
    # index list does not.
    assert uniques(snap, "customers") == [(None, "nick")]
    assert [t.comment for t in snap.tables] == [None] * 5
    joined, balance = snap.table("customers").columns[2:4]
    assert (joined.default, balance.default) == ("CURRENT_TIMESTAMP", "0")
    assert snap.table("order").primary_key == ("region", "id")
    assert_ordinals(snap)
    assert_json(snap)


def test_sqlite_without_views_and_empty_schema_name(sqlite_url: str) -> None:
    snap = read(sqlite_url, "", include_views=False)
    assert snap.schema == "main"
    assert tables(snap) == [
        ("customers", False),
        ("group", False),
        ("order", False),
        ("select", False),
    ]


def test_sqlite_unknown_schema(sqlite_url: str) -> None:
    with pytest.raises(
        SchemaNotFoundError, match=r"^Schema 'nope' does not exist in this database$"
    ):
        read(sqlite_url, "nope")


def test_sqlite_attached_schema_with_awkward_name(
    sqlite_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as raw, raw:
        raw.execute('CREATE TABLE "to do" (id INTEGER PRIMARY KEY, due DATE)')
    engine = sa.create_engine(sqlite_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                'ATTACH DATABASE ? AS "my ""aux"""', (str(other),)
            )
            snap = read_schema(connection, 'my "aux"')
    finally:
        engine.dispose()
    assert (snap.schema, tables(snap)) == ('my "aux"', [("to do", False)])
    assert columns(snap, "to do") == [
        ("id", "INTEGER", "INT", False, 1),
        ("due", "DATE", "DATE", True, None),
    ]


def _broken_sqlite(path: Path) -> str:
    """A database whose view ``dangling`` selects from a dropped table."""
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("CREATE TABLE gone (id INTEGER)")
        connection.execute("CREATE VIEW dangling AS SELECT id FROM gone")
        connection.execute("CREATE VIEW fine AS SELECT name FROM kept")
        connection.execute("PRAGMA legacy_alter_table = ON")
        connection.execute("DROP TABLE gone")
    return f"sqlite:///{path}"


def test_sqlite_broken_view_is_a_failure_and_the_rest_is_read(tmp_path: Path) -> None:
    url = _broken_sqlite(tmp_path / "broken.sqlite")
    snap = read(url)
    assert tables(snap) == [("fine", True), ("kept", False)]
    assert snap.failures == (
        TableFailure("dangling", "OperationalError: no such table: main.gone"),
    )
    assert snap.complete is False
    assert columns(snap, "kept") == [
        ("id", "INTEGER", "INT", False, 1),
        ("name", "TEXT", "VARCHAR", True, None),
    ]
    assert columns(snap, "fine") == [("name", "TEXT", "VARCHAR", True, None)]
    assert_json(snap)
    without_views = read(url, include_views=False)
    assert (tables(without_views), without_views.failures) == ([("kept", False)], ())


# -- PostgreSQL ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    with schemas.pg_quirk_database() as url:
        yield url


PG_PUBLIC_TABLES = [
    ("Users", False),
    ("active_users", True),
    ("group", False),
    (LONG_PG_TABLE, False),
    ("measurements", False),
    ("naïve \"quoted\" 'table'", False),
    ("order", False),
    ("users", False),
]


def test_postgres_quirk_schema(pg_url: str) -> None:
    snap = read(pg_url)
    assert (snap.dialect, snap.schema, snap.failures) == ("postgresql", "public", ())
    # The partitioned table is there, its partitions are not.
    assert tables(snap) == PG_PUBLIC_TABLES
    assert columns(snap, "Users") == [
        ("id", "integer", "INT", False, 1),
        ("Full Name", "character varying(100)", "VARCHAR", False, None),
    ]
    assert columns(snap, "users") == [
        ("id", "bigint", "INT", False, 1),
        ("manager_id", "bigint", "INT", True, None),
        ("email", "text", "VARCHAR", False, None),
        ("account_id", "integer", "INT", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "integer", "INT", False, 2),
        ("region", "character(2)", "CHAR", False, 1),
        ("select", "positive_int", "INT", True, None),
        ("quantity", "small_positive", "INT", True, None),
        ("total", "numeric(10,2)", "DECIMAL", True, None),
        ("unit_price", "price", "DECIMAL", True, None),
        ("placed", "timestamp(6) with time zone", "TIMESTAMP", False, None),
        ("location", "point", "VARCHAR", True, None),
        ("doc", "xml", "VARCHAR", True, None),
        ("feeling", "mood", "ENUM", True, None),
        ("second_feeling", "mood_domain", "ENUM", True, None),
        ("tags", "text[]", "VARCHAR", True, None),
        ("scores", "integer[]", "VARCHAR", True, None),
        ("starts", "time with time zone", "TIME", True, None),
        ("is paid", "boolean", "BOOLEAN", True, None),
        ("ratio", "real", "FLOAT", True, None),
        ("amount", "double precision", "DOUBLE", True, None),
        ("span", "interval", "VARCHAR", True, None),
        ("token", "uuid", "VARCHAR", True, None),
    ]
    assert columns(snap, "group") == [
        ("order region", "character(2)", "CHAR", True, None),
        ("order id", "integer", "INT", True, None),
        ("note", "text", "VARCHAR", True, None),
    ]
    assert columns(snap, "naïve \"quoted\" 'table'") == [
        ("ünïcode", "character varying(10)", "VARCHAR", True, None),
        ("it's", "boolean", "BOOLEAN", True, None),
        ('say "hi"', "text", "VARCHAR", True, None),
    ]
    assert columns(snap, LONG_PG_TABLE) == [
        (LONG_PG_COLUMN, "integer", "INT", False, 1)
    ]
    assert columns(snap, "measurements") == [
        ("id", "integer", "INT", True, None),
        ("taken", "date", "DATE", False, None),
        ("value", "double precision", "DOUBLE", True, None),
    ]
    assert columns(snap, "active_users") == [
        ("id", "bigint", "INT", True, None),
        ("email", "text", "VARCHAR", True, None),
    ]
    assert keys(snap, "users") == [
        ("users_account", ("account_id",), "ledger", "accounts", ("id",)),
        ("users_manager_id_fkey", ("manager_id",), None, "users", ("id",)),
    ]
    assert keys(snap, "group") == [
        ("group_order", ("order region", "order id"), None, "order", ("region", "id"))
    ]
    assert keys(snap, "order") == []
    assert uniques(snap, "users") == [("users_email_key", "email")]
    assert snap.table("users").comment == "People who log in"
    assert snap.table("active_users").comment == "Users who can log in"
    assert snap.table("order").comment is None
    # ``COMMENT ... IS ''`` removes a comment.
    assert comments(snap, "users") == {"email": "Login address"}
    assert comments(snap, LONG_PG_TABLE) == {LONG_PG_COLUMN: "Longest name allowed"}
    total, placed = snap.table("order").columns[4], snap.table("order").columns[6]
    assert (total.default, placed.default) == ("0", "now()")
    assert_ordinals(snap)
    assert_json(snap)


def test_postgres_other_schemas_name_their_targets(pg_url: str) -> None:
    ledger = read(pg_url, schemas.PG_OTHER_SCHEMA)
    assert (ledger.schema, tables(ledger)) == (
        "ledger",
        [("accounts", False), ("entries", False)],
    )
    assert columns(ledger, "accounts") == [
        ("id", "integer", "INT", False, 1),
        ("code", "character(4)", "CHAR", True, None),
    ]
    assert uniques(ledger, "accounts") == [("accounts_code_key", "code")]
    # A target in public is named; a target in ledger itself is not.
    assert keys(ledger, "entries") == [
        ("entries_account", ("account_id",), None, "accounts", ("id",)),
        ("entries_user", ("user_id",), "public", "users", ("id",)),
    ]
    audit = read(pg_url, schemas.PG_AUDIT_SCHEMA)
    assert (audit.schema, tables(audit)) == ('Audit "Trail"', [("events", False)])
    assert keys(audit, "events") == [
        ("events_entry", ("entry_id",), "ledger", "entries", ("id",)),
        ("events_user", ("user_id",), "public", "users", ("id",)),
    ]


def test_postgres_search_path_does_not_confuse_targets(pg_url: str) -> None:
    # With ledger first on the search path, ledger is the default schema and
    # public targets are "visible" to pg_get_constraintdef.
    options = {"connect_args": {"options": "-c search_path=ledger,public"}}
    default = read(pg_url, engine_options=options)
    assert (default.schema, tables(default)) == (
        "ledger",
        [("accounts", False), ("entries", False)],
    )
    assert keys(default, "entries") == [
        ("entries_account", ("account_id",), None, "accounts", ("id",)),
        ("entries_user", ("user_id",), "public", "users", ("id",)),
    ]
    public = read(pg_url, "public", engine_options=options)
    assert tables(public) == PG_PUBLIC_TABLES
    assert keys(public, "users") == [
        ("users_account", ("account_id",), "ledger", "accounts", ("id",)),
        ("users_manager_id_fkey", ("manager_id",), None, "users", ("id",)),
    ]


def test_postgres_without_views(pg_url: str) -> None:
    snap = read(pg_url, "public", include_views=False)
    assert ("active_users", True) not in tables(snap)
    assert [name for name, _view in tables(snap)] == [
        "Users",
        "group",
        LONG_PG_TABLE,
        "measurements",
        "naïve \"quoted\" 'table'",
        "order",
        "users",
    ]


def test_postgres_unknown_schema(pg_url: str) -> None:
    with pytest.raises(
        SchemaNotFoundError, match=r"^Schema 'Ledger' does not exist in this database$"
    ):
        read(pg_url, "Ledger")  # names are case-sensitive


def test_postgres_autocommit_reads_the_same(pg_url: str) -> None:
    autocommit = read(pg_url, engine_options={"isolation_level": "AUTOCOMMIT"})
    assert autocommit == read(pg_url)


@pytest.fixture(scope="module")
def pg_plain_url() -> Iterator[str]:
    """A fresh database of plain tables (no types SQLAlchemy warns about)."""
    require_postgres()
    ddl = [
        "CREATE SCHEMA small",
        "CREATE SCHEMA big",
        "CREATE TABLE small.parent (id integer PRIMARY KEY, code text UNIQUE)",
        "CREATE TABLE small.child (id integer PRIMARY KEY,"
        " parent_id integer REFERENCES small.parent (id))",
        "CREATE TABLE small.broken (id integer PRIMARY KEY,"
        " parent_id integer REFERENCES small.parent (id))",
        "CREATE VIEW small.children AS SELECT id FROM small.child",
        "CREATE TABLE big.parent (id integer PRIMARY KEY, code text UNIQUE)",
        *(
            f"CREATE TABLE big.child_{n} (id integer PRIMARY KEY,"
            f" parent_id integer REFERENCES big.parent (id))"
            for n in range(40)
        ),
        *(f"CREATE VIEW big.view_{n} AS SELECT 1 AS one" for n in range(10)),
        "COMMENT ON TABLE small.parent IS 'Parents'",
    ]
    with schemas.pg_database(ddl) as url:
        yield url


def _count_statements(url: str, schema: str) -> tuple[int, SchemaSnapshot]:
    engine = sa.create_engine(url, poolclass=NullPool)
    statements: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def count(*args: Any) -> None:
        statements.append(args[2])

    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")  # first-connect queries
            statements.clear()
            snap = read_schema(connection, schema)
    finally:
        engine.dispose()
    return len(statements), snap


def test_postgres_query_count_does_not_grow_with_tables(pg_plain_url: str) -> None:
    small, small_snap = _count_statements(pg_plain_url, "small")
    big, big_snap = _count_statements(pg_plain_url, "big")
    assert (len(small_snap.tables), len(big_snap.tables)) == (4, 51)
    assert small == big
    assert small <= 16


class _BrokenUniques(PGInspector):
    """Bulk unique constraints fail, and so do those of table ``broken``.

    Both failures are real database errors, which abort a PostgreSQL
    transaction: the reader must carry on through savepoints.
    """

    def _fail(self, statement: str) -> None:
        assert isinstance(self.bind, sa.Connection)
        self.bind.exec_driver_sql(statement)
        raise AssertionError("unreachable")

    def get_multi_unique_constraints(self, *args: Any, **kwargs: Any) -> Any:
        self._fail("SELECT 1 / 0")

    def get_unique_constraints(self, table_name: str, *args: Any, **kwargs: Any) -> Any:
        if table_name == "broken":
            self._fail("SELECT no_such_column FROM pg_class")
        return super().get_unique_constraints(table_name, *args, **kwargs)


@pytest.mark.parametrize("isolation_level", [None, "AUTOCOMMIT"])
def test_postgres_failing_parts_are_read_table_by_table(
    pg_plain_url: str, isolation_level: str | None
) -> None:
    options = {"isolation_level": isolation_level} if isolation_level else {}
    engine = sa.create_engine(pg_plain_url, poolclass=NullPool, **options)
    # sa.inspect() builds the class its dialect names.
    engine.dialect.inspector = _BrokenUniques  # type: ignore[attr-defined]
    try:
        with engine.connect() as connection:
            snap = read_schema(connection, "small", method="inspector")
            # The connection is still usable afterwards.
            assert connection.exec_driver_sql("SELECT 2").scalar() == 2
    finally:
        engine.dispose()
    assert tables(snap) == [("child", False), ("children", True), ("parent", False)]
    assert snap.failures == (
        TableFailure(
            "broken", 'UndefinedColumn: column "no_such_column" does not exist'
        ),
    )
    assert snap.table("child").foreign_keys == (
        ForeignKeySnapshot(
            "child_parent_id_fkey", ("parent_id",), None, "parent", ("id",)
        ),
    )
    assert snap.table("parent").unique_constraints == (
        UniqueConstraintSnapshot("parent_code_key", ("code",)),
    )
    assert snap.table("parent").comment == "Parents"


def test_postgres_lost_connection_is_an_introspection_error(pg_plain_url: str) -> None:
    engine = sa.create_engine(pg_plain_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            connection.invalidate()
            with pytest.raises(IntrospectionError, match=r"^Cannot read the schema"):
                read_schema(connection, "small")
    finally:
        engine.dispose()


# -- MariaDB -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def maria_url() -> Iterator[str]:
    require_mariadb()
    with schemas.mariadb_quirk_database() as url:
        yield url


def test_mariadb_quirk_schema(maria_url: str) -> None:
    snap = read(maria_url)
    database = make_url(maria_url).database
    assert (snap.dialect, snap.schema, snap.failures) == ("mariadb", database, ())
    assert tables(snap) == [
        ("active_customers", True),
        ("customers", False),
        ("group", False),
        (LONG_MARIADB_TABLE, False),
        ("naïve \"quoted\" 'table'", False),
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
        ("kind", "enum('a','b','it''s')", "ENUM", True, None),
        ("tags", "set('x','y')", "VARCHAR", True, None),
        ("email", "varchar(200)", "VARCHAR", False, None),
        ("email_lower", "varchar(200)", "VARCHAR", True, None),
        ("referrer_id", "int(11)", "INT", True, None),
    ]
    assert columns(snap, "order") == [
        ("id", "int(11)", "INT", False, 2),
        ("region", "char(2)", "CHAR", False, 1),
        ("customer_id", "int(11)", "INT", True, None),
    ]
    assert columns(snap, "group") == [
        ("order region", "char(2)", "CHAR", True, None),
        ("order id", "int(11)", "INT", True, None),
        ("note", "varchar(20)", "VARCHAR", True, None),
    ]
    assert columns(snap, "select") == [
        ("a b", "tinyint(4)", "INT", True, None),
        ("MixedCase", "float", "FLOAT", True, None),
        ("Real", "double", "DOUBLE", True, None),  # MariaDB stores REAL as double
        ("when", "time(3)", "TIME", True, None),
        ("ts", "timestamp", "TIMESTAMP", True, None),
        ("y", "year(4)", "INT", True, None),
        ("bits", "bit(8)", "VARCHAR", True, None),
        ("big", "bigint(20) unsigned", "INT", True, None),
        ("doc", "longtext", "VARCHAR", True, None),  # JSON is an alias
    ]
    assert columns(snap, "naïve \"quoted\" 'table'") == [
        ("ünïcode", "varchar(10)", "VARCHAR", True, None),
        ("it's", "bit(1)", "BOOLEAN", True, None),
        ('say "hi"', "text", "VARCHAR", True, None),
    ]
    assert columns(snap, LONG_MARIADB_TABLE) == [
        (LONG_MARIADB_COLUMN, "bigint(20) unsigned", "INT", False, 1),
        ("d", "date", "DATE", True, None),
    ]
    assert [c[:3] for c in columns(snap, "active_customers")] == [
        ("id", "int(11)", "INT"),
        ("email", "varchar(200)", "VARCHAR"),
    ]
    assert keys(snap, "customers") == [
        ("fk_referrer", ("referrer_id",), None, "customers", ("id",))
    ]
    assert keys(snap, "order") == [
        ("fk_order_customer", ("customer_id",), None, "customers", ("id",))
    ]
    assert keys(snap, "group") == [
        (
            "fk_group_order",
            ("order region", "order id"),
            None,
            "order",
            ("region", "id"),
        )
    ]
    assert uniques(snap, "customers") == [("uq_email", "email")]
    assert snap.table("customers").comment == "People who buy"
    assert snap.table("active_customers").comment is None
    assert comments(snap, "customers") == {"email": "Login address"}
    assert comments(snap, LONG_MARIADB_TABLE) == {
        LONG_MARIADB_COLUMN: "Longest name allowed"
    }
    active, balance = (
        snap.table("customers").columns[1],
        snap.table("customers").columns[4],
    )
    assert (active.default, balance.default) == ("1", "0.00")
    assert_ordinals(snap)
    assert_json(snap)


def test_mariadb_without_views_and_unknown_schema(maria_url: str) -> None:
    snap = read(maria_url, include_views=False)
    assert [t.is_view for t in snap.tables] == [False] * 6
    with pytest.raises(
        SchemaNotFoundError, match=r"^Schema 'nope' does not exist in this database$"
    ):
        read(maria_url, "nope")


def test_mariadb_broken_view_and_cross_database_key() -> None:
    require_mariadb()
    regions = ["CREATE TABLE regions (code char(2) PRIMARY KEY)"]
    with schemas.mariadb_database(regions) as other:
        other_name = make_url(other).database
        ddl = [
            "CREATE TABLE kept (id int PRIMARY KEY, region char(2),"
            f" CONSTRAINT kept_region FOREIGN KEY (region)"
            f" REFERENCES `{other_name}`.regions (code))",
            "CREATE TABLE gone (id int)",
            "CREATE VIEW dangling AS SELECT id FROM gone",
            "DROP TABLE gone",
        ]
        with schemas.mariadb_database(ddl) as url:
            snap = read(url)
    assert tables(snap) == [("kept", False)]
    assert [f.name for f in snap.failures] == ["dangling"]
    assert snap.failures[0].error.startswith("UnreflectableTableError: ")
    assert "references invalid table(s)" in snap.failures[0].error
    assert keys(snap, "kept") == [
        ("kept_region", ("region",), other_name, "regions", ("code",))
    ]


def _builders() -> list[tuple[Any, Any, tuple[Any, ...]]]:
    from thoth_db_elements.introspection.snapshot import (
        ColumnSnapshot,
        TableSnapshot,
        new_column,
        new_foreign_key,
        new_table,
    )

    column = ColumnSnapshot("id", "integer", "INT", False, "0", "key", 1, 3)
    return [
        (new_column, ColumnSnapshot, ("id", "integer", "INT", False, "0", "key", 1, 3)),
        (new_foreign_key, ForeignKeySnapshot, ("fk", ("a",), "s", "t", ("id",))),
        (
            new_table,
            TableSnapshot,
            (
                "t",
                (column,),
                "s",
                True,
                "note",
                (),
                (UniqueConstraintSnapshot("u", ("id",)),),
            ),
        ),
    ]


@pytest.mark.parametrize(("build", "snapshot_class", "values"), _builders())
def test_fast_builders_make_the_frozen_snapshot(
    build: Any, snapshot_class: Any, values: tuple[Any, ...]
) -> None:
    import inspect
    from dataclasses import FrozenInstanceError, asdict, fields

    # Same layout and signature as the dataclass, so they cannot drift apart.
    assert build.__slots__ == snapshot_class.__slots__
    expected = inspect.signature(snapshot_class).parameters
    assert inspect.signature(build).parameters == expected
    built = build(*values)
    declared = snapshot_class(*values)
    assert type(built) is snapshot_class
    assert built == declared
    assert hash(built) == hash(declared)
    assert asdict(built) == asdict(declared)
    names = [f.name for f in fields(snapshot_class)]
    assert build(**dict(zip(names, values, strict=True))) == declared
    assert build(*values[:-1], "other") != declared
    with pytest.raises(FrozenInstanceError):
        built.name = "other"
