"""MariaDB: a whole schema in five ``information_schema`` queries.

SQLAlchemy reads a MySQL/MariaDB table from its ``SHOW CREATE TABLE`` text
(one statement per table; ``DESCRIBE`` for a view) with regular
expressions, and misreads many shapes: it loses the default and the comment
after ``INVISIBLE``, an expression or bit default, ``COMPRESSED`` or
``DEFAULT NULL ON UPDATE``, reads row-start and row-end columns and every
view column as nullable, drops ``IGNORED`` unique keys, keeps a quote
character doubled in a name and reads the pieces of a name or default
holding a line break as columns or keys of their own.

This path reads ``TABLES``, ``COLUMNS`` (one string a table), the unique
keys of ``STATISTICS`` and the foreign keys of ``KEY_COLUMN_USAGE`` for
the whole schema and builds each table from them as they are. The
Inspector path takes the same facts from the catalogue
(``raw_types.read_catalogue``: NOT NULL, default, comment, keys, and the
columns of a table the parser could misread; ``foreign_key_facts``), so
the two agree.

Only MariaDB 10.6 and later; MySQL and older MariaDB are read with the
Inspector. A table or view without columns in ``information_schema`` (a
broken view) is left to the Inspector.

``information_schema`` has no snapshot: a table dropped, created or
altered by another session between two of the queries would be read in
part. The table list (with each table's creation time, which ``ALTER
TABLE`` renews) is read again after the other queries; when it changed,
the whole schema is read again, a few times at most.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thoth_db_elements.exceptions import IntrospectionError
from thoth_db_elements.introspection.raw_types import (
    NO_KEYS,
    Catalogue,
    mariadb_keys,
)
from thoth_db_elements.introspection.snapshot import ColumnSnapshot, new_column

from .base import (
    FastRead,
    ForeignKeyFacts,
    TypeFamilies,
    comment_text,
    key_positions,
)

__all__ = ["ATTEMPTS", "MINIMUM_VERSION", "foreign_key_facts", "read"]

logger = logging.getLogger(__name__)

#: Oldest MariaDB read with this path (the oldest release tested here).
MINIMUM_VERSION: Final = (10, 6)

# information_schema compares names case-insensitively on some servers; the
# binary collation keeps database ``Shop`` apart from ``shop``.
_IN_SCHEMA: Final = ":schema COLLATE utf8mb4_bin"

#: Reads of a schema that keeps changing before giving up.
ATTEMPTS: Final = 3

# Read twice (see ``read``): the time as text and an empty comment as NULL
# spare PyMySQL a datetime and a string per table. A table MariaDB cannot
# open (a MERGE table over a missing one) has no engine, and its comment is
# the error. The server's time ends each row, in the session's time zone
# as CREATE_TIME is.
_TABLES = sa.text(
    f"""
    SELECT TABLE_NAME, TABLE_TYPE, NULLIF(TABLE_COMMENT, ''),
           CAST(CREATE_TIME AS CHAR), ENGINE IS NULL, CAST(NOW() AS CHAR)
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    """
)

# Six values a column, an empty comment as NULL. Read only when
# ``_COLUMNS_BY_TABLE`` cannot be split.
_COLUMNS = sa.text(
    f"""
    SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
           NULLIF(COLUMN_COMMENT, '')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    ORDER BY TABLE_NAME, ORDINAL_POSITION
    """
)

# The columns again, one row a table: PyMySQL's cost is per row and per
# value, a table's columns come as one string. A column is its five values
# each followed by a unit separator (a default marked with "=" when
# present), columns are joined by record separators in position order. A
# separator inside a value, or a cut string, changes the count of records
# or units, and ``split_columns`` then declines. Grouped by the name's
# bytes: ``Shop`` and ``shop`` are two tables.
_UNIT: Final = "\x1f"
_RECORD: Final = "\x1e"
_COLUMNS_BY_TABLE = sa.text(
    f"""
    SET STATEMENT group_concat_max_len = 4294967295 FOR
    SELECT MIN(TABLE_NAME), COUNT(*), GROUP_CONCAT(CONCAT(
               COLUMN_NAME, '{_UNIT}', COLUMN_TYPE, '{_UNIT}',
               IS_NULLABLE, '{_UNIT}',
               IF(COLUMN_DEFAULT IS NULL, '', CONCAT('=', COLUMN_DEFAULT)),
               '{_UNIT}',
               COLUMN_COMMENT, '{_UNIT}')
           ORDER BY ORDINAL_POSITION SEPARATOR '{_RECORD}')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    GROUP BY CAST(TABLE_NAME AS BINARY)
    """
)

_UNIQUE_KEYS = sa.text(
    f"""
    SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA} AND NON_UNIQUE = 0
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
    """
)

_FOREIGN_KEYS = sa.text(
    f"""
    SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA,
           REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
    FROM information_schema.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA = {_IN_SCHEMA} AND REFERENCED_TABLE_NAME IS NOT NULL
    ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
    """
)

#: ``TABLE_TYPE`` values ``SHOW FULL TABLES`` calls ``BASE TABLE`` / a view.
_TABLE_TYPES: Final = frozenset({"BASE TABLE", "SYSTEM VERSIONED"})
_VIEW_TYPES: Final = frozenset({"VIEW", "SYSTEM VIEW"})


@dataclass(slots=True)
class _Table:
    """Everything ``information_schema`` says about one table or view."""

    name: str
    is_view: bool
    comment: str
    #: ``_COLUMNS`` rows: table, column, column type, nullable, default,
    #: comment (None when empty).
    columns: list[tuple[Any, ...]] = field(default_factory=list)


def _snapshots(
    table: _Table, keyed: Mapping[str, int], families: TypeFamilies
) -> tuple[ColumnSnapshot, ...]:
    """``table``'s columns straight from their ``_COLUMNS`` rows (the rules
    of ``raw_types.mariadb_column_rules``, inline)."""
    built: list[ColumnSnapshot] = []
    append = built.append
    is_view = table.is_view
    for _table, name, raw_type, nullable, default, comment in table.columns:
        key_position = keyed.get(name)
        append(
            new_column(
                name,
                raw_type,
                families[raw_type],
                nullable != "NO" and key_position is None,
                None if is_view or default == "NULL" else default,
                comment_text(comment),
                key_position,
                len(built) + 1,
            )
        )
    return tuple(built)


Listing = list[tuple[Any, ...]]


def _listing(connection: Connection, schema: str) -> tuple[Listing, str]:
    """The schema's tables and views with their comments and creation
    times, and the server's time to the second (as ``CREATE_TIME`` is
    written; past any table's when there is none)."""
    rows = connection.execute(_TABLES, {"schema": schema}).all()
    now = str(rows[0][-1]) if rows else "~"
    listing = sorted((tuple(row[:-1]) for row in rows), key=lambda row: str(row[0]))
    return listing, now


def _changed_since(listing: Listing, second: str) -> bool:
    """Whether a table of ``listing`` was created or altered in ``second``
    or later: a change within the same second leaves its time as it was."""
    return any(row[3] is not None and str(row[3]) >= second for row in listing)


def read(connection: Connection, schema: str, include_views: bool) -> FastRead:
    """Read ``schema`` (a MariaDB database that exists) in five queries, one
    more when the columns must be read row by row.

    A change between the read's statements would give a mix of two states.
    The table list with each table's last change (``CREATE_TIME``, which
    ``ALTER TABLE`` sets too) is read before and after; when a table changed
    in the second the read began or later, where the times cannot tell, the
    read is made again and must find the same. Raises
    ``IntrospectionError`` when that does not hold in ``ATTEMPTS`` reads.
    """
    listed, started = _listing(connection, schema)
    confirmed: FastRead | None = None
    for _attempt in range(ATTEMPTS):
        found = _read_listed(connection, schema, include_views, listed)
        again, now = _listing(connection, schema)
        if again == listed and (
            found == confirmed or not _changed_since(again, started)
        ):
            return found
        if again != listed or confirmed is not None:
            logger.warning(
                "The tables of schema %r changed while it was read; reading it again",
                schema,
            )
        # A read under a changed list may mix states: not one to confirm.
        confirmed = found if again == listed else None
        # The next read begins after this listing.
        listed, started = again, now
    raise IntrospectionError(
        f"The tables of schema {schema!r} kept changing while they were read "
        f"({ATTEMPTS} attempts); nothing was changed. Run again when the schema "
        "is stable."
    )


def _key_facts(rows: Sequence[Sequence[Any]], schema: str) -> ForeignKeyFacts:
    """One foreign key from its ``_FOREIGN_KEYS`` rows, in column order
    (``ORDINAL_POSITION``, which orders the referred columns too)."""
    target_schema, target = rows[0][3], rows[0][4]
    return ForeignKeyFacts(
        columns=tuple(row[2] for row in rows),
        referred_schema=None if target_schema == schema else target_schema,
        referred_table=target,
        referred_columns=tuple(row[5] for row in rows),
    )


def foreign_key_facts(
    connection: Connection, schema: str
) -> dict[tuple[str, str], ForeignKeyFacts]:
    """``{(table, constraint name): facts}`` for every foreign key of
    ``schema``, from ``KEY_COLUMN_USAGE`` (one query; both read paths take
    MariaDB's keys from here: SQLAlchemy's parser of ``SHOW CREATE TABLE``
    loses a key to a table whose name holds a backtick, or whose columns'
    names hold a ``)``, and one whose line mentions ``PARTITION``)."""
    grouped: dict[tuple[str, str], list[Sequence[Any]]] = {}
    for row in connection.execute(_FOREIGN_KEYS, {"schema": schema}).all():
        grouped.setdefault((row[0], row[1]), []).append(row)
    return {key: _key_facts(rows, schema) for key, rows in grouped.items()}


def split_columns(
    grouped: Sequence[Sequence[Any]],
) -> dict[str, list[tuple[Any, ...]]] | None:
    """``_COLUMNS`` rows by table from the rows of ``_COLUMNS_BY_TABLE``;
    None when a string does not split into exactly its columns' values (a
    separator inside a value, or a string cut short)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table, count, text in grouped:
        if not isinstance(text, str):
            return None  # NULL (a NULL value, a string over the packet size)
        records = text.split(_RECORD)
        if len(records) != count:
            return None
        rows: list[tuple[Any, ...]] = []
        for record in records:
            values = record.split(_UNIT)
            if len(values) != 6 or values[5]:
                return None
            name, kind, nullable, default, comment, _ = values
            rows.append(
                (
                    table,
                    name,
                    kind,
                    nullable,
                    default[1:] if default else None,
                    comment or None,
                )
            )
        found[table] = rows
    return found


def _column_rows(
    connection: Connection, params: dict[str, Any]
) -> dict[str, list[tuple[Any, ...]]]:
    """The ``_COLUMNS`` rows of every table, by table: one string a table
    when the strings split cleanly, else row by row."""
    grouped = None
    try:
        grouped = split_columns(connection.execute(_COLUMNS_BY_TABLE, params).all())
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        logger.debug("Columns read row by row: %s", exc.orig)
    if grouped is not None:
        return grouped
    by_table: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in connection.execute(_COLUMNS, params).all():
        by_table[row[0]].append(tuple(row))
    return by_table


def _read_listed(
    connection: Connection, schema: str, include_views: bool, listed: Listing
) -> FastRead:
    """Read ``schema``, whose tables and views are ``listed``, in three
    queries (see ``read``)."""
    params = {"schema": schema}
    objects: dict[str, _Table] = {}
    unopened: set[str] = set()
    for name, table_type, comment, _created, no_engine in listed:
        is_view = table_type in _VIEW_TYPES
        if table_type in _TABLE_TYPES or (is_view and include_views):
            objects[name] = _Table(name, is_view, comment or "")
            if no_engine and not is_view:
                unopened.add(name)

    for name, columns in _column_rows(connection, params).items():
        table = objects.get(name)
        if table is not None and name not in unopened:
            table.columns = columns

    keys = mariadb_keys(connection.execute(_UNIQUE_KEYS, params).all())
    foreign: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (table_name, key), facts in foreign_key_facts(connection, schema).items():
        foreign[table_name].append(facts.reflected(key))

    table_comments = {
        name: None if table.is_view else (table.comment or None)
        for name, table in objects.items()
        if name not in unopened
    }
    comments: dict[str, Any] = {}
    found = FastRead(
        tables=tuple(sorted(n for n, t in objects.items() if not t.is_view)),
        views=tuple(sorted(n for n, t in objects.items() if t.is_view)),
        catalogue=Catalogue(keys=keys, comments=table_comments),
        comments=comments,
    )
    families = TypeFamilies(connection.dialect.name)
    for name, table in objects.items():
        if not table.columns:
            # No columns to be seen (a broken view, a table MariaDB cannot
            # open, a user with no column privilege): left to the Inspector,
            # which reports it if it cannot read it either.
            continue
        comments[name] = {"text": table_comments[name]}
        if table.is_view:
            found.columns[name] = _snapshots(table, {}, families)
            continue
        table_keys = keys.get(name, NO_KEYS)
        keyed = key_positions(table_keys.primary_key)
        found.columns[name] = _snapshots(table, keyed, families)
        found.primary_keys[name] = table_keys.reflected_primary_key()
        found.unique_constraints[name] = table_keys.reflected_uniques()
        found.foreign_keys[name] = foreign.get(name, [])
    return found
