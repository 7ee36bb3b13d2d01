"""Whether a database's element-creation task may start, and claiming it.

The first three functions keep the seed's names, signatures, return values and
messages. They work on any model with the seed's four fields; the optional
heartbeat field (``DbElementsTaskMixin``) makes dead workers visible sooner.

``claim_sqldb_db_elements_task`` is what the seed lacked: one conditional
``UPDATE`` that moves a row to RUNNING, so that of many concurrent callers
exactly one wins.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, models, transaction

from ._catalogue_lock import is_syncing, not_syncing
from ._clock import database_now
from ._fields import model_has_field, present_fields, writes_to, written_rows
from .conf import app_settings
from .models import TaskStatus
from .report import failed_report

__all__ = [
    "MESSAGE_READY",
    "MESSAGE_RUNNING",
    "MESSAGE_STALE_CLEANED",
    "check_sqldb_db_elements_can_start",
    "claim_sqldb_db_elements_task",
    "force_reset_sqldb_db_elements_task_status",
    "is_queued",
    "is_stale",
    "validate_and_cleanup_running_sqldb_db_elements_task",
]

logger = logging.getLogger(__name__)

MESSAGE_READY = "Ready to start"
MESSAGE_STALE_CLEANED = "Previous task was stale and has been cleaned up"
MESSAGE_RUNNING = "A database elements creation task is currently running"

#: States from which a new run may start without any cleanup.
STARTABLE_STATES = (TaskStatus.IDLE, TaskStatus.COMPLETED, TaskStatus.FAILED)

_HEARTBEAT = "db_elements_heartbeat"


def _stale_q(
    model: type[models.Model] | models.Model,
    timeout_hours: float,
    now: datetime,
) -> models.Q:
    """Rows that are RUNNING but no longer legitimately so.

    Stale means: no start time (the seed left these RUNNING for ever), or a
    start older than ``timeout_hours`` (the seed's rule). When the model has
    a heartbeat field, a run a worker has taken (heartbeat set) is judged by
    its heartbeat alone: stale once it is older than
    ``HEARTBEAT_TIMEOUT_SECONDS``, however long the run (or its wait in the
    queue) has lasted; a null heartbeat means the task is still queued, and
    the start-time rule applies. A run whose sync holds the catalogue's
    lock is alive whatever its heartbeat (``not_syncing``).
    """
    old_start = models.Q(
        db_elements_start_time__lt=now - timedelta(hours=timeout_hours)
    )
    if model_has_field(model, _HEARTBEAT):
        window = timedelta(seconds=app_settings.HEARTBEAT_TIMEOUT_SECONDS)
        old_start = models.Q(db_elements_heartbeat__isnull=True) & old_start
        old_start |= models.Q(
            db_elements_heartbeat__isnull=False,
            db_elements_heartbeat__lt=now - window,
        )
    stale = models.Q(db_elements_start_time__isnull=True) | old_start
    if isinstance(model, models.Model):
        stale &= not_syncing(model)
    return models.Q(db_elements_status=TaskStatus.RUNNING) & stale


def is_stale(
    sql_db: models.Model,
    timeout_hours: float | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether ``sql_db`` (as loaded) is RUNNING but stale; see ``_stale_q``."""
    hours = app_settings.STALE_TIMEOUT_HOURS if timeout_hours is None else timeout_hours
    if getattr(sql_db, "db_elements_status", None) != TaskStatus.RUNNING:
        return False
    now = database_now(writes_to(sql_db)) if now is None else now
    start: datetime | None = getattr(sql_db, "db_elements_start_time", None)
    heartbeat: datetime | None = getattr(sql_db, _HEARTBEAT, None)
    if start is None:
        stale = True
    elif heartbeat is None:
        stale = start < now - timedelta(hours=hours)
    else:
        window = timedelta(seconds=app_settings.HEARTBEAT_TIMEOUT_SECONDS)
        stale = heartbeat < now - window
    # As _stale_q: a run whose sync holds the catalogue's lock is alive.
    return stale and not is_syncing(sql_db)


def is_queued(sql_db: models.Model) -> bool:
    """Whether ``sql_db`` (as loaded) is RUNNING with no worker on it yet:
    its heartbeat is empty until a worker takes the job. Always False for a
    model without the heartbeat field, which cannot tell."""
    return (
        getattr(sql_db, "db_elements_status", None) == TaskStatus.RUNNING
        and model_has_field(sql_db, _HEARTBEAT)
        and getattr(sql_db, _HEARTBEAT, None) is None
    )


def check_sqldb_db_elements_can_start(sql_db: models.Model) -> tuple[bool, str]:
    """Whether a database elements creation task can start for ``sql_db``.

    Returns ``(can_start, message)`` with the seed's messages: IDLE, COMPLETED
    and FAILED give ``"Ready to start"``; a stale RUNNING row is marked FAILED
    and gives ``"Previous task was stale and has been cleaned up"``; a live one
    gives ``"A database elements creation task is currently running"``; any
    other value ``"Unknown status: <value>"``.

    This only advises: starting safely needs ``claim_sqldb_db_elements_task``.
    """
    # From the database a claim writes to: a replica may be behind.
    sql_db.refresh_from_db(using=writes_to(sql_db))
    current_status = sql_db.db_elements_status  # type: ignore[attr-defined]

    if current_status in STARTABLE_STATES:
        return True, MESSAGE_READY

    if current_status == TaskStatus.RUNNING:
        outcome = _clean_up(sql_db, app_settings.STALE_TIMEOUT_HOURS)
        if outcome == _RUNNING:
            return False, MESSAGE_RUNNING
        sql_db.refresh_from_db(using=writes_to(sql_db))
        # Ended by itself while this looked: nothing was cleaned up.
        return True, MESSAGE_STALE_CLEANED if outcome == _CLEANED else MESSAGE_READY

    return False, f"Unknown status: {current_status}"


def validate_and_cleanup_running_sqldb_db_elements_task(
    sql_db: models.Model, timeout_hours: float = 2
) -> bool:
    """Whether a RUNNING task is still legitimate; a stale one becomes FAILED.

    Returns True when the task should still be considered running, False when
    the row is not RUNNING or was stale and has been reset to FAILED with an
    end time. The reset is a conditional update on the task id seen, so it
    never clobbers a run that was claimed in the meantime.
    """
    return _clean_up(sql_db, timeout_hours) == _RUNNING


#: What ``_clean_up`` found: a run going on, a stale one ended by it, or a
#: row no run holds (not RUNNING, ended meanwhile, deleted).
_RUNNING, _CLEANED, _NOT_RUNNING = "running", "cleaned", "not running"


def _clean_up(sql_db: models.Model, timeout_hours: float) -> str:
    """``validate_and_cleanup_running_sqldb_db_elements_task``, saying
    whether it cleaned the row up."""
    if getattr(sql_db, "db_elements_status", None) != TaskStatus.RUNNING:
        return _NOT_RUNNING
    now = database_now(writes_to(sql_db))
    if not is_stale(sql_db, timeout_hours=timeout_hours, now=now):
        return _RUNNING

    changes: dict[str, object] = {
        "db_elements_status": TaskStatus.FAILED,
        "db_elements_end_time": now,
    }
    changes.update(
        present_fields(
            sql_db,
            {
                "db_elements_error": "Stale task cleaned up: no sign of life from its worker",
                # Its writes were rolled back: no "333/1000 tables" left,
                # and the previous run's report must not pass for its own.
                **_NO_PROGRESS,
                "db_elements_report": failed_report(
                    {}, getattr(sql_db, "db_elements_report", None)
                ),
            },
        )
    )
    task_id = sql_db.db_elements_task_id  # type: ignore[attr-defined]
    updated = (
        written_rows(sql_db)
        .filter(pk=sql_db.pk, db_elements_task_id=task_id)
        .filter(_stale_q(sql_db, timeout_hours, now))
        .update(**changes)
    )
    if updated:
        for name, value in changes.items():
            setattr(sql_db, name, value)
        logger.warning(
            "Stale db_elements task %s of SqlDb %s marked FAILED", task_id, sql_db.pk
        )
        return _CLEANED
    # Not stale by the time the update could look: the run beat meanwhile
    # (on SQLite, its sync's beat, committed while the update waited for
    # the lock), ended, or another start took the row.
    try:
        sql_db.refresh_from_db(using=writes_to(sql_db))
    except ObjectDoesNotExist:
        return _NOT_RUNNING
    running = getattr(sql_db, "db_elements_status", None) == TaskStatus.RUNNING
    return _RUNNING if running and not is_stale(sql_db, timeout_hours) else _NOT_RUNNING


#: The progress fields of a row no run is making progress on.
_NO_PROGRESS: dict[str, object] = {
    "db_elements_progress_done": None,
    "db_elements_progress_total": None,
}


def force_reset_sqldb_db_elements_task_status(
    sql_db: models.Model, reason: str = "Manual reset"
) -> bool:
    """Put the task status back to IDLE whatever it was; True on success.

    Clears the task id, sets the end time and logs a warning with the reason
    and the previous state (the row's, read under a lock: the instance may
    be older). A running worker notices the reset (its task id no longer
    matches) and stops without writing its result.
    """
    using = writes_to(sql_db)
    try:
        with transaction.atomic(using=using):
            old_status, old_task_id = _reset(sql_db, using)
    except Exception as exc:
        logger.error(
            "Failed to force reset db_elements for SqlDb %s: %s", sql_db.pk, exc
        )
        return False
    logger.warning(
        "Force reset db_elements for SqlDb %s: %s (was: %s, task_id: %s)",
        sql_db.pk,
        reason,
        old_status,
        old_task_id,
    )
    return True


def _reset(sql_db: models.Model, using: str) -> tuple[Any, Any]:
    """Reset ``sql_db`` (in the caller's transaction); its status and task id
    before."""
    # No key lock where the database has one: a PostgreSQL sync holds the
    # row's key (FOR KEY SHARE) for its whole transaction, and a FOR UPDATE
    # would wait for it to commit, the reset coming too late to stop it.
    no_key = connections[using].features.has_select_for_no_key_update
    before = (
        written_rows(sql_db)
        .select_for_update(no_key=no_key)
        .filter(pk=sql_db.pk)
        .values_list("db_elements_status", "db_elements_task_id")
        .first()
    )
    if before is None:
        raise ObjectDoesNotExist("the row is not in the database")
    changes: dict[str, object] = {
        "db_elements_status": TaskStatus.IDLE,
        "db_elements_task_id": None,
        "db_elements_end_time": database_now(using),
    }
    changes.update(
        present_fields(sql_db, {"db_elements_cancel_requested": False, **_NO_PROGRESS})
    )
    for name, value in changes.items():
        setattr(sql_db, name, value)
    sql_db.save(update_fields=list(changes), using=using)
    return before[0], before[1]


def claim_sqldb_db_elements_task(
    sql_db: models.Model,
    task_id: str,
    *,
    timeout_hours: float | None = None,
) -> bool:
    """Atomically move ``sql_db`` to RUNNING under ``task_id``; True if won.

    One conditional ``UPDATE``: it matches only while the row is IDLE,
    COMPLETED, FAILED or stale RUNNING, so when many callers race exactly one
    changes the row and the others get False. The winner's instance is updated
    in memory; the losers' are left as they were.
    """
    if not task_id:
        raise ValueError("task_id must be a non-empty string")
    hours = app_settings.STALE_TIMEOUT_HOURS if timeout_hours is None else timeout_hours
    now = database_now(writes_to(sql_db))
    claimable = models.Q(db_elements_status__in=STARTABLE_STATES) | _stale_q(
        sql_db, hours, now
    )
    changes: dict[str, object] = {
        "db_elements_status": TaskStatus.RUNNING,
        "db_elements_task_id": task_id,
        "db_elements_start_time": now,
        "db_elements_end_time": None,
    }
    changes.update(
        present_fields(
            sql_db,
            {
                "db_elements_heartbeat": None,
                "db_elements_progress_done": None,
                "db_elements_progress_total": None,
                "db_elements_error": "",
                "db_elements_cancel_requested": False,
                # The run names its own log when it opens it: until then
                # (and should it die first) not the previous run's.
                "db_elements_log_file": "",
            },
        )
    )
    won = written_rows(sql_db).filter(claimable, pk=sql_db.pk).update(**changes) == 1
    if won:
        for name, value in changes.items():
            setattr(sql_db, name, value)
    return won
