"""Fitting a snapshot to the host's catalogue: text cut to its fields'
lengths, names too long to store and NUL characters (which PostgreSQL
refuses) reported or replaced."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from django.db import models

from .catalogue import Catalogue
from .introspection.snapshot import (
    DATA_FORMATS,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
)

__all__ = [
    "NUL_REPLACEMENT",
    "char_limits",
    "fit",
    "fit_to_catalogue",
    "value_cutter",
    "without_nul",
]


def char_limits(model: type[models.Model]) -> dict[str, int]:
    """The ``max_length`` of ``model``'s fields that have one, by name.

    What the database reports (a raw type, a default expression, a
    comment, the targets of a key) has no length of its own; a host that
    keeps it in a field with a length (a ``CharField``, a field of its own
    stored as ``varchar``, a ``TextField`` whose forms check a length) gets
    it cut to fit, where PostgreSQL and MySQL would refuse the whole run.
    """
    return {
        field.name: field.max_length
        for field in model._meta.concrete_fields
        if isinstance(field.max_length, int) and field.max_length > 0
    }


def fit(limits: dict[str, int], name: str, value: str) -> str:
    """``value`` cut to the length of field ``name`` (``char_limits``)."""
    limit = limits.get(name)
    return value if limit is None else value[:limit]


#: The longest value the sync ever writes to these fields (``data_format``
#: is one of ``DATA_FORMATS``, ``pk_field`` "PK" or ""): a field at
#: least this long needs no cutting.
_LONGEST: dict[str, int] = {
    "data_format": max(map(len, DATA_FORMATS)),
    "pk_field": len("PK"),
}


def value_cutter(
    fields: list[str], limits: dict[str, int]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """A function cutting the text values of ``fields`` (the first of a
    ``ColumnRow``'s written values, in order) to their fields' lengths; None when
    none can be too long, the usual case."""
    cuts = [
        (position, limits[name])
        for position, name in enumerate(fields)
        if name in limits and limits[name] < _LONGEST.get(name, sys.maxsize)
    ]
    if not cuts:
        return None

    def cut(values: tuple[Any, ...]) -> tuple[Any, ...]:
        fitted = list(values)
        for position, limit in cuts:
            value = fitted[position]
            if isinstance(value, str):
                fitted[position] = value[:limit]
        return tuple(fitted)

    return cut


def fit_to_catalogue(snapshot: SchemaSnapshot, catalogue: Catalogue) -> SchemaSnapshot:
    """Move tables whose names the catalogue cannot hold into the failures.

    A table name longer than the table model's ``name`` field, or a column
    name longer than ``original_column_name`` (255 in ThothAI), cannot be
    stored without truncation, which would merge distinct objects. Such a
    table is reported instead, which also marks the snapshot incomplete so
    nothing is deleted on its basis.
    """
    table_limit = char_limits(catalogue.table).get("name")
    column_limit = char_limits(catalogue.column).get("original_column_name")
    longest_table = longest_column = 0
    for table in snapshot.tables:
        longest_table = max(longest_table, len(table.name))
        for column in table.columns:
            if len(column.name) > longest_column:
                longest_column = len(column.name)
    if (table_limit is None or longest_table <= table_limit) and (
        column_limit is None or longest_column <= column_limit
    ):
        return snapshot  # every name fits, the usual case
    kept: list[TableSnapshot] = []
    failures = list(snapshot.failures)
    for table in snapshot.tables:
        too_long = (table_limit is not None and len(table.name) > table_limit) or (
            column_limit is not None
            and any(len(c.name) > column_limit for c in table.columns)
        )
        if too_long:
            failures.append(
                TableFailure(
                    table.name[:200],
                    "A table or column name is longer than the catalogue can store "
                    f"({table_limit}/{column_limit} characters)",
                )
            )
        else:
            kept.append(table)
    return dataclasses.replace(snapshot, tables=tuple(kept), failures=tuple(failures))


#: What stands for a NUL character in text a PostgreSQL catalogue keeps.
NUL_REPLACEMENT = "\ufffd"


def _has_nul(*texts: str | None) -> bool:
    return any(text is not None and "\x00" in text for text in texts)


def _no_nul(text: str | None) -> str | None:
    return None if text is None else text.replace("\x00", NUL_REPLACEMENT)


def without_nul(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """``snapshot`` as a PostgreSQL catalogue can keep it: a NUL character
    (which MariaDB and SQLite allow in comments and defaults, and
    PostgreSQL refuses in any text) becomes U+FFFD; a table whose name or
    a column's name holds one is reported among the failures, like a name
    too long (``fit_to_catalogue``)."""
    tables: list[TableSnapshot] = []
    failures = [
        TableFailure(str(_no_nul(f.name)), str(_no_nul(f.error)))
        if _has_nul(f.name, f.error)
        else f
        for f in snapshot.failures
    ]
    for table in snapshot.tables:
        if _has_nul(table.name, *(c.name for c in table.columns)):
            failures.append(
                TableFailure(
                    str(_no_nul(table.name))[:200],
                    "A table or column name holds a NUL character, which the "
                    "catalogue cannot store",
                )
            )
            continue
        columns = tuple(
            dataclasses.replace(
                column,
                raw_type=str(_no_nul(column.raw_type)),
                default=_no_nul(column.default),
                comment=_no_nul(column.comment),
            )
            if _has_nul(column.raw_type, column.default, column.comment)
            else column
            for column in table.columns
        )
        if _has_nul(table.comment) or columns != table.columns:
            table = dataclasses.replace(
                table, columns=columns, comment=_no_nul(table.comment)
            )
        tables.append(table)
    if (
        len(failures) == len(snapshot.failures)
        and all(f is g for f, g in zip(failures, snapshot.failures, strict=True))
        and all(
            kept is table for kept, table in zip(tables, snapshot.tables, strict=True)
        )
    ):
        return snapshot  # no NUL anywhere, the usual case
    return dataclasses.replace(snapshot, tables=tuple(tables), failures=tuple(failures))
