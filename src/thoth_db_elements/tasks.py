"""Starting harvests in the background and running them in a worker.

* ``start_db_elements_creation`` claims each database atomically, stores a
  task id of its own on the row and queues one job per database when the
  surrounding transaction commits. It tells which databases started and
  which were skipped, and why.
* ``start_async_db_elements_creation`` is the seed's entry point on top of it.
* ``AsyncDbElementsTask`` is what the worker runs for one database: it
  ignores deliveries that are not the row's current task, beats, logs to its
  own file, harvests, and records COMPLETED or FAILED with the report.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from numbers import Number
from pathlib import Path
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    models,
    router,
    transaction,
)
from django.db.models import Q
from sqlalchemy.engine import URL

from ._catalogue_lock import _is_lock_timeout, is_writing, not_syncing, writing_for
from ._clock import database_now
from ._fields import key_of, model_has_field, present_fields, writes_to, written_rows
from .conf import app_settings
from .connection import describe, get_url, redact, secrets_of
from .exceptions import DbElementsError, HarvestCancelledError
from .harvest import create_db_elements
from .heartbeat import CANCELLED, Heartbeat, owned_rows
from .logging import (
    log_label,
    open_run_log,
    prune_run_logs,
    remove_run_logs,
    scrub,
)
from .models import SEED_FIELD_NAMES, TaskStatus
from .report import HarvestReport, catalogued_from, failed_report
from .runners import Job, TaskRunner, get_runner
from .validation import (
    MESSAGE_RUNNING,
    check_sqldb_db_elements_can_start,
    claim_sqldb_db_elements_task,
)

__all__ = [
    "CANCEL_NOT_RUNNING",
    "CANCEL_SET",
    "CANCEL_TOO_LATE",
    "TASK_FUNCTION",
    "AsyncDbElementsTask",
    "SkippedDatabase",
    "StartResult",
    "StartedDatabase",
    "cancel_outcome",
    "request_cancel_sqldb_db_elements_task",
    "run_db_elements_task",
    "sqldbs_of_batch",
    "start_async_db_elements_creation",
    "start_db_elements_creation",
]

logger = logging.getLogger(__name__)

#: What the runner calls in the worker.
TASK_FUNCTION = "thoth_db_elements.tasks.run_db_elements_task"


@dataclass(frozen=True, slots=True)
class StartedDatabase:
    """A database whose harvest was queued, with the task id on its row."""

    sqldb_id: Any
    name: str
    task_id: str


@dataclass(frozen=True, slots=True)
class SkippedDatabase:
    """A database that was not started, and the reason (the seed's messages)."""

    sqldb_id: Any
    name: str
    reason: str


@dataclass(slots=True)
class StartResult:
    """Outcome of a start request: ``batch_id`` prefixes every task id."""

    batch_id: str
    started: list[StartedDatabase] = field(default_factory=list)
    skipped: list[SkippedDatabase] = field(default_factory=list)
    #: Started databases whose job the broker refused (their rows are
    #: FAILED), with the error. Known when the jobs were queued before the
    #: call returned, i.e. outside a caller's transaction; inside one they
    #: are queued when it commits, and only the rows tell.
    refused: list[SkippedDatabase] = field(default_factory=list)

    @property
    def queued(self) -> list[StartedDatabase]:
        """The started databases whose job was not refused (so far)."""
        refused = {r.sqldb_id for r in self.refused}
        return [s for s in self.started if s.sqldb_id not in refused]


def _sqldb_model(model: type[models.Model] | str | None) -> type[models.Model]:
    if isinstance(model, str):
        return apps.get_model(model)
    if model is not None:
        return model
    from .catalogue import get_catalogue

    return get_catalogue().sqldb


def _resolve(
    sql_dbs: Iterable[models.Model | Any], model: type[models.Model]
) -> tuple[list[models.Model], list[Any]]:
    """Instances for ``sql_dbs`` (instances or keys), and the keys not found.

    A key that is not a valid primary key of ``model`` (``"abc"`` for an
    integer key, ``1.5``) is not found either: it does not spoil the others.
    A single row or key instead of a collection is a ``TypeError``: a
    string would otherwise be taken for keys a character each.
    """
    if isinstance(sql_dbs, (str, bytes, models.Model)) or not isinstance(
        sql_dbs, Iterable
    ):
        raise TypeError(
            "Pass the databases as a collection of rows or keys, e.g. "
            f"[{sql_dbs!r}], not a single {type(sql_dbs).__name__}"
        )
    _require_status_fields(model)
    rows: list[models.Model] = []
    keys: list[tuple[Any, Any]] = []
    missing: list[Any] = []
    for item in sql_dbs:
        if isinstance(item, models.Model):
            _require_status_fields(type(item))
            if item.pk is None:
                raise ValueError(f"{item!r} is not saved: it has no primary key")
            rows.append(item)
            continue
        value = key_of(model, item)
        inexact = isinstance(item, Number) and not isinstance(item, int)
        if value is None or (inexact and value != item):
            missing.append(item)  # None, or 5.5 taken for 5
        else:
            keys.append((item, value))
    if keys:
        found = {
            r.pk: r for r in model._default_manager.filter(pk__in=[v for _, v in keys])
        }
        for item, value in keys:
            if value in found:
                rows.append(found[value])
            else:
                missing.append(item)
    # Once each, as first named: a row named twice (as a row and by its
    # key, say) is one database, not a second one "currently running".
    seen: set[tuple[Any, Any]] = set()
    unique: list[models.Model] = []
    for row in rows:
        if (identity := (row._meta.concrete_model, row.pk)) not in seen:
            seen.add(identity)
            unique.append(row)
    return unique, missing


def _require_status_fields(model: type[models.Model]) -> None:
    """A ``TypeError`` unless ``model`` has the seed's four status fields."""
    missing = [name for name in SEED_FIELD_NAMES if not model_has_field(model, name)]
    if missing:
        raise TypeError(
            f"{model.__name__} rows cannot be harvested: pass rows of a SqlDb "
            f"model, or their keys (it has no {', '.join(missing)} field)"
        )


def start_db_elements_creation(
    sql_dbs: Iterable[models.Model | Any],
    *,
    workspace_id: Any = None,
    user_id: Any = None,
    force: bool = False,
    runner: TaskRunner | None = None,
    model: type[models.Model] | str | None = None,
) -> StartResult:
    """Claim and queue one harvest per database; see ``StartResult``.

    ``sql_dbs`` holds model instances or primary keys. Unknown keys are
    skipped with the reason "Not found". Jobs are queued on commit of the
    caller's transaction (at once in autocommit mode) and carry ids only.
    """
    runner = runner or get_runner()
    sqldb_model = _sqldb_model(model)
    result = StartResult(batch_id=uuid.uuid4().hex[:12])
    rows, missing = _resolve(sql_dbs, sqldb_model)
    result.skipped.extend(
        SkippedDatabase(key, str(key), "Not found") for key in missing
    )
    using = router.db_for_write(sqldb_model)
    pending: list[tuple[Job, models.Model, str]] = []
    # One transaction for all claims, and one callback for all jobs: a batch
    # of 50 databases costs two commits, not a hundred.
    with transaction.atomic(using=using):
        for row in rows:
            name = str(getattr(row, "name", row))
            try:
                can_start, reason = check_sqldb_db_elements_can_start(row)
            except ObjectDoesNotExist:  # deleted since it was selected
                result.skipped.append(SkippedDatabase(row.pk, name, "Not found"))
                continue
            task_id = f"{result.batch_id}-{row.pk}"
            if not can_start:
                result.skipped.append(SkippedDatabase(row.pk, name, reason))
                continue
            if not claim_sqldb_db_elements_task(row, task_id):
                result.skipped.append(SkippedDatabase(row.pk, name, MESSAGE_RUNNING))
                continue
            result.started.append(StartedDatabase(row.pk, name, task_id))
            job = Job(
                function=TASK_FUNCTION,
                args=(_plain(row.pk), task_id),
                kwargs={
                    "workspace_id": _plain(workspace_id),
                    "user_id": _plain(user_id),
                    "force": force,
                    "model": row._meta.label,
                },
                name=_job_name(task_id),
            )
            pending.append((job, row, task_id))
        if pending:
            transaction.on_commit(
                partial(_enqueue_all, runner, pending, result), using=using
            )
    return result


def _plain(value: Any) -> Any:
    """``value`` as a job may carry it to any broker: text, a number, a
    boolean or None as it is; anything else (a UUID key, a ``Decimal``) as
    its text, which Django turns back into the key (``django.tasks``
    refuses a UUID, for one)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


#: The longest job name django-q2 stores (``Task.name``).
_JOB_NAME_LENGTH = 100


def _job_name(task_id: str) -> str:
    """The queue's name for the job of run ``task_id`` (which holds the
    row's key): ``db_elements_<task id>``, cut to what django-q2 stores
    (a UUID key makes a 61-character name)."""
    return f"db_elements_{task_id}"[:_JOB_NAME_LENGTH]


def _enqueue_all(
    runner: TaskRunner,
    pending: list[tuple[Job, models.Model, str]],
    result: StartResult,
) -> None:
    """Queue every job; a job the broker refuses leaves its row FAILED.

    Interrupted (Ctrl-C while a runner runs the jobs in this process, say),
    the rows claimed for jobs no worker has taken end FAILED too, rather
    than RUNNING with nothing to run them; a run a worker has taken (its
    heartbeat set) records its own end.
    """
    try:
        _enqueue_each(runner, pending, result)
    except Exception:
        raise
    except BaseException as exc:
        error = f"Not started: interrupted ({type(exc).__name__})"
        for _, row, task_id in pending:
            _fail_claimed(row, task_id, error, untaken=True)
        raise


def _fail_claimed(
    row: models.Model, task_id: str, error: str, *, untaken: bool = False
) -> bool:
    """End run ``task_id`` of ``row``, claimed but not run, FAILED; with no
    report and no log file of this run: the previous run's must not pass
    for its own. False if the row was not so ended."""
    return _finish(
        type(row),
        row.pk,
        task_id,
        TaskStatus.FAILED,
        writes_to(row),
        error=error,
        report={},
        log_file="",
        untaken=untaken,
    )


def _enqueue_each(
    runner: TaskRunner,
    pending: list[tuple[Job, models.Model, str]],
    result: StartResult,
) -> None:
    enqueue_many = getattr(runner, "enqueue_many", None)
    if enqueue_many is None:
        for job, row, task_id in pending:
            _enqueue(runner, job, row, task_id, result)
        return
    try:
        backend_ids = enqueue_many([job for job, _, _ in pending])
    except Exception as exc:
        for _, row, task_id in pending:
            _refused(row, task_id, exc, result)
        return
    for (_, row, task_id), backend_id in zip(pending, backend_ids, strict=True):
        logger.info(
            "Queued db_elements task %s for SqlDb %s (%s)", task_id, row.pk, backend_id
        )


def _refused(
    row: models.Model, task_id: str, exc: BaseException, result: StartResult
) -> None:
    message = f"Could not queue the task: {scrub(str(exc))}"
    # A job of a batch the broker took in part may run already: left to it,
    # and not told as refused. A job queued but not taken finds its row
    # FAILED and does nothing.
    if not _fail_claimed(row, task_id, message, untaken=True) and _taken(row, task_id):
        logger.warning(
            "SqlDb %s: the broker failed part-way (%s), but a worker has taken "
            "this database's job already: left to it",
            row.pk,
            scrub(str(exc)),
        )
        return
    logger.error("SqlDb %s: %s", row.pk, message)
    result.refused.append(
        SkippedDatabase(row.pk, str(getattr(row, "name", row)), message)
    )


def _taken(row: models.Model, task_id: str) -> bool:
    """Whether run ``task_id`` of ``row``, which ``_fail_claimed`` could not
    end, is a worker's: the row still holds it (running with a heartbeat,
    or ended already), rather than a reset or a deletion having let go of
    it."""
    return written_rows(row).filter(pk=row.pk, db_elements_task_id=task_id).exists()


def _enqueue(
    runner: TaskRunner, job: Job, row: models.Model, task_id: str, result: StartResult
) -> None:
    try:
        backend_id = runner.enqueue(job)
    except Exception as exc:
        if not getattr(runner, "in_process", False):
            _refused(row, task_id, exc, result)
            return
        # The job ran here and failed: it recorded its end if it took the
        # run and could write the row; one it never took is ended here.
        error = f"The run failed: {type(exc).__name__}: {scrub(str(exc))}"
        if _fail_claimed(row, task_id, error, untaken=True):
            logger.error("SqlDb %s: %s", row.pk, error, exc_info=exc)
        # Else the run took it, and recorded its end itself (and said so).
        return
    logger.info(
        "Queued db_elements task %s for SqlDb %s (%s)", task_id, row.pk, backend_id
    )


def start_async_db_elements_creation(
    workspace_id: Any, sqldb_ids: Iterable[Any], user_id: Any = None
) -> str:
    """The seed's entry point: start every database that can start.

    Returns the batch id: each started database's own task id is
    ``"<batch id>-<database id>"`` and is stored in ``db_elements_task_id``
    (``sqldbs_of_batch`` finds them).
    The id comes back whatever happened, as the seed's does: the databases
    skipped (running, not found) and those the broker refused at once are
    logged as a warning here (inside a caller's transaction jobs are queued
    when it commits, and a refusal then is logged as an error);
    ``start_db_elements_creation`` returns them.
    """
    result = start_db_elements_creation(
        sqldb_ids, workspace_id=workspace_id, user_id=user_id
    )
    missed = [*result.skipped, *result.refused]
    if missed:
        logger.warning(
            "Batch %s: %d of %d databases not queued: %s",
            result.batch_id,
            len(missed),
            len(result.started) + len(result.skipped),
            scrub("; ".join(f"{m.name or m.sqldb_id}: {m.reason}" for m in missed)),
        )
    return result.batch_id


def sqldbs_of_batch(batch_id: str) -> models.QuerySet[Any]:
    """The ``SqlDb`` rows whose run batch ``batch_id`` started (the id
    ``start_async_db_elements_creation`` returns and the admin shows): each
    row's task id is ``"<batch id>-<database id>"`` until a later run
    replaces it."""
    model = _sqldb_model(None)
    return model._default_manager.db_manager(router.db_for_write(model)).filter(
        db_elements_task_id__startswith=f"{batch_id}-"
    )


def request_cancel_sqldb_db_elements_task(sql_db: models.Model) -> bool:
    """Ask a RUNNING task to stop at its next step; True if the flag was set.

    Needs the ``db_elements_cancel_requested`` field (``DbElementsTaskMixin``).
    False, at once, for a run writing its catalogue on MySQL/MariaDB: too
    late to stop it there (``cancel_outcome`` says which). A lock time-out
    of the update is raised, a caller's transaction left usable.
    """
    return cancel_outcome(sql_db) == CANCEL_SET


#: ``cancel_outcome``'s answers.
CANCEL_SET = "set"
CANCEL_TOO_LATE = "writing"
CANCEL_NOT_RUNNING = "not running"


def cancel_outcome(sql_db: models.Model) -> str:
    """``request_cancel_sqldb_db_elements_task``, saying what happened:
    ``CANCEL_SET``, ``CANCEL_TOO_LATE`` (MySQL/MariaDB: the run's own sync
    writes; its inserts hold the row until it commits, an update would
    wait for that, 50 s by default, then fail, and the run can no longer
    stop) or ``CANCEL_NOT_RUNNING`` (also for a model without the flag)."""
    if not model_has_field(sql_db, "db_elements_cancel_requested"):
        return CANCEL_NOT_RUNNING
    using = writes_to(sql_db)
    rows = written_rows(sql_db).filter(
        pk=sql_db.pk, db_elements_status=TaskStatus.RUNNING
    )
    #: The run whose sync would hold the row (MySQL/MariaDB): another's, a
    #: direct sync of the same database, is waited for as any holder.
    run: str | None = None
    if connections[using].vendor == "mysql":
        # Reads: they wait for nothing.
        found = list(rows.values_list("db_elements_task_id", flat=True)[:1])
        if not found:
            return CANCEL_NOT_RUNNING
        run = found[0]
        if is_writing(sql_db, run):
            return CANCEL_TOO_LATE
    try:
        with transaction.atomic(using=using):  # a caller's outlives an error
            updated = rows.update(db_elements_cancel_requested=True)
    except OperationalError as exc:
        if _is_lock_timeout(exc) and is_writing(sql_db, run):
            return CANCEL_TOO_LATE  # it began to write as the cancel came
        raise
    return CANCEL_SET if updated == 1 else CANCEL_NOT_RUNNING


_FINISH_DELAYS = (0.5, 1.0, 2.0, 4.0)

_T = TypeVar("_T")


def _with_back_off(
    call: Callable[[], _T],
    using: str,
    retrying: Callable[[OperationalError | InterfaceError], None],
) -> _T:
    """``call()``, tried again on a fresh connection to ``using`` after each
    of ``_FINISH_DELAYS`` (about 8 s in all) while the Django database is
    unavailable (restarting, out of connections, a lock or statement
    time-out). ``retrying(exc)`` is told of each failure before a retry (it
    logs, or raises to stop); the last failure is raised."""
    for delay in (*_FINISH_DELAYS, None):
        try:
            return call()
        except (OperationalError, InterfaceError) as exc:
            if delay is None:
                raise
            retrying(exc)
            connections[using].close()
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - returns or raises


def _stopped(exc: BaseException) -> str:
    """The error of a run the worker stopped by raising ``exc`` in it."""
    return f"Stopped by the worker: {str(exc) or type(exc).__name__}"


#: No heartbeat read yet (``AsyncDbElementsTask._take``).
_UNSEEN = object()


def _finish(
    model: type[models.Model],
    pk: Any,
    task_id: str,
    status: str,
    using: str | None,
    *,
    error: str = "",
    report: dict[str, Any] | None = None,
    log_file: str | None = None,
    untaken: bool = False,
    unless_beating: bool = False,
    beats: tuple[datetime, ...] = (),
) -> bool:
    """Record the end of run ``task_id``; False if the row is no longer its own.

    ``untaken``: only if no worker has taken the run (its heartbeat is
    empty); ``unless_beating``: only if no worker beats for it (its
    heartbeat is empty or stale); ``beats``: only if it holds one of these
    heartbeats (the delivery's own: see ``Heartbeat``). A model without the
    heartbeat field cannot tell, and is ended.

    The Django database may be briefly unavailable when a long run ends: the
    write is retried with back-off (about 8 s in all) on a fresh connection
    before giving up, after which the row is found stale by its heartbeat.
    """
    using = using or router.db_for_write(model)  # where the claim wrote

    def retrying(exc: OperationalError | InterfaceError) -> None:
        logger.warning("Recording the end of task %s failed; retrying", task_id)

    return _with_back_off(
        partial(
            _finish_once,
            model,
            pk,
            task_id,
            status,
            using,
            error=error,
            report=report,
            log_file=log_file,
            untaken=untaken,
            unless_beating=unless_beating,
            beats=beats,
        ),
        using,
        retrying,
    )


def _finish_once(
    model: type[models.Model],
    pk: Any,
    task_id: str,
    status: str,
    using: str,
    *,
    error: str = "",
    report: dict[str, Any] | None = None,
    log_file: str | None = None,
    untaken: bool = False,
    unless_beating: bool = False,
    beats: tuple[datetime, ...] = (),
) -> bool:
    """One attempt of ``_finish`` (``using``: the database it writes to)."""
    values: dict[str, Any] = {
        "db_elements_status": status,
        "db_elements_end_time": database_now(using),
    }
    optional: dict[str, Any] = {
        "db_elements_error": error,
        "db_elements_cancel_requested": False,
    }
    if (
        report is not None
        and status != TaskStatus.COMPLETED
        and "catalogued_from" not in report
        and model_has_field(model, "db_elements_report")
    ):
        # A failed run changed nothing: the catalogue still reflects the
        # source the stored report names.
        stored = model._default_manager.using(using).filter(pk=pk)
        report = failed_report(
            report,
            next(iter(stored.values_list("db_elements_report", flat=True)), None),
        )
    if report is not None:
        optional["db_elements_report"] = report
    if report is not None and status == TaskStatus.COMPLETED:
        tables = report["tables"]
        done = tables["created"] + tables["updated"] + tables["unchanged"]
        optional["db_elements_progress_done"] = done
        optional["db_elements_progress_total"] = done
    elif status != TaskStatus.COMPLETED:
        # "333/1000 tables" of a run whose writes were rolled back would
        # pass for tables written.
        optional["db_elements_progress_done"] = None
        optional["db_elements_progress_total"] = None
    if log_file is not None:
        optional["db_elements_log_file"] = log_file
    values.update(present_fields(model, optional))
    mine = owned_rows(
        model, using, pk, task_id, () if untaken or unless_beating else beats
    )
    if model_has_field(model, "db_elements_heartbeat"):
        if untaken:
            # Or holding a heartbeat of the delivery's own take, written
            # though its answer was an error (``beats`` its attempts).
            mine = mine.filter(
                Q(db_elements_heartbeat__isnull=True)
                | Q(db_elements_heartbeat__in=beats)
            )
        elif unless_beating:
            window = timedelta(seconds=float(app_settings.HEARTBEAT_TIMEOUT_SECONDS))
            # Or holding a heartbeat of this delivery's own (``beats``).
            mine = mine.filter(
                Q(db_elements_heartbeat__isnull=True)
                | Q(db_elements_heartbeat__lt=database_now(using) - window)
                | Q(db_elements_heartbeat__in=beats)
            )
    return mine.update(**values) == 1


class AsyncDbElementsTask:
    """Harvest one database in a worker: tables, then columns, then relationships."""

    def __init__(
        self,
        sqldb_id: Any,
        task_id: str,
        *,
        workspace_id: Any = None,
        user_id: Any = None,
        force: bool = False,
        model: type[models.Model] | str | None = None,
    ) -> None:
        self.sqldb_id = sqldb_id
        self.task_id = task_id
        self.workspace_id = workspace_id
        self.user_id = user_id
        self.force = force
        self.model = _sqldb_model(model)
        #: Why this delivery was not run (``_take``).
        self._ignored = "not its current run"
        #: The name of this run's log file, once opened.
        self._log_name = ""
        #: Whether this delivery took the run (``_take``), and the heartbeat
        #: it wrote when it did.
        self._took = False
        self._taken_at: datetime | None = None
        #: The heartbeats this delivery's take tried to write: one whose
        #: answer was an error may have been written all the same.
        self._attempts: list[datetime] = []
        #: The run's heartbeat thread, once started.
        self._heartbeat: Heartbeat | None = None
        #: How the harvest ended, once it did: status and report.
        self._outcome: tuple[str, dict[str, Any]] | None = None

    def _take(self) -> models.Model | None:
        """The row, if this delivery may run it; None for a duplicate or late one.

        The row must be RUNNING under this task id. With a heartbeat field the
        take-over is one conditional UPDATE that succeeds only when no live
        worker beats for this run: a second delivery while the first runs is
        ignored, while a redelivery after a dead worker recovers the run.

        A redelivery can come before the dead worker's last beat is
        ``HEARTBEAT_TIMEOUT_SECONDS`` old (the broker's ``retry`` is shorter
        than the run's time plus that time-out). It then waits: a heartbeat
        that moves is a live worker's (ignored), one that goes stale a dead
        one's (taken over).
        """
        # On the database the claim wrote to: a replica may be behind.
        primary = router.db_for_write(self.model)
        mine = self.model._default_manager.using(primary).filter(
            pk=self.sqldb_id,
            db_elements_task_id=self.task_id,
            db_elements_status=TaskStatus.RUNNING,
        )
        if not model_has_field(self.model, "db_elements_heartbeat"):
            return mine.first()
        timeout = float(app_settings.HEARTBEAT_TIMEOUT_SECONDS)
        interval = float(app_settings.HEARTBEAT_INTERVAL_SECONDS)
        waited_since = time.monotonic()
        seen: Any = _UNSEEN
        # A heartbeat stands still while its run's sync writes (MySQL).
        idle = not_syncing(self.model(pk=self.sqldb_id))
        while True:
            now = database_now(primary)
            free = Q(db_elements_heartbeat__isnull=True) | (
                Q(db_elements_heartbeat__lt=now - timedelta(seconds=timeout)) & idle
            )
            if self._attempts:
                free |= Q(db_elements_heartbeat__in=self._attempts)
            self._attempts.append(now)
            # The run's log is named when it opens: not the previous run's.
            taken = present_fields(self.model, {"db_elements_log_file": ""})
            if mine.filter(free).update(db_elements_heartbeat=now, **taken) == 1:
                # The heartbeat is this delivery's now.
                self._took, self._taken_at = True, now
                return mine.filter(db_elements_heartbeat=now).first()
            beats = list(mine.values_list("db_elements_heartbeat", flat=True))
            if not beats:
                self._ignored = "not its current run"
                return None
            if seen is not _UNSEEN and beats[0] != seen:
                self._ignored = "its run is alive in another worker"
                return None
            if time.monotonic() - waited_since > timeout + interval:
                self._ignored = "its run still looks alive"
                return None
            if seen is _UNSEEN:
                logger.info(
                    "Task %s for SqlDb %s: its run looks alive; waiting for its "
                    "heartbeat to move (a live worker) or go stale (a dead one)",
                    self.task_id,
                    self.sqldb_id,
                )
            seen = beats[0]
            time.sleep(interval)

    def _take_retrying(self) -> models.Model | None:
        """``_take``, again with back-off (about 8 s in all) when the Django
        database is briefly unavailable (restarting, out of connections, a
        lock or statement time-out): the broker drops a job that fails here,
        and its row, claimed, would wait RUNNING for ``STALE_TIMEOUT_HOURS``.
        Still failing, the run ends FAILED, if that can be written."""

        def retrying(exc: OperationalError | InterfaceError) -> None:
            if self._took:
                raise exc  # its heartbeat is this delivery's: its end is recorded
            logger.warning(
                "Task %s for SqlDb %s: taking its run failed (%s); retrying",
                self.task_id,
                self.sqldb_id,
                scrub(str(exc)),
            )

        try:
            return _with_back_off(self._take, router.db_for_write(self.model), retrying)
        except (OperationalError, InterfaceError) as exc:
            if not self._took:
                self._fail_untaken(exc)
            raise

    def _fail_untaken(self, exc: BaseException) -> None:
        """End the run this delivery could not take FAILED, unless a worker
        took it meanwhile; logged, never raised, when that fails too."""
        error = scrub(
            f"Not started: the worker could not take the run: "
            f"{type(exc).__name__}: {exc}"
        )
        try:
            ended = _finish(
                self.model,
                self.sqldb_id,
                self.task_id,
                TaskStatus.FAILED,
                None,
                error=error,
                report={},
                log_file="",
                untaken=True,
                beats=tuple(self._attempts),
            )
        except Exception:
            logger.exception(
                "SqlDb %s: the end of its run cannot be recorded", self.sqldb_id
            )
            return
        if ended:
            logger.error("SqlDb %s: %s", self.sqldb_id, error)

    def _beats(self) -> tuple[datetime, ...]:
        """The heartbeats that show the row is still this delivery's run."""
        if self._heartbeat is not None:
            return self._heartbeat.beats()
        return (self._taken_at,) if self._taken_at is not None else ()

    def run(self) -> dict[str, Any]:
        """Run the harvest; returns the report as a dict (stored by the broker)."""
        try:
            sql_db = self._take_retrying()
        except Exception as exc:
            if self._took:  # its heartbeat is this delivery's: nobody else's
                self._record_end(exc, None)
            raise
        except BaseException as exc:
            # Stopped by the worker while waiting for a run's heartbeat to go
            # stale (django-q2's time-out is shorter than the wait): a run
            # nobody beats for ends FAILED, not RUNNING for good; one whose
            # heartbeat is still fresh may be a live worker's, and is left
            # to it (or to the stale rule, once its heartbeat is old) --
            # unless that heartbeat is this delivery's own.
            self._record_end(exc, None, unless_beating=not self._took)
            raise
        if sql_db is None:
            logger.warning(
                "Ignoring delivery of task %s for SqlDb %s: %s",
                self.task_id,
                self.sqldb_id,
                self._ignored,
            )
            return {
                "status": "ignored",
                "task_id": self.task_id,
                "sqldb_id": self.sqldb_id,
            }
        using = writes_to(sql_db)
        heartbeat = self._heartbeat = Heartbeat(
            self.model,
            sql_db.pk,
            self.task_id,
            using,
            taken_at=self._taken_at,
        )
        try:
            heartbeat.beat()  # a cancel requested while queued stops the run here
            heartbeat.start()
            return self._harvest(sql_db, heartbeat, using)
        except BaseException as exc:
            # The run's own failure out of the harvest's reach (its first
            # heartbeat's write, the recording of its end), or the worker
            # stopping it before the harvest could record it (while the URL
            # was built, the run log opened or its end written): recorded
            # here, as the harvest ended if it did. One the harvest recorded
            # is no longer RUNNING, and stays as it is.
            heartbeat.stop()
            self._record_end(exc, using, *secrets_of(sql_db))
            raise
        finally:
            # Whatever happens, the row stops looking alive: a failure that
            # could not even be recorded is then found stale and recovered.
            heartbeat.stop()

    def _record_end(
        self,
        exc: BaseException,
        using: str | None,
        *secrets: str,
        unless_beating: bool = False,
    ) -> None:
        """Record this run's end after ``exc`` escaped it: an error out of
        the harvest's reach (its first heartbeat's write, the recording of
        its end), or the worker stopping it (django-q2's time-out, a
        shutdown, Ctrl-C). As its harvest ended, if it did (``_outcome``: a
        committed harvest is COMPLETED, with its report); else FAILED, "The
        run failed: ..." with a report saying so, or "Stopped by the worker:
        ..." with none (the previous run's must not pass for its). With its
        own log file, if it opened one. Only if the row is still this run's
        RUNNING one; left to the stale rule when it cannot be written."""
        stopped = not isinstance(exc, Exception)
        if self._outcome is not None:
            status, report = self._outcome
            error = str(report.get("error", ""))
        elif stopped:
            status, report = TaskStatus.FAILED, {}
            error = scrub(_stopped(exc), secrets)
        else:
            status = TaskStatus.FAILED
            error = scrub(f"The run failed: {type(exc).__name__}: {exc}", secrets)
            report = HarvestReport(
                sqldb_id=self.sqldb_id, status="failed", error=error
            ).to_dict()
        try:
            recorded = _finish(
                self.model,
                self.sqldb_id,
                self.task_id,
                status,
                using,
                error=error,
                report=report,
                log_file=self._log_name,
                unless_beating=unless_beating,
                beats=tuple(self._attempts) if unless_beating else self._beats(),
            )
        except Exception:
            logger.exception(
                "SqlDb %s: the end of its run cannot be recorded", self.sqldb_id
            )
            return
        if not recorded:
            if not stopped:
                # Its end was recorded before (or the row is no longer its own).
                logger.warning(
                    "SqlDb %s: its run raised %s after its end was recorded",
                    self.sqldb_id,
                    type(exc).__name__,
                    exc_info=exc,
                )
            return
        if self._outcome is None:
            logger.error(
                "SqlDb %s: %s", self.sqldb_id, error, exc_info=None if stopped else exc
            )
        else:
            logger.warning(
                "SqlDb %s: the end of its run was not recorded at first (%s: %s); "
                "recorded %s",
                self.sqldb_id,
                type(exc).__name__,
                scrub(str(exc), secrets),
                status,
            )

    def _harvest(
        self, sql_db: models.Model, heartbeat: Heartbeat, using: str
    ) -> dict[str, Any]:
        secrets = secrets_of(sql_db)
        #: The last run's report: what the catalogue was harvested from.
        previous = getattr(sql_db, "db_elements_report", None)
        started = datetime.now()
        report = HarvestReport(sqldb_id=sql_db.pk, forced=self.force)
        url: URL | None = None
        try:
            # Named in the report even when the run fails before reading.
            url = get_url(sql_db)
            report.database, report.dialect = describe(url), url.get_backend_name()
            secrets = secrets_of(sql_db, url)
        except Exception:  # the harvest below meets it again, and records it
            pass
        status, error = TaskStatus.FAILED, ""
        stopped_by: BaseException | None = None
        clock = time.monotonic()
        opened = ExitStack()
        try:
            run_log = opened.enter_context(
                open_run_log(
                    sql_db.pk,
                    self.workspace_id,
                    started=started,
                    secrets=secrets,
                    model_label=log_label(self.model),
                )
            )
        except Exception as exc:
            error = scrub(f"Cannot open the run log: {exc}", secrets)
            logger.error("SqlDb %s: %s", sql_db.pk, error)
            report.status, report.error = "failed", error
            self._outcome = (status, report.to_dict())
            heartbeat.stop()  # a stop that lands here records this end
            _finish(
                self.model,
                sql_db.pk,
                self.task_id,
                status,
                using,
                error=error,
                report=self._outcome[1],
                log_file="",  # none of this run's
                beats=heartbeat.beats(),
            )
            return self._outcome[1]
        with opened:
            self._log_name = run_log.path.name
            _note_log_file(heartbeat, self._log_name)
            log = run_log.logger
            log.info(
                "Starting database elements creation for SqlDb %s (%s)",
                sql_db.pk,
                sql_db,
            )
            log.info(
                "Task %s, workspace %s, user %s, worker pid %s on %s",
                self.task_id,
                self.workspace_id,
                self.user_id,
                os.getpid(),
                socket.gethostname(),
            )

            def checkpoint(done: int, total: int) -> None:
                heartbeat.done, heartbeat.total = done, total
                if _beats_here(heartbeat.using) and not heartbeat.stop_reason:
                    # SQLite: the sync holds the write lock the heartbeat
                    # thread waits for, however long it lasts. A beat in
                    # the sync's transaction commits with it, so a start
                    # that saw the heartbeat go stale, waiting for the
                    # lock meanwhile, finds the run alive when it gets it.
                    heartbeat.beat(in_transaction=True)
                elif done == 0 and not heartbeat.stop_reason:
                    # Before reading, before syncing, before writing: a
                    # cancel sent since the last beat stops the run here.
                    heartbeat.check()
                if heartbeat.stop_reason:
                    raise HarvestCancelledError(heartbeat.stop_reason)

            written: list[HarvestReport] = []

            def wrote(done: HarvestReport) -> None:
                # From here on the run is COMPLETED, whatever comes after:
                # an error in what is left to log, a stop (a cancel is too
                # late to undo it). Inside a caller's transaction the
                # catalogue, and the run's end, commit with it.
                written.append(done)
                self._outcome = (
                    TaskStatus.COMPLETED,
                    _final(
                        done,
                        TaskStatus.COMPLETED,
                        "",
                        secrets,
                        time.monotonic() - clock,
                        previous,
                    ),
                )

            try:
                try:
                    checkpoint(0, 0)
                    # Built above, unless that failed: then it fails here
                    # again, and is recorded.
                    with writing_for(self.task_id):
                        report = create_db_elements(
                            sql_db,
                            force=self.force,
                            checkpoint=checkpoint,
                            log=log,
                            url=url,
                            written=wrote,
                        )
                    status = TaskStatus.COMPLETED
                except HarvestCancelledError as exc:
                    error = str(exc) or CANCELLED
                    if not written:
                        log.warning(
                            "Stopped: %s; the catalogue was left as it was", error
                        )
                except DbElementsError as exc:
                    error = redact(str(exc), *secrets)
                    if not written:
                        log.error("Failed: %s", error)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {redact(str(exc), *secrets)}"
                    if not written:
                        log.exception("Failed with an unexpected error: %s", error)
                except BaseException as exc:
                    # The worker stopping the task: django-q2's time-out
                    # (its TimeoutException is a SystemExit), a shutdown.
                    # Recorded below, then let through to the worker.
                    stopped_by = exc
                    error = redact(_stopped(exc), *secrets)
                    if not written:
                        log.error("%s; the catalogue was left as it was", error)
                if written and status != TaskStatus.COMPLETED:
                    log.warning(
                        "After the catalogue was written: %s; the run is complete",
                        error,
                    )
                    report, status, error = written[0], TaskStatus.COMPLETED, ""
                # Known before the heartbeat thread is joined: a stop that
                # lands there records this end, not one of its own.
                self._outcome = (
                    status,
                    _final(
                        report,
                        status,
                        error,
                        secrets,
                        time.monotonic() - clock,
                        previous,
                    ),
                )
            finally:
                heartbeat.stop()
            try:
                recorded = _finish(
                    self.model,
                    sql_db.pk,
                    self.task_id,
                    status,
                    using,
                    error=report.error,
                    report=self._outcome[1],
                    log_file=run_log.path.name,
                    beats=heartbeat.beats(),
                )
            except Exception as lost:
                if stopped_by is None:
                    raise
                # The worker's stop goes on (the caller records the end
                # again): a database error must not pass for the reason.
                logger.warning(
                    "SqlDb %s: recording the end of its run failed (%s: %s)",
                    sql_db.pk,
                    type(lost).__name__,
                    scrub(str(lost), secrets),
                )
                raise stopped_by from None
            if recorded:
                log.info(
                    "Finished with status %s in %.1f s",
                    status,
                    self._outcome[1]["duration_seconds"],
                )
            else:
                log.warning(
                    "Finished as %s, but the row was reset or deleted meanwhile: not recorded",
                    status,
                )
        _tidy_logs(self.model, sql_db.pk, using, run_log.path, recorded)
        if stopped_by is not None:
            raise stopped_by
        return report.to_dict()


def _beats_here(using: str) -> bool:
    """Whether the calling thread's connection to ``using`` is in a
    transaction on SQLite: the sync's (or a caller's), which holds the
    write lock the heartbeat thread would wait for."""
    connection = connections[using]
    return connection.vendor == "sqlite" and connection.in_atomic_block


def _note_log_file(heartbeat: Heartbeat, name: str) -> None:
    """Name the run's log file on its row as soon as it is open: a run that
    dies names its own log, not the previous run's. Not worth failing the
    run for: a failure is logged, and the end writes the name again."""
    if not model_has_field(heartbeat.model, "db_elements_log_file"):
        return
    try:
        heartbeat.write(db_elements_log_file=name)
    except DatabaseError:
        logger.warning(
            "SqlDb %s: naming its run's log file failed", heartbeat.pk, exc_info=True
        )


def _final(
    report: HarvestReport,
    status: str,
    error: str,
    secrets: tuple[str, ...],
    duration: float,
    previous: object,
) -> dict[str, Any]:
    """What a run records as its report: ``report`` with its ``status``,
    ``error``, and its texts cleared of ``secrets`` (a table's failure is
    a driver's text too), plus ``catalogued_from``: the database and schema
    the catalogue reflects, carried over from the ``previous`` report by a
    failed run, as are the harvested relationships."""
    report.status = "completed" if status == TaskStatus.COMPLETED else "failed"
    report.error = scrub(error, secrets)
    report.failed_tables = [
        {**failure, "error": scrub(failure.get("error", ""), secrets)}
        for failure in report.failed_tables
    ]
    report.duration_seconds = duration
    data = report.to_dict()
    if report.status != "completed":
        # Nothing changed: the relationships made before are still those.
        data = failed_report(data, previous)
    data["catalogued_from"] = catalogued_from(data, previous)
    return data


def _tidy_logs(
    model: type[models.Model], pk: Any, using: str, current: Path, recorded: bool
) -> None:
    """After a run: a row deleted meanwhile loses its run logs, this run's
    too (the deletion's own clean-up may have come before this file
    existed); any other keeps the ``RUN_LOGS_KEPT`` newest (all when
    unset), this run's among them. The run is over: a failure here is
    only logged."""
    label = log_label(model)
    try:
        if (
            not recorded
            and not model._default_manager.using(using).filter(pk=pk).exists()
        ):
            remove_run_logs([pk], label)
            return
        keep = app_settings.RUN_LOGS_KEPT
        if keep is not None:
            prune_run_logs(pk, label, keep=int(keep), spare=current)
    except Exception:
        logger.exception("SqlDb %s: could not tidy the run logs", pk)


def run_db_elements_task(
    sqldb_id: Any,
    task_id: str,
    *,
    workspace_id: Any = None,
    user_id: Any = None,
    force: bool = False,
    model: str | None = None,
) -> dict[str, Any]:
    """Worker entry point (plain arguments only): run ``AsyncDbElementsTask``."""
    return AsyncDbElementsTask(
        sqldb_id,
        task_id,
        workspace_id=workspace_id,
        user_id=user_id,
        force=force,
        model=model,
    ).run()
