"""Read a schema into a ``SchemaSnapshot`` with SQLAlchemy's Inspector.

The whole schema is read in bulk (``Inspector.get_multi_*``) plus one
catalogue query for the raw types. If a bulk call fails, tables are read one
by one and a table that still fails is reported in ``snapshot.failures``
while the rest is harvested. PostgreSQL partitions are left out (their
partitioned parent is the table people query); views are included and
flagged unless ``include_views`` is False.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Inspector
from sqlalchemy.engine.reflection import ObjectKind

from thoth_db_elements.exceptions import IntrospectionError, SchemaNotFoundError

from .raw_types import RawType, partitions, read_raw_types
from .snapshot import (
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
    UniqueConstraintSnapshot,
)
from .types import normalise_type

__all__ = ["read_schema"]

logger = logging.getLogger(__name__)

Key = tuple[str | None, str]


def _error_text(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _rendered_type(column: dict[str, Any], connection: Connection) -> str:
    column_type = column.get("type")
    if column_type is None or isinstance(column_type, sa.types.NullType):
        return ""
    try:
        return str(column_type.compile(dialect=connection.dialect))
    except Exception:
        return type(column_type).__name__


class _Reader:
    def __init__(
        self, connection: Connection, schema: str | None, include_views: bool
    ) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.inspector: Inspector = sa.inspect(connection)
        self.requested = schema or None
        self.include_views = include_views

    def resolve_schema(self) -> str:
        default = self.inspector.default_schema_name or ""
        if self.requested is None:
            return default
        if self.requested not in self.inspector.get_schema_names():
            raise SchemaNotFoundError(
                f"Schema {self.requested!r} does not exist in this database."
            )
        return self.requested

    def read(self) -> SchemaSnapshot:
        schema = self.resolve_schema()
        arg = self.requested  # None reads the default schema
        skipped = partitions(self.connection, schema)
        tables = [
            n for n in self.inspector.get_table_names(schema=arg) if n not in skipped
        ]
        views = (
            list(self.inspector.get_view_names(schema=arg))
            if self.include_views
            else []
        )
        raw = read_raw_types(self.connection, schema)
        try:
            bulk = self._bulk(arg, tables, views)
        except sa.exc.SQLAlchemyError as exc:
            logger.warning(
                "Bulk reflection failed (%s); reading table by table", _error_text(exc)
            )
            bulk = None
        snapshots: list[TableSnapshot] = []
        failures: list[TableFailure] = []
        for name, is_view in [(t, False) for t in tables] + [(v, True) for v in views]:
            try:
                parts = (
                    bulk[name] if bulk is not None else self._single(arg, name, is_view)
                )
                snapshots.append(self._table(schema, name, is_view, parts, raw))
            except (sa.exc.SQLAlchemyError, KeyError) as exc:
                failures.append(TableFailure(name, _error_text(exc)))
        snapshots.sort(key=lambda t: t.name)
        failures.sort(key=lambda f: f.name)
        return SchemaSnapshot(self.dialect, schema, tuple(snapshots), tuple(failures))

    # -- reflection ----------------------------------------------------------
    def _bulk(
        self, arg: str | None, tables: list[str], views: list[str]
    ) -> dict[str, dict[str, Any]]:
        insp = self.inspector
        kind = ObjectKind.TABLE | ObjectKind.VIEW if views else ObjectKind.TABLE
        wanted = tables + views
        columns = insp.get_multi_columns(schema=arg, kind=kind, filter_names=wanted)
        pks = insp.get_multi_pk_constraint(schema=arg, filter_names=tables)
        fks = insp.get_multi_foreign_keys(schema=arg, filter_names=tables)
        uniques = insp.get_multi_unique_constraints(schema=arg, filter_names=tables)
        comments = self._multi_comments(arg, kind, wanted)
        result: dict[str, dict[str, Any]] = {}
        for name in wanted:
            key: Key = (arg, name)
            result[name] = {
                "columns": columns.get(key, []),
                "pk": pks.get(key) or {},
                "fks": fks.get(key, []),
                "uniques": uniques.get(key, []),
                "comment": (comments.get(key) or {}).get("text"),
            }
        return result

    def _multi_comments(
        self, arg: str | None, kind: ObjectKind, names: list[str]
    ) -> dict[Key, Any]:
        if not self.connection.dialect.supports_comments:
            return {}
        return dict(
            self.inspector.get_multi_table_comment(
                schema=arg, kind=kind, filter_names=names
            )
        )

    def _single(self, arg: str | None, name: str, is_view: bool) -> dict[str, Any]:
        insp = self.inspector
        comment = None
        if self.connection.dialect.supports_comments:
            comment = insp.get_table_comment(name, schema=arg).get("text")
        return {
            "columns": insp.get_columns(name, schema=arg),
            "pk": {} if is_view else insp.get_pk_constraint(name, schema=arg),
            "fks": [] if is_view else insp.get_foreign_keys(name, schema=arg),
            "uniques": [] if is_view else insp.get_unique_constraints(name, schema=arg),
            "comment": comment,
        }

    # -- building the snapshot -----------------------------------------------
    def _table(
        self,
        schema: str,
        name: str,
        is_view: bool,
        parts: dict[str, Any],
        raw: dict[tuple[str, str], RawType],
    ) -> TableSnapshot:
        pk_columns = list((parts["pk"] or {}).get("constrained_columns") or [])
        columns = tuple(
            self._column(name, position, column, pk_columns, raw)
            for position, column in enumerate(parts["columns"], start=1)
        )
        return TableSnapshot(
            name=name,
            schema=schema,
            is_view=is_view,
            comment=_text_or_none(parts["comment"]),
            columns=columns,
            foreign_keys=self._foreign_keys(schema, parts["fks"]),
            unique_constraints=tuple(
                sorted(
                    (
                        UniqueConstraintSnapshot(
                            u.get("name"), tuple(u["column_names"])
                        )
                        for u in parts["uniques"]
                    ),
                    key=lambda u: (u.columns, u.name or ""),
                )
            ),
        )

    def _column(
        self,
        table: str,
        position: int,
        column: dict[str, Any],
        pk_columns: list[str],
        raw: dict[tuple[str, str], RawType],
    ) -> ColumnSnapshot:
        name = str(column["name"])
        raw_type = raw.get((table, name)) or RawType(
            _rendered_type(column, self.connection)
        )
        default = column.get("default")
        return ColumnSnapshot(
            name=name,
            raw_type=raw_type.name,
            data_format=normalise_type(
                raw_type.name,
                self.dialect,
                base_type=raw_type.base_type,
                is_enum=raw_type.is_enum,
            ),
            # Primary-key columns cannot hold NULL whatever the catalogue says
            # (SQLite reports its INTEGER PRIMARY KEY as nullable).
            nullable=bool(column.get("nullable", True)) and name not in pk_columns,
            default=None if default is None else str(default),
            comment=_text_or_none(column.get("comment")),
            primary_key_position=pk_columns.index(name) + 1
            if name in pk_columns
            else None,
            ordinal_position=position,
        )

    def _foreign_keys(
        self, schema: str, fks: Iterable[dict[str, Any]]
    ) -> tuple[ForeignKeySnapshot, ...]:
        keys = []
        for fk in fks:
            referred_schema = fk.get("referred_schema") or None
            if referred_schema is None and self.dialect == "postgresql":
                # PostgreSQL leaves out the schema of a target on the search
                # path, which is the default schema, not necessarily ours.
                # (``postgresql_ignore_search_path`` is worse: it names the
                # constraint's own schema for such targets.)
                referred_schema = self.inspector.default_schema_name
            if referred_schema in (None, schema):
                referred_schema = None
            keys.append(
                ForeignKeySnapshot(
                    name=fk.get("name") or None,
                    columns=tuple(fk["constrained_columns"]),
                    referred_schema=referred_schema,
                    referred_table=str(fk["referred_table"]),
                    referred_columns=tuple(fk["referred_columns"]),
                )
            )
        keys.sort(
            key=lambda k: (
                k.referred_schema or "",
                k.referred_table,
                k.columns,
                k.name or "",
            )
        )
        return tuple(keys)


def read_schema(
    connection: Connection, schema: str | None = None, *, include_views: bool = True
) -> SchemaSnapshot:
    """Read ``schema`` (the dialect's default when None or empty) into a snapshot.

    Raises ``SchemaNotFoundError`` for an unknown schema and
    ``IntrospectionError`` when the catalogue cannot be read at all.
    """
    with warnings.catch_warnings():
        # Unknown types (PostgreSQL point, domains...) make SQLAlchemy warn;
        # the raw type query keeps their real names.
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)
        try:
            return _Reader(connection, schema, include_views).read()
        except SchemaNotFoundError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise IntrospectionError(
                f"Cannot read the schema: {_error_text(exc)}"
            ) from None
