"""Plain multi-row ``INSERT`` for large batches of catalogue rows.

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections, models
from django.db.models.fields import DateField, DateTimeField, Field, TimeField

__all__ = ["insert_values", "supports_plain_insert"]

_VENDORS = frozenset({"sqlite", "postgresql", "mysql"})


def _plain_field(field: Field[Any, Any]) -> bool:
    """Whether saving ``field`` is its value or default, nothing more."""
    if isinstance(field, DateField | DateTimeField | TimeField):
        return not (field.auto_now or field.auto_now_add)
    return type(field).pre_save is Field.pre_save


def _columns(model: type[models.Model]) -> list[Field[Any, Any]]:
    """The fields an INSERT names: all concrete ones but a database-made key."""
    pk = model._meta.pk
    return [
        f
        for f in model._meta.concrete_fields
        if not (f is pk and getattr(f, "db_returning", False))
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
) -> bool:
    """INSERT ``rows`` (field name or attname -> value) into ``model``'s table.

    Missing fields take their defaults. Returns False, writing nothing, when
    ``supports_plain_insert`` is False.
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
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
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
