"""Removing a database's run logs when its row is deleted.

Without it the files stay for ever, and a later row given the same key (a
sequence reset, a restore, a model with keys of its own) would list the logs
of a database it never was.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.signals import post_delete

from ._fields import model_has_field
from .logging import log_label, remove_run_logs
from .models import SEED_FIELD_NAMES

__all__ = ["connect_run_log_cleanup", "harvested_models"]

logger = logging.getLogger(__name__)

#: Per thread and database alias: the keys of the rows deleted, by concrete
#: model, whose logs go when the deletion commits (``_remove_logs``).
_deleted = threading.local()


def harvested_models() -> list[type[models.Model]]:
    """The installed models a harvest can run for: those with the seed's
    four status fields (``SQLDB_MODEL`` must have them, check E002), proxies
    included."""
    return [
        model
        for model in apps.get_models()
        if all(model_has_field(model, name) for name in SEED_FIELD_NAMES)
    ]


def _pending(using: str) -> dict[type[models.Model], set[Any]]:
    by_alias: dict[str, dict[type[models.Model], set[Any]]]
    by_alias = _deleted.__dict__.setdefault("by_alias", {})
    return by_alias.setdefault(using, {})


def _on_delete(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    """Note the row; its logs go once the deletion commits (a rollback
    keeps the row, and its logs)."""
    model = sender._meta.concrete_model or sender
    _pending(using).setdefault(model, set()).add(instance.pk)
    transaction.on_commit(partial(_remove_logs, using), using=using, robust=True)


def _remove_logs(using: str) -> None:
    """After a commit: remove the logs of the rows noted as deleted, one
    listing of the log directory per model however many rows went.

    Only rows that are gone count: keys noted in a transaction that rolled
    back (its callbacks never ran) are still pending, and are dropped here.
    Nothing here may fail the host's request: errors are logged.
    """
    pending = _pending(using)
    while pending:
        model, keys = pending.popitem()
        try:
            kept = set(
                model._default_manager.using(using)
                .filter(pk__in=keys)
                .values_list("pk", flat=True)
            )
            remove_run_logs(keys - kept, log_label(model))
        except Exception:
            logger.exception("Could not remove the run logs of deleted rows")


def connect_run_log_cleanup() -> None:
    """Connect ``_on_delete`` to the deletion of each harvested model's rows
    (by sender: a receiver for every model would cost the host Django's
    fast deletes)."""
    for model in harvested_models():
        post_delete.connect(
            _on_delete,
            sender=model,
            dispatch_uid=f"thoth_db_elements.run_logs.{model._meta.label_lower}",
        )
