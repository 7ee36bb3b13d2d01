"""The synchronous harvest: connect, read a snapshot, sync the catalogue.

``create_db_elements(sql_db)`` is the programmatic API; the background task
and the management command are built on it. It does not touch the status
fields: claiming and status belong to ``tasks``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import models
from sqlalchemy.engine import URL

from .catalogue import Catalogue, catalogue_for
from .conf import app_settings
from .connection import (
    comparable_label,
    describe,
    get_url,
    secrets_of,
    source_connection,
)
from .exceptions import ConfigurationError
from .introspection.reader import read_schema
from .introspection.snapshot import SchemaSnapshot
from .persistence import Checkpoint, sync_snapshot
from .report import HarvestReport, stored_source

__all__ = ["create_db_elements", "read_snapshot"]

logger = logging.getLogger(__name__)

#: Names of deleted annotated rows written to the log (the report has all).
_SHOWN = 20


def read_snapshot(sql_db: models.Model) -> SchemaSnapshot:
    """Read ``sql_db``'s schema into a snapshot (no catalogue write)."""
    with source_connection(sql_db) as connection:
        return read_schema(
            connection, _schema_of(sql_db), include_views=app_settings.INCLUDE_VIEWS
        )


def _schema_of(sql_db: models.Model) -> str | None:
    """The schema ``sql_db`` names, exactly as written (a name may hold
    blanks); None, the connection's own, when it names none."""
    schema = str(getattr(sql_db, "schema", "") or "")
    return schema if schema.strip() else None


def create_db_elements(
    sql_db: models.Model,
    *,
    force: bool = False,
    checkpoint: Checkpoint | None = None,
    catalogue: Catalogue | None = None,
    log: logging.Logger | None = None,
    url: URL | None = None,
    written: Callable[[HarvestReport], None] | None = None,
) -> HarvestReport:
    """Harvest ``sql_db`` into its catalogue and return the report.

    Tables, then columns, then foreign keys, in one catalogue transaction.
    Raises a ``DbElementsError`` subclass (``ConnectionFailedError``,
    ``SchemaNotFoundError``, ``DeletionThresholdError``, ...) when the run
    cannot complete; the catalogue is then unchanged. ``url``: the
    connection URL, when the caller has built it already (``get_url``, which
    calls the ``URL_BUILDER`` hook: a vault is asked once).
    ``written``: called with the report as soon as the catalogue is
    written (see ``sync_snapshot``).
    """
    if sql_db.pk is None:
        raise ConfigurationError(
            f"{type(sql_db).__name__} {sql_db} is not saved: save it before "
            "harvesting (its catalogue rows refer to it)."
        )
    log = log or logger
    started = time.monotonic()
    url = get_url(sql_db) if url is None else url
    report = HarvestReport(sqldb_id=sql_db.pk, database=describe(url), forced=force)
    log.info("Reading schema of %s", report.database)
    with source_connection(sql_db, url) as connection:
        snapshot = read_schema(
            connection, _schema_of(sql_db), include_views=app_settings.INCLUDE_VIEWS
        )
    report.dialect, report.schema = snapshot.dialect, snapshot.schema
    _log_snapshot(log, snapshot)
    _warn_of_another_source(log, sql_db, report)
    sync_snapshot(
        sql_db,
        snapshot,
        catalogue or catalogue_for(sql_db),
        report,
        force=force,
        checkpoint=checkpoint,
        log=log,
        secrets=secrets_of(sql_db, url),
        written=written,
    )
    report.duration_seconds = time.monotonic() - started
    _log_counts(log, report)
    return report


def _warn_of_another_source(
    log: logging.Logger, sql_db: models.Model, report: HarvestReport
) -> None:
    """Warn when this run reads another database or schema than the one
    the catalogue was last harvested from (``catalogued_from`` of the row's
    stored report): tables are matched by name, so a table of the same name
    takes over the other's rows and annotations."""
    last = stored_source(getattr(sql_db, "db_elements_report", None))
    if last is None:
        return
    before = (str(last.get("database") or ""), str(last.get("schema") or ""))
    now = (report.database, report.schema or "")
    compared = zip(
        (comparable_label(before[0]), before[1]),
        (comparable_label(now[0]), now[1]),
        strict=True,
    )
    if not any(b and n and b != n for b, n in compared):
        return
    log.warning(
        "This run reads schema %s of %s; the catalogue was last harvested from "
        "schema %s of %s. Tables are matched by name: a table of the same name "
        "keeps the annotations written for the other one",
        _quoted(now[1]),
        _quoted(now[0]),
        _quoted(before[1]),
        _quoted(before[0]),
    )


def _quoted(name: str) -> str:
    """``name`` as a JSON string: a name can hold anything, a line break or
    a comma too."""
    return json.dumps(name, ensure_ascii=False)


def _log_snapshot(log: logging.Logger, snapshot: SchemaSnapshot) -> None:
    columns = sum(len(t.columns) for t in snapshot.tables)
    keys = sum(len(t.foreign_keys) for t in snapshot.tables)
    log.info(
        "Read %d tables, %d columns, %d foreign keys from schema %s",
        len(snapshot.tables),
        columns,
        keys,
        snapshot.schema,
    )
    for failure in snapshot.failures:
        log.error(
            "Table %s could not be read: %s", _quoted(failure.name), failure.error
        )


def _log_counts(log: logging.Logger, report: HarvestReport) -> None:
    for kind in ("tables", "columns", "relationships"):
        counts: Any = getattr(report, kind)
        log.info(
            "%s: %d created, %d updated, %d deleted, %d unchanged",
            kind.capitalize(),
            counts.created,
            counts.updated,
            counts.deleted,
            counts.unchanged,
        )
    if report.duplicates_removed:
        log.info("Removed %d duplicate catalogue rows", report.duplicates_removed)
    if report.annotated_deleted:
        shown = report.annotated_deleted[:_SHOWN]
        more = len(report.annotated_deleted) - len(shown)
        log.warning(
            "Deleted with their annotations, gone from the database: %s%s",
            ", ".join(map(_quoted, shown)),
            f" and {more} more" if more else "",
        )
    if report.deletions_skipped:
        log.warning(
            "Some tables could not be read, or the user may not see them all: "
            "nothing was deleted this run"
        )
