"""Small helpers about which optional fields a host model has."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models

__all__ = ["model_has_field", "present_fields"]


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
