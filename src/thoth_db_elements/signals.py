"""Removing a database's run logs when its row is deleted.

Without it the files stay, and a new row given the old one's key (SQLite
reuses the highest key once it is deleted) lists the logs of a database it
never was.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.signals import post_delete

from ._fields import model_has_field
from .logging import prune_run_logs
from .models import SEED_FIELD_NAMES

__all__ = ["connect_run_log_cleanup", "harvested_models"]


def harvested_models() -> list[type[models.Model]]:
    """The installed models a harvest can run for: those with the seed's
    four status fields (``SQLDB_MODEL`` must have them, check E002)."""
    return [
        model
        for model in apps.get_models()
        if all(model_has_field(model, name) for name in SEED_FIELD_NAMES)
    ]


def _remove_run_logs(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    """Once the deletion commits (a rollback keeps the row, and its logs)."""
    remove = partial(prune_run_logs, instance.pk, sender._meta.label_lower, keep=0)
    transaction.on_commit(remove, using=using)


def connect_run_log_cleanup() -> None:
    """Connect ``_remove_run_logs`` to the deletion of each harvested model's
    rows (by sender: a receiver for every model would cost the host Django's
    fast deletes)."""
    for model in harvested_models():
        post_delete.connect(
            _remove_run_logs,
            sender=model,
            dispatch_uid=f"thoth_db_elements.run_logs.{model._meta.label_lower}",
        )
