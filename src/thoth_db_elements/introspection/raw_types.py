"""Bulk catalogue queries that complement SQLAlchemy's Inspector.

SQLAlchemy reflects types into its own objects (``NullType`` for the ones it
does not know, such as PostgreSQL ``point``); people recognise the catalogue's
spelling, so the snapshot keeps that. ``read_catalogue`` runs ONE query per
schema (not per table) on PostgreSQL, MySQL/MariaDB and SQLite and returns the
raw type of every column, plus, on PostgreSQL, which tables are partitions,
and on PostgreSQL and MariaDB each column's NOT NULL, default and comment
as the catalogue declares them (``ColumnRules``). Names
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
    "Catalogue",
    "ColumnRules",
    "ListedTable",
    "RawType",
    "listed_table",
    "mariadb_column_rules",
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
    base, is a PostgreSQL enum.
    """

    name: str
    base_type: str | None = None
    is_enum: bool = False


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


#: Characters in a MariaDB column name that SQLAlchemy's parser of ``SHOW
#: CREATE TABLE`` does not survive: it keeps a quote character doubled
#: (`` a``b ``; ``"`` when the session has ``ANSI_QUOTES``) and takes a
#: line break for the end of the column's line, losing the column and any
#: key that names it.
MARIADB_UNPARSED: Final = re.compile(r'[`"\r\n]')


@dataclass(frozen=True, slots=True)
class ListedTable:
    """A MariaDB table or view as ``information_schema`` lists it: its
    columns' names in position order, the columns of its primary key and
    of each unique key (``(name, columns)``), all spelt as they are, and its
    comment (None for a view).

    Kept for the tables SQLAlchemy's parser cannot read (``MARIADB_UNPARSED``
    in a column's name); the reader builds them from here on both paths.
    """

    columns: tuple[str, ...]
    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, tuple[str, ...]], ...] = ()
    comment: str | None = None


def listed_table(
    columns: Iterable[str], key_rows: Iterable[Sequence[Any]], comment: str | None
) -> ListedTable:
    """A ``ListedTable`` from its column names in position order, the rows
    of its unique indexes in ``information_schema.STATISTICS`` (``_,
    INDEX_NAME, COLUMN_NAME, ...``, in index and ``SEQ_IN_INDEX`` order) and
    its ``TABLE_COMMENT`` (None or empty: none)."""
    keys: dict[str, list[str]] = {}
    for row in key_rows:
        keys.setdefault(str(row[1]), []).append(str(row[2]))
    primary = keys.pop("PRIMARY", [])
    return ListedTable(
        tuple(columns),
        tuple(primary),
        tuple((name, tuple(names)) for name, names in keys.items()),
        comment or None,
    )


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
    #: MariaDB: the tables and views SQLAlchemy's parser cannot read, as
    #: ``information_schema`` lists them (``ListedTable``).
    listed: dict[str, ListedTable] = field(default_factory=dict)


# PostgreSQL ---------------------------------------------------------------
# ``domains`` maps every domain to its ultimate non-domain base type, so a
# domain over a domain over ``integer`` is still an INT, and says whether
# the domain or any domain it is built on is NOT NULL (the server checks the
# NOT NULL of every domain down the chain; ``typnotnull`` is the domain's
# own only).
#: ``WITH`` clause defining ``domains`` (PostgreSQL), shared with the fast path.
DOMAINS_CTE = """
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
               chain.not_null, t.typtype
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
    domain's default into a domain made over it). A generated column has
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
             WHEN t.typtype = 'd' THEN t.typdefault
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
               ds.description
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
    SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE,
           c.IS_NULLABLE, c.COLUMN_DEFAULT, c.COLUMN_COMMENT,
           t.TABLE_TYPE IN ('VIEW', 'SYSTEM VIEW'), c.ORDINAL_POSITION
    FROM information_schema.COLUMNS AS c
    JOIN information_schema.TABLES AS t
      ON t.TABLE_SCHEMA = c.TABLE_SCHEMA
     AND CAST(t.TABLE_NAME AS BINARY) = CAST(c.TABLE_NAME AS BINARY)
    WHERE c.TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)

#: The columns of every primary and unique key (MariaDB), for ``ListedTable``.
_MARIADB_KEYS = sa.text(
    """
    SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin AND NON_UNIQUE = 0
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
    """
)

#: Table comments (MariaDB), for ``ListedTable``.
_MARIADB_COMMENTS = sa.text(
    """
    SELECT TABLE_NAME, TABLE_COMMENT, TABLE_TYPE IN ('VIEW', 'SYSTEM VIEW')
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)


def _mariadb_listed(
    connection: Connection, schema: str, rows: Sequence[Sequence[Any]]
) -> dict[str, ListedTable]:
    """The ``ListedTable`` of every table of ``rows`` (``_MYSQL``'s) with a
    column name SQLAlchemy's parser cannot read; two more queries when any."""
    unparsed = {row[0] for row in rows if MARIADB_UNPARSED.search(row[1])}
    if not unparsed:
        return {}
    columns: dict[str, list[tuple[int, str]]] = {name: [] for name in unparsed}
    for row in rows:
        if row[0] in columns:
            columns[row[0]].append((int(row[7]), str(row[1])))
    keys: dict[str, list[Sequence[Any]]] = {name: [] for name in unparsed}
    for row in connection.execute(_MARIADB_KEYS, {"schema": schema}):
        if row[0] in keys:
            keys[row[0]].append(row)
    comments = {
        name: None if is_view else comment
        for name, comment, is_view in connection.execute(
            _MARIADB_COMMENTS, {"schema": schema}
        )
    }
    return {
        name: listed_table(
            (column for _, column in sorted(found)), keys[name], comments.get(name)
        )
        for name, found in columns.items()
    }


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
    ``ColumnRules``; on MariaDB 10.2.7+ also the ``ListedTable`` of each
    table SQLAlchemy's parser cannot read (one more query when there is one).

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
        ) in connection.execute(
            _postgresql_query(version >= (12,)), {"schema": schema}
        ):
            raw[(table, column)] = RawType(spelt, base, bool(is_enum))
            rules[(table, column)] = ColumnRules(bool(not_null), default, comment)
            if is_partition:
                partitions.add(table)
        return Catalogue(raw, frozenset(partitions), rules=rules)
    if dialect in ("mysql", "mariadb"):
        rows = connection.execute(_MYSQL, {"schema": schema}).all()
        found = Catalogue({(t, c): RawType(str(spelt)) for t, c, spelt, *_ in rows})
        version = tuple(connection.dialect.server_version_info or (0,))
        if getattr(connection.dialect, "is_mariadb", False) and (
            version >= MARIADB_RULES_VERSION
        ):
            found.rules.update(
                ((t, c), mariadb_column_rules(n, d, m, bool(v)))
                for t, c, _spelt, n, d, m, v, _position in rows
            )
            found.listed.update(_mariadb_listed(connection, schema, rows))
        return found
    if dialect == "sqlite":
        return Catalogue(
            _read_sqlite(connection, schema),
            shadows=sqlite_shadow_tables(connection, schema),
            unique_columns=_read_sqlite_uniques(connection, schema),
        )
    return Catalogue()


def _sqlite_can_tell_shadow_tables(connection: Connection) -> bool:
    """Whether this SQLite has ``pragma_table_list`` (3.37+), which marks
    shadow tables; older ones cannot tell them from tables."""
    version = getattr(connection.dialect.dbapi, "sqlite_version_info", (0,))
    return tuple(version) >= (3, 37)


#: The shadow tables of one schema (SQLite 3.37+).
_SQLITE_SHADOWS = sa.text(
    "SELECT name FROM pragma_table_list WHERE schema = :schema AND type = 'shadow'"
)


def sqlite_shadow_tables(connection: Connection, schema: str) -> frozenset[str]:
    """The shadow tables of ``schema`` (empty where SQLite cannot tell)."""
    if not _sqlite_can_tell_shadow_tables(connection):
        return frozenset()
    found = connection.execute(_SQLITE_SHADOWS, {"schema": schema})
    return frozenset(str(name) for (name,) in found)
