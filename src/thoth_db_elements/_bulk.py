"""Plain multi-row ``INSERT`` and one-piece ``SELECT`` for large batches of
catalogue rows.

``QuerySet.bulk_create`` builds a model instance per row and compiles every
value through the SQL compiler; for the ~20,000 columns of a 1,000-table
schema that is most of a cold harvest's time. ``insert_values`` writes
plain dicts with one ``INSERT ... VALUES (...), (...)`` per batch instead,
preparing each value with its field's ``get_db_prep_save`` as Django does.

It applies only where that is exactly what Django would store: SQLite,
PostgreSQL and MySQL/MariaDB, and models whose fields have no ``pre_save``
logic of their own (``auto_now``, file fields, custom fields that override
it) and whose primary key the database or a default provides. Elsewhere it
returns False and the caller uses ``bulk_create``. No ``pre_init`` or
``post_init`` signal is sent, and ids are not returned.

``fetch_values`` reads a ``values_list()`` query straight from the cursor;
``in_lists`` cuts keys into ``IN (...)`` lists a statement can hold;
``sized_batches`` cuts rows into batches a statement can hold where the
database caps a statement's length (``text_budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connections, models
from django.db.models.expressions import BaseExpression
from django.db.models.fields import DateField, DateTimeField, Field, TimeField
from django.db.models.sql.constants import MULTI

__all__ = [
    "fetch_values",
    "in_lists",
    "insert_values",
    "sized_batches",
    "supports_plain_insert",
    "text_budget",
]

_VENDORS = frozenset({"sqlite", "postgresql", "mysql"})

_T = TypeVar("_T")

#: Bytes of statement counted for a character of text: at most four in
#: utf8mb4 (an escaped ASCII character takes two), doubled to leave room for
#: the rest of the statement (keys, numbers, the SQL itself).
_BYTES_PER_CHARACTER = 8


def text_budget(using: str) -> int | None:
    """Characters of text one statement may carry on database ``using``:
    MySQL and MariaDB refuse a statement longer than ``max_allowed_packet``
    (16 MiB by default on MariaDB, 4 MiB on old MySQL), which a batch of
    rows with long comments can pass. None where statements have no such
    cap."""
    connection = connections[using]
    if connection.vendor != "mysql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        row = cursor.fetchone()
    packet = int(row[0]) if row and row[0] else 0
    if packet <= 0:
        return None  # not told: no cap of ours
    return max(1, packet // _BYTES_PER_CHARACTER)


def sized_batches(
    rows: Sequence[_T],
    per_batch: int,
    budget: int | None,
    values: Callable[[_T], Iterable[Any]],
) -> Iterator[Sequence[_T]]:
    """``rows`` in order, ``per_batch`` at most a batch, and, with a
    ``budget``, no more text (the ``str`` among each row's ``values``) a
    batch than that, unless one row alone holds more (it goes alone)."""
    per_batch = max(1, per_batch)
    if budget is None:
        for start in range(0, len(rows), per_batch):
            yield rows[start : start + per_batch]
        return
    batch: list[_T] = []
    size = 0
    for row in rows:
        length = sum(len(v) for v in values(row) if isinstance(v, str))
        if batch and (len(batch) >= per_batch or size + length > budget):
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += length
    if batch:
        yield batch


def in_lists(keys: Iterable[Any], using: str) -> Iterator[list[Any]]:
    """``keys``, in order, in lists one statement's ``IN (...)`` can hold:
    all of them where the database has no limit, else fewer than its limit
    of parameters a statement, a few left for the query's other values
    (SQLite builds before 3.32 take 999)."""
    keys = list(keys)
    limit = connections[using].features.max_query_params
    size = max(1, limit - 16) if limit else max(1, len(keys))
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _plain_field(field: Field[Any, Any]) -> bool:
    """Whether saving ``field`` is its value or default, nothing more."""
    if isinstance(field, DateField | DateTimeField | TimeField):
        return not (field.auto_now or field.auto_now_add)
    return type(field).pre_save is Field.pre_save


def _columns(model: type[models.Model]) -> list[Field[Any, Any]]:
    """The fields an INSERT names: all concrete ones but a database-made key
    and generated fields (``GeneratedField``), which the database computes."""
    pk = model._meta.pk
    return [
        f
        for f in model._meta.concrete_fields
        if not (f is pk and getattr(f, "db_returning", False))
        and not getattr(f, "generated", False)
    ]


def supports_plain_insert(model: type[models.Model], using: str) -> bool:
    """Whether ``insert_values`` can write ``model`` rows on ``using``."""
    if connections[using].vendor not in _VENDORS:
        return False
    pk = model._meta.pk
    fields = _columns(model)
    if pk in fields and not pk.has_default():
        return False
    # A db_default is for the database to fill in, and Django to read back.
    return all(_plain_field(f) and not f.has_db_default() for f in fields)


def insert_values(
    model: type[models.Model],
    using: str,
    rows: Sequence[Mapping[str, Any]],
    batch_size: int,
    budget: int | None = None,
) -> bool:
    """INSERT ``rows`` (field name or attname -> value) into ``model``'s table.

    Missing fields take their defaults. ``budget``: the most text a
    statement may carry (``text_budget``). Returns False, writing nothing,
    when ``supports_plain_insert`` is False.
    """
    if not rows:
        return True
    if not supports_plain_insert(model, using):
        return False
    connection = connections[using]
    fields = _columns(model)
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_batch = max(
        1, min(batch_size, connection.ops.bulk_batch_size(fields, list(rows)))
    )
    keys = [(f.name, f.attname) for f in fields]
    with connection.cursor() as cursor:
        for batch in sized_batches(rows, per_batch, budget, _mapping_values):
            params: list[Any] = []
            for row in batch:
                for field, (name, attname) in zip(fields, keys, strict=True):
                    if name in row:
                        value = row[name]
                    elif attname in row:
                        value = row[attname]
                    else:
                        value = field.get_default()
                    if isinstance(value, models.Model):
                        value = value.pk
                    params.append(field.get_db_prep_save(value, connection))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
                f"VALUES {', '.join([one] * len(batch))}",
                params,
            )
    return True


def _mapping_values(row: Mapping[str, Any]) -> Iterable[Any]:
    return row.values()


def _plain_boolean(expression: BaseExpression) -> bool:
    """A boolean with no conversion of its own: the database's 0/1 (SQLite,
    MySQL) compares equal to the False/True Django would make of it."""
    output = expression.output_field
    return output.get_internal_type() == "BooleanField" and not hasattr(
        output, "from_db_value"
    )


def fetch_values(query: models.QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list()`` query (not ``flat`` or ``named``), as
    plain tuples.

    Django's iterator hands tens of thousands of rows one by one through a
    chain of generators and a converter per boolean value; this fetches
    them in one piece. Booleans stay as the database returns them (see
    ``_plain_boolean``): for comparing, not for display. Any other
    converter (a custom field's ``from_db_value``, a date on SQLite) is
    applied as Django applies it.
    """
    compiler = query.query.get_compiler(using=query.db)
    chunks = compiler.execute_sql(MULTI, chunk_size=10_000)
    rows: list[tuple[Any, ...]] = [row for chunk in chunks for row in chunk]
    if not rows:
        return rows
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = {
        position: pair
        for position, pair in compiler.get_converters(fields).items()
        if not _plain_boolean(pair[1])
    }
    if converters:
        return [tuple(row) for row in compiler.apply_converters(rows, converters)]
    return rows
