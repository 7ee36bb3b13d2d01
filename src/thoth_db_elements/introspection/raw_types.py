"""One catalogue query per schema for the raw column types.

SQLAlchemy's Inspector returns its own type objects (``NullType`` for types
it does not know, such as PostgreSQL ``point``); the catalogue's spelling is
what people recognise and what the snapshot keeps. Each function returns
``{(table, column): RawType}`` for a whole schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["RawType", "partitions", "read_raw_types"]


@dataclass(frozen=True, slots=True)
class RawType:
    """The type as spelt by the catalogue, plus what normalisation needs."""

    name: str
    base_type: str | None = None
    is_enum: bool = False


_POSTGRES = sa.text(
    """
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
           (t.typtype = 'e' OR bt.typtype = 'e')
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
    WHERE n.nspname = :schema AND a.attnum > 0 AND NOT a.attisdropped
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    """
)

_POSTGRES_PARTITIONS = sa.text(
    """
    SELECT c.relname FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND c.relispartition
    """
)

_MYSQL = sa.text(
    """
    SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = :schema
    """
)

_SQLITE = sa.text(
    """
    SELECT m.name, p.name, p.type FROM sqlite_schema AS m
    JOIN pragma_table_info(m.name) AS p
    WHERE m.type IN ('table', 'view')
    """
)


_SQLITE_NAMES = sa.text(
    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')"
)
_SQLITE_ONE = sa.text("SELECT name, type FROM pragma_table_info(:name)")


def read_raw_types(
    connection: Connection, schema: str
) -> dict[tuple[str, str], RawType]:
    """Raw types of every column of ``schema``; empty for other dialects."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        rows = connection.execute(_POSTGRES, {"schema": schema})
        return {
            (t, c): RawType(raw, base, bool(enum)) for t, c, raw, base, enum in rows
        }
    if dialect in ("mysql", "mariadb"):
        rows = connection.execute(_MYSQL, {"schema": schema})
        return {(t, c): RawType(str(raw)) for t, c, raw in rows}
    if dialect == "sqlite" and schema == "main":
        return _sqlite_raw_types(connection)
    return {}


def _sqlite_raw_types(connection: Connection) -> dict[tuple[str, str], RawType]:
    rows: list[tuple[Any, Any, Any]]
    try:
        rows = [tuple(row) for row in connection.execute(_SQLITE)]
    except sa.exc.OperationalError:
        # A broken view (its table dropped) fails the joined query: read the
        # objects one by one and leave the broken ones to the reader.
        rows = []
        names = connection.execute(_SQLITE_NAMES).scalars().all()
        for name in names:
            try:
                info = connection.execute(_SQLITE_ONE, {"name": name}).all()
            except sa.exc.OperationalError:
                continue
            rows.extend((name, column, raw) for column, raw in info)
    return {(t, c): RawType(str(raw or "")) for t, c, raw in rows}


def partitions(connection: Connection, schema: str) -> set[str]:
    """Names of PostgreSQL partitions in ``schema`` (left out of snapshots)."""
    if connection.dialect.name != "postgresql":
        return set()
    return {
        row[0] for row in connection.execute(_POSTGRES_PARTITIONS, {"schema": schema})
    }
