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

``update_values`` writes changed rows the same way, one ``UPDATE`` joined
to a list of values per batch: ``QuerySet.bulk_update`` builds a ``CASE
WHEN`` expression per row and field, whose compiling took a re-run with
18,000 changed columns 4.7 s, fifteen times a cold harvest of 20,000.
Like ``bulk_update``, it sends no signal and applies no ``pre_save``.

``delete_keys`` deletes rows by key, and first the rows that refer to them,
without Django's collector, whose cascade ``DELETE ... WHERE source_column_id
IN (...) OR target_column_id IN (...)`` MySQL and MariaDB answer with a scan
of the whole table, locking other databases' rows on its way (two runs of
different databases then deadlocked); it applies where nothing but that
cascade stands between a row and its deletion (``deletes_by_key``).

``fetch_values`` reads a ``values_list()`` query straight from the cursor;
``in_lists`` cuts keys into ``IN (...)`` lists a statement can hold and
``rows_a_statement`` tells how many rows one takes (both within
``parameter_limit``, which knows PostgreSQL's server-side binding);
``sized_batches`` cuts rows into batches a statement can hold where the
database caps a statement's length (``text_budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import BaseExpression
from django.db.models.fields import (
    CharField,
    DateField,
    DateTimeField,
    Field,
    TextField,
    TimeField,
)
from django.db.models.signals import post_delete, pre_delete
from django.db.models.sql.constants import MULTI

__all__ = [
    "delete_keys",
    "deletes_by_key",
    "fetch_values",
    "in_lists",
    "insert_values",
    "inserted_fields",
    "parameter_limit",
    "rows_a_statement",
    "sized_batches",
    "supports_plain_insert",
    "supports_plain_update",
    "text_budget",
    "update_values",
]

_VENDORS = frozenset({"sqlite", "postgresql", "mysql"})

#: Keys a MySQL/MariaDB ``DELETE`` joins at most (``delete_keys``): each is
#: a ``SELECT`` of the statement's, which must stay within
#: ``max_allowed_packet`` (4 MiB on older MySQL) and quick to parse.
_MYSQL_KEYS_A_DELETE = 1000

#: The SQLite release that took ``UPDATE ... FROM``.
_SQLITE_UPDATE_FROM = (3, 33, 0)

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


#: PostgreSQL's protocol counts a statement's parameters in 16 bits.
_POSTGRES_BOUND_PARAMETERS = 2**16 - 1


def parameter_limit(connection: BaseDatabaseWrapper) -> int | None:
    """The most parameters a statement on ``connection`` takes; None: no
    limit.

    Django's own figure, except that Django before 6.0 tells none for
    PostgreSQL with psycopg's server-side binding (the ``OPTIONS`` of
    ``"server_side_binding": True``), where the server takes 65,535.
    """
    limit: int | None = connection.features.max_query_params
    if limit is None and getattr(
        connection.features, "uses_server_side_binding", False
    ):
        return _POSTGRES_BOUND_PARAMETERS
    return limit


def rows_a_statement(
    connection: BaseDatabaseWrapper,
    fields: Sequence[Any],
    rows: Sequence[Any],
    batch_size: int,
) -> int:
    """How many of ``rows``, each binding one parameter a field of
    ``fields``, one statement takes: ``batch_size`` at most, fewer where
    Django's ``bulk_batch_size`` or ``parameter_limit`` says so."""
    size = min(batch_size, connection.ops.bulk_batch_size(fields, rows))
    limit = parameter_limit(connection)
    if limit is not None and fields:
        size = min(size, limit // len(fields))
    return max(1, size)


def in_lists(keys: Iterable[Any], using: str) -> Iterator[list[Any]]:
    """``keys``, in order, in lists one statement's ``IN (...)`` can hold:
    all of them where the database has no limit, else fewer than its limit
    of parameters a statement (``parameter_limit``), a few left for the
    query's other values (SQLite builds before 3.32 take 999)."""
    keys = list(keys)
    limit = parameter_limit(connections[using])
    size = max(1, limit - 16) if limit else max(1, len(keys))
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _has_placeholder(field: Field[Any, Any]) -> bool:
    """Whether ``field`` wraps its value's ``%s`` in SQL of its own (a
    binary's or a geometry's: ``get_placeholder``, Django 6.1's
    ``get_placeholder_sql``)."""
    return hasattr(field, "get_placeholder") or hasattr(field, "get_placeholder_sql")


def _plain_field(field: Field[Any, Any]) -> bool:
    """Whether saving ``field`` is its value or default, nothing more."""
    if _has_placeholder(field):
        return False
    if isinstance(field, DateField | DateTimeField | TimeField):
        return not (field.auto_now or field.auto_now_add)
    return type(field).pre_save is Field.pre_save


def inserted_fields(model: type[models.Model]) -> list[Field[Any, Any]]:
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
    fields = inserted_fields(model)
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
    fields = inserted_fields(model)
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_batch = rows_a_statement(connection, fields, rows, batch_size)
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


def _update_fields(model: type[models.Model], names: Sequence[str]) -> list[Any]:
    """The fields ``names`` (names or attnames) of ``model``."""
    return [model._meta.get_field(name) for name in names]


def supports_plain_update(
    model: type[models.Model], names: Sequence[str], using: str
) -> bool:
    """Whether ``update_values`` can write fields ``names`` of ``model`` on
    ``using``: SQLite (3.33 or later), PostgreSQL or MySQL/MariaDB, concrete
    fields other than the key, none with a placeholder of its own (a
    geometry's) or made by the database."""
    connection: Any = connections[using]
    if connection.vendor not in _VENDORS:
        return False
    if connection.vendor == "sqlite" and (
        connection.Database.sqlite_version_info < _SQLITE_UPDATE_FROM
    ):
        return False
    pk = model._meta.pk
    fields = _update_fields(model, names)
    return (
        bool(fields)
        and not _has_placeholder(pk)
        and all(
            getattr(f, "concrete", False)
            and f is not pk
            and not getattr(f, "generated", False)
            and not _has_placeholder(f)
            and f.cast_db_type(connection) is not None
            for f in fields
        )
    )


def _cast_type(field: Field[Any, Any], connection: Any) -> str:
    """The type a PostgreSQL value list gives ``field``'s values: text for
    text (assigning it to a ``varchar(n)`` column still refuses a longer
    value, where a cast to ``varchar(n)`` would cut it), else the field's
    own."""
    if isinstance(field, CharField | TextField):
        return "text"
    return str(field.cast_db_type(connection))


def _mysql_rows(names: Sequence[str], rows: int) -> str:
    """MySQL/MariaDB: ``rows`` rows of ``len(names)`` values as a derived
    table ``v`` with columns ``names``. (A derived table of SELECTs: MySQL
    5.7 has no VALUES list, and MariaDB's names its columns after the first
    row's values.) Statements join it first (``STRAIGHT_JOIN``), reaching
    the table's rows by key: joined the other way round, a small table is
    scanned and every row of it locked on the way, other databases' rows
    too, which two runs of different databases deadlocked on."""
    first = "SELECT " + ", ".join(f"%s AS {name}" for name in names)
    others = " UNION ALL SELECT " + ", ".join(["%s"] * len(names))
    return f"({first}{others * (rows - 1)}) AS v"


def _update_sql(
    connection: Any,
    model: type[models.Model],
    fields: list[Any],
    rows: int,
    only_empty: Any,
) -> str:
    """``UPDATE`` of ``fields`` for ``rows`` rows of (key, values...), each
    row matched by its key; with ``only_empty``, only where that field is
    "" or NULL."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key = f"{table}.{quote(model._meta.pk.column)}"
    width = len(fields) + 1
    names = [quote(f"v{i}") for i in range(width)]
    one = "(" + ", ".join(["%s"] * width) + ")"
    vendor = connection.vendor
    if vendor == "mysql":
        source = _mysql_rows(names, rows)
    elif vendor == "postgresql":
        # The first row's casts type each column of the list.
        pk = model._meta.pk
        first = ", ".join(
            f"CAST(%s AS {_cast_type(f, connection)})" for f in [pk, *fields]
        )
        source = (
            f"(VALUES ({first}){f', {one}' * (rows - 1)}) AS v ({', '.join(names)})"
        )
    else:  # SQLite names a value list's columns column1, column2, ...
        names = [f"column{i + 1}" for i in range(width)]
        source = f"(VALUES {', '.join([one] * rows)}) AS v"
    where = f"{key} = v.{names[0]}"
    if only_empty is not None:
        column = f"{table}.{quote(only_empty.column)}"
        where += f" AND ({column} = '' OR {column} IS NULL)"
    if vendor == "mysql":
        sets = ", ".join(
            f"{table}.{quote(f.column)} = v.{name}"
            for f, name in zip(fields, names[1:], strict=True)
        )
        return f"UPDATE {source} STRAIGHT_JOIN {table} ON {where} SET {sets}"
    sets = ", ".join(
        f"{quote(f.column)} = v.{name}"
        for f, name in zip(fields, names[1:], strict=True)
    )
    return f"UPDATE {table} SET {sets} FROM {source} WHERE {where}"


def update_values(
    model: type[models.Model],
    using: str,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    batch_size: int,
    budget: int | None = None,
    *,
    only_empty: str | None = None,
) -> int | None:
    """UPDATE fields ``names`` of ``model``'s rows: each of ``rows`` is the
    row's key followed by its values, in the order of ``names``.

    Each value is prepared by its field's ``get_db_prep_save``, as
    ``bulk_update`` does (no ``pre_save``: ``auto_now`` is not applied).
    ``only_empty``: a field name; a row is written only where that field
    is "" or NULL. ``budget``: the most text a statement may carry
    (``text_budget``). Returns the number of rows written, or None, writing
    nothing, when ``supports_plain_update`` is False.
    """
    if not supports_plain_update(model, names, using):
        return None
    if not rows:
        return 0
    connection = connections[using]
    fields = _update_fields(model, names)
    prepared = [model._meta.pk, *fields]
    empty = None if only_empty is None else model._meta.get_field(only_empty)
    per_batch = rows_a_statement(connection, prepared, rows, batch_size)
    written = 0
    with connection.cursor() as cursor:
        for batch in sized_batches(rows, per_batch, budget, _row_values):
            params = [
                field.get_db_prep_save(value, connection)
                for row in batch
                for field, value in zip(prepared, row, strict=True)
            ]
            cursor.execute(
                _update_sql(connection, model, fields, len(batch), empty), params
            )
            written += max(0, cursor.rowcount)
    return written


def _row_values(row: Sequence[Any]) -> Iterable[Any]:
    return row


def deletes_by_key(family: Collection[type[models.Model]]) -> bool:
    """Whether ``delete_keys`` deletes rows of ``family`` exactly as
    ``QuerySet.delete`` would: no model of it has a delete signal's
    receiver, a parent model, many-to-many or generic relations, and every
    row referring to one of its rows is of ``family`` and goes with it
    (``CASCADE``)."""
    for model in family:
        meta = model._meta
        if pre_delete.has_listeners(model) or post_delete.has_listeners(model):
            return False
        if meta.parents or meta.many_to_many or meta.private_fields:
            return False
        for related in meta.related_objects:
            if (
                related.related_model not in family
                or related.on_delete is not models.CASCADE
            ):
                return False
    return True


def delete_keys(model: type[models.Model], using: str, keys: Iterable[Any]) -> None:
    """Delete the rows of ``model`` whose keys are ``keys``, and first, the
    same way, the rows referring to them (only where ``deletes_by_key``
    holds for the models concerned).

    Each statement reaches its rows through an index: the referring rows'
    keys are read by their foreign key, and every row is deleted by its
    primary key, in key order. No other row is read for update, and two
    runs deleting the rows of two databases lock none of each other's.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return
    for related in model._meta.related_objects:
        child = related.related_model
        rows = child._base_manager.using(using)
        referring: list[Any] = []
        for chunk in in_lists(wanted, using):
            lookup = {f"{related.field.name}__in": chunk}
            referring.extend(rows.filter(**lookup).values_list("pk", flat=True))
        delete_keys(child, using, referring)
    connection = connections[using]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    table = quote(model._meta.db_table)
    key = f"{table}.{quote(str(pk.column))}"
    ordered = sorted(wanted)
    if connection.vendor == "mysql":
        chunks: Iterable[Sequence[Any]] = sized_batches(
            ordered, _MYSQL_KEYS_A_DELETE, None, _row_values
        )
    else:
        chunks = in_lists(ordered, using)
    with connection.cursor() as cursor:
        for batch in chunks:
            if connection.vendor == "mysql":
                # An IN list: a small table is scanned and every row locked.
                sql = (
                    f"DELETE {table} FROM {_mysql_rows(['k'], len(batch))} "
                    f"STRAIGHT_JOIN {table} ON {key} = v.k"
                )
            else:
                sql = f"DELETE FROM {table} WHERE {key} IN ({', '.join(['%s'] * len(batch))})"
            cursor.execute(sql, [pk.get_db_prep_value(k, connection) for k in batch])


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
