"""The host's catalogue models, resolved from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .conf import PREFIX, app_settings
from .exceptions import ConfigurationError

__all__ = ["Catalogue", "catalogue_for", "get_catalogue"]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The four models the harvest reads and writes."""

    sqldb: type[models.Model]
    table: type[models.Model]
    column: type[models.Model]
    relationship: type[models.Model]


def _model(setting: str, label: str | None) -> type[models.Model]:
    if not label:
        raise ConfigurationError(f"{PREFIX}{setting} is not set.")
    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise ConfigurationError(
            f"{PREFIX}{setting} = {label!r} is not an installed model."
        ) from exc


def get_catalogue() -> Catalogue:
    """The configured ``SqlDb``, table, column and relationship models."""
    return Catalogue(
        sqldb=_model("SQLDB_MODEL", app_settings.SQLDB_MODEL),
        table=_model("TABLE_MODEL", app_settings.TABLE_MODEL),
        column=_model("COLUMN_MODEL", app_settings.COLUMN_MODEL),
        relationship=_model("RELATIONSHIP_MODEL", app_settings.RELATIONSHIP_MODEL),
    )


def catalogue_for(sql_db: models.Model) -> Catalogue:
    """The catalogue of ``sql_db``'s model.

    The configured models when ``sql_db`` is an instance of the configured
    ``SqlDb`` model; otherwise ``SqlTable``, ``SqlColumn`` and
    ``Relationship`` of the same app (a project with several catalogues).
    """
    model = type(sql_db)
    configured = app_settings.SQLDB_MODEL
    # Model names are case-insensitive to Django (apps.get_model).
    if configured and model._meta.label_lower == str(configured).lower():
        return get_catalogue()
    app = model._meta.app_label
    return Catalogue(
        sqldb=model,
        table=_model("TABLE_MODEL", f"{app}.SqlTable"),
        column=_model("COLUMN_MODEL", f"{app}.SqlColumn"),
        relationship=_model("RELATIONSHIP_MODEL", f"{app}.Relationship"),
    )
