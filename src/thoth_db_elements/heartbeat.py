"""A background thread that keeps a running task's row alive and listens.

Every ``HEARTBEAT_INTERVAL_SECONDS`` it writes the heartbeat and progress
(when the model has those fields) on its own database connection, outside
the harvest's transaction, and only while the row still carries this run's
task id. It sets ``stop_reason`` when a cancel was requested or the row was
taken from this run (force reset, stale takeover), which the harvest's
checkpoint turns into a clean abort. ``check`` reads the same flags at once,
for the checkpoints where a cancel must not wait for the next beat.

The row is this run's while it holds a heartbeat this delivery wrote: a
redelivery that takes a stale run over keeps its task id but writes a
heartbeat of its own, and the delivery it replaced (a worker paused, then
resumed) then finds the row no longer its own, and writes nothing more.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from django.db import connections, models
from django.utils import timezone

from ._clock import database_now
from ._fields import model_has_field
from .conf import app_settings
from .models import TaskStatus

__all__ = ["CANCELLED", "DELETED", "LOST", "Heartbeat", "owned_rows"]

logger = logging.getLogger(__name__)

#: How many heartbeats tried since the last one written a delivery's own
#: writes allow for (the database away for that many beats, the run has
#: long been found stale).
_TRIED_BEATS = 500

CANCELLED = "Cancelled"
LOST = "The task was reset or taken over by another run"
DELETED = "The database's row was deleted"


def owned_rows(
    model: type[models.Model],
    using: str,
    pk: Any,
    task_id: str,
    beats: tuple[datetime, ...] = (),
) -> models.QuerySet[Any]:
    """Row ``pk`` while it is RUNNING run ``task_id``, holding one of
    ``beats`` (the heartbeats its delivery wrote) when any are given."""
    rows = model._default_manager.using(using).filter(
        pk=pk, db_elements_task_id=task_id, db_elements_status=TaskStatus.RUNNING
    )
    return rows.filter(db_elements_heartbeat__in=beats) if beats else rows


class Heartbeat(threading.Thread):
    """Beats for one run until ``stop()``; see the module docstring."""

    def __init__(
        self,
        model: type[models.Model],
        pk: Any,
        task_id: str,
        using: str,
        taken_at: datetime | None = None,
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
        #: Every heartbeat this delivery wrote or tried to write, each added
        #: before its write (one that failed may have been written all the
        #: same), as the database stores it (``_stored``): the row holds one
        #: of them while it is this run's. Read values are tested against
        #: it in Python, after the read, so that a beat written meanwhile by
        #: the other thread still counts.
        self._own: set[datetime] = set()
        #: The time zone the database stores times in (None: naive times).
        self._zone = connections[using].timezone
        #: The last heartbeat written, and those tried since: what the row
        #: can hold when this delivery writes next (its own writes only).
        self._last: datetime | None = None
        self._tried: list[datetime] = []
        if taken_at is not None and self._has_heartbeat:
            self._own.add(self._stored(taken_at))
            self._last = taken_at
        self._beats_lock = threading.Lock()

    def beats(self) -> tuple[datetime, ...]:
        """The heartbeats the row can hold while it is this delivery's, for
        a write of its own (the heartbeat thread stopped, or on it); none
        when the model has no heartbeat field, or before this delivery's
        first one is written (a run not taken by one)."""
        with self._beats_lock:
            return (self._last, *self._tried) if self._last is not None else ()

    def _stored(self, value: datetime) -> datetime:
        """``value`` as the database stores it, a naive time in its zone:
        one that stores local times reads a time of the hour the clocks go
        back as the hour before (the value written and the value read then
        differ as aware times, not as stored ones)."""
        if self._zone is None or timezone.is_naive(value):
            return value
        return timezone.make_naive(value, self._zone)

    def owns(self, heartbeat: datetime | None) -> bool:
        """Whether a row read with ``heartbeat`` was this delivery's run
        then (always, when the model has no heartbeat field or this
        delivery has written none yet)."""
        with self._beats_lock:
            return not self._own or (
                heartbeat is not None and self._stored(heartbeat) in self._own
            )

    def _rows(self) -> models.QuerySet[Any]:
        return owned_rows(self.model, self.using, self.pk, self.task_id)

    def write(self, **values: Any) -> bool:
        """Write ``values`` on the row while it is this delivery's run, from
        any thread: read its heartbeat, then write only if it still holds
        that one (again, if a beat came in between)."""
        rows = self._rows()
        for _ in range(3):
            if not self._has_heartbeat:
                return rows.update(**values) == 1
            seen = rows.values_list("db_elements_heartbeat", flat=True).first()
            if seen is None or not self.owns(seen):
                return False
            if rows.filter(db_elements_heartbeat=seen).update(**values) == 1:
                return True
        return False

    def beat(self, in_transaction: bool = False) -> None:
        """One heartbeat: write liveness and progress, read cancel/ownership.

        From any thread. ``in_transaction``: written in a transaction that
        may yet roll back (the sync's, on SQLite), so the row may go on
        holding the beats before it. A beat another thread tried while this
        one waited for the row is this delivery's too: the write is tried
        again over it."""
        values: dict[str, Any] = {}
        if self._has_progress:
            values["db_elements_progress_done"] = self.done
            values["db_elements_progress_total"] = self.total
        still_mine = False
        for _ in range(3):
            held = self.beats()
            if self._has_heartbeat:
                values["db_elements_heartbeat"] = now = database_now(self.using)
                with self._beats_lock:  # counts as soon as it may be written
                    self._own.add(self._stored(now))
                    self._tried = [*self._tried[-_TRIED_BEATS:], now]
            mine = owned_rows(self.model, self.using, self.pk, self.task_id, held)
            still_mine = mine.update(**values) == 1 if values else mine.exists()
            if still_mine or not held:
                break
            if not set(self.beats()) - {*held, values.get("db_elements_heartbeat")}:
                break  # no beat of another thread's came in between
        if still_mine and self._has_heartbeat and not in_transaction:
            with self._beats_lock:
                # Those tried since by the other thread stay: one may be in
                # the sync's transaction, to be committed over this one.
                later = self._tried.index(now) + 1 if now in self._tried else 0
                self._last, self._tried = now, self._tried[later:]
        if not still_mine:
            self.stop_reason = self._lost()
        else:
            self.check()

    def check(self) -> None:
        """Read the cancel flag and ownership now, on the calling thread's
        connection. Read only: inside the sync's transaction it takes no lock
        that the heartbeat thread's next write would wait for (and, under
        REPEATABLE READ, sees the heartbeat of when that transaction began,
        which this delivery still knows as its own)."""
        fields = ["db_elements_heartbeat"] if self._has_heartbeat else ["pk"]
        if self._has_cancel:
            fields.append("db_elements_cancel_requested")
        row = self._rows().values_list(*fields).first()
        if row is None or (self._has_heartbeat and not self.owns(row[0])):
            self.stop_reason = self._lost()
        elif self._has_cancel and row[-1]:
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
