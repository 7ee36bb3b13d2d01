"""A background thread that keeps a running task's row alive and listens.

Every ``HEARTBEAT_INTERVAL_SECONDS`` it writes the heartbeat and progress
(when the model has those fields) on its own database connection, outside
the harvest's transaction, and only while the row still carries this run's
task id. It sets ``stop_reason`` when a cancel was requested or the row was
taken from this run (force reset, stale takeover), which the harvest's
checkpoint turns into a clean abort. ``check`` reads the same flags at once,
for the checkpoints where a cancel must not wait for the next beat.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import connections, models
from django.utils import timezone

from ._fields import model_has_field
from .conf import app_settings
from .models import TaskStatus

__all__ = ["CANCELLED", "DELETED", "LOST", "Heartbeat"]

logger = logging.getLogger(__name__)

CANCELLED = "Cancelled"
LOST = "The task was reset or taken over by another run"
DELETED = "The database's row was deleted"


class Heartbeat(threading.Thread):
    """Beats for one run until ``stop()``; see the module docstring."""

    def __init__(
        self, model: type[models.Model], pk: Any, task_id: str, using: str
    ) -> None:
        super().__init__(name=f"thoth-db-elements-heartbeat-{pk}", daemon=True)
        self.model = model
        self.pk = pk
        self.task_id = task_id
        self.using = using
        self.done = 0
        self.total: int | None = None
        self.stop_reason: str | None = None
        self._stopped = threading.Event()
        #: Whether ``stop`` waited for the thread and gave up (it is stuck
        #: on a lock): it does not wait again.
        self._given_up = False
        self._has_heartbeat = model_has_field(model, "db_elements_heartbeat")
        self._has_progress = model_has_field(model, "db_elements_progress_done")
        self._has_cancel = model_has_field(model, "db_elements_cancel_requested")

    def _mine(self) -> models.QuerySet[Any]:
        return self.model._default_manager.using(self.using).filter(
            pk=self.pk,
            db_elements_task_id=self.task_id,
            db_elements_status=TaskStatus.RUNNING,
        )

    def beat(self) -> None:
        """One heartbeat: write liveness and progress, read cancel/ownership."""
        values: dict[str, Any] = {}
        if self._has_heartbeat:
            values["db_elements_heartbeat"] = timezone.now()
        if self._has_progress:
            values["db_elements_progress_done"] = self.done
            values["db_elements_progress_total"] = self.total
        mine = self._mine()
        still_mine = mine.update(**values) == 1 if values else mine.exists()
        if not still_mine:
            self.stop_reason = self._lost()
        elif (
            self._has_cancel and mine.filter(db_elements_cancel_requested=True).exists()
        ):
            self.stop_reason = CANCELLED

    def check(self) -> None:
        """Read the cancel flag and ownership now, on the calling thread's
        connection. Read only: inside the sync's transaction it takes no lock
        that the heartbeat thread's next write would wait for."""
        flags = ("db_elements_cancel_requested",) if self._has_cancel else ("pk",)
        row = self._mine().values_list(*flags).first()
        if row is None:
            self.stop_reason = self._lost()
        elif self._has_cancel and row[0]:
            self.stop_reason = CANCELLED

    def _lost(self) -> str:
        """Why the row is no longer this run's: deleted, or reset/taken."""
        rows = self.model._default_manager.using(self.using).filter(pk=self.pk)
        return LOST if rows.exists() else DELETED

    def run(self) -> None:
        interval = float(app_settings.HEARTBEAT_INTERVAL_SECONDS)
        try:
            while not self._stopped.wait(interval):
                try:
                    self.beat()
                except Exception:  # a lost beat must not kill the run
                    logger.exception("Heartbeat of SqlDb %s failed", self.pk)
                    # A broken connection stays broken: the next beat opens
                    # a new one, or the row would look dead while it runs.
                    self._close_connection()
                if self.stop_reason in (LOST, DELETED):
                    return  # nothing of this run's is left to keep alive
        finally:
            self._close_connection()

    def _close_connection(self) -> None:
        try:
            connections[self.using].close()
        except Exception:
            logger.warning("Closing the heartbeat's connection failed", exc_info=True)

    def stop(self) -> None:
        """End the thread and wait for it, 30 s at most, once: a beat stuck
        on a lock (its row locked by the caller's own transaction, say) must
        not hold the run's end up twice. A daemon thread, it ends with the
        process if not before."""
        self._stopped.set()
        if self.is_alive() and not self._given_up:
            self.join(timeout=30)
            if self.is_alive():
                self._given_up = True
                logger.warning(
                    "The heartbeat of SqlDb %s did not stop within 30 s "
                    "(waiting for a lock?); leaving it",
                    self.pk,
                )
