"""Fast paths on shapes the other fast-path tests leave out, on the real servers.

As in ``tests/test_fast_paths.py``, each schema is read with the fast path
and with SQLAlchemy's Inspector, and the snapshots must be equal.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from tests import schemas
from tests.services import require_mariadb, require_postgres
from tests.test_fast_paths import assert_same, connect
from thoth_db_elements.exceptions import IntrospectionError, SchemaNotFoundError
from thoth_db_elements.introspection import raw_types, read_schema
from thoth_db_elements.introspection.fast.sqlite import _may_name_keys
from thoth_db_elements.introspection.raw_types import read_catalogue
from thoth_db_elements.persistence import derive_fk_fields

pytestmark = [pytest.mark.services, pytest.mark.source_only]

MARIADB_DDL = (
    # MariaDB prints NUL and CR in comments as \0 and \r.
    r"CREATE TABLE ctl (a int COMMENT 'nul\0x cr\ry', b int) COMMENT='t\0a\rb'",
    """CREATE TABLE d (a varchar(20) DEFAULT 'auto_increment',
        b int NOT NULL AUTO_INCREMENT PRIMARY KEY, c varchar(5) DEFAULT 'NULL')""",
    # DESCRIBE of a view shows defaults MariaDB makes up (0 for the
    # auto-increment column); SQLAlchemy drops one that mentions
    # auto_increment, quotes the others again and reads every view column
    # as nullable.
    "CREATE VIEW vd AS SELECT a, b, c FROM d",
    "CREATE VIEW vlit AS SELECT 'abc' AS s, 5 AS n, now() AS ts, b * 2 AS b2 FROM d",
    # SQLAlchemy's parser of SHOW CREATE TABLE loses the default and the
    # comment of each of these, and reads row start and end as nullable.
    """CREATE TABLE lost (id int PRIMARY KEY,
        a int INVISIBLE DEFAULT 3 COMMENT 'hidden',
        b timestamp NOT NULL DEFAULT current_timestamp()
          ON UPDATE current_timestamp() COMMENT 'stamp',
        c varchar(20) DEFAULT (concat('a', 'b')) COMMENT 'expression',
        d bit(3) DEFAULT b'101' COMMENT 'bits',
        e text COMPRESSED DEFAULT 'zz' COMMENT 'compressed',
        f datetime DEFAULT NULL ON UPDATE current_timestamp() COMMENT 'updated')""",
    """CREATE TABLE versioned (x int,
        s timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE COMMENT 'from',
        t timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE COMMENT 'to',
        PERIOD FOR SYSTEM_TIME (s, t)) WITH SYSTEM VERSIONING""",
    # A backtick or a line break in a column name: SQLAlchemy's parser
    # keeps the backtick doubled and loses the column with a line break and
    # the keys naming it; both paths take these tables from
    # information_schema.
    """CREATE TABLE bt (`x``y` int COMMENT 'c1', `p\nq` int NOT NULL DEFAULT 4,
        z int INVISIBLE COMMENT 'zz', UNIQUE KEY `u``k` (`x``y`, z),
        PRIMARY KEY (`p\nq`)) COMMENT 'odd names'""",
    "CREATE TABLE btref (a int, FOREIGN KEY (a) REFERENCES bt (`p\nq`))",
    "CREATE VIEW vbt AS SELECT `x``y`, `p\nq` AS `r\ns` FROM bt",
    # Names that read as a table comment, or as a column SQLAlchemy fails on.
    "CREATE TABLE fake (id int PRIMARY KEY, `a\n) COMMENT='evil' x` int)",
    "CREATE TABLE boom (id int PRIMARY KEY, `a\n  ```` enum(1) x` int)",
    # SQLAlchemy's parser loses a key to a table with a backtick in its name.
    "CREATE TABLE `we``ird` (id int PRIMARY KEY)",
    "CREATE TABLE toward (w int, FOREIGN KEY (w) REFERENCES `we``ird` (id))",
)


@pytest.fixture(scope="module")
def maria_url() -> Iterator[str]:
    require_mariadb()
    with schemas.mariadb_database(MARIADB_DDL) as url:
        yield url


@pytest.mark.parametrize("include_views", [True, False])
def test_mariadb_control_characters_and_view_defaults(
    maria_url: str, include_views: bool
) -> None:
    with connect(maria_url) as connection:
        snap = assert_same(connection, include_views=include_views)
    columns = {c.name: c for c in snap.table("ctl").columns}
    assert columns["a"].comment == "nul\0x cr\ry"
    assert {c.name: c.default for c in snap.table("d").columns} == {
        "a": "'auto_increment'",
        "b": None,
        "c": "'NULL'",
    }
    if include_views:
        # A view's columns: NOT NULL as information_schema has it, and no
        # default (a row inserted through the view takes the table's own).
        view = {c.name: (c.default, c.nullable) for c in snap.table("vd").columns}
        assert view == {"a": (None, True), "b": (None, False), "c": (None, True)}
        literals = {c.name: c.default for c in snap.table("vlit").columns}
        assert literals == {"s": None, "n": None, "ts": None, "b2": None}
    else:
        assert "vd" not in {t.name for t in snap.tables}


def test_mariadb_comments_and_defaults_the_parser_loses(maria_url: str) -> None:
    with connect(maria_url) as connection:
        snap = assert_same(connection)
    lost = {c.name: (c.default, c.comment) for c in snap.table("lost").columns}
    assert lost == {
        "id": (None, None),
        "a": ("3", "hidden"),
        "b": ("current_timestamp()", "stamp"),
        "c": ("concat('a','b')", "expression"),
        "d": ("b'101'", "bits"),
        "e": ("'zz'", "compressed"),
        "f": (None, "updated"),
    }
    versioned = {
        c.name: (c.nullable, c.comment) for c in snap.table("versioned").columns
    }
    assert versioned == {"x": (True, None), "s": (False, "from"), "t": (False, "to")}
    bt = snap.table("bt")
    assert [(c.name, c.nullable, c.default, c.comment) for c in bt.columns] == [
        ("x`y", True, None, "c1"),
        ("p\nq", False, "4", None),
        ("z", True, None, "zz"),
    ]
    assert [c.raw_type for c in bt.columns] == ["int(11)"] * 3
    assert [c.primary_key_position for c in bt.columns] == [None, 1, None]
    assert [(u.name, u.columns) for u in bt.unique_constraints] == [
        ("u`k", ("x`y", "z"))
    ]
    assert bt.comment == "odd names"
    (key,) = snap.table("btref").foreign_keys
    assert (key.referred_table, key.referred_columns) == ("bt", ("p\nq",))
    assert snap.table("fake").comment is None
    assert [c.name for c in snap.table("boom").columns] == ["id", "a\n  `` enum(1) x"]
    view = snap.table("vbt")
    assert [(c.name, c.nullable) for c in view.columns] == [
        ("x`y", True),
        ("r\ns", False),
    ]
    (key,) = snap.table("toward").foreign_keys
    assert (key.columns, key.referred_table, key.referred_columns) == (
        ("w",),
        "we`ird",
        ("id",),
    )


#: A sequence whose name holds a line break, as a column's default (MariaDB
#: prints CHECK clauses and string literals with the break escaped), and
#: line breaks in index and constraint names: SQLAlchemy's parser reads the
#: pieces as lines of their own.
MARIADB_LINE_BREAK_DDL = (
    "CREATE SEQUENCE `s\nq`",
    """CREATE TABLE nl (id int DEFAULT (NEXT VALUE FOR `s\nq`) CHECK (id > 0),
        w varchar(9) COMMENT 'w' CHECK (w <> 'a\nb'), PRIMARY KEY (id))""",
    """CREATE TABLE names (a int, b int, c int,
        UNIQUE KEY `u\n  ```` enum(1) x` (a), KEY `k\n  UNIQUE KEY (c)` (b),
        CONSTRAINT `c\n  UNIQUE KEY (b)` CHECK (a > 0))""",
    "CREATE TABLE fk (a int, CONSTRAINT `f\n  ``z`` int` FOREIGN KEY (a) REFERENCES nl (id))",
)


def test_mariadb_line_breaks_in_defaults_and_in_key_names() -> None:
    require_mariadb()
    with schemas.mariadb_database(MARIADB_LINE_BREAK_DDL) as url, connect(url) as c:
        snap = assert_same(c)
        listed = read_catalogue(c, schemas.database_name(url)).listed
    assert set(listed) == {"nl", "names", "fk"}
    columns = {col.name: (col.default, col.comment) for col in snap.table("nl").columns}
    assert columns["w"] == (None, "w")
    assert "\n" in (columns["id"][0] or "")
    names = snap.table("names")
    assert [col.name for col in names.columns] == ["a", "b", "c"]
    assert [(u.name, u.columns) for u in names.unique_constraints] == [
        ("u\n  `` enum(1) x", ("a",))
    ]
    assert [col.name for col in snap.table("fk").columns] == ["a"]


PG_DDL = (
    'CREATE DOMAIN "it""s" AS integer DEFAULT 5',
    # A domain spelt like a type SQLAlchemy knows (citext is an extension's
    # type): SQLAlchemy takes the column for that type and misses the
    # domain's NOT NULL and default.
    "CREATE DOMAIN citext AS varchar(20) NOT NULL DEFAULT 'x'",
    # NOT NULL lives in the domain below; the server checks it, SQLAlchemy
    # does not see it. The default is copied into the domain above.
    "CREATE DOMAIN base_nn AS integer NOT NULL DEFAULT 6",
    "CREATE DOMAIN over_nn AS base_nn",
    "CREATE SEQUENCE doms_seq",
    """CREATE TABLE doms (a "it""s", b citext, c "it""s"[], d int, e over_nn,
        f int DEFAULT (1 + nextval('doms_seq')), g over_nn[])""",
    # A view's column of that domain: an outer join leaves it NULL.
    "CREATE VIEW vz AS SELECT d.e FROM (SELECT 1) AS one LEFT JOIN doms AS d ON false",
    # A default taking a sequence of another schema on the search path.
    "CREATE SCHEMA other",
    "CREATE TABLE other.o (id int DEFAULT nextval('public.doms_seq'))",
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    with schemas.pg_database(PG_DDL) as url:
        yield url


def test_postgres_domains_with_quotes_and_known_names(pg_url: str) -> None:
    with connect(pg_url) as connection:
        snap = assert_same(connection)
    columns = {c.name: c for c in snap.table("doms").columns}
    assert columns["a"].raw_type == '"it""s"'
    assert columns["a"].default == "5"
    assert columns["b"].raw_type == "citext"
    assert (columns["b"].nullable, columns["b"].default) == (
        False,
        "'x'::character varying",
    )
    # An array of a domain: its elements are checked, not the column.
    assert (columns["c"].nullable, columns["c"].default) == (True, None)
    assert (columns["g"].nullable, columns["g"].default) == (True, None)


def test_postgres_types_of_the_databases_own_have_no_family_by_name() -> None:
    # A composite or range type named like a built-in one (here or in
    # another schema) is not that type: no family, whatever its name. A
    # domain over one neither; domains and enums keep theirs.
    require_postgres()
    ddl = (
        "CREATE TYPE timestamp_range AS RANGE (subtype = timestamp)",
        "CREATE TYPE public.money AS (amount numeric, currency char(3))",
        'CREATE TYPE "Date" AS (y int, m int, d int)',
        "CREATE TYPE int AS (v text)",
        'CREATE DOMAIN born_on AS "Date"',
        "CREATE DOMAIN day AS date",
        "CREATE TYPE mood AS ENUM ('ok')",
        "CREATE SCHEMA other",
        "CREATE TYPE other.date AS (d date)",
        "CREATE TABLE t (period timestamp_range, price public.money,"
        ' born "Date", x public.int, b born_on, d day, m mood,'
        " o other.date, r tsrange, plain date, cash money, days int4range[])",
    )
    with schemas.pg_database(ddl) as url, connect(url) as connection:
        snap = assert_same(connection)
    formats = {c.name: c.data_format for c in snap.table("t").columns}
    assert formats == {
        "period": "VARCHAR",
        "price": "VARCHAR",
        "born": "VARCHAR",
        "x": "VARCHAR",
        "b": "VARCHAR",
        "d": "DATE",
        "m": "ENUM",
        "o": "VARCHAR",
        "r": "VARCHAR",
        "plain": "DATE",
        "cash": "DECIMAL",
        "days": "VARCHAR",
    }


def test_postgres_not_null_and_defaults_as_the_server_applies_them(
    pg_url: str,
) -> None:
    with connect(pg_url) as connection:
        snap = assert_same(connection)
        other = assert_same(connection, "other")
    columns = {c.name: c for c in snap.table("doms").columns}
    assert (columns["e"].nullable, columns["e"].default) == (False, "6")
    (viewed,) = snap.table("vz").columns
    assert viewed.nullable
    # The whole expression, as the server prints it.
    assert columns["f"].default == "(1 + nextval('doms_seq'::regclass))"
    # Not put in schema "other": the sequence lives in public.
    (column,) = other.table("o").columns
    assert column.default == "nextval('doms_seq'::regclass)"
    # What the snapshot says is what the server does.
    with connect(pg_url) as connection:
        connection.exec_driver_sql("INSERT INTO doms (d) VALUES (1)")
        row = connection.exec_driver_sql("SELECT b, e, f FROM doms").one()
        assert tuple(row) == ("x", 6, 2)
        with pytest.raises(sa.exc.IntegrityError, match="does not allow null"):
            connection.exec_driver_sql("INSERT INTO doms (e) VALUES (NULL)")
        connection.rollback()
        assert connection.exec_driver_sql("SELECT e FROM vz").scalar() is None
        connection.rollback()


@cache
def _case_blind_variants(letter: str) -> list[str]:
    """Every character of the Basic Multilingual Plane a case-blind search
    takes for ``letter``."""
    pattern = re.compile(letter, re.I)
    return [chr(c) for c in range(0x10000) if pattern.fullmatch(chr(c))]


@st.composite
def foreign_words(draw: st.DrawFn) -> str:
    """``FOREIGN`` spelt with any characters a case-blind search takes for
    its letters, between random text."""
    word = "".join(
        draw(st.sampled_from(_case_blind_variants(letter))) for letter in "FOREIGN"
    )
    return draw(st.text(max_size=5)) + word + draw(st.text(max_size=5))


@given(foreign_words())
def test_sqlite_foreign_word_test_misses_nothing_a_case_blind_search_finds(
    text: str,
) -> None:
    """The cheap test that lets a table's text go unparsed for key names
    must say yes wherever a case-blind search finds ``FOREIGN``."""
    assert re.search("FOREIGN", text, re.I)
    assert _may_name_keys(text)


def test_sqlite_foreign_word_test_examples() -> None:
    assert _may_name_keys("CREATE TABLE t (a, foreign key (a) references u)")
    assert _may_name_keys("FOREİGN")  # U+0130, which re.I takes for I
    assert not _may_name_keys("CREATE TABLE t (a REFERENCES u (id))")


def test_mariadb_columns_sqlalchemy_misreads_are_taken_from_the_catalogue(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # With the names that give SQLAlchemy's parser trouble unknown to
    # read_catalogue, the Inspector path still finds the misreading.
    require_mariadb()
    monkeypatch.setattr(raw_types, "MARIADB_UNPARSED", re.compile(r"(?!)"))
    ddl = ("CREATE TABLE bt (`x``y` int, `p\nq` int, z int)",)
    with schemas.mariadb_database(ddl) as url, connect(url) as c:
        snap = assert_same(c)
    assert [col.name for col in snap.table("bt").columns] == ["x`y", "p\nq", "z"]
    assert "SQLAlchemy misread the columns of 'bt'" in caplog.text


@pytest.mark.parametrize("mode", ["ANSI", "ORACLE"])
def test_mariadb_session_modes_that_change_what_the_server_prints(mode: str) -> None:
    # Under these modes SHOW CREATE TABLE prints no table options (no
    # comment for SQLAlchemy to read), and ORACLE's CONCAT skips NULLs.
    require_mariadb()
    ddl = (
        "CREATE TABLE m (c int NOT NULL, d int DEFAULT 5, e varchar(3) DEFAULT '')"
        " COMMENT 'x'",
    )
    init = {"init_command": f"SET SESSION sql_mode = CONCAT(@@sql_mode, ',{mode}')"}
    with schemas.mariadb_database(ddl) as url, connect(url, connect_args=init) as c:
        snap = assert_same(c)
    table = snap.table("m")
    assert table.comment == "x"
    assert [col.default for col in table.columns] == [None, "5", "''"]


def test_mariadb_ansi_quotes_set_after_sqlalchemy_looked() -> None:
    # SQLAlchemy reads sql_mode once, on its first connection, before a
    # "connect" listener sets ANSI; its SHOW CREATE TABLE parser then finds
    # no columns. The catalogue's columns stand in for them.
    require_mariadb()
    ddl = (
        "CREATE TABLE parent (a int, b int, PRIMARY KEY (b, a))",
        "CREATE TABLE child (id int PRIMARY KEY, a int, b int,"
        " FOREIGN KEY (b, a) REFERENCES parent (b, a))",
    )
    with schemas.mariadb_database(ddl) as url:
        engine = sa.create_engine(url, poolclass=NullPool)

        @sa.event.listens_for(engine, "connect")
        def ansi(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION sql_mode = 'ANSI'")
            cursor.close()

        try:
            with engine.connect() as c:
                snap = assert_same(c)
        finally:
            engine.dispose()
    assert [col.name for col in snap.table("child").columns] == ["id", "a", "b"]
    assert snap.table("parent").primary_key == ("b", "a")
    assert snap.complete


@contextmanager
def mariadb_user(
    url: str, user: str, grants: Sequence[str], undo: Sequence[str] = ()
) -> Iterator[str]:
    """A MariaDB user ``user`` (password ``pw``) given ``grants`` once
    created: ``url`` as that user. Dropped after, then ``undo`` run."""
    schemas.run_ddl(
        schemas.MARIADB_URL, [f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'", *grants]
    )
    try:
        limited = sa.engine.make_url(url).set(username=user, password="pw")
        yield limited.render_as_string(hide_password=False)
    finally:
        schemas.run_ddl(schemas.MARIADB_URL, [f"DROP USER '{user}'@'%'", *undo])


def test_mariadb_tables_that_cannot_be_opened_or_seen() -> None:
    # A MERGE table over a missing one: information_schema gives the error
    # as its comment. A user with INDEX on a table sees it but none of its
    # columns; with SELECT on some columns, those only. Both paths fail
    # them alike: a table short of columns is not the table.
    require_mariadb()
    ddl = (
        "CREATE TABLE base1 (a int) ENGINE=MyISAM",
        "CREATE TABLE mrg (a int) ENGINE=MRG_MyISAM UNION=(base1, nosuch)"
        " COMMENT 'merge'",
        "CREATE TABLE hidden (id int PRIMARY KEY, x int, UNIQUE KEY ig (x) IGNORED)",
        "CREATE TABLE part (id int PRIMARY KEY, secret varchar(10), pub int,"
        " UNIQUE KEY us (secret))",
        "CREATE TABLE whole (id int PRIMARY KEY)",
        "CREATE TABLE `by:role%` (id int PRIMARY KEY, status int)",
        "CREATE TABLE dropped (id int)",
        "CREATE TABLE vbase (id int, a int, secret int)",
        "CREATE SQL SECURITY INVOKER VIEW inv AS SELECT id, a, secret FROM vbase",
        "CREATE TABLE allcols (id int PRIMARY KEY, v int COMMENT 'vv')",
        "CREATE TABLE rolepart (id int PRIMARY KEY, secret int)",
        "CREATE TABLE pubpart (id int PRIMARY KEY, secret int)",
    )
    with schemas.mariadb_database(ddl) as url, connect(url) as c:
        snap = assert_same(c)
        assert [f.name for f in snap.failures] == ["mrg"]
        name = schemas.database_name(url)
        user, role = f"thoth_idx_{name[-8:]}", f"thoth_role_{name[-8:]}"
        grants = [
            # SELECT through a role, an UPDATE of one column of its own:
            # every column is seen, though not by the user's own grants.
            f"CREATE ROLE {role}",
            f"GRANT SELECT ON `{name}`.`by:role%` TO {role}",
            f"GRANT {role} TO '{user}'@'%'",
            f"SET DEFAULT ROLE {role} FOR '{user}'@'%'",
            f"GRANT UPDATE (status) ON `{name}`.`by:role%` TO '{user}'@'%'",
            # A grant left on a table that is no more.
            f"GRANT SELECT (id) ON `{name}`.dropped TO '{user}'@'%'",
            f"DROP TABLE `{name}`.dropped",
            f"GRANT INDEX ON `{name}`.hidden TO '{user}'@'%'",
            f"GRANT SELECT (id, pub) ON `{name}`.part TO '{user}'@'%'",
            # Some columns of a view that fails for its invoker anyway.
            f"GRANT SELECT (id, a) ON `{name}`.inv TO '{user}'@'%'",
            f"GRANT INSERT (id) ON `{name}`.whole TO '{user}'@'%'",
            f"GRANT SELECT ON `{name}`.whole TO '{user}'@'%'",
            # Every column, one by one: SHOW CREATE TABLE is refused, but
            # the whole table is seen.
            f"GRANT SELECT (id, v) ON `{name}`.allcols TO '{user}'@'%'",
            # Some columns, through a role or PUBLIC only: the user's
            # own grants do not name the table.
            f"GRANT SELECT (id) ON `{name}`.rolepart TO {role}",
            f"GRANT SELECT (id) ON `{name}`.pubpart TO PUBLIC",
        ]
        undo = [
            f"REVOKE SELECT (id) ON `{name}`.pubpart FROM PUBLIC",
            f"DROP ROLE {role}",
        ]
        with mariadb_user(url, user, grants, undo) as limited:
            with connect(limited) as lc:
                privilege_reads: list[str] = []

                @sa.event.listens_for(lc, "before_cursor_execute")
                def note(*args: Any) -> None:
                    if "_PRIVILEGES" in args[2]:
                        privilege_reads.append(args[2])

                seen = assert_same(lc)
            # Another session holds "part": the check cannot be made, and
            # the table fails rather than go in short of columns.
            with connect(url) as holder:
                holder.exec_driver_sql(f"LOCK TABLES `{name}`.part WRITE")
                try:
                    with connect(limited) as lc:
                        locked = read_schema(lc, method="fast")
                finally:
                    holder.exec_driver_sql("UNLOCK TABLES")
    assert not seen.listing_complete
    # The user's grants are read once a read, on each path.
    assert len(privilege_reads) == 2
    failed = ["hidden", "inv", "part", "pubpart", "rolepart"]
    assert [f.name for f in seen.failures] == failed
    assert "sees only some of the table's columns" in seen.failures[2].error
    assert [f.name for f in locked.failures] == failed
    assert [t.name for t in locked.tables] == ["allcols", "by:role%", "whole"]
    # Column grants beside a table-wide SELECT, or on every column: every
    # column is seen.
    assert [t.name for t in seen.tables] == ["allcols", "by:role%", "whole"]
    assert [(c.name, c.comment) for c in seen.table("allcols").columns] == [
        ("id", None),
        ("v", "vv"),
    ]
    assert [c.name for c in seen.table("by:role%").columns] == ["id", "status"]


@pytest.mark.parametrize(
    ("user", "escaped"),
    [
        # The user part of CURRENT_USER() is what comes before its last
        # "@": cut at the first, the grants were nobody's.
        ("bo@x_", False),
        # GRANT ... ON `a\\_b`.* names the schema a_b exactly (an unescaped _
        # is a wildcard); SCHEMA_PRIVILEGES keeps it escaped, and compared
        # as kept the grant was nobody's.
        ("esc_", True),
    ],
    ids=["user-with-an-at-sign", "escaped-schema-name"],
)
def test_mariadb_schema_wide_grants_are_recognised(user: str, escaped: bool) -> None:
    # Unrecognised, a user with SELECT on the schema was taken for one who
    # may not see every table: nothing deleted, ever, and every table tried.
    require_mariadb()
    with schemas.mariadb_database(("CREATE TABLE t (id int PRIMARY KEY)",)) as url:
        name = schemas.database_name(url)
        assert "_" in name
        granted = name.replace("_", "\\_") if escaped else name
        user = f"{user}{name[-8:]}"
        grants = [f"GRANT SELECT ON `{granted}`.* TO '{user}'@'%'"]
        with mariadb_user(url, user, grants) as limited, connect(limited) as lc:
            snap = assert_same(lc)
    assert snap.listing_complete
    assert [t.name for t in snap.tables] == ["t"]


def test_mariadb_key_to_a_column_spelt_in_another_case() -> None:
    # Made while foreign_key_checks is off (a dump's restore), a key keeps
    # its target column as written, ID for id, and MariaDB enforces it all
    # the same. Read as written, it pointed at no column: no fk_field, no
    # relationship.
    require_mariadb()
    ddl = (
        "SET foreign_key_checks = 0",
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int,"
        " FOREIGN KEY (parent_id) REFERENCES parent (ID))",
        "CREATE TABLE other (id int PRIMARY KEY, p int, c int,"
        " FOREIGN KEY (p, c) REFERENCES parent (Id, CODE),"
        " FOREIGN KEY (c) REFERENCES nosuch (x))",
        "CREATE TABLE parent (id int, Code int, PRIMARY KEY (id, Code))",
        "SET foreign_key_checks = 1",
    )
    with schemas.mariadb_database(ddl) as url, connect(url) as conn:
        snap = assert_same(conn)
    (child,) = snap.table("child").foreign_keys
    assert (child.referred_table, child.referred_columns) == ("parent", ("id",))
    keys = {
        k.referred_table: k.referred_columns for k in snap.table("other").foreign_keys
    }
    assert keys == {"parent": ("id", "Code"), "nosuch": ("x",)}
    assert derive_fk_fields(snap)[("child", "parent_id")] == "parent.id"


# -- SQLite: primary keys that accept NULL --------------------------------------
#: Tables whose key columns SQLite lets hold NULL, or not: an INTEGER
#: PRIMARY KEY is the rowid; a key of a WITHOUT ROWID or STRICT table, or
#: one declared NOT NULL, refuses NULL; any other key of a table with a
#: rowid takes NULL (a legacy rule), though ``pragma_table_info`` reports
#: all of them alike.
SQLITE_KEYS = (
    "CREATE TABLE rowid_alias (id integer PRIMARY KEY, x text)",
    "CREATE TABLE text_key (id char(8) PRIMARY KEY, x text)",
    "CREATE TABLE int_key (id int PRIMARY KEY)",
    "CREATE TABLE desc_key (id integer PRIMARY KEY DESC, x text)",
    "CREATE TABLE desc_alias (id INTEGER, PRIMARY KEY (id DESC))",
    "CREATE TABLE no_rowid (id char(8) PRIMARY KEY, x text) WITHOUT ROWID",
    "CREATE TABLE strict_key (id text PRIMARY KEY, x text) STRICT",
    "CREATE TABLE declared (id text NOT NULL PRIMARY KEY)",
    "CREATE TABLE pair (p int, q int NOT NULL, PRIMARY KEY (p, q))",
    "CREATE TABLE gen (id int PRIMARY KEY, g int GENERATED ALWAYS AS (id + 1))",
)


def _takes_null(raw: sqlite3.Connection, schema: str, table: str, column: str) -> bool:
    """Whether SQLite stores NULL in ``column`` (tried, then rolled back)."""
    columns = [
        name
        for name, hidden in raw.execute(
            "SELECT name, hidden FROM pragma_table_xinfo(?, ?)", (table, schema)
        )
        if hidden == 0
    ]
    values = ", ".join("NULL" if name == column else "1" for name in columns)
    target = f'"{schema}"."{table}"'
    try:
        raw.execute("SAVEPOINT probe")
        raw.execute(f"INSERT INTO {target} VALUES ({values})")
        (count,) = raw.execute(
            f'SELECT count(*) FROM {target} WHERE "{column}" IS NULL'
        ).fetchone()
        return bool(count)
    except sqlite3.IntegrityError:
        return False
    finally:
        raw.execute("ROLLBACK TO probe")
        raw.execute("RELEASE probe")


@pytest.mark.parametrize("schema", ["main", "other db"])
def test_sqlite_key_columns_are_nullable_where_sqlite_takes_null(
    tmp_path: Path, schema: str
) -> None:
    main, other = tmp_path / "main.sqlite", tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other if schema != "main" else main)) as raw, raw:
        for statement in SQLITE_KEYS:
            raw.execute(statement)
    sqlite3.connect(main).close()
    with connect(f"sqlite:///{main}") as connection:
        connection.exec_driver_sql("ATTACH DATABASE ? AS ?", (str(other), "other db"))
        snapshot = assert_same(connection, schema)
        loose = raw_types.read_catalogue(connection, schema).loose_keys
    with closing(sqlite3.connect(main, isolation_level=None)) as raw:
        raw.execute("ATTACH DATABASE ? AS ?", (str(other), "other db"))
        truth = {
            (table.name, column.name): _takes_null(raw, schema, table.name, column.name)
            for table in snapshot.tables
            for column in table.columns
            if column.primary_key_position
        }
    read = {
        (table.name, column.name): column.nullable
        for table in snapshot.tables
        for column in table.columns
        if column.primary_key_position
    }
    assert read == truth
    assert {key for key, nullable in read.items() if nullable} == {
        ("text_key", "id"),
        ("int_key", "id"),
        ("desc_key", "id"),
        ("pair", "p"),
        ("gen", "id"),
    }
    # Tables whose keys take NULL unless declared NOT NULL.
    assert loose == {"text_key", "int_key", "desc_key", "pair", "gen", "declared"}


def test_sqlite_keys_that_refuse_null_cost_no_statement(tmp_path: Path) -> None:
    """The query for keys that take NULL runs only when a table may have one."""
    path = tmp_path / "keys.sqlite"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE a (id integer PRIMARY KEY)")
        raw.execute("CREATE TABLE b (id text NOT NULL PRIMARY KEY)")
        raw.execute("CREATE TABLE c (id text PRIMARY KEY) WITHOUT ROWID")
    with connect(f"sqlite:///{path}") as connection:
        statements: list[str] = []
        sa.event.listen(
            connection,
            "before_cursor_execute",
            lambda *args: statements.append(args[2]),
        )
        read_schema(connection, method="fast")
    assert not any("pragma_index_xinfo" in s for s in statements), statements
    assert len(statements) == 4


# -- PostgreSQL: what the session and the driver must not change ---------------
def test_postgres_domain_defaults_name_what_was_renamed_since() -> None:
    require_postgres()
    ddl = (
        "CREATE SEQUENCE s1",
        "CREATE DOMAIN d1 AS integer DEFAULT nextval('s1')",
        "CREATE FUNCTION f0() RETURNS int LANGUAGE sql AS 'select 5'",
        "CREATE DOMAIN fd AS int DEFAULT f0()",
        "CREATE TABLE t (id int PRIMARY KEY, a d1, z fd)",
        "ALTER SEQUENCE s1 RENAME TO s1_renamed",
        "ALTER FUNCTION f0() RENAME TO f1",
    )
    with schemas.pg_database(ddl) as url, connect(url) as connection:
        columns = {
            c.name: c.default for c in assert_same(connection).table("t").columns
        }
    assert columns == {
        "id": None,
        "a": "nextval('s1_renamed'::regclass)",
        "z": "f1()",
    }


def test_postgres_default_schema_is_the_connections_own() -> None:
    require_postgres()
    ddl = (
        "CREATE TABLE t (id int)",
        "CREATE SCHEMA other",
        "CREATE TABLE other.o (x int)",
    )
    with schemas.pg_database(ddl) as url, connect(url) as connection:
        assert read_schema(connection).schema == "public"
        connection.exec_driver_sql("SET search_path TO other")
        snapshot = assert_same(connection)
    assert (snapshot.schema, [t.name for t in snapshot.tables]) == ("other", ["o"])


def test_postgres_keys_read_with_pg8000() -> None:
    """pg8000 parses no array written with its bounds (``[0:1]={1,2}``)."""
    require_postgres()
    pytest.importorskip("pg8000")
    ddl = (
        "CREATE TABLE p (a int, b int, c int, PRIMARY KEY (b, a), UNIQUE (c, a))",
        "CREATE TABLE r (x int, y int, FOREIGN KEY (x, y) REFERENCES p (b, a))",
    )
    with schemas.pg_database(ddl) as url:
        with connect(url) as connection:
            expected = read_schema(connection, method="fast")
        other = sa.make_url(url).set(drivername="postgresql+pg8000")
        with connect(other.render_as_string(hide_password=False)) as connection:
            assert read_schema(connection, method="fast") == expected
    assert expected.table("p").primary_key == ("b", "a")


def test_postgres_schema_changed_between_two_queries_falls_back_to_the_inspector() -> (
    None
):
    """On a READ COMMITTED connection a column and a key added between the
    fast path's queries surprise it: ``auto`` reads with the Inspector
    instead, ``fast`` says so as an ``IntrospectionError``."""
    require_postgres()
    with schemas.pg_database(["CREATE TABLE a (id int PRIMARY KEY)"]) as url:
        other = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            for method in ("auto", "fast"):
                with connect(url) as connection:
                    done: list[bool] = []

                    def migrate(
                        *args: Any, done: list[bool] = done, column: str = method
                    ) -> None:
                        if not done and "con.contype IN ('p', 'u')" in args[2]:
                            done.append(True)
                            with other.connect() as c:
                                c.exec_driver_sql(
                                    f"ALTER TABLE a ADD COLUMN {column} text UNIQUE"
                                )

                    sa.event.listen(connection, "before_cursor_execute", migrate)
                    if method == "fast":
                        with pytest.raises(IntrospectionError, match="KeyError"):
                            read_schema(connection, method=method)
                    else:
                        snapshot = read_schema(connection, method=method)
                        names = [c.name for c in snapshot.table("a").columns]
                        assert names == ["id", "auto"]
                assert done
        finally:
            other.dispose()


def test_sqlite_bracketed_type_names_with_a_length(tmp_path: Path) -> None:
    # SQL Server's spelling, common in converted databases: SQLite reports
    # [time](7) as time](7, and the family fell to SQLite's affinity rules.
    path = tmp_path / "brackets.sqlite"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute(
            "CREATE TABLE t (a [time](7), b [char](10), c [varbinary](50),"
            " d [decimal](10, 2), e [int])"
        )
    with connect(f"sqlite:///{path}") as connection:
        snap = assert_same(connection)
    formats = [(c.name, c.data_format) for c in snap.table("t").columns]
    assert formats == [
        ("a", "TIME"),
        ("b", "CHAR"),
        ("c", "VARCHAR"),
        ("d", "DECIMAL"),
        ("e", "INT"),
    ]


def test_sqlite_generated_columns_and_a_comment_before_strict(tmp_path: Path) -> None:
    """SQLAlchemy's check of the CREATE text of a table with generated
    columns fails on a comment before STRICT or WITHOUT ROWID, and so does
    its reading of a key to that table without a column list; the pragmas
    tell everything, and the fast path reads both tables."""
    path = tmp_path / "generated.sqlite"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.executescript(
            """
            CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INT, price REAL,
              total REAL AS (qty * price)
            ) /* strict typing */ STRICT;
            CREATE TABLE lines (id INTEGER PRIMARY KEY,
              order_id INT REFERENCES orders) -- the key
              WITHOUT ROWID;
            """
        )
    with connect(f"sqlite:///{path}") as connection:
        inspector = read_schema(connection, method="inspector")
        fast = read_schema(connection, method="fast")
        auto = read_schema(connection)
    assert {f.name for f in inspector.failures} == {"orders", "lines"}
    assert auto == fast
    assert not fast.failures
    orders, lines = fast.table("orders"), fast.table("lines")
    assert [(c.name, c.raw_type) for c in orders.columns] == [
        ("id", "INTEGER"),
        ("qty", "INT"),
        ("price", "REAL"),
        ("total", "REAL"),
    ]
    (key,) = lines.foreign_keys
    assert (key.columns, key.referred_table, key.referred_columns) == (
        ("order_id",),
        "orders",
        ("id",),
    )


def test_mariadb_ignoring_case_finds_a_schema_spelt_as_created(tmp_path: Path) -> None:
    # A server with lower_case_table_names=1 stores "RB_Shop" as "rb_shop"
    # and takes either spelling; the reader took only the stored one.
    from tests.services import private_mariadb

    with private_mariadb(tmp_path, "--lower-case-table-names=1") as url:
        schemas.run_ddl(
            url,
            [
                "CREATE DATABASE RB_Shop",
                "CREATE TABLE RB_Shop.Orders (id int PRIMARY KEY)",
            ],
        )
        with connect(url) as c:
            snap = assert_same(c, "RB_Shop")
            with pytest.raises(SchemaNotFoundError):
                read_schema(c, "RB_Shoe")
    assert snap.schema == "rb_shop"
    assert [t.name for t in snap.tables] == ["orders"]


def test_mariadb_tables_a_role_shows_are_checked_a_join_at_a_time() -> None:
    # A user whose grants come through a role: its own grants show none of
    # the tables, so each must be tried; 61 tables a query, and a hidden
    # one found by halves.
    require_mariadb()
    ddl = [f"CREATE TABLE t{n:03d} (id int PRIMARY KEY, v int)" for n in range(130)]
    with schemas.mariadb_database(ddl) as url:
        name = schemas.database_name(url)
        user, role = f"thoth_rj_{name[-8:]}", f"thoth_rjr_{name[-8:]}"
        grants = [f"GRANT SELECT ON `{name}`.`t{n:03d}` TO {role}" for n in range(130)]
        grants[77] = f"GRANT SELECT (id) ON `{name}`.t077 TO {role}"
        setup = [
            f"CREATE ROLE {role}",
            *grants,
            f"GRANT {role} TO '{user}'@'%'",
            f"SET DEFAULT ROLE {role} FOR '{user}'@'%'",
        ]
        with mariadb_user(url, user, setup, [f"DROP ROLE {role}"]) as limited:
            with connect(limited) as lc:
                probes: list[str] = []

                @sa.event.listens_for(lc, "before_cursor_execute")
                def note(*args: Any) -> None:
                    if args[2].endswith("LIMIT 0"):
                        probes.append(args[2])

                snap = read_schema(lc, method="fast")
    assert [f.name for f in snap.failures] == ["t077"]
    assert len(snap.tables) == 129
    # Three joins of up to 61 tables, then halves of the one refused: 61,
    # 31, 16, 8, 4, 2 and 1 tables, and the other halves.
    assert len(probes) <= 3 + 2 * 6


@contextmanager
def _changed_while_read(
    url: str, change: Callable[[sa.Connection, int], None]
) -> Iterator[sa.Connection]:
    """A connection to read ``url``, and another session that calls
    ``change(itself, n)`` just after the read's ``n``-th column query."""
    other = sa.create_engine(url, poolclass=NullPool)
    try:
        with connect(url) as reader, other.connect() as session:
            reads = 0

            @sa.event.listens_for(reader, "after_cursor_execute")
            def after(*args: Any) -> None:
                nonlocal reads
                if "information_schema.COLUMNS" in args[2]:
                    reads += 1
                    change(session, reads)

            yield reader
    finally:
        other.dispose()


def test_mariadb_a_change_in_the_second_of_the_last_one_is_not_read_half() -> None:
    """``CREATE_TIME`` counts seconds: an ``ALTER`` between the read's
    statements, in the second the table was created, leaves the table list
    as it was. The read is made again and must agree: no mix of the two
    states (the old columns with the new key: no primary key at all)."""
    require_mariadb()
    altered: list[int] = []

    def rename(session: sa.Connection, read: int) -> None:
        if read == 1:
            altered.append(read)
            session.exec_driver_sql("ALTER TABLE t RENAME COLUMN a TO a2")

    with schemas.mariadb_database(()) as url, _changed_while_read(url, rename) as c:
        schemas.next_second()  # early in a second
        schemas.run_ddl(url, ["CREATE TABLE t (a int PRIMARY KEY, b int)"])
        snapshot = read_schema(c)
    assert altered
    [table] = snapshot.tables
    assert [(col.name, col.primary_key_position) for col in table.columns] == [
        ("a2", 1),
        ("b", None),
    ]


def test_mariadb_a_read_after_changes_a_second_apart_is_taken() -> None:
    """Changes during two reads, then a quiet third read a second later:
    the third is clean by its own listing (each read is judged from the
    listing it began after), not "kept changing"."""
    require_mariadb()
    reads: list[int] = []

    def add_column(session: sa.Connection, read: int) -> None:
        reads.append(read)
        if read <= 2:
            session.exec_driver_sql(f"ALTER TABLE t ADD COLUMN c{read} int")
        if read == 2:
            time.sleep(1.2)

    with (
        schemas.mariadb_database(("CREATE TABLE t (id int PRIMARY KEY)",)) as url,
        _changed_while_read(url, add_column) as c,
    ):
        schemas.next_second()
        snapshot = read_schema(c)
    assert reads == [1, 2, 3]
    [table] = snapshot.tables
    assert [col.name for col in table.columns] == ["id", "c1", "c2"]
