"""Removing a database's run logs when its row is deleted.

Without it the files stay for ever, and a later row given the same key (a
sequence reset, a restore, a model with keys of its own) would list the logs
of a database it never was.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.signals import post_delete

from ._bulk import in_lists
from ._fields import model_has_field
from .logging import log_label, remove_paths, run_logs_of
from .models import SEED_FIELD_NAMES

__all__ = ["connect_run_log_cleanup", "harvested_models"]

logger = logging.getLogger(__name__)

#: Per thread: the batch of deletions being noted, by database alias and
#: concrete model (``_Batch``).
_batches = threading.local()


class _Batch:
    """The rows of one model deleted in one transaction.

    Each deletion's own ``on_commit`` callback removes that row's logs, so
    a savepoint or transaction rolled back (whose callbacks Django drops)
    keeps them. The callbacks of one commit run one after the other; the
    first lists the directory once, for every key noted, and the others use
    that listing. That first one also removes the logs of every noted row
    that is gone: another app's callback that raised before them would have
    dropped their own callbacks.
    """

    def __init__(self, model: type[models.Model], using: str) -> None:
        self.model, self.using = model, using
        self.keys: set[str] = set()
        self.found: dict[str, list[Path]] | None = None

    def remove(self, key: str) -> None:
        if self.found is None:
            self.found = run_logs_of(self.keys, log_label(self.model))
            for gone in self._gone(set(self.found) - {key}):
                remove_paths(self.found.pop(gone, []))
        remove_paths(self.found.pop(key, []))

    def _gone(self, keys: set[str]) -> set[str]:
        """Those of ``keys`` that no row has now."""
        rows = self.model._base_manager.using(self.using)
        kept = set[str]()
        for chunk in in_lists(sorted(keys), self.using):
            found = rows.filter(pk__in=chunk).values_list("pk", flat=True)
            kept.update(str(pk) for pk in found)
        return keys - kept


def harvested_models() -> list[type[models.Model]]:
    """The installed models a harvest can run for: those with the seed's
    four status fields (``SQLDB_MODEL`` must have them, check E002), proxies
    included."""
    return [
        model
        for model in apps.get_models()
        if all(model_has_field(model, name) for name in SEED_FIELD_NAMES)
    ]


def _on_delete(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    """Note the row; its logs go once the deletion commits."""
    model = sender._meta.concrete_model or sender
    by_place: dict[tuple[str, type[models.Model]], _Batch]
    by_place = _batches.__dict__.setdefault("by_place", {})
    batch = by_place.get((using, model))
    if batch is None or batch.found is not None:  # that one has run
        batch = by_place[(using, model)] = _Batch(model, using)
    key = str(instance.pk)
    batch.keys.add(key)
    transaction.on_commit(partial(_remove_logs, batch, key), using=using, robust=True)


def _remove_logs(batch: _Batch, key: str) -> None:
    """After the commit: remove row ``key``'s logs. Nothing here may fail
    the host's request: errors are logged."""
    try:
        batch.remove(key)
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
