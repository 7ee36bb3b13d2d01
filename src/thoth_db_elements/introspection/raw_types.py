"""Bulk catalogue queries that complement SQLAlchemy's Inspector.

SQLAlchemy reflects types into its own objects (``NullType`` for the ones it
does not know, such as PostgreSQL ``point``); people recognise the catalogue's
spelling, so the snapshot keeps that. ``read_catalogue`` runs a few queries
per schema (not per table) on PostgreSQL, MySQL/MariaDB and SQLite and returns
the raw type of every column, plus, on PostgreSQL, which tables are
partitions, on PostgreSQL and MariaDB each column's NOT NULL, default and
comment as the catalogue declares them (``ColumnRules``), and on MariaDB
keys and table comments where SQLAlchemy's parser misreads them. Names
are always bound as parameters or quoted by SQLAlchemy, never concatenated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = [
    "DOMAINS_CTE",
    "MARIADB_RULES_VERSION",
    "MARIADB_UNPARSED",
    "POSTGRESQL_COLUMN_JOINS",
    "POSTGRESQL_USER_DEFINED",
    "Catalogue",
    "ColumnRules",
    "RawType",
    "TableKeys",
    "mariadb_column_rules",
    "mariadb_keys",
    "postgresql_column_rules",
    "read_catalogue",
]

logger = logging.getLogger(__name__)

#: (table name, column name)
ColumnKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class RawType:
    """A column's type as the catalogue spells it, plus what normalising needs.

    ``base_type`` is the underlying type of a PostgreSQL domain (followed
    through domains over domains); ``is_enum`` says the type, or the domain's
    base, is a PostgreSQL enum; ``user_defined`` that it is, or the domain's
    base is, a PostgreSQL type of the database's own with no family
    (``POSTGRESQL_USER_DEFINED``), whatever its name.
    """

    name: str
    base_type: str | None = None
    is_enum: bool = False
    user_defined: bool = False


@dataclass(frozen=True, slots=True)
class ColumnRules:
    """A column's NOT NULL, default and comment as the catalogue holds them
    (PostgreSQL and MariaDB, where SQLAlchemy's reading loses some)."""

    not_null: bool
    default: str | None
    comment: str | None


#: MariaDB from which ``COLUMN_DEFAULT`` spells a default as SQL (a string
#: quoted, ``NULL`` for none); older servers print strings bare.
MARIADB_RULES_VERSION: Final = (10, 2, 7)


def mariadb_column_rules(
    nullable: str, default: str | None, comment: str | None, is_view: bool
) -> ColumnRules:
    """A MariaDB column's rules from its ``information_schema.COLUMNS``
    values ``IS_NULLABLE``, ``COLUMN_DEFAULT`` and ``COLUMN_COMMENT``: the
    default as MariaDB spells it (``'abc'``, ``current_timestamp()``,
    ``concat('a','b')``), ``NULL`` being none; an empty comment none.

    A view's column has no default: MariaDB makes one up from the
    expression (``''``, ``0``, ``'0000-00-00 00:00:00'``) or prints ``0``
    for an auto-increment column, while a row inserted through the view
    takes the table's own.
    """
    return ColumnRules(
        nullable == "NO",
        None if is_view or default is None or default == "NULL" else default,
        comment or None,
    )


#: Characters in a MariaDB name that SQLAlchemy's parser of ``SHOW CREATE
#: TABLE`` does not survive: it keeps a quote character doubled (`` a``b ``;
#: ``"`` when the session has ``ANSI_QUOTES``) and takes a line break for
#: the end of a line, reading the pieces as columns or keys of their own.
MARIADB_UNPARSED: Final = re.compile(r'[`"\r\n]')
_LINE_BREAK: Final = re.compile(r"[\r\n]")


@dataclass(frozen=True, slots=True)
class TableKeys:
    """A MariaDB table's primary key and unique keys (``(name, columns)``)
    as ``information_schema.STATISTICS`` lists them. SQLAlchemy's parser
    of ``SHOW CREATE TABLE`` drops an ``IGNORED`` key (which still holds
    rows unique) and reads a ``WITHOUT OVERLAPS`` key's period as a column;
    here the period's end and start columns follow the key's others."""

    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def reflected_primary_key(self) -> dict[str, Any]:
        """The primary key as SQLAlchemy's Inspector reports one."""
        return {"constrained_columns": list(self.primary_key), "name": None}

    def reflected_uniques(self) -> list[dict[str, Any]]:
        """The unique keys as SQLAlchemy's Inspector reports them."""
        return [
            {"name": name, "column_names": list(columns)}
            for name, columns in self.uniques
        ]


NO_KEYS: Final = TableKeys()


def mariadb_keys(rows: Iterable[Sequence[Any]]) -> dict[str, TableKeys]:
    """``TableKeys`` by table from rows ``(TABLE_NAME, INDEX_NAME,
    COLUMN_NAME, ...)`` of unique indexes, in table, index and
    ``SEQ_IN_INDEX`` order."""
    indexes: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        indexes.setdefault(row[0], {}).setdefault(row[1], []).append(row[2])
    found: dict[str, TableKeys] = {}
    for table, keys in indexes.items():
        primary = keys.pop("PRIMARY", ())
        found[table] = TableKeys(
            tuple(primary),
            tuple((name, tuple(columns)) for name, columns in keys.items()),
        )
    return found


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What ``read_catalogue`` found for one schema."""

    raw_types: dict[ColumnKey, RawType] = field(default_factory=dict)
    #: PostgreSQL partitions (children of a partitioned table).
    partitions: frozenset[str] = frozenset()
    #: SQLite: shadow tables, where virtual tables (FTS5, R*Tree) keep their
    #: data; SQLite's internals, not tables of the schema.
    shadows: frozenset[str] = frozenset()
    #: SQLite: the column lists of every UNIQUE constraint, by table, from
    #: SQLite's own index list (SQLAlchemy misses ``varchar(30) UNIQUE``).
    unique_columns: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    #: PostgreSQL and MariaDB: each column's NOT NULL, default and comment
    #: as the catalogue declares them, which the reader takes instead of
    #: SQLAlchemy's (on PostgreSQL it misses the NOT NULL of a domain under
    #: a domain and rewrites ``nextval`` defaults; on MariaDB its parser of
    #: ``SHOW CREATE TABLE`` loses comments and defaults after ``INVISIBLE``,
    #: an expression or bit default, ``COMPRESSED`` or ``DEFAULT NULL ON
    #: UPDATE``, and reads every view column as nullable).
    rules: dict[ColumnKey, ColumnRules] = field(default_factory=dict)
    #: SQLite: the tables whose primary-key columns may hold NULL
    #: (``sqlite_loose_keys``); every other primary-key column is NOT NULL.
    loose_keys: frozenset[str] = frozenset()
    #: MariaDB: every table's primary and unique keys (None elsewhere:
    #: SQLAlchemy's are taken).
    keys: dict[str, TableKeys] | None = None
    #: MariaDB: every table's comment, None for none and for a view (None
    #: elsewhere). Under sql_mode ANSI, ORACLE and others ``SHOW CREATE
    #: TABLE`` leaves table options out, and SQLAlchemy reads no comment.
    comments: dict[str, str | None] | None = None
    #: MariaDB: each table's and view's column names in position order,
    #: to check SQLAlchemy's reading against.
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: MariaDB: the tables and views SQLAlchemy's parser could misread; the
    #: reader does not ask it about them and builds them from ``names``.
    listed: frozenset[str] = frozenset()


# PostgreSQL ---------------------------------------------------------------
# ``domains`` maps every domain to its ultimate non-domain base type, so a
# domain over a domain over ``integer`` is still an INT, and says whether
# the domain or any domain it is built on is NOT NULL (the server checks the
# NOT NULL of every domain down the chain; ``typnotnull`` is the domain's
# own only).
def _user_defined(alias: str) -> str:
    """SQL: whether the ``pg_type`` row ``alias`` is a type of the
    database's own that no family fits: a composite, range or multirange
    type, or a base type outside ``pg_catalog`` (an extension's; arrays of
    such types too). Its name says nothing: ``public.money`` or ``"Date"``
    may be composites, ``timestamp_range`` a range."""
    return (
        f"({alias}.typtype IN ('c', 'r', 'm') OR ({alias}.typtype = 'b' AND "
        f"{alias}.typnamespace <> 'pg_catalog'::pg_catalog.regnamespace))"
    )


#: ``WITH`` clause defining ``domains`` (PostgreSQL), shared with the fast
#: path; ``user_defined`` is ``_user_defined`` of the ultimate base type.
DOMAINS_CTE = f"""
    WITH RECURSIVE chain (domain_oid, base_oid, base_typmod, not_null) AS (
        SELECT t.oid, t.typbasetype, t.typtypmod, t.typnotnull
        FROM pg_catalog.pg_type AS t
        WHERE t.typtype = 'd'
      UNION ALL
        SELECT chain.domain_oid, t.typbasetype, t.typtypmod,
               chain.not_null OR t.typnotnull
        FROM chain
        JOIN pg_catalog.pg_type AS t ON t.oid = chain.base_oid
        WHERE t.typtype = 'd'
    ),
    domains AS (
        SELECT chain.domain_oid, chain.base_oid, chain.base_typmod,
               chain.not_null, t.typtype, {_user_defined("t")} AS user_defined
        FROM chain
        JOIN pg_catalog.pg_type AS t ON t.oid = chain.base_oid
        WHERE t.typtype <> 'd'
    )
"""


def postgresql_column_rules(generated: bool) -> str:
    """SQL: a PostgreSQL column's NOT NULL and default as declared, for a
    query with ``c`` (``pg_class``), ``a`` (``pg_attribute``), ``t`` (its
    type), ``ad`` (its ``pg_attrdef``, left-joined) and ``dm`` (its row of
    ``domains``, left-joined).

    NOT NULL when the column is, or when it is a table's column whose type
    is a domain that is or is built on one that is: the server checks those
    on every value written (not for an array of such a domain: its elements
    are checked, not the column; not for a view's column, which an outer
    join can leave NULL whatever its type). The default as the server prints it
    (``pg_get_expr``), else the domain's own (PostgreSQL copies a base
    domain's default into a domain made over it; not for a materialized
    view's column, which no row is ever inserted into), printed from the stored
    expression too: ``typdefault`` is the text of when the domain was made
    and still names a sequence or function renamed since. A generated column has
    none: what ``pg_attrdef`` holds for it is the generation expression.
    ``generated``: whether the server knows generated columns (12+).
    """
    own = "a.atthasdef AND a.attgenerated = ''" if generated else "a.atthasdef"
    return f"""
        a.attnotnull
          OR (c.relkind NOT IN ('v', 'm') AND coalesce(dm.not_null, false)),
        CASE WHEN {own}
             THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
             WHEN a.atthasdef THEN NULL
             WHEN t.typtype = 'd' AND c.relkind <> 'm'
             THEN pg_catalog.pg_get_expr(t.typdefaultbin, 0)
        END
    """


#: SQL: what ``postgresql_column_rules`` and a column's comment (``ds``)
#: need, joined after ``pg_attribute AS a`` (and ``DOMAINS_CTE``).
POSTGRESQL_COLUMN_JOINS: Final = """
    JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
    LEFT JOIN domains AS dm ON dm.domain_oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef AS ad
      ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_description AS ds
      ON ds.objoid = a.attrelid AND ds.objsubid = a.attnum
     AND ds.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
"""


#: SQL: whether a column's type (``t``, with its row of ``domains`` as
#: ``dm``, as ``POSTGRESQL_COLUMN_JOINS`` joins them) is, or is a domain
#: over, a type of the database's own that no family fits.
POSTGRESQL_USER_DEFINED: Final = (
    f"CASE WHEN t.typtype = 'd' THEN dm.user_defined ELSE {_user_defined('t')} END"
)


def _postgresql_query(generated: bool) -> sa.TextClause:
    """Every column's raw type, base type, enum flag, NOT NULL, default and
    comment, and whether its table is a partition."""
    return sa.text(
        DOMAINS_CTE
        + f"""
        SELECT c.relname,
               a.attname,
               pg_catalog.format_type(a.atttypid, a.atttypmod),
               pg_catalog.format_type(dm.base_oid, dm.base_typmod),
               coalesce(dm.typtype, t.typtype) = 'e',
               c.relispartition,
               {postgresql_column_rules(generated)},
               ds.description,
               {POSTGRESQL_USER_DEFINED}
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
        {POSTGRESQL_COLUMN_JOINS}
        WHERE n.nspname = :schema
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0
          AND NOT a.attisdropped
        """
    )


# The real schema of each foreign key's target, by (table, constraint name);
# constraint names are unique per table in PostgreSQL.
# MySQL / MariaDB ----------------------------------------------------------
# information_schema compares names case-insensitively on some servers; the
# binary collation keeps database ``Shop`` apart from ``shop``.
_MYSQL = sa.text(
    """
    SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)

# MariaDB: the tables with their comments and kinds, the columns with their
# position and generation expression (MySQL before 5.7 lacks
# ``GENERATION_EXPRESSION``), every index and every constraint (for names
# SQLAlchemy's parser could misread). Tables and columns are matched in
# Python, by exact name: information_schema compares names without case,
# and a join on their bytes takes it seconds (it opens every table again
# for each row).
_MARIADB_TABLES = sa.text(
    """
    SELECT TABLE_NAME, TABLE_COMMENT, TABLE_TYPE IN ('VIEW', 'SYSTEM VIEW')
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)
_MARIADB = sa.text(
    """
    SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
           COLUMN_COMMENT, ORDINAL_POSITION, GENERATION_EXPRESSION
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)
_MARIADB_INDEXES = sa.text(
    """
    SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
    """
)
_MARIADB_CONSTRAINTS = sa.text(
    """
    SELECT TABLE_NAME, CONSTRAINT_NAME
    FROM information_schema.TABLE_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)


def _read_mariadb(connection: Connection, schema: str) -> Catalogue:
    """``read_catalogue`` on MariaDB 10.2.7+: four queries."""
    params = {"schema": schema}
    views: set[str] = set()
    comments: dict[str, str | None] = {}
    for table, comment, is_view in connection.execute(_MARIADB_TABLES, params):
        if is_view:
            views.add(table)
        comments[table] = None if is_view else (comment or None)
    raw: dict[ColumnKey, RawType] = {}
    rules: dict[ColumnKey, ColumnRules] = {}
    positions: dict[str, list[tuple[int, str]]] = {}
    unparsed: set[str] = set()
    for row in connection.execute(_MARIADB, params):
        table, column, spelt, nullable, default, comment, position, expression = row
        raw[(table, column)] = RawType(str(spelt))
        rules[(table, column)] = mariadb_column_rules(
            nullable, default, comment, table in views
        )
        positions.setdefault(table, []).append((int(position), column))
        if MARIADB_UNPARSED.search(column) or any(
            text and _LINE_BREAK.search(text) for text in (default, expression)
        ):
            unparsed.add(table)
    unique_rows = []
    for row in connection.execute(_MARIADB_INDEXES, params):
        if not row[3]:
            unique_rows.append(row)
        if MARIADB_UNPARSED.search(row[1]):
            unparsed.add(row[0])
    for table, name in connection.execute(_MARIADB_CONSTRAINTS, params):
        if MARIADB_UNPARSED.search(name):
            unparsed.add(table)
    names = {
        table: tuple(column for _, column in sorted(found))
        for table, found in positions.items()
    }
    return Catalogue(
        raw,
        rules=rules,
        keys=mariadb_keys(unique_rows),
        comments=comments,
        names=names,
        listed=frozenset(unparsed & names.keys()),
    )


# SQLite -------------------------------------------------------------------
def _sqlite_query(schema: str) -> sa.Select[str, str, str]:
    """``SELECT m.name, p.name, p.type FROM <schema>.sqlite_master m JOIN
    pragma_table_info(m.name, <schema>) p`` (``sqlite_master`` rather than its
    newer alias ``sqlite_schema``, which SQLite before 3.33 lacks)."""
    master = sa.table(
        "sqlite_master", sa.column("name"), sa.column("type"), schema=schema
    ).alias("m")
    info = (
        sa.func.pragma_table_info(master.c.name, sa.literal(schema))
        .table_valued("name", "type")
        .alias("p")
    )
    return (
        sa.select(master.c.name, info.c.name, info.c.type)
        .select_from(master)
        .join(info, sa.true())
        .where(master.c.type.in_(["table", "view"]))
    )


def _sqlite_names(schema: str) -> sa.Select[str]:
    master = sa.table(
        "sqlite_master", sa.column("name"), sa.column("type"), schema=schema
    )
    return sa.select(master.c.name).where(master.c.type.in_(["table", "view"]))


def _sqlite_one(name: str, schema: str) -> sa.Select[str, str]:
    info = sa.func.pragma_table_info(sa.literal(name), sa.literal(schema))
    columns = info.table_valued("name", "type")
    return sa.select(columns.c.name, columns.c.type)


def _sqlite_uniques(schema: str) -> sa.Select[str, str, int, str]:
    """Columns of the indexes SQLite made for UNIQUE constraints (origin 'u')."""
    master = sa.table(
        "sqlite_master", sa.column("name"), sa.column("type"), schema=schema
    ).alias("m")
    indexes = (
        sa.func.pragma_index_list(master.c.name, sa.literal(schema))
        .table_valued("name", "origin")
        .alias("il")
    )
    info = (
        sa.func.pragma_index_info(indexes.c.name, sa.literal(schema))
        .table_valued("seqno", "name")
        .alias("ii")
    )
    return (
        sa.select(master.c.name, indexes.c.name, info.c.seqno, info.c.name)
        .select_from(master)
        .join(indexes, sa.true())
        .join(info, sa.true())
        .where(master.c.type == "table", indexes.c.origin == "u")
        .order_by(master.c.name, indexes.c.name, info.c.seqno)
    )


def _read_sqlite_uniques(
    connection: Connection, schema: str
) -> dict[str, tuple[tuple[str, ...], ...]]:
    by_index: dict[tuple[str, str], list[str]] = {}
    for table, index, _seqno, column in connection.execute(_sqlite_uniques(schema)):
        by_index.setdefault((table, index), []).append(column)
    found: dict[str, list[tuple[str, ...]]] = {}
    for (table, _index), columns in by_index.items():
        found.setdefault(table, []).append(tuple(columns))
    return {table: tuple(lists) for table, lists in found.items()}


def _read_sqlite(connection: Connection, schema: str) -> dict[ColumnKey, RawType]:
    rows: list[tuple[str, str, str]]
    try:
        rows = [(t, c, d) for t, c, d in connection.execute(_sqlite_query(schema))]
    except sa.exc.OperationalError as exc:
        # One broken view (its table dropped) fails the joined query: read
        # the objects one by one and leave the broken ones to the reader,
        # which reports them.
        logger.debug("Bulk SQLite type query failed (%s); reading one by one", exc)
        rows = []
        for name in connection.execute(_sqlite_names(schema)).scalars():
            try:
                found = connection.execute(_sqlite_one(name, schema)).all()
            except sa.exc.OperationalError:
                continue
            rows.extend((name, column, declared) for column, declared in found)
    return {
        (str(table), str(column)): RawType(str(declared or ""))
        for table, column, declared in rows
    }


def read_catalogue(connection: Connection, schema: str) -> Catalogue:
    """Raw column types of ``schema`` in one query, with PostgreSQL's
    partitions and, on PostgreSQL and MariaDB 10.2.7+, each column's
    ``ColumnRules``. On MariaDB 10.2.7+ four queries, which also give
    every table's keys, comment and column names, and the tables
    SQLAlchemy's parser could misread (``Catalogue.listed``).

    SQLite takes a second query, for the UNIQUE constraints. Other dialects
    get an empty ``Catalogue``; the reader then renders the type SQLAlchemy
    reflected.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        raw: dict[ColumnKey, RawType] = {}
        rules: dict[ColumnKey, ColumnRules] = {}
        partitions: set[str] = set()
        version = connection.dialect.server_version_info or (0,)
        for (
            table,
            column,
            spelt,
            base,
            is_enum,
            is_partition,
            not_null,
            default,
            comment,
            user_defined,
        ) in connection.execute(
            _postgresql_query(version >= (12,)), {"schema": schema}
        ):
            raw[(table, column)] = RawType(
                spelt, base, bool(is_enum), bool(user_defined)
            )
            rules[(table, column)] = ColumnRules(bool(not_null), default, comment)
            if is_partition:
                partitions.add(table)
        return Catalogue(raw, frozenset(partitions), rules=rules)
    if dialect in ("mysql", "mariadb"):
        version = tuple(connection.dialect.server_version_info or (0,))
        if getattr(connection.dialect, "is_mariadb", False) and (
            version >= MARIADB_RULES_VERSION
        ):
            return _read_mariadb(connection, schema)
        rows = connection.execute(_MYSQL, {"schema": schema}).all()
        return Catalogue({(t, c): RawType(str(spelt)) for t, c, spelt, *_ in rows})
    if dialect == "sqlite":
        return Catalogue(
            _read_sqlite(connection, schema),
            shadows=sqlite_shadow_tables(connection, schema),
            unique_columns=_read_sqlite_uniques(connection, schema),
            loose_keys=sqlite_loose_keys(connection, schema),
        )
    return Catalogue()


def _sqlite_has_table_list(connection: Connection) -> bool:
    """Whether this SQLite has ``pragma_table_list`` (3.37+), which marks
    shadow tables (older ones cannot tell them from tables) and STRICT
    tables (which older ones do not have)."""
    version = getattr(connection.dialect.dbapi, "sqlite_version_info", (0,))
    return tuple(version) >= (3, 37)


#: The shadow tables of one schema (SQLite 3.37+).
_SQLITE_SHADOWS = sa.text(
    "SELECT name FROM pragma_table_list WHERE schema = :schema AND type = 'shadow'"
)


def _sqlite_loose_keys_query(connection: Connection, schema: str) -> sa.TextClause:
    quote = connection.dialect.identifier_preparer.quote_identifier
    # A key column of a rowid table that is not the rowid itself has an
    # index of its own (origin 'pk') that also holds the rowid (cid -1);
    # the key of a WITHOUT ROWID table is the table, with no rowid.
    not_strict = (
        "AND m.name NOT IN (SELECT name FROM pragma_table_list "
        "WHERE schema = :schema AND strict)"
        if _sqlite_has_table_list(connection)
        else ""  # before 3.37 there are no STRICT tables
    )
    return sa.text(
        f"""
        SELECT DISTINCT m.name
        FROM {quote(schema)}.sqlite_master AS m
        JOIN pragma_index_list(m.name, :schema) AS il
        JOIN pragma_index_xinfo(il.name, :schema) AS ix
        WHERE m.type = 'table' AND il.origin = 'pk' AND ix.cid = -1 {not_strict}
        """
    )


def sqlite_loose_keys(connection: Connection, schema: str) -> frozenset[str]:
    """SQLite: the tables of ``schema`` whose primary-key columns may hold
    NULL unless declared NOT NULL.

    A legacy rule of SQLite: in a table with a rowid that is not STRICT, a
    primary key other than an ``INTEGER PRIMARY KEY`` (which is the rowid)
    accepts NULL. ``pragma_table_info`` reports such a column as nullable,
    but also the ``INTEGER PRIMARY KEY``, which never is, and the key
    columns of ``WITHOUT ROWID`` and ``STRICT`` tables, which SQLite
    refuses NULL.
    """
    found = connection.execute(
        _sqlite_loose_keys_query(connection, schema), {"schema": schema}
    )
    return frozenset(str(name) for (name,) in found)


def sqlite_shadow_tables(connection: Connection, schema: str) -> frozenset[str]:
    """The shadow tables of ``schema`` (empty where SQLite cannot tell)."""
    if not _sqlite_has_table_list(connection):
        return frozenset()
    found = connection.execute(_SQLITE_SHADOWS, {"schema": schema})
    return frozenset(str(name) for (name,) in found)
