"""Reading a live schema into a ``SchemaSnapshot``.

On PostgreSQL, MariaDB 10.6+ and SQLite ``read_schema`` uses a fast path
(``introspection.fast``): a handful of catalogue queries for the whole
schema, whatever its size, shaped exactly as SQLAlchemy's Inspector would
answer, so that both give the same snapshot. Elsewhere, with
``method="inspector"``, with a custom Inspector class, or when the fast
path meets a database error (it then falls back with a warning), the
Inspector is used as described below. A table the fast path cannot
reproduce exactly (a broken view, for one) is read with the Inspector alone.

With the Inspector, ``read_schema`` reads a whole schema in bulk: its ``get_multi_*``
calls (columns, primary keys, foreign keys, unique constraints, table
comments), plus a few catalogue queries of our own for what SQLAlchemy
misses or misreads (``raw_types.read_catalogue``: one on PostgreSQL and
MySQL, two or three on SQLite, four on MariaDB 10.2.7+). The number of queries does not grow with the
number of tables wherever SQLAlchemy's dialect reads in bulk (PostgreSQL,
Oracle); SQLAlchemy's SQLite, MySQL/MariaDB and SQL Server dialects implement
``get_multi_*`` one table at a time internally.

What ends up in the snapshot:

* Tables and, unless ``include_views`` is False, views (``is_view=True``).
  Materialized views are views and PostgreSQL foreign tables are tables
  (SQLAlchemy lists both apart from the others); neither holds keys.
* PostgreSQL partitioned tables: the partitioned parent is a table like any
  other; its partitions (``pg_class.relispartition``) are left out, because
  queries go through the parent and every partition would repeat its
  columns.
* ``raw_type`` as the catalogue spells it (see ``ColumnSnapshot``) and
  ``data_format`` from ``normalise_type``. Primary-key columns are reported
  NOT NULL even where the catalogue says otherwise (SQLite's ``INTEGER
  PRIMARY KEY``), except SQLite's keys that do accept NULL: other keys of
  tables with a rowid that are not STRICT (``raw_types.sqlite_loose_keys``).
  On PostgreSQL and MariaDB 10.2.7+, NOT NULL, the default
  and the comment come from the catalogue (``raw_types.ColumnRules``): on
  PostgreSQL SQLAlchemy misses the NOT NULL of a domain a column's domain
  is built on, puts the harvested schema in front of a ``nextval``
  sequence printed without one (wherever the sequence lives), and drops
  what stands before ``nextval`` in an expression; on MariaDB its parser
  of ``SHOW CREATE TABLE`` loses comments and defaults of some columns,
  reads view columns as nullable and gives them defaults. SQLite's
  generated columns, which ``pragma_table_info`` leaves out, get their
  declared type from ``pragma_table_xinfo``.
* Foreign keys with ``referred_schema`` None when the target is in the
  harvested schema, else the target's real schema. On PostgreSQL this needs
  care: ``pg_get_constraintdef`` leaves out the schema of any target on the
  search path, so on PostgreSQL the keys' columns, targets and schemas come
  from one catalogue query (``fast.postgresql.foreign_key_facts``):
  SQLAlchemy's parsing of ``pg_get_constraintdef`` splits a column name
  containing ``", "``, and reports a key to a partitioned table once more
  for every partition (copies PostgreSQL keeps, ``conparentid``), which are
  left out.
* Unique constraints (not the primary key). SQLAlchemy's SQLite parser
  misses an inline ``UNIQUE`` after a type with a length (``nick
  varchar(30) UNIQUE``); SQLite's own index list fills the gap, unnamed.
* Deterministic order: tables by name, columns in table order, foreign keys
  by (referred table, columns, name), unique constraints by columns.

Failures: if a bulk call fails, that part is read table by table; a table
that still fails is reported as a ``TableFailure`` (exception type and first
line of the message) and the rest is harvested. On PostgreSQL each attempt
runs in a savepoint, because an error aborts the whole transaction there.

SQLAlchemy warns (``SAWarning``) about types it does not know, such as
PostgreSQL ``point`` or domains; the raw type query makes those warnings
moot, so they are silenced while reading. ``warnings.catch_warnings`` is
process-wide: a thread running beside a harvest may miss an ``SAWarning``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import string
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector
from sqlalchemy.engine.reflection import ObjectKind

from thoth_db_elements._gc import collector_paused
from thoth_db_elements.exceptions import IntrospectionError, SchemaNotFoundError

from . import fast
from .fast import FastRead
from .fast.base import (
    ReadColumn,
    TypeFamilies,
    comment_text,
    key_positions,
    snapshot_of,
)
from .fast.sqlite import sqlite_default
from .raw_types import (
    NO_KEYS,
    Catalogue,
    RawType,
    TableKeys,
    read_catalogue,
)
from .snapshot import (
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
    UniqueConstraintSnapshot,
    new_foreign_key,
    new_table,
)

__all__ = ["read_schema"]

logger = logging.getLogger(__name__)

#: ``read_schema``'s ``method``: the fast path where there is one, else
#: the Inspector (``auto``); the fast path or an error (``fast``); the
#: Inspector only (``inspector``).
AUTO: Final = "auto"
FAST: Final = "fast"
INSPECTOR: Final = "inspector"
METHODS: Final = (AUTO, FAST, INSPECTOR)

#: Above this many names, bulk calls read the whole schema and we filter in
#: Python: a PostgreSQL statement takes at most 65535 bind parameters.
MAX_FILTER_NAMES: Final = 2000

COLUMNS: Final = "columns"
PRIMARY_KEY: Final = "primary key"
FOREIGN_KEYS: Final = "foreign keys"
UNIQUES: Final = "unique constraints"
COMMENT: Final = "comment"
ASPECTS: Final = (COLUMNS, PRIMARY_KEY, FOREIGN_KEYS, UNIQUES, COMMENT)
#: What the catalogue gives of a table SQLAlchemy is not asked about.
NOT_COLUMNS: Final = (PRIMARY_KEY, FOREIGN_KEYS, UNIQUES, COMMENT)
#: Views have no keys or constraints to read.
TABLE_ONLY: Final = frozenset({PRIMARY_KEY, FOREIGN_KEYS, UNIQUES})

#: What a table has when an aspect is missing or the dialect cannot read it.
EMPTY: Final[Mapping[str, Callable[[], Any]]] = {
    COLUMNS: list,
    PRIMARY_KEY: dict,
    FOREIGN_KEYS: list,
    UNIQUES: list,
    COMMENT: dict,
}

#: One aspect of every table read in bulk, by table name; None when the bulk
#: call failed (read table by table), ``UNSUPPORTED`` when the dialect cannot
#: read it at all.
Bulk = dict[str, Any] | None
UNSUPPORTED: Final[dict[str, Any]] = {}

_BACKGROUND_LINK = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def error_text(exc: BaseException) -> str:
    """``Type: first line of the message`` (the DBAPI error when there is one).

    Never includes a URL: SQLAlchemy's statement and documentation link are
    left out, and no database error message carries the connection URL.
    """
    original = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    message = _BACKGROUND_LINK.sub("", str(original)).strip()
    first = message.splitlines()[0].strip() if message else ""
    name = type(original).__name__
    return f"{name}: {first}" if first else name


def _text_or_none(value: object) -> str | None:
    """A comment as snapshots keep it (see ``comment_text``), from any value."""
    return comment_text(None if value is None else str(value))


def _rendered_type(column: Mapping[str, Any], connection: Connection) -> str:
    """SQLAlchemy's rendering of a reflected type (dialects without a raw query)."""
    column_type = column.get("type")
    if column_type is None or isinstance(column_type, sa.types.NullType):
        return ""
    try:
        return str(column_type.compile(dialect=connection.dialect))
    except Exception:
        return type(column_type).__name__


class _Reader:
    """One ``read_schema`` call: the inspector, the schema and what is cached."""

    def __init__(
        self, connection: Connection, include_views: bool, method: str = AUTO
    ) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        if self.dialect == "sqlite":
            _copy_primary_keys(connection.dialect)
        self.inspector: Inspector = sa.inspect(connection)
        self.include_views = include_views
        self.method = method
        self._savepoints: bool | None = None
        self._fks_by_table: Mapping[str, list[dict[str, Any]]] | None = None
        self._declared: Mapping[tuple[str, str], RawType] | None = None
        #: MariaDB: keys and table comments from the catalogue, not SQLAlchemy.
        self._keys: Mapping[str, TableKeys] | None = None
        self._comments: Mapping[str, str | None] | None = None
        self._families = TypeFamilies(self.dialect)
        self._schema: str | None = None

    # -- schema ---------------------------------------------------------------
    def resolve_schema(self, requested: str | None) -> str:
        """The schema to read: ``requested``, or the connection's default.

        A name is taken as written, but for what the database itself
        ignores: MySQL/MariaDB names cannot end with blanks, and neither
        SQLite (the names of its databases) nor a MySQL/MariaDB server with
        ``lower_case_table_names`` set compares them with case (SQLite reads
        ``MAIN`` as ``main``, such a server ``Shop`` as ``shop``; the stored
        spelling is used).
        """
        if requested is not None and requested.strip():
            if self.dialect in ("mysql", "mariadb"):
                requested = requested.rstrip(" ")
            if self.dialect == "sqlite" and requested.translate(_ASCII_FOLD) == "temp":
                raise SchemaNotFoundError(
                    "Schema 'temp' holds the temporary tables of one "
                    "connection, and is not read"
                )
            found = self.inspector.has_schema(requested)
            if not found and self.dialect == "sqlite":
                requested = self._sqlite_database(requested)
                found = self.inspector.has_schema(requested)
            if not found and self.dialect in ("mysql", "mariadb"):
                requested = self._mysql_database(requested)
                found = self.inspector.has_schema(requested)
            if not found:
                raise SchemaNotFoundError(
                    f"Schema '{requested}' does not exist in this database"
                )
            return requested
        default = self._current_schema()
        if not default:
            raise SchemaNotFoundError(
                "No schema was given and the connection has no default schema; "
                "name the schema (for MySQL/MariaDB, the database) to read"
            )
        return default

    def _sqlite_database(self, requested: str) -> str:
        """The attached database's name as SQLite lists it, matched without
        ASCII case; ``requested`` when none matches."""
        folded = requested.translate(_ASCII_FOLD)
        for name in self.connection.exec_driver_sql(
            "SELECT name FROM pragma_database_list"
        ).scalars():
            if str(name).translate(_ASCII_FOLD) == folded:
                return str(name)
        return requested

    def _mysql_database(self, requested: str) -> str:
        """The database's name as the server lists it, matched without case
        when the server ignores it (``lower_case_table_names`` 1 or 2);
        ``requested`` otherwise, or when none matches."""
        folding = self.connection.exec_driver_sql(
            "SELECT @@lower_case_table_names"
        ).scalar()
        if not folding:
            return requested
        for name in self.connection.exec_driver_sql(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
        ).scalars():
            if str(name).lower() == requested.lower():
                return str(name)
        return requested

    def _current_schema(self) -> str | None:
        """The connection's own default schema: PostgreSQL's first schema of
        the ``search_path`` that exists, MySQL/MariaDB's current database.

        SQLAlchemy's ``default_schema_name`` is the one of the engine's first
        connection, not of this one after a ``SET search_path`` or ``USE``.
        """
        current = {
            "postgresql": "SELECT current_schema()",
            "mysql": "SELECT DATABASE()",
            "mariadb": "SELECT DATABASE()",
        }.get(self.dialect)
        if current is None:
            return self.inspector.default_schema_name
        found = self.connection.exec_driver_sql(current).scalar()
        return None if found is None else str(found)

    # -- savepoints -------------------------------------------------------------
    def _needs_savepoints(self) -> bool:
        """PostgreSQL aborts the transaction on any error, unless autocommit."""
        if self._savepoints is None:
            self._savepoints = False
            if self.dialect == "postgresql":
                dbapi_connection = self.connection.connection.dbapi_connection
                try:
                    autocommit = bool(
                        dbapi_connection is not None
                        and self.connection.dialect.detect_autocommit_setting(
                            dbapi_connection
                        )
                    )
                except NotImplementedError:
                    options = self.connection.get_execution_options()
                    autocommit = options.get("isolation_level") == "AUTOCOMMIT"
                self._savepoints = not autocommit
        return self._savepoints

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Run a read that may fail without spoiling the rest of the read."""
        if not self._needs_savepoints():
            yield
            return
        with self.connection.begin_nested():
            yield

    def check_fatal(self, exc: BaseException) -> None:
        """Re-raise as ``IntrospectionError`` when the connection itself is gone."""
        lost = isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
        if lost or self.connection.invalidated or self.connection.closed:
            raise IntrospectionError(
                f"Lost the connection while reading the schema: {error_text(exc)}"
            ) from exc

    # -- reading ----------------------------------------------------------------
    def read(self, requested: str | None) -> SchemaSnapshot:
        """Read the schema into a snapshot."""
        schema = self._schema = self.resolve_schema(requested)
        found = self._read_fast(schema)
        if found is not None:
            catalogue = found.catalogue
            self._keys, self._comments = catalogue.keys, catalogue.comments
            tables, views = list(found.tables), list(found.views)
            bulk = self._fast_bulk(found)
        else:
            catalogue = read_catalogue(self.connection, schema)
            self._keys, self._comments = catalogue.keys, catalogue.comments
            tables = sorted(
                name
                for name in self._table_names(schema)
                if name not in catalogue.partitions and name not in catalogue.shadows
            )
            views = self._view_names(schema, set(tables)) if self.include_views else []
            # SQLAlchemy is not asked about the tables it cannot parse
            # (``catalogue.listed``): it may fail on them.
            unparsed = catalogue.listed
            bulk = self._read_bulk(
                schema,
                [name for name in tables if name not in unparsed],
                [name for name in views if name not in unparsed],
                named=bool(unparsed),
            )
        snapshots: list[TableSnapshot] = []
        failures: list[TableFailure] = []
        view_names = set(views)
        for name in sorted({*tables, *views}):
            is_view = name in view_names
            try:
                if name in catalogue.listed:
                    parts = self._listed_parts(schema, name, is_view, bulk, catalogue)
                else:
                    parts = self._inspected_parts(
                        schema, name, is_view, bulk, catalogue
                    )
                snapshots.append(self._table(schema, name, is_view, parts, catalogue))
            except Exception as exc:
                self.check_fatal(exc)
                logger.warning(
                    "Cannot read %s %r of schema %r: %s",
                    "view" if is_view else "table",
                    name,
                    schema,
                    error_text(exc),
                )
                failures.append(TableFailure(name, error_text(exc)))
        if self.dialect == "sqlite":
            snapshots = _sqlite_key_targets(snapshots, schema)
        elif self.dialect in ("mysql", "mariadb"):
            snapshots = _mysql_key_columns(snapshots, schema)
        grants = self._grants(schema)
        sees_every_table = grants is None or any(
            level == "wide" and privilege == "SELECT"
            for level, _table, privilege in grants
        )
        if not sees_every_table:
            listed = {t.name for t in snapshots} | {f.name for f in failures}
            hidden = self._columns_hidden(schema, listed, grants or [])
            if hidden:
                snapshots = [t for t in snapshots if t.name not in hidden]
                failures = sorted(
                    [f for f in failures if f.name not in hidden]
                    + [TableFailure(name, why) for name, why in hidden.items()],
                    key=lambda failure: failure.name,
                )
        logger.debug(
            "Read %d tables and views of %s schema %r (%d failed)",
            len(snapshots),
            self.dialect,
            schema,
            len(failures),
        )
        return SchemaSnapshot(
            self.dialect,
            schema,
            tuple(snapshots),
            tuple(failures),
            listing_complete=sees_every_table,
            left_out=tuple(sorted(catalogue.shadows)),
        )

    def _grants(self, schema: str) -> list[Any] | None:
        """MySQL/MariaDB: this user's own grants (``_OWN_GRANTS`` rows),
        ``[]`` when they cannot be read; None on other databases.

        Their ``information_schema`` and ``SHOW TABLES`` leave out the tables
        a user has no privilege on. Only a ``SELECT`` privilege on the whole
        server or the whole schema (a ``wide`` one: a schema grant naming
        the schema, its ``_`` and ``%`` escaped or not) shows them all;
        anything else (table-level grants, roles, other wildcard schema
        grants) counts as maybe not.
        """
        if self.dialect not in ("mysql", "mariadb"):
            return None
        try:
            with self.attempt():
                rows = self.connection.execute(_OWN_GRANTS, {"schema": schema}).all()
        except Exception as exc:
            self.check_fatal(exc)
            logger.warning("Cannot read the privileges of this user: %s", exc)
            return []
        grants: list[Any] = []
        for level, name, privilege in rows:
            if level != "schema":
                grants.append((level, name, privilege))
            elif _unescaped(name) == schema:
                grants.append(("wide", None, privilege))
        return grants

    def _columns_hidden(
        self, schema: str, listed: set[str], grants: Sequence[Any]
    ) -> dict[str, str]:
        """MySQL/MariaDB, for a user who may not see every table: the tables
        of ``listed`` it may see with only some of their columns, or none,
        each with the reason to fail it.

        ``information_schema`` shows a column to whom holds ``SELECT``,
        ``INSERT``, ``UPDATE`` or ``REFERENCES`` on it, on its table, its
        schema or the whole server. A user whose own grants on a table are
        on some columns only, or of other kinds only (``INDEX``, say), may
        see the table short of columns, and so may a user who reaches a
        table only through a role, ``PUBLIC`` or a wildcard schema grant
        (which its own grants do not show). Every table its own grants do
        not show whole is tried with ``SELECT * ... LIMIT 0`` (``_unseen``),
        for such users only: up to 61 tables in one query (``_hidden``).
        """
        seeing = {"SELECT", "INSERT", "UPDATE", "REFERENCES"}
        sees_all: dict[str, bool] = {}
        for level, table, privilege in grants:
            if level == "wide" and privilege in seeing:
                return {}  # every column of every table
            if level in ("table", "column"):
                sees = sees_all.get(table, False)
                sees_all[table] = sees or (level == "table" and privilege in seeing)
        candidates = sorted(t for t in listed if not sees_all.get(t, False))
        hidden: dict[str, str] = {}
        for start in range(0, len(candidates), _JOINED):
            hidden.update(self._hidden(schema, candidates[start : start + _JOINED]))
        return hidden

    def _hidden(self, schema: str, tables: Sequence[str]) -> dict[str, str]:
        """The tables of ``tables`` this user may not ``SELECT *`` from,
        each with why (``_unseen``).

        One query tries them all, joined: on a user who sees them (the
        usual case) that is all it costs. A refusal is searched for by
        halves; any other failure (a table locked by another session) is
        left to a query per table, each waiting its own second.
        """
        if len(tables) == 1:
            why = self._unseen(schema, tables[0])
            return {} if why is None else {tables[0]: why}
        try:
            with self.attempt():
                self.connection.execute(self._probe(schema, tables))
        except sa.exc.DBAPIError as exc:
            self.check_fatal(exc)
            if getattr(exc.orig, "args", (None,))[0] not in _REFUSALS:
                reasons = {t: self._unseen(schema, t) for t in tables}
                return {t: why for t, why in reasons.items() if why is not None}
            half = len(tables) // 2
            return {
                **self._hidden(schema, tables[:half]),
                **self._hidden(schema, tables[half:]),
            }
        return {}

    def _probe(self, schema: str, tables: Sequence[str]) -> sa.TextClause:
        """``SELECT * FROM`` ``tables`` joined ``LIMIT 0``: allowed only to
        whom may read every column of each; on MariaDB, waiting at most a
        second for a table's lock."""
        names = ", ".join(f"{_backticked(schema)}.{_backticked(t)}" for t in tables)
        sql = f"SELECT * FROM {names} LIMIT 0"
        if getattr(self.connection.dialect, "is_mariadb", False):
            sql = f"SET STATEMENT lock_wait_timeout = 1 FOR {sql}"
        # text(): "%" is escaped for the driver; a ":" must not start a
        # parameter.
        return sa.text(sql.replace(":", "\\:"))

    def _unseen(self, schema: str, table: str) -> str | None:
        """None when this user may ``SELECT *`` from ``table``, and so sees
        every column of it; else why the table fails.

        Refused (MariaDB does not say for which column; a view's invoker or
        definer lacking rights, or gone, counts too), the table counts as
        hidden: a user who sees every column only through ``INSERT`` or
        ``UPDATE`` grants, without ``SELECT`` on all of them, gets a failed
        table asking for ``SELECT``, never a table short of columns. Any
        other failure (a table locked by another session: MariaDB waits at
        most a second here) fails it with its own error: only a ``SELECT``
        that went through shows every column seen.
        """
        try:
            with self.attempt():
                self.connection.execute(self._probe(schema, [table]))
        except sa.exc.DBAPIError as exc:
            self.check_fatal(exc)
            code = getattr(exc.orig, "args", (None,))[0]
            if code in _REFUSALS:
                return _COLUMNS_HIDDEN
            return f"Cannot check which columns this user sees: {error_text(exc)}"
        return None

    def _read_fast(self, schema: str) -> FastRead | None:
        """The fast path's read, or None to read with the Inspector.

        With ``method="auto"`` an error on the fast path (say, no privilege
        on a catalogue view, or an answer it did not expect) falls back to
        the Inspector with a warning; with ``method="fast"`` it is raised
        (as ``IntrospectionError`` when not a database error). A lost
        connection is raised either way.
        """
        if self.method == INSPECTOR or (
            self.method == AUTO
            and not (fast.supports(self.connection) and self._stock_inspector())
        ):
            return None
        try:
            with self.attempt():
                return fast.read_fast(self.connection, schema, self.include_views)
        except IntrospectionError:
            raise
        except Exception as exc:
            # A database error, or an answer the fast path did not expect
            # (a driver that returns a type in its own way, a schema changed
            # between two queries of a READ COMMITTED connection).
            self.check_fatal(exc)
            if self.method == FAST:
                if isinstance(exc, sa.exc.SQLAlchemyError):
                    raise
                raise IntrospectionError(
                    f"Fast reading of {self.dialect} schema {schema!r} failed: "
                    f"{error_text(exc)}"
                ) from exc
            logger.warning(
                "Fast reading of %s schema %r failed (%s); reading it with "
                "SQLAlchemy's Inspector instead",
                self.dialect,
                schema,
                error_text(exc),
            )
            return None

    def _stock_inspector(self) -> bool:
        """Whether the Inspector is SQLAlchemy's own, which the fast paths copy.

        A dialect or an application may install an Inspector of its own
        (``dialect.inspector``); ``auto`` then reads with it.
        """
        stock = type(self.inspector).__module__.startswith("sqlalchemy.")
        if not stock:
            logger.debug(
                "Reading with the custom Inspector %s", type(self.inspector).__name__
            )
        return stock

    def _fast_bulk(self, found: FastRead) -> dict[str, Bulk]:
        """The fast path's answers in the shape of ``_read_bulk``'s."""
        comments: Bulk = found.comments
        if comments is None or not self.connection.dialect.supports_comments:
            comments = UNSUPPORTED
        return {
            COLUMNS: found.columns,
            PRIMARY_KEY: found.primary_keys,
            FOREIGN_KEYS: found.foreign_keys,
            UNIQUES: found.unique_constraints,
            COMMENT: comments,
        }

    def _table_names(self, schema: str) -> list[str]:
        """The schema's tables, foreign tables included where the dialect
        lists them apart (PostgreSQL)."""
        insp = self.inspector
        names = list(insp.get_table_names(schema=schema))
        foreign = getattr(insp, "get_foreign_table_names", None)
        if foreign is not None:
            names.extend(foreign(schema=schema))
        return names

    def _view_names(self, schema: str, tables: AbstractSet[str]) -> list[str]:
        """The schema's views, materialized views included where the
        dialect has them; a name already read as a table stays a table."""
        insp = self.inspector
        names = set(_supported(partial(insp.get_view_names, schema=schema), []))
        names.update(
            _supported(partial(insp.get_materialized_view_names, schema=schema), [])
        )
        return sorted(names - tables)

    def _bulk_calls(
        self, schema: str, tables: list[str], views: list[str], named: bool
    ) -> dict[str, Callable[[], Bulk]]:
        """The bulk calls for ``tables`` and ``views``; ``named``: name them
        to SQLAlchemy however many they are (else, above
        ``MAX_FILTER_NAMES``, it reads the whole schema)."""
        insp = self.inspector
        names = tables + views
        kind = ObjectKind.ANY if views else ObjectKind.TABLE

        def by_name(
            call: Callable[..., Any], wanted: list[str], **options: Any
        ) -> Callable[[], Bulk]:
            def run() -> Bulk:
                if not wanted:
                    return {}
                filter_names = (
                    wanted if named or len(wanted) <= MAX_FILTER_NAMES else None
                )
                found = call(schema=schema, filter_names=filter_names, **options)
                return {key[1]: value for key, value in dict(found).items()}

            return run

        calls: dict[str, Callable[[], Bulk]] = {
            COLUMNS: by_name(insp.get_multi_columns, names, kind=kind),
            PRIMARY_KEY: by_name(insp.get_multi_pk_constraint, tables),
            FOREIGN_KEYS: by_name(
                insp.get_multi_foreign_keys, tables, **self._fk_options()
            ),
            UNIQUES: by_name(insp.get_multi_unique_constraints, tables),
            COMMENT: by_name(insp.get_multi_table_comment, names, kind=kind),
        }
        for aspect, source in self._from_catalogue(schema).items():
            wanted = names if aspect == COMMENT else tables
            calls[aspect] = partial(_each, source, wanted)
        if not self.connection.dialect.supports_comments:
            calls[COMMENT] = lambda: UNSUPPORTED
        return calls

    def _read_bulk(
        self, schema: str, tables: list[str], views: list[str], *, named: bool
    ) -> dict[str, Bulk]:
        calls = self._bulk_calls(schema, tables, views, named)
        try:
            with self.attempt():
                return {aspect: _supported(call) for aspect, call in calls.items()}
        except Exception as exc:
            self.check_fatal(exc)
            logger.warning(
                "Bulk reflection of schema %r failed (%s); retrying part by part",
                schema,
                error_text(exc),
            )
        bulk: dict[str, Bulk] = {}
        for aspect, call in calls.items():
            try:
                with self.attempt():
                    bulk[aspect] = _supported(call)
            except Exception as exc:
                self.check_fatal(exc)
                logger.warning(
                    "Bulk reading of %s failed (%s); reading table by table",
                    aspect,
                    error_text(exc),
                )
                bulk[aspect] = None
        return bulk

    def _fk_options(self) -> dict[str, Any]:
        if self.dialect == "postgresql":
            return {"postgresql_ignore_search_path": True}
        return {}

    def _from_catalogue(self, schema: str) -> dict[str, Callable[[str], Any]]:
        """The aspects read from the catalogue instead of SQLAlchemy, each as
        a function of a table's name giving what SQLAlchemy's call would.

        * Foreign keys on PostgreSQL and MariaDB: SQLAlchemy parses the text
          of ``pg_get_constraintdef()`` (``SHOW CREATE TABLE`` on MariaDB)
          and crashes on, or loses keys with, odd names; the catalogue has
          the keys as lists of names.
        * Primary and unique keys on MariaDB: SQLAlchemy's parser drops
          IGNORED keys and misreads WITHOUT OVERLAPS.
        * Table comments on MariaDB: under sql_mode ANSI and the like
          SQLAlchemy reads none.
        """
        sources: dict[str, Callable[[str], Any]] = {}
        if self._keys_from_catalogue:
            sources[FOREIGN_KEYS] = lambda t: self._catalogue_keys(schema).get(t, [])
        keys = self._keys
        if keys is not None:
            sources[PRIMARY_KEY] = lambda t: keys.get(
                t, NO_KEYS
            ).reflected_primary_key()
            sources[UNIQUES] = lambda t: keys.get(t, NO_KEYS).reflected_uniques()
        comments = self._comments
        if comments is not None:
            sources[COMMENT] = lambda t: {"text": comments.get(t)}
        return sources

    def _single(self, aspect: str, schema: str, name: str) -> Any:
        source = self._from_catalogue(schema).get(aspect)
        if source is not None:
            return source(name)
        insp = self.inspector
        if aspect == COLUMNS:
            return insp.get_columns(name, schema=schema)
        if aspect == PRIMARY_KEY:
            return insp.get_pk_constraint(name, schema=schema)
        if aspect == FOREIGN_KEYS:
            return insp.get_foreign_keys(name, schema=schema, **self._fk_options())
        if aspect == UNIQUES:
            return insp.get_unique_constraints(name, schema=schema)
        return insp.get_table_comment(name, schema=schema)

    def _parts(
        self,
        schema: str,
        name: str,
        is_view: bool,
        bulk: Mapping[str, Bulk],
        aspects: Sequence[str] = ASPECTS,
    ) -> dict[str, Any]:
        """Every aspect of one table (or those named): from the bulk read,
        else read on its own."""
        parts: dict[str, Any] = {}
        for aspect in aspects:
            found = bulk.get(aspect)
            if found is UNSUPPORTED or (is_view and aspect in TABLE_ONLY):
                parts[aspect] = EMPTY[aspect]()
            elif found is not None and name in found:
                parts[aspect] = found[name]
            else:
                with self.attempt():
                    parts[aspect] = _supported(
                        partial(self._single, aspect, schema, name),
                        default=EMPTY[aspect](),
                    )
        return parts

    def _listed_parts(
        self,
        schema: str,
        name: str,
        is_view: bool,
        bulk: Mapping[str, Bulk],
        catalogue: Catalogue,
    ) -> dict[str, Any]:
        """Every aspect of ``name``, its columns from the catalogue's facts."""
        parts = self._parts(schema, name, is_view, bulk, NOT_COLUMNS)
        parts[COLUMNS] = self._listed_columns(name, catalogue.names[name], catalogue)
        return parts

    def _inspected_parts(
        self,
        schema: str,
        name: str,
        is_view: bool,
        bulk: Mapping[str, Bulk],
        catalogue: Catalogue,
    ) -> dict[str, Any]:
        """Every aspect of ``name``, its columns as SQLAlchemy reads them.

        MariaDB refuses ``SHOW CREATE TABLE``, which SQLAlchemy reads them
        with, to a user whose grants on the table are on columns only, all
        of them perhaps: the catalogue's columns are taken then, as the
        fast path does (a user who does not see them all gets a failed
        table, ``_columns_hidden``).
        """
        try:
            parts = self._parts(schema, name, is_view, bulk)
        except sa.exc.DBAPIError as exc:
            code = getattr(exc.orig, "args", (None,))[0]
            if code not in _REFUSALS or name not in catalogue.names:
                raise
            self.check_fatal(exc)
            logger.debug("Columns of %r from the catalogue: %s", name, error_text(exc))
            return self._listed_parts(schema, name, is_view, bulk, catalogue)
        self._check_names(name, parts, catalogue)
        return parts

    def _listed_columns(
        self, table: str, names: Sequence[str], catalogue: Catalogue
    ) -> list[ReadColumn]:
        """Columns ``names`` of ``table`` from the catalogue's facts alone."""
        return [self._inspected(table, {"name": name}, catalogue) for name in names]

    def _check_names(
        self, table: str, parts: dict[str, Any], catalogue: Catalogue
    ) -> None:
        """MariaDB: where SQLAlchemy's columns of ``table`` are not the
        catalogue's (a misreading ``read_catalogue`` did not foresee), take
        the catalogue's.

        That includes none at all: SQLAlchemy reads ``sql_mode`` once, on
        its first connection, and a session given ``ANSI_QUOTES`` later (by a
        "connect" listener, say) prints ``SHOW CREATE TABLE`` in quotes its
        parser does not take for columns.
        """
        expected = catalogue.names.get(table)
        read = parts[COLUMNS]
        if expected is None or (read and not isinstance(read[0], Mapping)):
            return
        if tuple(str(column["name"]) for column in read) != expected:
            logger.warning(
                "SQLAlchemy misread the columns of %r; taking them from the catalogue",
                table,
            )
            parts[COLUMNS] = self._listed_columns(table, expected, catalogue)

    # -- building the snapshot ---------------------------------------------------
    def _table(
        self,
        schema: str,
        name: str,
        is_view: bool,
        parts: Mapping[str, Any],
        catalogue: Catalogue,
    ) -> TableSnapshot:
        read: Sequence[Any] = parts[COLUMNS]
        if read and isinstance(read[0], ColumnSnapshot):
            columns = tuple(read)  # built by the fast path
        else:
            pk_columns = [
                str(c)
                for c in (parts[PRIMARY_KEY] or {}).get("constrained_columns") or []
            ]
            if read and not isinstance(read[0], ReadColumn):
                read = [self._inspected(name, column, catalogue) for column in read]
            columns = self._columns(read, pk_columns, name in catalogue.loose_keys)
        uniques = [
            UniqueConstraintSnapshot(
                name=u.get("name") or None,
                columns=tuple(map(str, u["column_names"])),
            )
            for u in parts[UNIQUES]
        ]
        unique_columns = () if is_view else catalogue.unique_columns.get(name, ())
        if unique_columns:
            known = {u.columns for u in uniques}
            uniques.extend(
                UniqueConstraintSnapshot(name=None, columns=columns)
                for columns in unique_columns
                if columns not in known
            )
        if len(uniques) > 1:
            uniques.sort(key=lambda u: (u.columns, u.name or ""))
        return new_table(
            name=name,
            schema=schema,
            is_view=is_view,
            comment=_text_or_none((parts[COMMENT] or {}).get("text")),
            columns=columns,
            foreign_keys=self._foreign_keys(schema, name, parts[FOREIGN_KEYS]),
            unique_constraints=tuple(uniques),
        )

    def _inspected(
        self, table: str, column: Mapping[str, Any], catalogue: Catalogue
    ) -> ReadColumn:
        """A column the Inspector reported, with its raw type found."""
        name = str(column["name"])
        raw = (
            catalogue.raw_types.get((table, name))
            or self._declared_types().get((table, name))
            or RawType(_rendered_type(column, self.connection))
        )
        nullable = bool(column.get("nullable", True))
        default = column.get("default")
        comment = column.get("comment")
        if self.dialect == "sqlite":
            default = sqlite_default(default)
        rules = catalogue.rules.get((table, name))
        if rules is not None:
            nullable, default, comment = (
                not rules.not_null,
                rules.default,
                rules.comment,
            )
        return ReadColumn(
            name,
            nullable,
            None if default is None else str(default),
            None if comment is None else str(comment),
            raw.name,
            raw.base_type,
            raw.is_enum,
            raw.user_defined,
        )

    def _columns(
        self, read: Sequence[ReadColumn], pk_columns: Sequence[str], loose: bool
    ) -> tuple[ColumnSnapshot, ...]:
        """One table's column snapshots (the hot loop of a read: one pass,
        the type families cached by spelling); ``loose``: its key columns
        may hold NULL (``Catalogue.loose_keys``)."""
        positions = key_positions(pk_columns)
        families = self._families
        return tuple(
            snapshot_of(column, families, positions.get(column.name), ordinal, loose)
            for ordinal, column in enumerate(read, start=1)
        )

    def _declared_types(self) -> Mapping[tuple[str, str], RawType]:
        """SQLite: declared types of the columns ``read_catalogue`` misses.

        ``pragma_table_info`` leaves generated columns out; without this
        they would get SQLAlchemy's rendering of the type instead of the
        declared one. Read once, on the first miss.
        """
        if self.dialect != "sqlite" or self._schema is None:
            return {}
        if self._declared is None:
            self._declared = fast.sqlite.declared_types(self.connection, self._schema)
        return self._declared

    @staticmethod
    def _referred_schema(schema: str, fk: Mapping[str, Any]) -> str | None:
        # PostgreSQL and MariaDB keys come from the catalogue
        # (ForeignKeyFacts), whose target schema is already None for
        # targets in ``schema``.
        referred: str | None = fk.get("referred_schema") or None
        return None if referred in (None, schema) else referred

    @property
    def _keys_from_catalogue(self) -> bool:
        """Whether foreign keys come from the catalogue (``_catalogue_keys``)
        rather than from SQLAlchemy: PostgreSQL and MariaDB."""
        return self.dialect == "postgresql" or bool(
            getattr(self.connection.dialect, "is_mariadb", False)
        )

    def _catalogue_keys(self, schema: str) -> Mapping[str, list[dict[str, Any]]]:
        """PostgreSQL and MariaDB: the foreign keys of ``schema``'s tables
        from the catalogue, by table, as SQLAlchemy reports keys (copies
        PostgreSQL keeps for partitions left out)."""
        if self._fks_by_table is None:
            module = fast.postgresql if self.dialect == "postgresql" else fast.mysql
            with self.attempt():
                facts = module.foreign_key_facts(self.connection, schema)
            by_table: dict[str, list[dict[str, Any]]] = {}
            for (table, name), fact in facts.items():
                if not fact.inherited:
                    by_table.setdefault(table, []).append(fact.reflected(name))
            self._fks_by_table = by_table
        return self._fks_by_table

    def _foreign_keys(
        self, schema: str, table: str, fks: Sequence[Mapping[str, Any]]
    ) -> tuple[ForeignKeySnapshot, ...]:
        # On PostgreSQL and MariaDB every path reads keys from the catalogue
        # (``foreign_key_facts``; on PostgreSQL copies for partitions left
        # out).
        keys: list[ForeignKeySnapshot] = []
        for fk in fks:
            keys.append(
                new_foreign_key(
                    name=fk.get("name") or None,
                    columns=tuple(map(str, fk["constrained_columns"])),
                    referred_schema=self._referred_schema(schema, fk),
                    referred_table=str(fk["referred_table"]),
                    referred_columns=tuple(map(str, fk["referred_columns"])),
                )
            )
        if len(keys) < 2:
            return tuple(keys)
        keys.sort(key=_key_order)
        return tuple(keys)


def _key_order(key: ForeignKeySnapshot) -> tuple[str, tuple[str, ...], str, str]:
    """The order of a table's foreign keys in a snapshot."""
    return (key.referred_table, key.columns, key.name or "", key.referred_schema or "")


#: SQLite folds the case of ASCII letters only in names.
_ASCII_FOLD: Final = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _sqlite_key_targets(
    tables: list[TableSnapshot], schema: str
) -> list[TableSnapshot]:
    """Foreign keys named as SQLite finds their targets, whatever the case.

    SQLite matches names without regard to the case of ASCII letters:
    ``REFERENCES users (ID)`` is a key to table ``Users``, column ``id``, and
    ``REFERENCES users`` one to that table's primary key. Both read paths
    keep the name as written (SQLAlchemy's rule), so the key would point at
    no table of the schema and its relationship would be lost.

    A key whose target table and columns are spelt exactly, nearly every
    key, costs two look-ups and is left as it is. A key without a column
    list whose target's primary key has another number of columns has no
    target columns (SQLite calls it a "foreign key mismatch" and refuses
    every row; both paths would pair its columns with the key's first ones).
    """
    by_name = {t.name: t for t in tables}
    by_folded: dict[str, TableSnapshot] | None = None
    fixed: list[TableSnapshot] = []
    for table in tables:
        keys: list[ForeignKeySnapshot] | None = None
        for position, key in enumerate(table.foreign_keys):
            if key.referred_columns and len(key.referred_columns) != len(key.columns):
                # Only a key without a column list can be so: SQLite
                # refuses a list of another length.
                key = dataclasses.replace(key, referred_columns=())
                if keys is None:
                    keys = list(table.foreign_keys)
                keys[position] = key
            if key.referred_schema not in (None, schema):
                continue
            target = by_name.get(key.referred_table)
            if target is not None and target.columns:
                # Nearly always one column, the first: the primary key.
                referred = key.referred_columns
                if referred == (target.columns[0].name,) or _has_columns(
                    target, referred
                ):
                    continue
            if by_folded is None:
                by_folded = {t.name.translate(_ASCII_FOLD): t for t in tables}
            resolved = _sqlite_key_target(key, by_folded)
            if resolved is not key:
                if keys is None:
                    keys = list(table.foreign_keys)
                keys[position] = resolved
        if keys is not None:
            keys.sort(key=_key_order)
            table = dataclasses.replace(table, foreign_keys=tuple(keys))
        fixed.append(table)
    return fixed


def _mysql_key_columns(tables: list[TableSnapshot], schema: str) -> list[TableSnapshot]:
    """Foreign keys' target columns spelt as their table spells them.

    MySQL and MariaDB compare column names without regard to case. A key
    made while ``foreign_key_checks`` is off (a dump's restore, a table
    created before the one it refers to) keeps its target columns as
    written, ``REFERENCES parent (ID)`` for column ``id``, and is enforced
    all the same; named so, it would point at no column of the schema and
    its relationship would be lost. Its source columns are spelt as their
    table's already. A key whose target columns are spelt exactly, nearly
    every key, is left as it is.
    """
    by_name = {t.name: t for t in tables}
    fixed: list[TableSnapshot] = []
    for table in tables:
        keys: list[ForeignKeySnapshot] | None = None
        for position, key in enumerate(table.foreign_keys):
            target = by_name.get(key.referred_table)
            if (
                key.referred_schema not in (None, schema)
                or target is None
                or _has_columns(target, key.referred_columns)
            ):
                continue
            spelt = {c.name.lower(): c.name for c in target.columns}
            referred = tuple(spelt.get(n.lower(), n) for n in key.referred_columns)
            if keys is None:
                keys = list(table.foreign_keys)
            keys[position] = dataclasses.replace(key, referred_columns=referred)
        if keys is not None:
            table = dataclasses.replace(table, foreign_keys=tuple(keys))
        fixed.append(table)
    return fixed


def _has_columns(table: TableSnapshot, names: tuple[str, ...]) -> bool:
    """Whether ``table`` has every column of ``names``, spelt exactly (a
    walk: keys name few columns, each looked for once)."""
    for name in names:
        for column in table.columns:
            if column.name == name:
                break
        else:
            return False
    return True


def _sqlite_key_target(
    key: ForeignKeySnapshot, by_folded: Mapping[str, TableSnapshot]
) -> ForeignKeySnapshot:
    """``key`` with its target as SQLite resolves it (``key`` itself when
    nothing changes)."""
    target = by_folded.get(key.referred_table.translate(_ASCII_FOLD))
    if target is None:
        return key
    columns = {c.name.translate(_ASCII_FOLD): c.name for c in target.columns}
    referred = tuple(
        columns.get(name.translate(_ASCII_FOLD), name) for name in key.referred_columns
    )
    if not referred and len(target.primary_key) == len(key.columns):
        referred = target.primary_key
    if (target.name, referred) == (key.referred_table, key.referred_columns):
        return key
    return dataclasses.replace(
        key, referred_table=target.name, referred_columns=referred
    )


#: Who ``CURRENT_USER()`` is as the privilege tables name a grantee:
#: ``'user'@'host'``.
_ME = (
    # The user name is what comes before the last "@": it may hold one.
    "(SELECT CONCAT('''', SUBSTRING(CURRENT_USER(), 1, CHAR_LENGTH(CURRENT_USER())"
    " - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1), '''@''', "
    "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AS who) AS me"
)

#: The grants of the current user (``level``, table, privilege): ``wide``
#: for the server's and the schema's, ``table`` and ``column`` for those on
#: a table of the schema or some of its columns.
_OWN_GRANTS = sa.text(
    f"""
    SELECT 'wide', NULL, PRIVILEGE_TYPE
    FROM information_schema.USER_PRIVILEGES, {_ME}
    WHERE GRANTEE = me.who
    UNION ALL
    SELECT 'schema', TABLE_SCHEMA, PRIVILEGE_TYPE
    FROM information_schema.SCHEMA_PRIVILEGES, {_ME}
    WHERE GRANTEE = me.who
    UNION ALL
    SELECT 'table', TABLE_NAME, PRIVILEGE_TYPE
    FROM information_schema.TABLE_PRIVILEGES, {_ME}
    WHERE GRANTEE = me.who AND TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    UNION ALL
    SELECT 'column', TABLE_NAME, PRIVILEGE_TYPE
    FROM information_schema.COLUMN_PRIVILEGES, {_ME}
    WHERE GRANTEE = me.who AND TABLE_SCHEMA = :schema COLLATE utf8mb4_bin
    """
)


def _unescaped(pattern: str) -> str:
    """A schema grant's name as MySQL keeps it (``SCHEMA_PRIVILEGES``),
    its escaped ``\\_`` and ``\\%`` (the exact name, not a wildcard)
    read as the characters they stand for."""
    return pattern.replace("\\_", "_").replace("\\%", "%")


def _backticked(name: str) -> str:
    """``name`` as a MySQL/MariaDB identifier (back-quotes hold under any
    ``sql_mode``)."""
    return "`" + name.replace("`", "``") + "`"


#: MySQL/MariaDB errors that refuse a user a ``SELECT``: access denied
#: (1045, for a view whose definer is gone), to the table (1142), to a
#: column (1143); a view whose definer or invoker lacks rights (1356) or is
#: gone (1449).
_REFUSALS = frozenset({1045, 1142, 1143, 1356, 1449})

#: The most tables MySQL and MariaDB join in one query.
_JOINED = 61

#: The failure of a table whose columns the user sees in part only.
_COLUMNS_HIDDEN = (
    "This user sees only some of the table's columns, or none (its grants on "
    "the table are on some columns, or of kinds that show none); grant it "
    "SELECT on the table, or on the schema, to read it"
)


def _each(source: Callable[[str], Any], tables: Sequence[str]) -> Bulk:
    """A bulk answer built table by table from a catalogue ``source``."""
    return {table: source(table) for table in tables}


def _own_key(key: Any) -> Any:
    """A primary key as SQLAlchemy reflected it, its list of columns a copy:
    SQLAlchemy's SQLite dialect hands the same list, cached, to a foreign
    key naming no column of that table first (``REFERENCES p ("", b)``),
    and appends the key's other columns to it."""
    if isinstance(key, dict) and isinstance(key.get("constrained_columns"), list):
        return {**key, "constrained_columns": list(key["constrained_columns"])}
    return key


def _copy_primary_keys(dialect: sa.engine.Dialect) -> None:
    """Make ``dialect`` (SQLite's) hand out a copy of each primary key it
    reflects, cached or not: its ``get_foreign_keys`` takes the cached key
    of a key's target as that key's columns when the key names none, or
    names ``""`` first, then appends to it -- changing the target's primary
    key, and every other key to it, within one table's keys or across
    tables. Set on the dialect once (it only ever returns equal values)."""
    if "get_pk_constraint" in vars(dialect):
        return
    cached = dialect.get_pk_constraint

    def copying(*args: Any, **kwargs: Any) -> Any:
        return _own_key(cached(*args, **kwargs))

    dialect.get_pk_constraint = copying  # type: ignore[method-assign]


def _supported(call: Callable[[], Any], default: Any = UNSUPPORTED) -> Any:
    """``call()``, or ``default`` when the dialect does not implement it."""
    try:
        return call()
    except NotImplementedError:
        return default


def read_schema(
    connection: Connection,
    schema: str | None = None,
    *,
    include_views: bool = True,
    method: str = AUTO,
) -> SchemaSnapshot:
    """Read ``schema`` of ``connection``'s database into a ``SchemaSnapshot``.

    ``schema`` None or empty reads the dialect's default schema (PostgreSQL's
    current schema, normally ``public``; MySQL/MariaDB's connected database;
    SQLite's ``main``); the snapshot's ``schema`` is the resolved name. Views
    are included (``is_view=True``) unless ``include_views`` is False.

    Raises ``SchemaNotFoundError`` for a schema the database does not have
    and ``IntrospectionError`` when the schema cannot be listed at all or the
    connection is lost; a table that cannot be read is reported in
    ``snapshot.failures`` instead. See the module docstring for details.

    ``method`` picks how: ``"auto"`` (the fast path where there is one, else
    SQLAlchemy's Inspector; a database error on the fast path falls back to
    the Inspector with a warning), ``"fast"`` (the fast path, errors raised
    as ``IntrospectionError``; ``ValueError`` on a database without one) or
    ``"inspector"``. Both give the same snapshot. Any other value is a
    ``ValueError``.
    """
    if method not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, METHODS))}, not {method!r}"
        )
    if method == FAST and not fast.supports(connection):
        raise ValueError(
            f"method='fast' is not available for this {connection.dialect.name} "
            "database: fast paths exist for PostgreSQL, MariaDB 10.6+ and SQLite; "
            "use method='auto' or 'inspector'"
        )
    with warnings.catch_warnings(), collector_paused():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)
        reader = _Reader(connection, include_views, method)
        try:
            return reader.read(schema)
        except IntrospectionError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise IntrospectionError(
                f"Cannot read the schema: {error_text(exc)}"
            ) from exc
