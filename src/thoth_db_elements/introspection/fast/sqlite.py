"""SQLite: a whole schema in four queries over ``sqlite_master`` (five with views,
one more with virtual tables, to leave their shadow tables out).

``sqlite_master`` (names and the ``CREATE`` text) is joined to the
``pragma_table_xinfo``, ``pragma_foreign_key_list``, ``pragma_index_list``
and ``pragma_index_info`` table functions, once for all tables (views'
columns in a query of their own, because one broken view fails the joined
query: the views are then read one by one and a broken one is left to the
Inspector, which reports it).

SQLAlchemy's SQLite dialect reads the same pragmas table by table and
parses the ``CREATE TABLE`` text with regular expressions for what the
pragmas do not tell: the names of foreign keys declared with a table-level
``CONSTRAINT name FOREIGN KEY``, and which unique indexes SQLite made for a
``UNIQUE`` constraint (named or not). This path applies the same rules to
the same text, so the answers are the Inspector's: an inline ``REFERENCES``
is unnamed; a key to a table without column list refers to that table's
primary key when the name matches exactly; two identical keys are one; a
``UNIQUE`` spelt differently from its columns' names is found only through
SQLite's index list (unnamed, which the reader adds).

The schema name cannot be bound in ``"schema".sqlite_master``: it is quoted
by SQLAlchemy's identifier preparer, and bound everywhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thoth_db_elements.introspection.raw_types import (
    Catalogue,
    RawType,
    sqlite_loose_keys,
    sqlite_shadow_tables,
)
from thoth_db_elements.introspection.snapshot import ColumnSnapshot, new_column

from .base import FastRead, TypeFamilies

__all__ = ["declared_types", "read", "sqlite_default"]

logger = logging.getLogger(__name__)

#: ``sqlite_master`` rows SQLAlchemy lists: not its own ``sqlite_`` tables.
_LISTED: Final = "m.name NOT LIKE 'sqlite~_%' ESCAPE '~'"


def _master(connection: Connection, schema: str) -> str:
    quote = connection.dialect.identifier_preparer.quote_identifier
    return f"{quote(schema)}.sqlite_master"


def _objects_query(master: str) -> sa.TextClause:
    # SQLite keeps the text of a CREATE with its first words normalised.
    return sa.text(
        f"""
        SELECT m.type, m.name, m.sql, {_LISTED},
               m.sql LIKE 'CREATE VIRTUAL TABLE%'
        FROM {master} AS m
        WHERE m.type IN ('table', 'view')
        """
    )


def sqlite_default(default: Any) -> Any:
    """A column's default as read, None for ``DEFAULT NULL`` (no default, as
    PostgreSQL and MariaDB report it; the text ``'NULL'`` stays), however
    written: ``(NULL)``, ``((NULL))``, ``(/* none */ NULL)``."""
    if isinstance(default, str) and "NULL" in default.upper() and _means_null(default):
        return None
    return default


#: A comment in SQL text.
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?(?:\*/|$)", re.DOTALL)


def _means_null(text: str) -> bool:
    """Whether the default ``text`` is NULL, written with comments or
    parentheses around it or not."""
    text = _SQL_COMMENT.sub(" ", text).strip()
    while text.startswith("(") and text.endswith(")") and _one_group(text):
        text = text[1:-1].strip()
    return text.upper() == "NULL"


def _one_group(text: str) -> bool:
    """Whether the parenthesis opening ``text`` closes at its end."""
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return position == len(text) - 1
    return False


def _columns_query(master: str) -> sa.TextClause:
    return sa.text(
        f"""
        SELECT CASE WHEN p.cid = 0 THEN m.name END,
               p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
        FROM {master} AS m
        JOIN pragma_table_xinfo(m.name, :schema) AS p
        WHERE m.type = :kind AND {_LISTED}
        ORDER BY m.name, p.cid
        """
    )


_ONE_OBJECT = sa.text(
    """
    SELECT CASE WHEN p.cid = 0 THEN :name END,
           p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
    FROM pragma_table_xinfo(:name, :schema) AS p
    ORDER BY p.cid
    """
)


def _foreign_keys_query(master: str) -> sa.TextClause:
    return sa.text(
        f"""
        SELECT m.name, f.id, f."table", f."from", f."to"
        FROM {master} AS m
        JOIN pragma_foreign_key_list(m.name, :schema) AS f
        WHERE m.type = 'table' AND {_LISTED}
        ORDER BY m.name, f.id, f.seq
        """
    )


def _indexes_query(master: str) -> sa.TextClause:
    return sa.text(
        f"""
        SELECT m.name, il.name, il.origin, ii.name
        FROM {master} AS m
        JOIN pragma_index_list(m.name, :schema) AS il
        JOIN pragma_index_info(il.name, :schema) AS ii
        WHERE m.type = 'table' AND {_LISTED}
        ORDER BY m.name, il.name, ii.seqno
        """
    )


# -- SQLAlchemy's reading of the CREATE TABLE text, rule for rule ------------
_FOREIGN_KEY = re.compile(
    r'(?:CONSTRAINT\s+(?:"(.+?)"|(\w+))\s+)?'
    r"FOREIGN\s+KEY\s*\(\s*(.+?)\s*\)\s+"
    r'REFERENCES\s+(?:(?:"(.+?)")|([a-z0-9_]+))\s*\(\s*((?:"[^"]+"|[a-z0-9_]+)'
    r'(?:(?:\s*,\s*|\s+)(?:"[^"]+"|[a-z0-9_]+))*\s*)\)\s*'
    r"((?:ON\s+(?:DELETE|UPDATE)\s+"
    r"(?:SET\s+NULL|SET\s+DEFAULT|CASCADE|RESTRICT|"
    r"NO\s+ACTION)\s*)*)"
    r"((?:NOT\s+)?DEFERRABLE)?"
    r"(?:\s+INITIALLY\s+(DEFERRED|IMMEDIATE))?",
    re.I,
)
#: Every match of ``_FOREIGN_KEY`` holds this word: a text without it
#: (references declared inline) need not be scanned.
_UNIQUE = re.compile(r'(?:CONSTRAINT\s+(?:"(.+?)"|(\w+))\s+)?UNIQUE\s*\((.+?)\)', re.I)
_INLINE_UNIQUE = re.compile(
    r'(?:(".+?")|(?:[\[`])?([a-z0-9_]+)(?:[\]`])?)[\t ]'
    r"+[a-z0-9_]+(?:[\t ]+[a-z0-9_]+)*?[\t ]+UNIQUE",
    re.I,
)
_NAMES = re.compile(r'(?:"(.+?)")|([a-z0-9_]+)', re.I)


class _Unmodelled(Exception):
    """SQLAlchemy would fail reading this table: leave it to the Inspector."""


def _names(text: str) -> list[str]:
    """Column names in a parsed list, as SQLAlchemy finds them."""
    return [m.group(1) or m.group(2) for m in _NAMES.finditer(text)]


Signature = tuple[str, ...]


def _signature(
    columns: Iterable[str], table: str, referred: Iterable[str]
) -> Signature:
    return (*columns, table, *referred)


# -- reading ------------------------------------------------------------------
@dataclass(slots=True)
class _Objects:
    """The listed tables and views, and every table's and view's text."""

    tables: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    sql: dict[str, str | None] = field(default_factory=dict)
    #: Shadow tables, left out of ``tables``.
    shadows: frozenset[str] = frozenset()


def _read_objects(connection: Connection, master: str, schema: str) -> _Objects:
    found = _Objects()
    virtual = False
    for kind, name, sql, listed, is_virtual in connection.execute(
        _objects_query(master)
    ).all():
        found.sql.setdefault(name, sql)
        if listed:
            (found.tables if kind == "table" else found.views).append(name)
            virtual = virtual or bool(is_virtual)
    if virtual:
        # Only virtual tables have shadow tables: one query more, then.
        found.shadows = sqlite_shadow_tables(connection, schema)
        found.tables = [name for name in found.tables if name not in found.shadows]
    return found


#: A ``pragma_table_xinfo`` row: table, column, declared type, not null,
#: default, position in the primary key, hidden (0 no, 1 virtual-table
#: column, 2 or 3 generated). The pragma gives the type and the default as
#: text (the default as written in the ``CREATE`` statement) or NULL. The
#: table is named on its first row only (``cid`` 0; the rows come in table
#: and ``cid`` order), None on the others: a name fewer to fetch and
#: compare for each of tens of thousands of columns.
ColumnRow = Sequence[Any]


def _named(rows: Iterable[ColumnRow]) -> Iterator[tuple[str, ColumnRow]]:
    """Each row with the name of its table."""
    table = ""
    for row in rows:
        table = row[0] if row[0] is not None else table
        yield table, row


def _column_rows(
    connection: Connection,
    master: str,
    schema: str,
    kind: str,
    names: Iterable[str],
) -> tuple[list[ColumnRow], set[str]]:
    """``pragma_table_xinfo`` rows of every ``kind`` object, and the failures.

    One query; if it fails (a view whose table is gone), one per object.
    """
    try:
        rows = connection.execute(
            _columns_query(master), {"schema": schema, "kind": kind}
        ).all()
        return list(rows), set()
    except sa.exc.OperationalError as exc:
        logger.debug("Bulk column query failed (%s); reading one by one", exc)
    rows_: list[ColumnRow] = []
    failed: set[str] = set()
    for name in names:
        try:
            found = connection.execute(_ONE_OBJECT, {"name": name, "schema": schema})
            rows_.extend(found.all())
        except sa.exc.OperationalError:
            failed.add(name)
    return rows_, failed


def declared_types(
    connection: Connection, schema: str
) -> dict[tuple[str, str], RawType]:
    """Every column's declared type, generated columns included.

    ``raw_types`` reads ``pragma_table_info``, which leaves generated
    columns out; the reader completes it with this.
    """
    master = _master(connection, schema)
    objects = _read_objects(connection, master, schema)
    types: dict[tuple[str, str], RawType] = {}
    for kind, names in (("table", objects.tables), ("view", objects.views)):
        rows, _failed = _column_rows(connection, master, schema, kind, names)
        for table, (_first, column, declared, *_rest, hidden) in _named(rows):
            if hidden != 1:
                types[(table, column)] = RawType(str(declared or ""))
    return types


@dataclass(slots=True)
class _TableColumns:
    """One table's (or view's) columns as snapshots, built in one pass."""

    snapshots: list[ColumnSnapshot] = field(default_factory=list)
    #: (position in the primary key, column name)
    keyed: list[tuple[int, str]] = field(default_factory=list)
    #: Indexes in ``snapshots`` of the key columns not declared NOT NULL.
    loose: list[int] = field(default_factory=list)

    @property
    def primary_key(self) -> list[str]:
        return [name for _position, name in sorted(self.keyed)]


def _table_columns(
    rows: Iterable[ColumnRow], families: TypeFamilies
) -> dict[str, _TableColumns]:
    """Every table's columns, as the reader builds them from what
    SQLAlchemy's ``get_columns`` reports: primary-key columns NOT NULL
    (``_loosen`` corrects the few that are not), no comments; a virtual
    table's hidden columns left out.

    ``pk`` is a column's 1-based position in the primary key, 0 if none.
    """
    found: dict[str, _TableColumns] = {}
    current = _TableColumns()
    add = current.snapshots.append
    ordinal = 0
    for table, name, declared, not_null, default, pk, hidden in rows:
        if table is not None:  # the table's first row
            current = found[table] = _TableColumns()
            add = current.snapshots.append
            ordinal = 0
        if hidden == 1:
            continue
        raw_type = declared or ""
        ordinal += 1
        add(
            new_column(
                name,
                raw_type,
                families[raw_type],
                not not_null and not pk,
                # sqlite_default(default), without a call per column
                None
                if default is not None
                and "NULL" in default.upper()
                and _means_null(default)
                else default,
                None,
                pk or None,
                ordinal,
            )
        )
        if pk:
            current.keyed.append((pk, name))
            if not not_null:
                current.loose.append(ordinal - 1)
    return found


def _foreign_keys(
    rows: Iterable[tuple[Any, ...]],
    sql: str | None,
    schema: str,
    primary_keys: Mapping[str, list[str]],
    existing: Mapping[str, str | None],
    unreadable: Iterable[str],
) -> list[dict[str, Any]]:
    """One table's foreign keys, as SQLAlchemy's ``get_foreign_keys`` finds them."""
    keys: dict[int, dict[str, Any]] = {}
    for _table, number, target, local, remote in rows:
        key = keys.get(number)
        if key is None:
            referred: list[str] = []
            if not remote and target in existing:
                # No column list: the target's primary key (looked up by
                # the exact name; a missing table gives none).
                if target in unreadable:
                    raise _Unmodelled(target)
                referred = list(primary_keys.get(target, []))
            key = keys[number] = {
                "name": None,
                "constrained_columns": [],
                "referred_schema": schema,
                "referred_table": target,
                "referred_columns": referred,
            }
        key["constrained_columns"].append(local)
        if remote:
            key["referred_columns"].append(remote)

    by_signature = {
        _signature(
            k["constrained_columns"], k["referred_table"], k["referred_columns"]
        ): k
        for k in keys.values()
    }
    text = sql or ""
    if not by_signature or not _may_name_keys(text):
        # Nothing to name, or no key the text names: all are unnamed.
        return list(by_signature.values())
    found: list[dict[str, Any]] = []
    for match in _FOREIGN_KEY.finditer(text):
        name = match.group(1) or match.group(2)
        local_names = _names(match.group(3))
        target_name = match.group(4) or match.group(5)
        signature = _signature(local_names, target_name, _names(match.group(6)))
        key_ = by_signature.pop(signature, None)
        if key_ is not None:
            key_["name"] = name
            found.append(key_)
    found.extend(by_signature.values())
    return found


def _may_name_keys(text: str) -> bool:
    """Whether ``text`` may hold the word ``FOREIGN`` as ``_FOREIGN_KEY``
    (case-blind) finds it: ten times cheaper than a case-blind search.
    ``str.upper`` keeps U+0130, which such a search takes for ``I``."""
    return "FOREIGN" in text.upper() or "\u0130" in text


def _uniques(autoindexes: Iterable[Signature], sql: str | None) -> list[dict[str, Any]]:
    """One table's unique constraints, as SQLAlchemy's parser finds them."""
    by_signature = set(autoindexes)
    found: list[dict[str, Any]] = []

    def parsed() -> Iterator[tuple[str | None, list[str]]]:
        for match in _UNIQUE.finditer(sql or ""):
            yield match.group(1) or match.group(2), _names(match.group(3))
        for match in _INLINE_UNIQUE.finditer(sql or ""):
            yield None, _names(match.group(1) or match.group(2))

    if not by_signature:
        return found
    for name, columns in parsed():
        signature = tuple(columns)
        if signature in by_signature:
            by_signature.discard(signature)
            found.append({"name": name, "column_names": columns})
            if not by_signature:
                break  # nothing left to match: the rest cannot count
    return found


def read(connection: Connection, schema: str, include_views: bool) -> FastRead:
    """Read ``schema`` (an attached database) in four queries, five with views
    (and one for shadow tables when there are virtual tables)."""
    master = _master(connection, schema)
    params = {"schema": schema}
    families = TypeFamilies(connection.dialect.name)
    objects = _read_objects(connection, master, schema)

    table_rows, _none = _column_rows(
        connection, master, schema, "table", objects.tables
    )
    view_rows: list[ColumnRow] = []
    broken: set[str] = set()
    if include_views and objects.views:
        view_rows, broken = _column_rows(
            connection, master, schema, "view", objects.views
        )
    columns = _table_columns(table_rows, families)
    view_columns = _table_columns(view_rows, families)
    primary_keys = {name: found.primary_key for name, found in columns.items()}

    fk_rows: dict[str, list[tuple[Any, ...]]] = {}
    for row in connection.execute(_foreign_keys_query(master), params).all():
        fk_rows.setdefault(row[0], []).append(tuple(row))

    indexes: dict[tuple[str, str], list[str]] = {}
    origins: dict[tuple[str, str], str] = {}
    for table, index, origin, column in connection.execute(
        _indexes_query(master), params
    ).all():
        indexes.setdefault((table, index), []).append(column)
        origins[(table, index)] = origin
    loose_keys = _loosen(connection, schema, columns, origins)
    autoindexes: dict[str, list[Signature]] = {}
    unique_columns: dict[str, list[tuple[str, ...]]] = {}
    for (table, index), names in indexes.items():
        if None in names:
            continue  # an index on an expression
        if index.startswith("sqlite_autoindex"):
            autoindexes.setdefault(table, []).append(tuple(names))
        if origins[(table, index)] == "u":
            unique_columns.setdefault(table, []).append(tuple(names))

    found = FastRead(
        tables=tuple(sorted(objects.tables)),
        views=tuple(sorted(set(objects.views) if include_views else ())),
        catalogue=Catalogue(
            shadows=objects.shadows,
            unique_columns={t: tuple(c) for t, c in unique_columns.items()},
            loose_keys=loose_keys,
        ),
        comments=None,
    )
    # A table with generated columns is read here even where SQLAlchemy's
    # Inspector fails on it: a comment between its last ")" and STRICT or
    # WITHOUT ROWID fails SQLAlchemy's check of the CREATE text, which the
    # pragmas do without.
    unreadable = {
        name
        for name in objects.tables
        if name not in columns or not columns[name].snapshots
    }
    for name in objects.tables:
        if name in unreadable:
            continue  # left to the Inspector, which reports what is wrong
        try:
            keys = _foreign_keys(
                fk_rows.get(name, []),
                objects.sql.get(name),
                schema,
                primary_keys,
                objects.sql,
                unreadable,
            )
        except _Unmodelled:
            continue
        found.columns[name] = tuple(columns[name].snapshots)
        found.primary_keys[name] = {
            "constrained_columns": primary_keys[name],
            "name": None,
        }
        found.foreign_keys[name] = keys
        found.unique_constraints[name] = _uniques(
            autoindexes.get(name, []), objects.sql.get(name)
        )
    for name in found.views:
        if name not in broken and name in view_columns:
            found.columns[name] = tuple(view_columns[name].snapshots)
    if len(found.columns) < len(found.tables) + len(found.views):
        # Some are left to the Inspector, which finds the raw types here.
        found.catalogue.raw_types.update(
            ((table, column), RawType(str(declared or "")))
            for table, (_first, column, declared, *_rest, hidden) in _named(
                (*table_rows, *view_rows)
            )
            if hidden != 1 and table not in found.columns
        )
    return found


def _loosen(
    connection: Connection,
    schema: str,
    columns: Mapping[str, _TableColumns],
    origins: Mapping[tuple[str, str], str],
) -> frozenset[str]:
    """Make nullable the key columns that may hold NULL and return their
    tables (``raw_types.sqlite_loose_keys``). Only a table whose key has an
    index of its own (origin 'pk') and a column not declared NOT NULL may
    have such columns; without one, no query is made."""
    candidates = {
        table
        for (table, _index), origin in origins.items()
        if origin == "pk" and table in columns and columns[table].loose
    }
    if not candidates:
        return frozenset()
    loose = frozenset(candidates & sqlite_loose_keys(connection, schema))
    for table in loose:
        snapshots = columns[table].snapshots
        for index in columns[table].loose:
            snapshots[index] = replace(snapshots[index], nullable=True)
    return loose
