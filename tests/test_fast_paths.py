"""The fast paths give exactly the Inspector's snapshot, on real databases.

Every test reads the same schema twice, with ``method="fast"`` and with
``method="inspector"``, and compares the snapshots with ``==``: the quirk
schemas of ``tests/schemas.py``, a set of oddities per dialect (shapes
SQLAlchemy's parsers get wrong, which the fast paths must get wrong the same
way), and random schemas from Hypothesis. Then: the fast paths' statement
count does not grow with the number of tables, the fallback to the
Inspector, and the reader bugs fixed on the way.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
import string
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests import schemas
from tests.services import MARIADB_URL, require_mariadb, require_postgres
from thoth_db_elements.exceptions import IntrospectionError, SchemaNotFoundError
from thoth_db_elements.introspection import (
    ForeignKeySnapshot,
    SchemaSnapshot,
    UniqueConstraintSnapshot,
    read_schema,
)
from thoth_db_elements.introspection import fast as fast_paths
from thoth_db_elements.introspection.fast import mysql

pytestmark = pytest.mark.source_only


# -- comparing ----------------------------------------------------------------
def differences(fast: SchemaSnapshot, inspector: SchemaSnapshot) -> list[str]:
    """What differs between two snapshots, table by table and field by field."""
    found: list[str] = []
    for name in ("dialect", "schema", "failures"):
        if getattr(fast, name) != getattr(inspector, name):
            found.append(
                f"{name}: {getattr(fast, name)!r} != {getattr(inspector, name)!r}"
            )
    fast_tables = {t.name: t for t in fast.tables}
    inspector_tables = {t.name: t for t in inspector.tables}
    if list(fast_tables) != list(inspector_tables):
        found.append(f"tables: {list(fast_tables)} != {list(inspector_tables)}")
    for name in fast_tables.keys() & inspector_tables.keys():
        one, other = fast_tables[name], inspector_tables[name]
        for part in TABLE_FIELDS:
            if getattr(one, part) != getattr(other, part):
                found.append(
                    f"{name!r}.{part}:\n  fast      {getattr(one, part)!r}\n"
                    f"  inspector {getattr(other, part)!r}"
                )
    return found


TABLE_FIELDS = (
    "schema",
    "is_view",
    "comment",
    "columns",
    "foreign_keys",
    "unique_constraints",
)


def assert_same(
    connection: sa.Connection, schema: str | None = None, **kw: Any
) -> SchemaSnapshot:
    """Read ``schema`` both ways and check the snapshots are equal."""
    fast = read_schema(connection, schema, method="fast", **kw)
    inspector = read_schema(connection, schema, method="inspector", **kw)
    # SQLAlchemy's PostgreSQL foreign-key parser splits the text of
    # pg_get_constraintdef() on commas and quotes, so it crashes on column
    # names such as 'a ,,b'. The fast path reads the key from pg_constraint
    # and must read those tables; every other table must match.
    crashed = {
        failure.name
        for failure in inspector.failures
        if failure.error.startswith("IndexError")
    }
    assert not fast.failures or {f.name for f in fast.failures} <= {
        f.name for f in inspector.failures
    }, fast.failures
    if crashed:
        assert crashed <= {table.name for table in fast.tables}
        inspector = dataclasses.replace(
            inspector,
            failures=tuple(f for f in inspector.failures if f.name not in crashed),
        )
        fast = dataclasses.replace(
            fast,
            tables=tuple(t for t in fast.tables if t.name not in crashed),
        )
    assert fast == inspector, "\n".join(differences(fast, inspector))
    return fast


@contextmanager
def connect(url: str, **options: Any) -> Iterator[sa.Connection]:
    engine = sa.create_engine(url, poolclass=NullPool, **options)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


# -- SQLite -------------------------------------------------------------------
#: Shapes SQLAlchemy's SQLite parser reads in its own way.
SQLITE_ODDITIES: tuple[str, ...] = (
    """CREATE TABLE generated (id TEXT PRIMARY KEY, a INTEGER,
        b int GENERATED ALWAYS AS (a + 1), c varchar(10) AS (a) STORED,
        UNIQUE (id), UNIQUE (a), UNIQUE (a))""",
    """CREATE TABLE pairs (x, y, PRIMARY KEY (x, y), UNIQUE (y, x),
        CONSTRAINT "my uq" UNIQUE (x, y), CONSTRAINT uq2 UNIQUE ("x"))""",
    # No column list (the target's primary key), a key eaten by the parser
    # of the one before it, a duplicate, a target spelt in another case, a
    # missing target, a view as target.
    """CREATE TABLE keys (p1, p2, q, r,
        FOREIGN KEY (p1, p2) REFERENCES pairs,
        CONSTRAINT named FOREIGN KEY (q) REFERENCES generated (id),
        CONSTRAINT dup FOREIGN KEY (q) REFERENCES generated (id),
        FOREIGN KEY (r) REFERENCES GENERATED,
        FOREIGN KEY (r) REFERENCES missing,
        FOREIGN KEY (r) REFERENCES big_customers)""",
    """CREATE TABLE "MiXeD Case" ("Col A" INT UNIQUE, [br ack] TEXT,
        `back tick` REAL unique, "it""s" INT CONSTRAINT x REFERENCES customers,
        Nick VARCHAR(3) NOT NULL DEFAULT 'x' UNIQUE)""",
    # Only inline references (no FOREIGN KEY in the text): the same one
    # twice is one key, a different one another.
    """CREATE TABLE inline_refs (a INT REFERENCES pairs (x)
        REFERENCES pairs (x) REFERENCES "MiXeD Case" ("Col A"),
        b REFERENCES rowless)""",
    "CREATE TABLE rowless (a INTEGER PRIMARY KEY, b) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE search USING fts5(x, y)",
    "CREATE TABLE exprs (a, b)",
    "CREATE UNIQUE INDEX exprs_sum ON exprs (a + b)",
    "CREATE UNIQUE INDEX exprs_part ON exprs (b) WHERE a > 0",
    """CREATE TABLE ü (ö INT PRIMARY KEY, ä INT REFERENCES ü,
        CONSTRAINT ß FOREIGN KEY (ä) REFERENCES ü (ö), UNIQUE (ä))""",
    "CREATE TABLE gone (id INTEGER)",
    "CREATE VIEW dangling AS SELECT id FROM gone",
    "CREATE VIEW fine AS SELECT a, b FROM exprs",
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return schemas.create_sqlite_quirk(tmp_path / "quirk.sqlite")


@pytest.fixture
def sqlite_odd_url(tmp_path: Path) -> str:
    path = tmp_path / "odd.sqlite"
    schemas.create_sqlite_quirk(path)
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("PRAGMA legacy_alter_table = ON")
        for statement in SQLITE_ODDITIES:
            raw.execute(statement)
        raw.execute("DROP TABLE gone")
    return f"sqlite:///{path}"


@pytest.mark.parametrize("include_views", [True, False])
def test_sqlite_quirk_schema(sqlite_url: str, include_views: bool) -> None:
    with connect(sqlite_url) as connection:
        snap = assert_same(connection, include_views=include_views)
    assert len(snap.tables) == (5 if include_views else 4)


def test_sqlite_attached_schema(sqlite_url: str, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as raw, raw:
        raw.execute('CREATE TABLE "to do" (id INTEGER PRIMARY KEY, due DATE UNIQUE)')
        raw.execute('CREATE TABLE "done" (id INTEGER REFERENCES "to do")')
    with connect(sqlite_url) as connection:
        connection.exec_driver_sql('ATTACH DATABASE ? AS "my ""aux"""', (str(other),))
        snap = assert_same(connection, 'my "aux"')
    assert [t.name for t in snap.tables] == ["done", "to do"]
    assert snap.table("done").foreign_keys == (
        ForeignKeySnapshot(None, ("id",), None, "to do", ("id",)),
    )


@pytest.mark.parametrize("include_views", [True, False])
def test_sqlite_oddities(sqlite_odd_url: str, include_views: bool) -> None:
    with connect(sqlite_odd_url) as connection:
        snap = assert_same(connection, include_views=include_views)
    assert [f.name for f in snap.failures] == (["dangling"] if include_views else [])
    # Generated columns keep their declared type (a reader fix: the type
    # query leaves them out, and SQLAlchemy's rendering was used).
    generated = {c.name: c.raw_type for c in snap.table("generated").columns}
    assert generated == {"id": "TEXT", "a": "INTEGER", "b": "INT", "c": "varchar(10)"}
    inline = [
        (k.columns, k.referred_table) for k in snap.table("inline_refs").foreign_keys
    ]
    assert sorted(inline) == [
        (("a",), "MiXeD Case"),
        (("a",), "pairs"),
        (("b",), "rowless"),
    ]


def test_sqlite_shadow_tables_are_not_tables_of_the_schema(tmp_path: Path) -> None:
    """FTS5 and R*Tree keep their data in shadow tables (``docs_data``,
    ``box_node``...): SQLite's internals, left out on both paths."""
    path = tmp_path / "virtual.sqlite"
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            CREATE VIRTUAL TABLE docs USING fts5(title, body);
            CREATE VIRTUAL TABLE box USING rtree(id, x0, x1);
            CREATE TABLE docs_notes (id INTEGER PRIMARY KEY, note TEXT DEFAULT NULL,
                said TEXT DEFAULT 'NULL', other TEXT default Null);
            """
        )
    raw.close()
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    assert sorted(t.name for t in snap.tables) == ["box", "docs", "docs_notes"]
    assert snap.left_out == (
        "box_node",
        "box_parent",
        "box_rowid",
        "docs_config",
        "docs_content",
        "docs_data",
        "docs_docsize",
        "docs_idx",
    )
    # DEFAULT NULL is no default, as PostgreSQL and MariaDB report it; the
    # text 'NULL' is a default.
    defaults = {c.name: c.default for c in snap.table("docs_notes").columns}
    assert defaults == {"id": None, "note": None, "said": "'NULL'", "other": None}


def test_sqlite_keys_find_their_targets_whatever_the_case(tmp_path: Path) -> None:
    """SQLite matches names without regard to ASCII case: so do both paths."""
    path = tmp_path / "case.sqlite"
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            CREATE TABLE Patient (ID INTEGER PRIMARY KEY, Name TEXT);
            CREATE TABLE Pairs (a INT, b INT, PRIMARY KEY (a, b));
            CREATE TABLE visit (
                id INTEGER PRIMARY KEY,
                patient_id INT REFERENCES patient (id),
                who INT REFERENCES PATIENT,
                gone INT REFERENCES nowhere (id),
                exact INT REFERENCES Patient (id),
                x INT, y INT, half INT,
                FOREIGN KEY (x, y) REFERENCES pairs,
                FOREIGN KEY (half, x) REFERENCES Pairs (A, b)
            );
            """
        )
    raw.close()
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    keys = {
        (k.columns, k.referred_table, k.referred_columns)
        for k in snap.table("visit").foreign_keys
    }
    assert keys == {
        (("patient_id",), "Patient", ("ID",)),
        (("who",), "Patient", ("ID",)),
        (("x", "y"), "Pairs", ("a", "b")),
        (("gone",), "nowhere", ("id",)),
        # The table spelt exactly, the columns not.
        (("exact",), "Patient", ("ID",)),
        (("half", "x"), "Pairs", ("a", "b")),
    }


def test_sqlite_a_key_naming_an_empty_column_first_leaves_other_keys_alone(
    tmp_path: Path,
) -> None:
    """SQLAlchemy hands its cached primary key of ``p`` to the key of ``c``,
    whose first column is named ``""``, and appends ``b`` to it: ``p``'s key
    then read ``(a, b)`` on the Inspector path, and ``d``'s key to ``p``
    named no column."""
    path = tmp_path / "empty.sqlite"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.executescript(
            """CREATE TABLE p (a INTEGER PRIMARY KEY, "" INT, b INT);
            CREATE TABLE c (x INT, y INT, FOREIGN KEY (x, y) REFERENCES p ("", b));
            CREATE TABLE d (z INT REFERENCES p);
            CREATE TABLE e (x INT, y INT, z INT, FOREIGN KEY (z) REFERENCES p,
                FOREIGN KEY (x, y) REFERENCES p ("", b));
            CREATE TABLE f (x INT, y INT, u INT, v INT,
                FOREIGN KEY (x, y) REFERENCES p ("", b),
                FOREIGN KEY (u, v) REFERENCES p ("", b));"""
        )
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    assert snap.table("p").primary_key == ("a",)
    assert [c.nullable for c in snap.table("p").columns] == [False, True, True]
    assert snap.table("d").foreign_keys == (
        ForeignKeySnapshot(None, ("z",), None, "p", ("a",)),
    )
    # Within one table's keys too.
    assert {k.columns: k.referred_columns for k in snap.table("e").foreign_keys} == {
        ("z",): ("a",),
        ("x", "y"): ("a", "b"),
    }
    assert [k.referred_columns for k in snap.table("f").foreign_keys] == [
        ("a", "b"),
        ("a", "b"),
    ]


@pytest.mark.parametrize("used", [True, False])
@pytest.mark.parametrize("method", ["auto", "fast", "inspector"])
def test_sqlite_temp_is_not_read(method: str, used: bool) -> None:
    """Whether the connection has made a temporary table yet or not (SQLite
    lists ``temp`` only once it has)."""
    with connect("sqlite://") as connection:
        if used:
            connection.exec_driver_sql("CREATE TEMP TABLE t (id INTEGER)")
        with pytest.raises(SchemaNotFoundError) as info:
            read_schema(connection, "Temp", method=method)
    assert str(info.value) == (
        "Schema 'temp' holds the temporary tables of one connection, and is not read"
    )


# -- PostgreSQL ---------------------------------------------------------------
PG_ODD = "odd, schema"
#: Shapes SQLAlchemy's PostgreSQL dialect reads in its own way; in ``PG_ODD``.
PG_ODDITIES: tuple[str, ...] = (
    'CREATE SCHEMA "odd, schema"',
    'SET search_path TO "odd, schema", public',
    "CREATE TABLE pt (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k)",
    "CREATE TABLE pt_1 PARTITION OF pt FOR VALUES IN (1)",
    "CREATE TABLE pt_2 PARTITION OF pt FOR VALUES IN (2)",
    "CREATE TABLE refpt (a int, b int, FOREIGN KEY (a, b) REFERENCES pt (id, k))",
    # A key to one partition: its columns are not read with the schema.
    "CREATE TABLE refleaf (a int, b int, FOREIGN KEY (b, a) REFERENCES pt_1 (k, id))",
    'CREATE TABLE "com, ma" ("a, b" int, "c,d" int, e int,'
    ' PRIMARY KEY ("a, b", "c,d"))',
    'CREATE TABLE refc (x int, "y, z" int, CONSTRAINT "fk, x" FOREIGN KEY (x, "y, z")'
    ' REFERENCES "com, ma" ("a, b", "c,d"))',
    # SQLAlchemy's own parser raises IndexError on this one.
    'ALTER TABLE "com, ma" ADD UNIQUE (e)',
    'CREATE TABLE refcc ("aa c9,,0" int REFERENCES "com, ma" (e))',
    "CREATE DOMAIN nn_int AS integer NOT NULL DEFAULT 7",
    "CREATE DOMAIN text AS varchar(3) DEFAULT 'x'",
    """CREATE TABLE dom (a nn_int, b nn_int DEFAULT 3, c "odd, schema".text,
        d nn_int[], e int GENERATED ALWAYS AS (1) STORED,
        f int GENERATED ALWAYS AS IDENTITY, g bigserial, "G" serial,
        h int DEFAULT (nextval('"dom_G_seq"') * 2), i public.positive_int,
        j public.mood_domain)""",
    "CREATE TABLE empty_t ()",
    "CREATE VIEW empty_v AS SELECT",
    """CREATE TABLE inc (a int, b int, c int, CONSTRAINT inc_u UNIQUE (a) INCLUDE (b),
        PRIMARY KEY (c) INCLUDE (a))""",
    "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x",
    # Read as a view and a table: what a query can name, though neither
    # holds keys. ``mvd`` has no rows yet; ``ft`` a server that is not there.
    """CREATE MATERIALIZED VIEW mvd (n, "Label") AS
        SELECT a, c FROM dom WITH NO DATA""",
    "COMMENT ON MATERIALIZED VIEW mvd IS 'Snapshot of dom'",
    "COMMENT ON COLUMN mvd.n IS 'From dom.a'",
    "CREATE UNIQUE INDEX mvd_n ON mvd (n)",
    "CREATE EXTENSION IF NOT EXISTS postgres_fdw",
    """CREATE SERVER nowhere FOREIGN DATA WRAPPER postgres_fdw
        OPTIONS (host '127.0.0.1', port '1', dbname 'none')""",
    """CREATE FOREIGN TABLE ft (id int NOT NULL, "Name" varchar(20) DEFAULT 'x',
        d nn_int) SERVER nowhere""",
    "COMMENT ON FOREIGN TABLE ft IS 'Kept elsewhere'",
    "COMMENT ON COLUMN ft.id IS 'Remote key'",
    "COMMENT ON COLUMN dom.a IS '   '",
    "COMMENT ON TABLE dom IS 'it''s \\ odd'",
    'CREATE TABLE "u""q" ("i""d" int PRIMARY KEY)',
    'CREATE TABLE rq (a int REFERENCES "u""q")',
    "CREATE UNIQUE INDEX rq_a ON rq (a)",
    """CREATE TABLE crossref (a bigint REFERENCES public.users (id),
        b int REFERENCES ledger.accounts (id), c int REFERENCES rq (a))""",
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    with schemas.pg_quirk_database() as url:
        schemas.run_ddl(url, PG_ODDITIES)
        yield url


@pytest.mark.parametrize(
    "schema", [None, "public", "ledger", schemas.PG_AUDIT_SCHEMA, PG_ODD]
)
@pytest.mark.parametrize("include_views", [True, False])
def test_postgres_quirk_schemas(
    pg_url: str, schema: str | None, include_views: bool
) -> None:
    with connect(pg_url) as connection:
        assert_same(connection, schema, include_views=include_views)


# libpq's options take a backslash before a space.
@pytest.mark.parametrize("search_path", ["ledger,public", '"odd,\\ schema",ledger'])
def test_postgres_search_path(pg_url: str, search_path: str) -> None:
    options = {"connect_args": {"options": f"-c search_path={search_path}"}}
    with connect(pg_url, **options) as connection:
        for schema in (None, "public", "ledger", PG_ODD):
            assert_same(connection, schema)
        # A search path changed after connecting: the dialect's default
        # schema is now stale; both paths must still agree.
        connection.exec_driver_sql('SET search_path TO "odd, schema", public')
        for schema in (None, "public", "ledger", PG_ODD):
            assert_same(connection, schema)


def test_postgres_autocommit(pg_url: str) -> None:
    with connect(pg_url, isolation_level="AUTOCOMMIT") as connection:
        assert_same(connection, PG_ODD)


def test_postgres_reader_fixes(pg_url: str) -> None:
    """Both paths: a key to a partitioned table is one key, not one per
    partition; a column name with ``", "`` stays whole."""
    with connect(pg_url) as connection:
        snap = assert_same(connection, PG_ODD)
    assert snap.table("refpt").foreign_keys == (
        ForeignKeySnapshot("refpt_a_b_fkey", ("a", "b"), None, "pt", ("id", "k")),
    )
    assert snap.table("refleaf").foreign_keys == (
        ForeignKeySnapshot("refleaf_b_a_fkey", ("b", "a"), None, "pt_1", ("k", "id")),
    )
    assert snap.table("refc").foreign_keys == (
        ForeignKeySnapshot("fk, x", ("x", "y, z"), None, "com, ma", ("a, b", "c,d")),
    )
    assert snap.table("refcc").foreign_keys == (
        ForeignKeySnapshot(
            "refcc_aa c9,,0_fkey", ("aa c9,,0",), None, "com, ma", ("e",)
        ),
    )
    assert snap.table("crossref").foreign_keys == (
        ForeignKeySnapshot("crossref_b_fkey", ("b",), "ledger", "accounts", ("id",)),
        ForeignKeySnapshot("crossref_c_fkey", ("c",), None, "rq", ("a",)),
        ForeignKeySnapshot("crossref_a_fkey", ("a",), "public", "users", ("id",)),
    )
    assert snap.table("inc").unique_constraints == (
        UniqueConstraintSnapshot("inc_u", ("a",)),
    )
    assert snap.table("inc").primary_key == ("c",)
    assert [t.name for t in snap.tables if t.name.startswith("pt")] == ["pt"]


@pytest.mark.parametrize("method", ["fast", "inspector"])
def test_postgres_materialized_views_and_foreign_tables(
    pg_url: str, method: str
) -> None:
    """Both are relations a query can name: a materialized view is read as a
    view (with or without rows), a foreign table as a table, each with its
    columns and comments; neither holds keys."""
    with connect(pg_url) as connection:
        snap = read_schema(connection, PG_ODD, method=method)
        without_views = read_schema(
            connection, PG_ODD, include_views=False, method=method
        )
    mvd, ft = snap.table("mvd"), snap.table("ft")
    assert (mvd.is_view, ft.is_view) == (True, False)
    assert mvd.comment == "Snapshot of dom"
    # No default: no row is ever inserted into a materialized view (its
    # columns' domains have one; a plain view's column takes it).
    assert [
        (c.name, c.raw_type, c.nullable, c.default, c.comment) for c in mvd.columns
    ] == [
        ("n", '"odd, schema".nn_int', True, None, "From dom.a"),
        ("Label", '"odd, schema".text', True, None, None),
    ]
    assert (mvd.primary_key, mvd.unique_constraints, mvd.foreign_keys) == ((), (), ())
    assert ft.comment == "Kept elsewhere"
    assert [
        (c.name, c.raw_type, c.nullable, c.default, c.comment) for c in ft.columns
    ] == [
        ("id", "integer", False, None, "Remote key"),
        ("Name", "character varying(20)", True, "'x'::character varying", None),
        ("d", '"odd, schema".nn_int', False, "7", None),
    ]
    assert (ft.primary_key, ft.unique_constraints, ft.foreign_keys) == ((), (), ())
    assert {"mv", "mvd"} <= {t.name for t in snap.tables if t.is_view}
    names = {t.name for t in without_views.tables}
    assert "ft" in names
    assert not names & {"mv", "mvd"}


# -- MariaDB ------------------------------------------------------------------
#: Shapes SQLAlchemy's reading of ``SHOW CREATE TABLE`` gets wrong.
MARIADB_ODDITIES: tuple[str, ...] = (
    r"""CREATE TABLE t1 (
        a int NOT NULL DEFAULT 5 COMMENT 'x)y',
        b varchar(10) DEFAULT 'it''s' COMMENT 'c\\d',
        c timestamp NOT NULL DEFAULT current_timestamp()
            ON UPDATE current_timestamp() COMMENT 'upd',
        d timestamp NULL DEFAULT NULL ON UPDATE current_timestamp() COMMENT 'upd2',
        e int INVISIBLE DEFAULT 3 COMMENT 'inv',
        f json COMMENT 'js',
        g int AS (a + 1) VIRTUAL COMMENT 'gen',
        h int AS (a * 2) STORED,
        i datetime DEFAULT '2020-01-01 00:00:00' ON UPDATE current_timestamp(),
        j int DEFAULT (a + 1) COMMENT 'expr',
        k varchar(5) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT 'q' COMMENT 'cs',
        l text DEFAULT 'txt',
        m double DEFAULT 1.5e3,
        n bit(1) DEFAULT b'1',
        o enum('a','b)') NOT NULL DEFAULT 'a',
        p varchar(10) DEFAULT 'NULL',
        q int unsigned zerofill DEFAULT NULL COMMENT 'zf',
        r varchar(10) DEFAULT '' COMMENT '',
        s blob,
        t varchar(3) DEFAULT 'a\nb' COMMENT 'nl\nx',
        u int NOT NULL AUTO_INCREMENT PRIMARY KEY COMMENT 'pk',
        v date DEFAULT curdate(),
        w varchar(20) DEFAULT uuid(),
        x int DEFAULT -1,
        UNIQUE KEY `uq ``b` (b, l(10)),
        KEY (a)
    ) COMMENT='tab''le\\c'""",
    r"""CREATE TABLE t2 (
        a int NOT NULL INVISIBLE DEFAULT 3 COMMENT 'x',
        b int AS (a + 1) VIRTUAL INVISIBLE COMMENT 'g',
        c json AS ('{}') VIRTUAL COMMENT 'gj',
        d varchar(10) COLLATE utf8mb4_bin DEFAULT 'a\\b' COMMENT 'c',
        e int COMMENT 'chk' CHECK (e > 0),
        f int DEFAULT ((1 + 2) * 3) COMMENT 'nested',
        g datetime DEFAULT '2000-01-01' ON UPDATE current_timestamp() COMMENT 'wt',
        h timestamp(3) NULL DEFAULT current_timestamp(3)
            ON UPDATE current_timestamp(3) COMMENT 'ts3',
        i int, j int, k text,
        x int AS (a) VIRTUAL COMMENT 'x) y',
        y int AS (a) VIRTUAL COMMENT 'q''q',
        UNIQUE KEY `ig` (i) IGNORED,
        UNIQUE KEY `hs` (k) USING HASH COMMENT 'idx)c',
        UNIQUE KEY (j DESC, i)
    )""",
    """CREATE TABLE t3 (
        a int NOT NULL AUTO_INCREMENT INVISIBLE,
        b timestamp NOT NULL DEFAULT current_timestamp()
            ON UPDATE current_timestamp() INVISIBLE,
        d varchar(5) DEFAULT ('x'),
        e varchar(9) DEFAULT concat('a', 'b'),
        f int AS (a) VIRTUAL,
        g int,
        PRIMARY KEY (a),
        UNIQUE KEY `PARTITION_u` (g)
    )""",
    "CREATE TABLE versioned (x int) WITH SYSTEM VERSIONING",
    "CREATE SEQUENCE counter",
    """CREATE TABLE `p(a)rt` (`i)d` int, `k` int, `b``t` int,
        UNIQUE KEY (`i)d`, k), PRIMARY KEY (k))""",
    """CREATE TABLE ref1 (a int, `b)c` int, z int,
        CONSTRAINT `fk)1` FOREIGN KEY (a, z) REFERENCES `p(a)rt` (`i)d`, k),
        CONSTRAINT fk2 FOREIGN KEY (`b)c`) REFERENCES `p(a)rt` (k),
        CONSTRAINT `PARTITION_fk` FOREIGN KEY (z) REFERENCES t3 (g))""",
    "CREATE VIEW v1 AS SELECT a, b, c, o, p, u, v, x, l, n, t, r, i, s FROM t1",
    "CREATE VIEW v3 AS SELECT a, b, d, e, f FROM t3",
    "CREATE VIEW `v``q` AS SELECT 1 AS `a``b`",
    "CREATE TABLE `nl` (`a\nb` int)",
    """CREATE TABLE parts (id int NOT NULL, PRIMARY KEY (id))
        PARTITION BY HASH (id) PARTITIONS 2""",
    "CREATE TABLE gone (id int)",
    "CREATE VIEW dangling AS SELECT id FROM gone",
    "DROP TABLE gone",
)


@pytest.fixture(scope="module")
def maria_url() -> Iterator[str]:
    require_mariadb()
    with schemas.mariadb_quirk_database() as url:
        yield url


@pytest.fixture(scope="module")
def maria_odd_url() -> Iterator[str]:
    require_mariadb()
    with schemas.mariadb_database(MARIADB_ODDITIES) as url:
        yield url


@pytest.mark.parametrize("include_views", [True, False])
def test_mariadb_quirk_schema(maria_url: str, include_views: bool) -> None:
    with connect(maria_url) as connection:
        snap = assert_same(connection, include_views=include_views)
    assert len(snap.tables) == (7 if include_views else 6)


def test_mariadb_through_the_mysql_dialect(maria_url: str) -> None:
    url = make_url(maria_url).set(drivername="mysql+pymysql")
    with connect(url.render_as_string(hide_password=False)) as connection:
        assert fast_paths.supports(connection)
        snap = assert_same(connection)
    assert snap.dialect == "mysql"


@pytest.mark.parametrize("include_views", [True, False])
def test_mariadb_oddities(maria_odd_url: str, include_views: bool) -> None:
    with connect(maria_odd_url) as connection:
        snap = assert_same(connection, include_views=include_views)
        other = assert_same(connection, schemas.database_name(maria_odd_url))
    assert [f.name for f in snap.failures] == (["dangling"] if include_views else [])
    assert other.schema == snap.schema
    # SQLAlchemy's parser drops the IGNORED key, which still holds rows
    # unique; both paths read keys from STATISTICS instead.
    assert [u.name for u in snap.table("t2").unique_constraints] == ["ig", "j", "hs"]
    # It loses two of these keys too (a ")" in a column's name, PARTITION in
    # the line); both paths read keys from KEY_COLUMN_USAGE instead.
    keys = snap.table("ref1").foreign_keys
    assert [
        (k.name, k.columns, k.referred_table, k.referred_columns) for k in keys
    ] == [
        ("fk)1", ("a", "z"), "p(a)rt", ("i)d", "k")),
        ("fk2", ("b)c",), "p(a)rt", ("k",)),
        ("PARTITION_fk", ("z",), "t3", ("g",)),
    ]
    assert "versioned" in {t.name for t in snap.tables}
    assert "counter" not in {t.name for t in snap.tables}


def test_mariadb_cross_database_key(maria_url: str) -> None:
    with schemas.mariadb_database() as other:
        schemas.run_ddl(
            other,
            [
                "CREATE TABLE parent (code char(2) PRIMARY KEY)",
                "CREATE TABLE child (code char(2), CONSTRAINT to_quirk"
                f" FOREIGN KEY (code) REFERENCES `{schemas.database_name(other)}`"
                ".parent (code))",
                "CREATE TABLE far (id int, CONSTRAINT far_key FOREIGN KEY (id)"
                f" REFERENCES `{schemas.database_name(maria_url)}`.customers (id))",
            ],
        )
        with connect(other) as connection:
            snap = assert_same(connection)
    assert snap.table("far").foreign_keys[0].referred_schema == schemas.database_name(
        maria_url
    )
    assert snap.table("child").foreign_keys[0].referred_schema is None


def test_mariadb_separators_in_values_and_names_that_differ_in_case() -> None:
    """Columns come one string a table, cut at control characters; a value
    holding one sends the read row by row. ``Shop`` and ``shop`` stay two
    tables (names grouped by their bytes)."""
    require_mariadb()
    ddl = [
        "CREATE TABLE Shop (id int PRIMARY KEY, a int)",
        "CREATE TABLE shop (id int PRIMARY KEY, b int, c int)",
        "CREATE TABLE defaults (a int DEFAULT NULL, b varchar(5) DEFAULT '',"
        " c varchar(5) DEFAULT 'NULL', d int NOT NULL, e int AS (a + 1)"
        " VIRTUAL COMMENT 'gen', f int AUTO_INCREMENT PRIMARY KEY)",
    ]
    with schemas.mariadb_database(ddl) as url:
        params = {"schema": schemas.database_name(url)}
        with connect(url) as connection:
            grouped = connection.execute(mysql._COLUMNS_BY_TABLE, params).all()
            by_rows: dict[str, list[tuple[Any, ...]]] = {}
            for row in connection.execute(mysql._COLUMNS, params).all():
                by_rows.setdefault(row[0], []).append(tuple(row))
            # One string a table reads exactly what the rows say.
            assert mysql.split_columns(grouped) == by_rows
            snap = assert_same(connection)
            assert [c.name for c in snap.table("Shop").columns] == ["id", "a"]
            assert [c.name for c in snap.table("shop").columns] == ["id", "b", "c"]
            schemas.run_ddl(
                url,
                [
                    "CREATE TABLE ctl (id int COMMENT 'a\x1eb',"
                    " v varchar(9) DEFAULT 'x\x1fy' COMMENT 'u\x1fv')",
                ],
            )
            grouped = connection.execute(mysql._COLUMNS_BY_TABLE, params).all()
            assert mysql.split_columns(grouped) is None
            snap = assert_same(connection)
    ctl = snap.table("ctl")
    assert [c.comment for c in ctl.columns] == ["a\x1eb", "u\x1fv"]
    assert ctl.columns[1].default == "'x\x1fy'"
    assert len(snap.tables) == 4


def test_mariadb_columns_row_by_row_when_the_grouped_query_fails(
    maria_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = sa.text("SELECT no_such_column FROM information_schema.COLUMNS")
    monkeypatch.setattr(mysql, "_COLUMNS_BY_TABLE", broken)
    with connect(maria_url) as connection:
        snap = assert_same(connection)
    assert len(snap.tables) == 7  # the quirk schema, its view included


# -- errors and fallback ------------------------------------------------------
def test_method_is_checked(sqlite_url: str) -> None:
    with connect(sqlite_url) as connection:
        with pytest.raises(ValueError, match=r"^method must be one of 'auto', "):
            read_schema(connection, method="quick")


def test_fast_on_a_dialect_without_one(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(sqlite_url) as connection:
        monkeypatch.setattr(connection.dialect, "name", "oracle")
        with pytest.raises(ValueError, match=r"method='fast' is not available"):
            read_schema(connection, method="fast")
        with pytest.raises(ValueError, match=r"^No fast path for oracle$"):
            fast_paths.read_fast(connection, "main", include_views=True)


def test_unknown_schema_on_every_method(sqlite_url: str) -> None:
    with connect(sqlite_url) as connection:
        for method in ("auto", "fast", "inspector"):
            with pytest.raises(SchemaNotFoundError):
                read_schema(connection, "nope", method=method)


def _failing_read(statement: str) -> Callable[..., Any]:
    def read(connection: sa.Connection, *args: Any) -> Any:
        connection.exec_driver_sql(statement)
        raise AssertionError("unreachable")

    return read


@pytest.mark.parametrize("isolation_level", [None, "AUTOCOMMIT"])
def test_postgres_failing_fast_path_falls_back(
    pg_url: str,
    isolation_level: str | None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A real database error, which aborts a PostgreSQL transaction.
    monkeypatch.setattr(fast_paths.postgresql, "read", _failing_read("SELECT 1 / 0"))
    options = {"isolation_level": isolation_level} if isolation_level else {}
    with connect(pg_url, **options) as connection:
        with caplog.at_level(logging.WARNING, "thoth_db_elements"):
            snap = read_schema(connection, "ledger")
        assert snap == read_schema(connection, "ledger", method="inspector")
        with pytest.raises(IntrospectionError, match=r"DivisionByZero"):
            read_schema(connection, "ledger", method="fast")
        assert connection.exec_driver_sql("SELECT 2").scalar() == 2
    assert any(
        "Fast reading of postgresql schema 'ledger' failed (DivisionByZero:" in m
        for m in caplog.messages
    )


def test_lost_connection_is_not_a_fallback(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*args: Any) -> Any:
        raise sa.exc.OperationalError(
            "SELECT 1", {}, Exception("server closed"), connection_invalidated=True
        )

    monkeypatch.setattr(fast_paths.sqlite, "read", lost)
    with connect(sqlite_url) as connection:
        with pytest.raises(IntrospectionError, match=r"^Lost the connection"):
            read_schema(connection)


# -- statement counts ---------------------------------------------------------
def _plain_ddl(count: int, quote: str, schema: str = "") -> list[str]:
    """``count`` tables with keys, comments and a view (no comments on SQLite)."""
    q = quote
    prefix = f"{q}{schema}{q}." if schema else ""
    statements = []
    for n in range(count):
        key = (
            f", CONSTRAINT {q}fk_{schema}{n}{q} FOREIGN KEY ({q}ref{q})"
            f" REFERENCES {prefix}{q}t{n - 1:04d}{q} ({q}id{q})"
            if n
            else ""
        )
        statements.append(
            f"CREATE TABLE {prefix}{q}t{n:04d}{q} ({q}id{q} integer PRIMARY KEY,"
            f" {q}name{q} varchar(20) NOT NULL, {q}ref{q} integer,"
            f" UNIQUE ({q}name{q}){key})"
        )
    statements.append(
        f"CREATE VIEW {prefix}{q}v{q} AS SELECT {q}id{q} FROM {prefix}{q}t0000{q}"
    )
    return statements


def _count(connection: sa.Connection, schema: str) -> tuple[int, SchemaSnapshot]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        snap = read_schema(connection, schema, method="fast")
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    return len(statements), snap


def test_sqlite_statements_do_not_grow_with_tables(tmp_path: Path) -> None:
    for name, count in (("small", 20), ("big", 200)):
        with closing(sqlite3.connect(tmp_path / f"{name}.sqlite")) as raw, raw:
            for statement in _plain_ddl(count, '"'):
                raw.execute(statement)
    with connect(f"sqlite:///{tmp_path / 'small.sqlite'}") as connection:
        connection.exec_driver_sql(
            "ATTACH DATABASE ? AS big", (str(tmp_path / "big.sqlite"),)
        )
        small, small_snap = _count(connection, "main")
        big, big_snap = _count(connection, "big")
    assert (len(small_snap.tables), len(big_snap.tables)) == (21, 201)
    assert small == big <= 6


def test_postgres_statements_do_not_grow_with_tables(pg_url: str) -> None:
    ddl = [
        "CREATE SCHEMA small",
        "CREATE SCHEMA big",
        *_plain_ddl(20, '"', "small"),
        *_plain_ddl(200, '"', "big"),
        "COMMENT ON TABLE small.t0001 IS 'one'",
        "COMMENT ON TABLE big.t0001 IS 'one'",
    ]
    with schemas.pg_database(ddl) as url, connect(url) as connection:
        connection.exec_driver_sql("SELECT 1")
        small, small_snap = _count(connection, "small")
        big, big_snap = _count(connection, "big")
    assert (len(small_snap.tables), len(big_snap.tables)) == (21, 201)
    assert small == big <= 8


def test_mariadb_statements_do_not_grow_with_tables(maria_url: str) -> None:
    with (
        schemas.mariadb_database(_plain_ddl(20, "`")) as small_url,
        schemas.mariadb_database(_plain_ddl(200, "`")) as big_url,
        connect(small_url) as connection,
    ):
        connection.exec_driver_sql("SELECT 1")
        schemas.next_second()
        small, small_snap = _count(connection, schemas.database_name(small_url))
        big, big_snap = _count(connection, schemas.database_name(big_url))
    assert (len(small_snap.tables), len(big_snap.tables)) == (21, 201)
    assert small == big <= 8


# -- random schemas -----------------------------------------------------------
@dataclass(frozen=True)
class ColumnType:
    """A column type of one dialect, with literals valid as its default."""

    spelling: str
    keyable: bool = True
    defaults: tuple[str, ...] = ()
    #: The type of a column that refers to this one (``serial`` -> integer).
    referring: str | None = None


TYPES: dict[str, tuple[ColumnType, ...]] = {
    "postgresql": (
        ColumnType("integer", defaults=("0", "42")),
        ColumnType("bigint", defaults=("-1",)),
        ColumnType("smallint"),
        ColumnType("serial", referring="integer"),
        ColumnType("text", defaults=("'x'", "'it''s'")),
        ColumnType("varchar(20)", defaults=("''",)),
        ColumnType("char(3)", defaults=("'abc'",)),
        ColumnType("numeric(10, 2)", defaults=("1.50",)),
        ColumnType("boolean", defaults=("true",)),
        ColumnType("date", defaults=("'2024-01-01'", "CURRENT_DATE")),
        ColumnType("timestamp with time zone", defaults=("now()",)),
        ColumnType("double precision", defaults=("2.5",)),
        ColumnType("real"),
        ColumnType("uuid", defaults=("gen_random_uuid()",)),
        ColumnType("jsonb", keyable=False, defaults=("'{}'",)),
        ColumnType("integer[]", keyable=False, defaults=("'{}'",)),
        ColumnType("interval", defaults=("'1 day'",)),
    ),
    "mariadb": (
        ColumnType("int", defaults=("0", "7")),
        ColumnType("bigint unsigned", defaults=("1",)),
        ColumnType("tinyint(1)", defaults=("1",)),
        ColumnType("varchar(20)", defaults=("'x'", "'it''s'", "''", "'a\\\\b'")),
        ColumnType("char(3)", defaults=("'abc'",)),
        ColumnType("decimal(10,2)", defaults=("1.50",)),
        ColumnType("double", defaults=("2.5",)),
        ColumnType("float"),
        ColumnType("date", defaults=("'2024-01-01'",)),
        ColumnType(
            "datetime", defaults=("current_timestamp()", "'2024-01-01 10:00:00'")
        ),
        ColumnType("timestamp", keyable=False, defaults=("current_timestamp()",)),
        ColumnType("time(3)"),
        ColumnType("text", keyable=False, defaults=("'t'",)),
        ColumnType("json", keyable=False),
        ColumnType("enum('a','b)')", defaults=("'a'",)),
        ColumnType("bit(1)", keyable=False, defaults=("b'1'",)),
        ColumnType("year"),
    ),
    "sqlite": (
        ColumnType("INTEGER", defaults=("0", "-1")),
        ColumnType("int"),
        ColumnType("TEXT", defaults=("'x'", "'it''s'")),
        ColumnType("VARCHAR(20)", defaults=("''",)),
        ColumnType("NVARCHAR(30)"),
        ColumnType("DECIMAL(10, 2)", defaults=("1.5",)),
        ColumnType("REAL"),
        ColumnType("BOOLEAN", defaults=("1",)),
        ColumnType("DATE", defaults=("CURRENT_DATE",)),
        ColumnType("DATETIME", defaults=("CURRENT_TIMESTAMP",)),
        ColumnType(""),
        ColumnType("BLOB"),
        ColumnType("Floating Point", defaults=("(1 + 2)",)),
    ),
}
COMMENTS = {"postgresql", "mariadb"}

RESERVED = (
    "order",
    "select",
    "group",
    "from",
    "table",
    "User",
    "KEY",
    "check",
    "Default",
)
NAME_CHARS = "abcXYZ019 _-'\".,()éü"
COMMENT_CHARS = "ab Z 9'\\)(\"é\n"


#: Names SQLite takes unquoted, and the keywords among what NAME_CHARS spells.
BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = {r.lower() for r in RESERVED} | {"by"}
#: Swaps the case of ASCII letters: the only ones SQLite folds.
ASCII_SWAP = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase,
    string.ascii_uppercase + string.ascii_lowercase,
)


def fold(name: str) -> str:
    """What makes two names the same to every dialect (case, accents)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.lower()


@st.composite
def names(draw: st.DrawFn, taken: set[str]) -> str:
    """An awkward name not yet in ``taken`` (folded), added to it."""
    while True:
        if draw(st.integers(0, 3)) == 0:
            name = draw(st.sampled_from(RESERVED))
        else:
            name = draw(st.text(NAME_CHARS, min_size=1, max_size=10)).strip()
        if name and fold(name) not in taken:
            taken.add(fold(name))
            return name


@st.composite
def key_names(draw: st.DrawFn, objects: set[str], columns: set[str]) -> str | None:
    """No name, or a constraint name unused in the schema and among the
    table's column names: MariaDB names an unnamed key's index after its
    first column, and index names must differ within a table."""
    if draw(st.booleans()):
        return None
    while True:
        name = draw(names(objects))
        if fold(name) not in columns:
            columns.add(fold(name))
            return name


@dataclass
class Column:
    name: str
    type: ColumnType
    nullable: bool
    default: str | None = None
    comment: str | None = None


@dataclass
class Key:
    name: str | None
    columns: list[str]
    target: str = ""
    target_columns: list[str] = field(default_factory=list)
    #: SQLite: without the target's column list; inline (column-level);
    #: the target spelt with the case of its ASCII letters swapped.
    bare: bool = False
    inline: bool = False
    respelt: bool = False


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str]
    uniques: list[Key]
    foreign_keys: list[Key]
    comment: str | None = None


@dataclass
class View:
    name: str
    table: str
    columns: list[tuple[str, str]]
    comment: str | None = None


@dataclass
class RandomSchema:
    tables: list[Table]
    views: list[View]


@st.composite
def comments(draw: st.DrawFn) -> str | None:
    return draw(st.none() | st.text(COMMENT_CHARS, max_size=12))


@st.composite
def random_schemas(draw: st.DrawFn, dialect: str) -> RandomSchema:
    objects: set[str] = set()  # tables, views and constraint names share it
    with_comments = dialect in COMMENTS
    tables: list[Table] = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(names(objects))
        taken: set[str] = set()
        columns: list[Column] = []
        for _ in range(draw(st.integers(1, 5))):
            column_type = draw(st.sampled_from(TYPES[dialect]))
            default = None
            if column_type.defaults:
                default = draw(st.none() | st.sampled_from(column_type.defaults))
            columns.append(
                Column(
                    draw(names(taken)),
                    column_type,
                    draw(st.booleans()),
                    default,
                    draw(comments()) if with_comments else None,
                )
            )
        keyable = [c.name for c in columns if c.type.keyable]
        primary_key = (
            draw(st.lists(st.sampled_from(keyable), max_size=2, unique=True))
            if keyable
            else []
        )
        table = Table(
            name,
            columns,
            primary_key,
            [],
            [],
            draw(comments()) if with_comments else None,
        )
        for column in columns:
            if column.name in primary_key:
                column.nullable = False
        targets = [t for t in tables if t.primary_key] + (
            [table] if primary_key else []
        )
        for _ in range(draw(st.integers(0, 2)) if targets else 0):
            target = draw(st.sampled_from(targets))
            by_name = {c.name: c for c in target.columns}
            local = []
            for referred in target.primary_key:
                referred_type = by_name[referred].type
                spelling = referred_type.referring or referred_type.spelling
                local_column = Column(draw(names(taken)), ColumnType(spelling), True)
                columns.append(local_column)
                local.append(local_column.name)
            table.foreign_keys.append(
                Key(
                    draw(key_names(objects, taken)),
                    local,
                    target.name,
                    list(target.primary_key),
                    bare=dialect == "sqlite" and draw(st.booleans()),
                    inline=len(local) == 1 and draw(st.booleans()),
                    respelt=dialect == "sqlite" and draw(st.booleans()),
                )
            )
        for _ in range(draw(st.integers(0, 2))):
            unique = draw(
                st.lists(
                    st.sampled_from([c.name for c in columns]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
            table.uniques.append(
                Key(
                    draw(key_names(objects, taken)),
                    unique,
                    inline=len(unique) == 1 and draw(st.booleans()),
                )
            )
        tables.append(table)
    views: list[View] = []
    for _ in range(draw(st.integers(0, 2))):
        source = draw(st.sampled_from(tables))
        taken = set()
        picked = draw(
            st.lists(
                st.sampled_from([c.name for c in source.columns]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        views.append(
            View(
                draw(names(objects)),
                source.name,
                [(column, draw(names(taken))) for column in picked],
                draw(comments()) if dialect == "postgresql" else None,
            )
        )
    return RandomSchema(tables, views)


# DDL -------------------------------------------------------------------------
def quoted(name: str, quote: str) -> str:
    return quote + name.replace(quote, quote * 2) + quote


def literal(text: str, dialect: str) -> str:
    """``text`` as a string literal of ``dialect``."""
    if dialect == "mariadb":
        text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return "'" + text.replace("'", "''") + "'"


def ddl(schema: RandomSchema, dialect: str, prefix: str = "") -> list[str]:
    """The statements that create ``schema`` (``prefix``: ``"schema".``)."""
    quote = "`" if dialect == "mariadb" else '"'
    sqlite = dialect == "sqlite"
    # SQLite takes no schema in REFERENCES, nor in a view of the same schema.
    inner = "" if sqlite else prefix

    def name_of(name: str) -> str:
        if sqlite and BARE.fullmatch(name) and fold(name) not in KEYWORDS:
            return name  # unquoted, for the parser's rules on bare names
        return quoted(name, quote)

    def listed(names: list[str]) -> str:
        return ", ".join(map(name_of, names))

    def target_of(key: Key) -> str:
        swap = ASCII_SWAP if key.respelt else {}
        target = name_of(key.target.translate(swap))
        if not key.bare:
            target += f" ({listed([c.translate(swap) for c in key.target_columns])})"
        return target

    def text(value: str) -> str:
        return literal(value, dialect)

    statements: list[str] = []
    comments: list[str] = []
    for table in schema.tables:
        table_name = prefix + name_of(table.name)
        parts = []
        for column in table.columns:
            words = [name_of(column.name), column.type.spelling]
            if not column.nullable:
                words.append("NOT NULL")
            if column.default is not None:
                words.append(f"DEFAULT {column.default}")
            if column.comment is not None and dialect == "mariadb":
                words.append(f"COMMENT {text(column.comment)}")
            if sqlite:
                words.extend(
                    "UNIQUE"
                    for unique in table.uniques
                    if unique.inline and unique.columns == [column.name]
                )
            for key in table.foreign_keys:
                if key.inline and key.columns == [column.name] and dialect != "mariadb":
                    words.append(f"REFERENCES {inner}{target_of(key)}")
            parts.append(" ".join(w for w in words if w))
        if table.primary_key:
            parts.append(f"PRIMARY KEY ({listed(table.primary_key)})")
        for unique in table.uniques:
            if not (unique.inline and sqlite):
                named = f"CONSTRAINT {name_of(unique.name)} " if unique.name else ""
                parts.append(f"{named}UNIQUE ({listed(unique.columns)})")
        for key in table.foreign_keys:
            if key.inline and dialect != "mariadb":
                continue
            named = f"CONSTRAINT {name_of(key.name)} " if key.name else ""
            parts.append(
                f"{named}FOREIGN KEY ({listed(key.columns)}) "
                f"REFERENCES {inner}{target_of(key)}"
            )
        statement = f"CREATE TABLE {table_name} ({', '.join(parts)})"
        if table.comment is not None and dialect == "mariadb":
            statement += f" COMMENT={text(table.comment)}"
        statements.append(statement)
        if dialect == "postgresql":
            if table.comment is not None:
                comments.append(
                    f"COMMENT ON TABLE {table_name} IS {text(table.comment)}"
                )
            comments.extend(
                f"COMMENT ON COLUMN {table_name}.{name_of(column.name)}"
                f" IS {text(column.comment)}"
                for column in table.columns
                if column.comment is not None
            )
    for view in schema.views:
        view_name = prefix + name_of(view.name)
        selected = ", ".join(
            f"{name_of(column)} AS {name_of(alias)}" for column, alias in view.columns
        )
        statements.append(
            f"CREATE VIEW {view_name} AS SELECT {selected}"
            f" FROM {inner}{name_of(view.table)}"
        )
        if view.comment is not None:
            comments.append(f"COMMENT ON VIEW {view_name} IS {text(view.comment)}")
    return statements + comments


HYPOTHESIS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],
}


#: The random-schema comparisons are the slowest of the ``source_only``
#: tests: the Python 3.11 SQLite environment, which runs the others, leaves
#: them to ``make test`` too (see tox.ini).
heavy = pytest.mark.skipif(
    bool(os.environ.get("THOTH_SKIP_HEAVY")),
    reason="random schemas: run by `make test` (see tox.ini)",
)


@heavy
@settings(max_examples=150, **HYPOTHESIS)
@given(schema=random_schemas("sqlite"), attached=st.booleans())
def test_random_sqlite_schemas(schema: RandomSchema, attached: bool) -> None:
    engine = sa.create_engine("sqlite://", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            name, prefix = None, ""
            if attached:
                name = 'aux "q"'
                prefix = quoted(name, '"') + "."
                connection.exec_driver_sql(
                    f"ATTACH DATABASE ':memory:' AS {prefix[:-1]}"
                )
            for statement in ddl(schema, "sqlite", prefix):
                connection.exec_driver_sql(statement)
            snapshot = assert_same(connection, name)
            assert_same(connection, name, include_views=False)
    finally:
        engine.dispose()
    # Every key finds its table and columns as SQLite does, whatever the
    # case they are spelt in.
    columns = {t.name: {c.name for c in t.columns} for t in snapshot.tables}
    for table in snapshot.tables:
        for key in table.foreign_keys:
            assert key.referred_table in columns, key
            assert set(key.referred_columns) <= columns[key.referred_table], key


@pytest.fixture(scope="module")
def pg_random_url() -> Iterator[str]:
    require_postgres()
    with schemas.pg_database() as url:
        yield url


@heavy
@settings(max_examples=25, **HYPOTHESIS)
@given(schema=random_schemas("postgresql"), public=st.booleans())
def test_random_postgres_schemas(
    pg_random_url: str, schema: RandomSchema, public: bool
) -> None:
    name = "public" if public else 'Hyp "S", x'
    quoted_name = quoted(name, '"')
    with connect(pg_random_url) as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted_name} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {quoted_name}")
        for statement in ddl(schema, "postgresql", quoted_name + "."):
            connection.exec_driver_sql(statement.replace("%", "%%"))
        connection.commit()
        assert_same(connection, name)
        assert_same(connection, None if public else name, include_views=False)


@pytest.fixture(scope="module")
def maria_random_name() -> Iterator[str]:
    require_mariadb()
    name = f"thoth_hyp_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        schemas.drop_mariadb_database(name)


@heavy
@settings(max_examples=25, **HYPOTHESIS)
@given(schema=random_schemas("mariadb"))
def test_random_mariadb_schemas(maria_random_name: str, schema: RandomSchema) -> None:
    schemas.drop_mariadb_database(maria_random_name)
    server = sa.create_engine(
        MARIADB_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(
                f"CREATE DATABASE `{maria_random_name}` CHARACTER SET utf8mb4"
            )
    finally:
        server.dispose()
    url = (
        make_url(MARIADB_URL)
        .set(database=maria_random_name)
        .render_as_string(hide_password=False)
    )
    schemas.run_ddl(url, ddl(schema, "mariadb"))
    with connect(url) as connection:
        assert_same(connection)
        assert_same(connection, maria_random_name, include_views=False)
