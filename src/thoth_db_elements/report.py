"""The run report: what a harvest created, updated, deleted and left alone."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "HARVESTED",
    "HarvestReport",
    "KeyRanges",
    "KindCounts",
    "catalogued_from",
    "decode_keys",
    "encode_keys",
    "failed_report",
    "stored_harvest",
    "stored_source",
]

#: The stored report's key for the relationships the harvest made from the
#: database's foreign keys (their keys, ``encode_keys``). Any other
#: relationship was added by hand (ThothAI's "Associate candidates FK to
#: PK", say) and no run deletes it.
HARVESTED = "relationships_harvested"


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
    #: The keys of the relationships the catalogue holds for the
    #: database's foreign keys after the run (``encode_keys``); None where
    #: the ``SqlDb`` model keeps no report to remember them in.
    relationships_harvested: str | None = None

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
    one) and its harvested relationships: a failed run changed nothing,
    the catalogue still reflects them."""
    report = {k: v for k, v in report.items() if k != HARVESTED}
    kept = stored_harvest(previous)
    if kept is not None:
        report[HARVESTED] = kept
    if "catalogued_from" in report:
        return report
    source = stored_source(previous)
    return report if source is None else {**report, "catalogued_from": source}


def stored_harvest(stored: object) -> str | None:
    """The harvested relationships a row's ``stored`` report keeps, as
    stored (None: none recorded)."""
    if not isinstance(stored, dict):
        return None
    kept = stored.get(HARVESTED)
    return kept if isinstance(kept, str) else None


def encode_keys(keys: Iterable[Any]) -> str | None:
    """Integer keys as sorted ranges, ``"1-40,45,47-48"`` (a bulk insert's
    keys follow each other: a thousand relationships take a few
    characters). None for keys of another kind, which are not recorded."""
    ordered = sorted(set(keys))
    if not all(type(k) is int and k >= 0 for k in ordered):
        return None
    parts: list[str] = []
    start = end = None
    for key in ordered:
        if end is not None and key == end + 1:
            end = key
            continue
        if start is not None:
            parts.append(str(start) if start == end else f"{start}-{end}")
        start = end = key
    if start is not None:
        parts.append(str(start) if start == end else f"{start}-{end}")
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class KeyRanges:
    """Keys as ``encode_keys`` wrote them: ``key in ranges``."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def __contains__(self, key: object) -> bool:
        if type(key) is not int:
            return False
        at = bisect_right(self.starts, key) - 1
        return at >= 0 and key <= self.ends[at]


def decode_keys(text: str | None) -> KeyRanges | None:
    """The keys ``encode_keys`` wrote; None for no text, or text it did not
    write (nothing is then known to be harvested)."""
    if text is None:
        return None
    pairs: list[tuple[int, int]] = []
    try:
        for part in filter(None, text.split(",")):
            first, dash, last = part.partition("-")
            pairs.append((int(first), int(last) if dash else int(first)))
    except ValueError:
        return None
    pairs.sort()
    return KeyRanges(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
