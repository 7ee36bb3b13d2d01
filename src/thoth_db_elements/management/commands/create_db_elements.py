"""``manage.py create_db_elements``: harvest databases from the command line.

By default each database is claimed and queued on the configured runner,
exactly as the admin action does. ``--sync`` runs the harvests in this
process (a progress bar on a terminal), ``--json`` prints the reports, and
the exit status is non-zero when a run failed or nothing could start.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, router

from thoth_db_elements._fields import key_of, model_has_field
from thoth_db_elements.catalogue import get_catalogue
from thoth_db_elements.exceptions import DbElementsError
from thoth_db_elements.logging import printable
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import start_db_elements_creation
from thoth_db_elements.validation import is_queued


class Terminated(KeyboardInterrupt):
    """SIGTERM while ``--sync`` runs, raised as Ctrl-C is: the run going on
    records its end ("Stopped by the worker: terminated (SIGTERM)") and the
    databases not started yet end FAILED ("Not started: interrupted"),
    rather than RUNNING with nothing to run them."""

    def __str__(self) -> str:
        return "terminated (SIGTERM)"


#: The exit status of a process stopped by SIGTERM (128 + 15).
TERMINATED = 143


#: Seconds after which a SIGTERM whose ``Terminated`` was lost (raised in a
#: finalizer or a callback, where Python only prints it) is sent again.
_AGAIN = 0.2


def _terminating(exc: BaseException | None) -> bool:
    """Whether a ``Terminated`` is being handled: ``exc`` (the exception
    being handled) or one it was raised while handling."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Terminated):
            return True
        seen.add(id(exc))
        exc = exc.__context__
    return False


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (what ``timeout``, systemd, Kubernetes and CI send) raises
    ``Terminated`` while inside. One that lands while a ``Terminated`` is
    being handled (its clean-up ends the other databases) is ignored. Python
    only prints an exception raised in a finalizer or a callback, which a
    signal's handler can land in: SIGTERM is then sent again, until one is
    raised where it counts. Only where SIGTERM has its default action (which
    ends the process with no clean-up), in the main thread (where Python
    runs signal handlers): a handler of the host's, or one installed outside
    Python, is left as it is."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    again: list[threading.Timer] = []
    restoring = False

    def terminate(signum: int, frame: FrameType | None) -> None:
        if _terminating(sys.exc_info()[1]):
            return
        if not restoring:
            timer = threading.Timer(_AGAIN, os.kill, (os.getpid(), signal.SIGTERM))
            timer.daemon = True
            again.append(timer)
            timer.start()
        raise Terminated

    try:
        signal.signal(signal.SIGTERM, terminate)
        yield
    finally:
        # No SIGTERM is sent again from here on, and none sent before is
        # left to land once SIGTERM ends the process again. ``signal.signal``
        # runs a handler due before it changes anything: a SIGTERM (or a
        # Ctrl-C) landing here is raised again once SIGTERM is put back.
        restoring = True
        landed: BaseException | None = None
        while True:
            try:
                for timer in again:
                    timer.cancel()
                    timer.join()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                break
            except BaseException as exc:
                landed = landed or exc
        if landed is not None:
            raise landed


#: The status shown for a database whose row was deleted while it ran.
DELETED = "DELETED"


class Command(BaseCommand):
    help = (
        "Create the database elements (tables, columns, relationships) of SqlDb rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("databases", nargs="*", help="SqlDb ids or names.")
        parser.add_argument("--all", action="store_true", help="Every SqlDb row.")
        parser.add_argument(
            "--sync", action="store_true", help="Run here, not on the queue."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print reports as JSON."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow a run to delete more of the catalogue than DELETE_THRESHOLD.",
        )
        parser.add_argument("--workspace", default=None, help="Workspace id to log.")

    def _select(
        self, model: type[models.Model], options: dict[str, Any]
    ) -> list[models.Model]:
        manager = model._default_manager
        if options["all"] and options["databases"]:
            raise CommandError(
                "Name databases or use --all, not both: "
                f"{' '.join(map(str, options['databases']))} and --all."
            )
        if options["all"]:
            return list(manager.order_by("pk"))
        if not options["databases"]:
            raise CommandError("Name at least one database (id or name), or use --all.")
        rows: list[models.Model] = []
        for ref in options["databases"]:
            key = key_of(model, ref)
            query = manager.none() if key is None else manager.filter(pk=key)
            if model_has_name(model):
                query = query | manager.filter(name=ref)
            found = list(query)
            if not found:
                raise CommandError(f"No database with id or name {ref!r}.")
            rows.extend(r for r in found if r not in rows)
        return rows

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            model = get_catalogue().sqldb
        except DbElementsError as exc:
            raise CommandError(str(exc)) from exc
        rows = self._select(model, options)
        if not rows:  # --all on a catalogue without databases
            self.stderr.write("No databases to harvest.")
            if options["json"]:
                self.stdout.write("[]")
            return
        runner = ImmediateRunner() if options["sync"] else None
        bar = None
        if options["sync"] and self.stderr.isatty() and not options["json"]:
            bar = ProgressBar(model, [r.pk for r in rows], self.stderr)
            bar.start()
        try:
            with _terminate_as_interrupt() if options["sync"] else nullcontext():
                result = start_db_elements_creation(
                    rows,
                    workspace_id=options["workspace"],
                    force=options["force"],
                    runner=runner,
                )
        except Terminated as exc:
            raise CommandError(
                f"Stopped: {exc}; see each database's status.", returncode=TERMINATED
            ) from exc
        finally:
            if bar is not None:
                bar.stop()
        for skipped in result.skipped:
            self.stderr.write(
                printable(f"Skipped {skipped.name}: {skipped.reason}", one_line=True)
            )
        for refused in result.refused:
            self.stderr.write(
                printable(f"Not queued {refused.name}: {refused.reason}", one_line=True)
            )
        failed = bool(result.refused) or (bool(result.skipped) and not result.started)
        reports: list[dict[str, Any]] = []
        refusals = {r.sqldb_id: r.reason for r in result.refused}
        for started in result.started:
            # Where the run wrote it: a read replica may be behind.
            row = (
                model._default_manager.using(router.db_for_write(model))
                .filter(pk=started.sqldb_id)
                .first()
            )
            entry: dict[str, Any] = {
                "sqldb_id": started.sqldb_id,
                "name": started.name,
                "task_id": started.task_id,
                "status": DELETED,
                "report": {},
            }
            if row is None:  # deleted meanwhile: its run's end went with it
                entry["reason"] = "Deleted while it ran"
            else:
                entry["status"] = row.db_elements_status  # type: ignore[attr-defined]
                entry["report"] = _own_report(row, started.task_id)
            if started.sqldb_id in refusals:
                entry["reason"] = refusals[started.sqldb_id]
            reports.append(entry)
            status, report = entry["status"], entry["report"]
            if options["sync"] and status != "COMPLETED":
                failed = True
            if not options["json"]:
                shown = f"{status}, queued" if row and is_queued(row) else status
                self.stdout.write(
                    printable(
                        self._summary(started.name, started.task_id, shown, report),
                        one_line=True,
                    )
                )
        if options["json"]:
            reports.extend(
                {
                    "sqldb_id": skipped.sqldb_id,
                    "name": skipped.name,
                    "task_id": None,
                    "status": "SKIPPED",
                    "report": {},
                    "reason": skipped.reason,
                }
                for skipped in result.skipped
            )
            self.stdout.write(json.dumps(reports, indent=2, default=str))
        if failed:
            raise CommandError(
                "At least one database failed or could not start.", returncode=1
            )

    @staticmethod
    def _summary(name: str, task_id: str, status: str, report: dict[str, Any]) -> str:
        if "tables" not in report:  # none yet, or only where it came from
            return f"{name}: {status} (task {task_id})"
        parts = [
            f"{kind} {report[kind]['created']}+ {report[kind]['updated']}~ {report[kind]['deleted']}-"
            for kind in ("tables", "columns", "relationships")
        ]
        error = f" - {report['error']}" if report.get("error") else ""
        return f"{name}: {status} (task {task_id}) {', '.join(parts)}{error}"


def _own_report(row: Any, task_id: str) -> dict[str, Any]:
    """The report of run ``task_id`` on ``row``; empty while that run has
    not ended (the row still holds the previous run's report) or when the
    row has moved on to another run."""
    if (
        row.db_elements_task_id != task_id
        or row.db_elements_status == TaskStatus.RUNNING
    ):
        return {}
    return dict(getattr(row, "db_elements_report", None) or {})


class ProgressBar(threading.Thread):
    """Draws "[#####     ] 12/40 tables" on a terminal while --sync runs."""

    def __init__(self, model: type[models.Model], ids: list[Any], out: Any) -> None:
        super().__init__(daemon=True)
        self.model, self.ids, self.out = model, ids, out
        self._stop_event = threading.Event()

    def run(self) -> None:
        fields = ("name", "db_elements_progress_done", "db_elements_progress_total")
        if not all(model_has_field(self.model, f) for f in fields[1:]):
            return
        try:
            while not self._stop_event.wait(0.5):
                row = (
                    self.model._default_manager.filter(
                        pk__in=self.ids, db_elements_status="RUNNING"
                    )
                    .values_list(*fields)
                    .first()
                )
                if row and row[2]:
                    name, done, total = row
                    filled = int(30 * (done or 0) / total)
                    bar = "#" * filled + " " * (30 - filled)
                    self.out.write(
                        "\r"
                        + printable(
                            f"{name}: [{bar}] {done}/{total} tables", one_line=True
                        ),
                        ending="",
                    )
                    self.out.flush()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.out.write("")


def model_has_name(model: type[models.Model]) -> bool:
    """Whether the SqlDb model has a ``name`` field to select by."""
    return any(f.name == "name" for f in model._meta.get_fields())
