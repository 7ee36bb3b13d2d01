"""Small helpers about a host model's fields: which optional ones it has,
and what is a valid key of it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, router

__all__ = ["key_of", "model_has_field", "present_fields", "writes_to", "written_rows"]


def writes_to(instance: models.Model) -> str:
    """The database the router writes ``instance`` to. Not the one it was
    read from (``_state.db``): under a primary/replica router that is the
    replica, read-only, and perhaps behind."""
    return router.db_for_write(type(instance), instance=instance)


def written_rows(instance: models.Model) -> models.QuerySet[Any]:
    """The rows of ``instance``'s model on the database it is written to
    (``writes_to``): what is read there decides claims and runs."""
    return type(instance)._default_manager.using(writes_to(instance))


def model_has_field(model: type[models.Model] | models.Model, name: str) -> bool:
    """Whether ``model`` (a class or an instance) has a concrete field ``name``."""
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def present_fields(
    model: type[models.Model] | models.Model, values: dict[str, object]
) -> dict[str, object]:
    """Keep the items of ``values`` whose key is a field of ``model``."""
    return {
        name: value for name, value in values.items() if model_has_field(model, name)
    }


def key_of(model: type[models.Model], value: Any) -> Any:
    """``value`` as a primary key of ``model``, or None when it cannot be one
    (``"abc"`` or ``"²"`` for an integer key, an integer out of the key's
    range on this database, an empty text)."""
    pk = model._meta.pk
    assert pk is not None
    try:
        key = pk.to_python(value)
        if key is None or key == "":
            return None
        pk.run_validators(key)  # the key's range (BigAutoField: 64 bits)
    except (ValidationError, TypeError, ValueError, OverflowError):
        return None
    return key
