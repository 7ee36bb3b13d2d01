"""``read_schema`` on the shapes the other reader tests leave out, on real SQLite.

A database written with an SQLite extension this Python lacks (its virtual
table cannot be opened), SQLite's own bookkeeping tables, an application's
own Inspector class, an empty database, and the snapshot's lookup by name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.reflection import Inspector

from tests.test_fast_paths import assert_same, connect
from thoth_db_elements.exceptions import SchemaNotFoundError
from thoth_db_elements.introspection import (
    ForeignKeySnapshot,
    SchemaSnapshot,
    read_schema,
)

pytestmark = pytest.mark.source_only


def extension_database(path: Path) -> str:
    """A file whose virtual table needs a module this SQLite does not have.

    ``writable_schema`` stands in for the extension that created it.
    """
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, t TEXT)")
        raw.execute("INSERT INTO log (t) VALUES ('x')")
        raw.execute(
            "CREATE TABLE child (p REFERENCES parent, s REFERENCES spatial (id),"
            " q INTEGER REFERENCES parent (id))"
        )
        # Without a column list the key refers to the target's primary key,
        # which cannot be read.
        raw.execute("CREATE TABLE orphan (s REFERENCES spatial)")
        raw.execute("PRAGMA writable_schema = ON")
        raw.execute(
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
            "('table', 'spatial', 'spatial', 0,"
            " 'CREATE VIRTUAL TABLE spatial USING spatialindex(id, minx, maxx)')"
        )
    return f"sqlite:///{path}"


@pytest.fixture
def extension_url(tmp_path: Path) -> str:
    return extension_database(tmp_path / "extension.sqlite")


def test_table_of_a_missing_extension_is_a_failure(extension_url: str) -> None:
    with connect(extension_url) as connection:
        snap = assert_same(connection)
        assert read_schema(connection) == snap
    assert [(f.name, f.error) for f in snap.failures] == [
        ("orphan", "OperationalError: no such module: spatialindex"),
        ("spatial", "OperationalError: no such module: spatialindex"),
    ]
    # SQLite's own sqlite_sequence (from AUTOINCREMENT) is not listed.
    assert [t.name for t in snap.tables] == ["child", "log", "parent"]
    assert snap.table("child").foreign_keys == (
        ForeignKeySnapshot(None, ("p",), None, "parent", ("id",)),
        ForeignKeySnapshot(None, ("q",), None, "parent", ("id",)),
        ForeignKeySnapshot(None, ("s",), None, "spatial", ("id",)),
    )
    assert not snap.complete


def test_snapshot_lookup_of_an_absent_table(extension_url: str) -> None:
    with connect(extension_url) as connection:
        snap = read_schema(connection)
    assert snap.table("parent").name == "parent"
    with pytest.raises(KeyError, match="spatial"):
        snap.table("spatial")


class CountingInspector(Inspector):
    """An application's own Inspector: ``auto`` must read with it."""

    column_calls = 0

    def get_multi_columns(self, *args: Any, **kw: Any) -> Any:
        CountingInspector.column_calls += 1
        return super().get_multi_columns(*args, **kw)


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    path = tmp_path / "shop.sqlite"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        raw.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY,"
            " customer_id INTEGER REFERENCES customers (id))"
        )
        raw.execute("CREATE VIEW big AS SELECT * FROM orders")
    return f"sqlite:///{path}"


@pytest.fixture
def custom_inspector_connection(shop_url: str) -> Iterator[sa.Connection]:
    with connect(shop_url) as connection:
        connection.dialect.inspector = CountingInspector  # type: ignore[attr-defined]
        yield connection


def test_auto_reads_with_a_custom_inspector(
    custom_inspector_connection: sa.Connection,
) -> None:
    CountingInspector.column_calls = 0
    snap = read_schema(custom_inspector_connection)
    assert CountingInspector.column_calls == 1
    assert snap == read_schema(custom_inspector_connection, method="fast")
    assert CountingInspector.column_calls == 1
    assert [(t.name, t.is_view) for t in snap.tables] == [
        ("big", True),
        ("customers", False),
        ("orders", False),
    ]


@pytest.mark.parametrize("method", ["auto", "fast", "inspector"])
@pytest.mark.parametrize("include_views", [True, False])
def test_empty_database(tmp_path: Path, method: str, include_views: bool) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with connect(f"sqlite:///{path}") as connection:
        snap = read_schema(connection, method=method, include_views=include_views)
    assert snap == SchemaSnapshot("sqlite", "main", (), ())
    assert snap.complete


def test_sqlite_schema_names_are_matched_as_sqlite_matches_them(tmp_path: Path) -> None:
    # SQLite reads MAIN.t and AUX.t as main.t and aux.t: so does the reader,
    # with the name SQLite keeps.
    main, aux = tmp_path / "main.sqlite", tmp_path / "aux.sqlite"
    for path, table in ((main, "m"), (aux, "a")):
        with closing(sqlite3.connect(path)) as raw:
            raw.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    engine = sa.create_engine(f"sqlite:///{main}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"ATTACH DATABASE '{aux}' AS aux")
            for asked, schema, table in (("MAIN", "main", "m"), ("Aux", "aux", "a")):
                snap = assert_same(connection, asked)
                assert (snap.schema, [t.name for t in snap.tables]) == (
                    schema,
                    [table],
                )
            with pytest.raises(SchemaNotFoundError):
                read_schema(connection, "other")
    finally:
        engine.dispose()


def test_mariadb_schema_names_lose_trailing_blanks() -> None:
    # MariaDB names cannot end with blanks: "shop " can only mean "shop".
    from tests import schemas
    from tests.services import require_mariadb

    require_mariadb()
    with schemas.mariadb_database(["CREATE TABLE t (id int)"]) as url:
        name = schemas.database_name(url)
        with connect(url) as connection:
            snap = read_schema(connection, f"{name}  ")
    assert (snap.schema, [t.name for t in snap.tables]) == (name, ["t"])


def test_sqlite_keys_without_columns_to_a_key_of_another_width_have_no_target(
    tmp_path: Path,
) -> None:
    # REFERENCES p without columns means p's primary key; two columns
    # against a key of one are what SQLite calls a "foreign key mismatch"
    # (it refuses every row): no target columns, whatever the name's case.
    path = tmp_path / "arity.sqlite"
    with closing(sqlite3.connect(path)) as raw:
        raw.executescript(
            """
            CREATE TABLE p (id INTEGER PRIMARY KEY, k1 INT, k2 INT);
            CREATE TABLE c (a INT, b INT, FOREIGN KEY (a, b) REFERENCES p);
            CREATE TABLE "Q" (id INTEGER PRIMARY KEY);
            CREATE TABLE d (a INT, b INT, FOREIGN KEY (a, b) REFERENCES q);
            CREATE TABLE e (a INT REFERENCES p);
            """
        )
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    targets = {
        name: [
            (k.referred_table, k.referred_columns)
            for k in snap.table(name).foreign_keys
        ]
        for name in ("c", "d", "e")
    }
    assert targets == {"c": [("p", ())], "d": [("Q", ())], "e": [("p", ("id",))]}


def test_sqlite_default_null_however_written_is_no_default(tmp_path: Path) -> None:
    path = tmp_path / "defaults.sqlite"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute(
            "CREATE TABLE t (a DEFAULT NULL, b DEFAULT ((NULL)),"
            " c DEFAULT (/* none */ NULL), d DEFAULT 'NULL', e DEFAULT ((1))"
            " , f DEFAULT (NULLIF(1, 1)))"
        )
        raw.execute("INSERT INTO t DEFAULT VALUES")
        stored = raw.execute("SELECT a, b, c, d FROM t").fetchone()
    assert stored == (None, None, None, "NULL")  # what SQLite does
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    assert {c.name: c.default for c in snap.table("t").columns} == {
        "a": None,
        "b": None,
        "c": None,
        "d": "'NULL'",
        "e": "(1)",
        "f": "NULLIF(1, 1)",
    }
