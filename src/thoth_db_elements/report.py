"""The run report: what a harvest created, updated, deleted and left alone."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "HarvestReport",
    "KindCounts",
    "catalogued_from",
    "failed_report",
    "stored_source",
]


@dataclass(slots=True)
class KindCounts:
    """Row counts of one kind of catalogue row (tables, columns, relationships)."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Rows of this kind in the catalogue after the run."""
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class HarvestReport:
    """JSON-serialisable outcome of one harvest (see ``to_dict``)."""

    sqldb_id: Any
    database: str = ""
    dialect: str = ""
    schema: str | None = None
    status: str = "completed"
    error: str = ""
    forced: bool = False
    tables: KindCounts = field(default_factory=KindCounts)
    columns: KindCounts = field(default_factory=KindCounts)
    relationships: KindCounts = field(default_factory=KindCounts)
    duplicates_removed: int = 0
    failed_tables: list[dict[str, str]] = field(default_factory=list)
    deletions_skipped: bool = False
    #: Deleted tables (``table``) and columns (``table.column``), gone from
    #: the database, whose annotations went with them (a description, a
    #: generated comment, a value description, a column name of its own).
    annotated_deleted: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the run completed."""
        return self.status == "completed"

    @property
    def writes(self) -> int:
        """Catalogue rows created, updated or deleted."""
        kinds = (self.tables, self.columns, self.relationships)
        return (
            sum(k.created + k.updated + k.deleted for k in kinds)
            + self.duplicates_removed
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict, ready for ``json.dumps`` and a ``JSONField``."""
        data = asdict(self)
        data["sqldb_id"] = (
            self.sqldb_id
            if isinstance(self.sqldb_id, int | str)
            else str(self.sqldb_id)
        )
        data["duration_seconds"] = round(self.duration_seconds, 3)
        return data


def catalogued_from(report: dict[str, Any], previous: object) -> dict[str, Any] | None:
    """The database and schema the catalogue reflects after the run whose
    stored ``report`` this is: its own when it completed, else what the
    ``previous`` stored report said (a failed run changes nothing)."""
    if report.get("status") == "completed":
        return _source(report)
    return stored_source(previous)


def stored_source(stored: object) -> dict[str, Any] | None:
    """The source a row's ``stored`` report says its catalogue reflects:
    its ``catalogued_from``, else, for a completed report stored before the
    key existed, what it read."""
    if not isinstance(stored, dict):
        return None
    kept = stored.get("catalogued_from")
    if isinstance(kept, dict):
        return kept
    return _source(stored) if stored.get("status") == "completed" else None


def _source(report: dict[str, Any]) -> dict[str, Any] | None:
    """The database and schema a completed ``report`` read (None when it
    names no database)."""
    if not report.get("database"):
        return None
    return {"database": report.get("database"), "schema": report.get("schema")}


def failed_report(report: dict[str, Any], previous: object) -> dict[str, Any]:
    """``report``, the stored report of a run that failed, with the
    ``catalogued_from`` of the ``previous`` stored report (unless it has
    one): a failed run changed nothing, the catalogue still reflects it."""
    if "catalogued_from" in report:
        return report
    source = stored_source(previous)
    return report if source is None else {**report, "catalogued_from": source}
