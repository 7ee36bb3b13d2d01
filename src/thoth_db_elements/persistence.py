"""Write a ``SchemaSnapshot`` into the host's catalogue models (Django ORM only).

The sync matches rows on natural keys (table name within the ``SqlDb``,
column name within the table), creates what is new, updates what changed,
deletes what is gone, and never overwrites what people or an LLM wrote:

* ``description``/``generated_comment`` on tables, ``column_name``,
  ``column_description``, ``generated_comment`` and ``value_description`` on
  columns are annotations. A database comment goes to a ``db_comment`` field
  where the model has one; otherwise it only fills an empty description.
* ``pk_field`` (``"PK"`` or ``""``) and ``fk_field`` (``"table.column, ..."``)
  are derived from the snapshot for this database only; stale values are
  cleared.
* Deletions happen only after a complete read and are refused when they would
  remove more than ``DELETE_THRESHOLD`` of the tables or columns, unless
  ``force`` is given.
* Duplicate rows left by older tools are merged (annotations kept) and removed.

Everything runs in one transaction with bulk statements, so the number of
queries does not grow with the number of tables (beyond batch splitting).
"""

from __future__ import annotations

import json
import logging
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

from django.db import DatabaseError, connections, models, transaction
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Q,
    TextField,
    Value,
    When,
)

from ._bulk import (
    delete_keys,
    deletes_by_key,
    fetch_values,
    in_lists,
    insert_values,
    inserted_fields,
    rows_a_statement,
    sized_batches,
    text_budget,
    update_values,
)
from ._catalogue_lock import catalogue_transaction, sync_lock_name
from ._fields import model_has_field, writes_to
from ._fitting import (
    NUL_REPLACEMENT,
    char_limits,
    fit,
    fit_to_catalogue,
    value_cutter,
    without_nul,
)
from ._gc import collector_paused
from ._secrets import WITHHELD, hide
from .catalogue import Catalogue
from .conf import app_settings
from .exceptions import DeletionThresholdError
from .introspection.snapshot import (
    SchemaSnapshot,
    TableSnapshot,
)
from .report import (
    HARVESTED,
    HarvestReport,
    KeyRanges,
    decode_keys,
    encode_keys,
    stored_harvest,
)

__all__ = [
    "COLUMN_ANNOTATIONS",
    "NUL_REPLACEMENT",
    "TABLE_ANNOTATIONS",
    "Checkpoint",
    "derive_fk_fields",
    "fit_to_catalogue",
    "sync_lock_name",
    "sync_snapshot",
    "without_nul",
]

logger = logging.getLogger(__name__)

#: Called between steps with (tables done, tables in total); may raise
#: ``HarvestCancelledError`` to abandon the run (the transaction rolls back).
#: Called as ``checkpoint(done, total)`` through a sync; raising aborts it
#: and rolls it back. ``done`` is 0 where the sync starts (before its
#: transaction) and again just before it writes (inside it): the places to
#: check for a cancel that must stop the run.
Checkpoint = Callable[[int, int], None]

TABLE_ANNOTATIONS: tuple[str, ...] = ("description", "generated_comment")
COLUMN_ANNOTATIONS: tuple[str, ...] = (
    "column_name",
    "column_description",
    "generated_comment",
    "value_description",
)

#: Optional metadata fields, written when the model has them.
_TABLE_METADATA = ("db_comment", "is_view")
_COLUMN_METADATA = (
    "data_type",
    "is_nullable",
    "default_value",
    "db_comment",
    "ordinal_position",
)

_EMPTY = "_thoth_empty"


def _picker(positions: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A function picking ``positions`` out of a tuple, as a tuple."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    if positions:
        (position,) = positions
        return lambda values: (values[position],)
    return lambda _values: ()


class _Row(SimpleNamespace):
    """A catalogue row as loaded for the sync: plain values, no model instance.

    Loading tens of thousands of rows as model instances costs more than
    reading the schema; rows that change become instances only to be saved.
    """


#: A catalogue column as loaded for the sync, a plain tuple: id, table id,
#: ``original_column_name``, the values the sync writes (in
#: ``_Sync.update_fields`` order) and, when descriptions are filled from
#: comments, whether the description is empty. Tens of thousands are loaded
#: on every run; an unchanged column costs one slice comparison.
ColumnRow = tuple[Any, ...]
_PK, _TABLE, _NAME, _VALUES = 0, 1, 2, 3

#: Catalogue columns by (table id, ``original_column_name``).
ColumnKey = tuple[Any, str]


class _ColumnRow:
    """A catalogue column while duplicates are merged (rare): a ``ColumnRow``
    whose table and emptiness can change."""

    __slots__ = ("_thoth_empty", "original_column_name", "pk", "sql_table_id", "values")

    def __init__(
        self,
        pk: Any,
        sql_table_id: Any,
        original_column_name: str,
        values: tuple[Any, ...],
        empty: bool,
    ) -> None:
        self.pk = pk
        self.sql_table_id = sql_table_id
        self.original_column_name = original_column_name
        self.values = values
        self._thoth_empty = empty

    @classmethod
    def of(cls, row: ColumnRow, fills: bool) -> _ColumnRow:
        end = len(row) - 1 if fills else len(row)
        return cls(
            row[_PK],
            row[_TABLE],
            row[_NAME],
            row[_VALUES:end],
            bool(fills and row[end]),
        )

    def row(self, fills: bool) -> ColumnRow:
        empty = (self._thoth_empty,) if fills else ()
        return (
            self.pk,
            self.sql_table_id,
            self.original_column_name,
            *self.values,
            *empty,
        )


def _empty(name: str) -> Q:
    """Field ``name`` is empty: "" or NULL."""
    return Q(**{name: ""}) | Q(**{f"{name}__isnull": True})


def _empty_flag(name: str) -> ExpressionWrapper[Q]:
    """SELECT-side test of emptiness, so annotation text is never loaded."""
    return ExpressionWrapper(_empty(name), output_field=BooleanField())


def derive_fk_fields(snapshot: SchemaSnapshot) -> dict[tuple[str, str], str]:
    """``fk_field`` per (table, column) for foreign keys inside the catalogue.

    Only keys whose target table and columns are in the snapshot count (the
    original's rule: both ends catalogued). Several targets are joined by
    ``", "`` in sorted order.
    """
    return _fk_fields(_catalogued_pairs(snapshot))


#: (table, column, referred table, referred column) of a foreign key.
Pair = tuple[str, str, str, str]


def _fk_fields(pairs: Iterable[Pair]) -> dict[tuple[str, str], str]:
    targets: dict[tuple[str, str], set[str]] = defaultdict(set)
    for table, source, target_table, target in pairs:
        targets[(table, source)].add(f"{target_table}.{target}")
    return {key: ", ".join(sorted(values)) for key, values in targets.items()}


def _fk_fields_by_table(pairs: Iterable[Pair]) -> dict[str, dict[str, str]]:
    """``_fk_fields`` as table -> column -> ``fk_field``."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for (table, column), text in _fk_fields(pairs).items():
        found[table][column] = text
    return found


def _has_column_comment(snapshot: SchemaSnapshot) -> bool:
    """Whether any column of ``snapshot`` has a comment."""
    for table in snapshot.tables:
        for column in table.columns:
            if column.comment:
                return True
    return False


#: A table's column names by table name; empty for a table there is none of.
ColumnNames = Callable[[str], AbstractSet[str]]


def _snapshot_columns(snapshot: SchemaSnapshot) -> ColumnNames:
    """Column names of ``snapshot``'s tables, each set made when first asked."""
    tables = {t.name: t for t in snapshot.tables}
    names: dict[str, AbstractSet[str]] = {}

    def columns_of(table: str) -> AbstractSet[str]:
        found = names.get(table)
        if found is None:
            snap = tables.get(table)
            found = names[table] = (
                frozenset() if snap is None else {c.name for c in snap.columns}
            )
        return found

    return columns_of


def _key_pairs(
    snapshot: SchemaSnapshot, columns_of: ColumnNames, targets_of: ColumnNames
) -> Iterator[Pair]:
    """The column pairs of ``snapshot``'s foreign keys into its own schema
    whose source column ``columns_of`` and target column ``targets_of``
    name."""
    for table in snapshot.tables:
        for fk in table.foreign_keys:
            if fk.referred_schema not in (None, snapshot.schema):
                continue
            target_columns = targets_of(fk.referred_table)
            if not target_columns:
                continue
            source_columns = columns_of(table.name)
            for source, target in zip(fk.columns, fk.referred_columns, strict=False):
                if source in source_columns and target in target_columns:
                    yield table.name, source, fk.referred_table, target


def _catalogued_pairs(snapshot: SchemaSnapshot) -> Iterator[Pair]:
    """Keys between tables of the snapshot, both columns in it."""
    columns_of = _snapshot_columns(snapshot)
    return _key_pairs(snapshot, columns_of, columns_of)


def _unseen_pairs(
    snapshot: SchemaSnapshot, unseen: dict[str, Any], catalogued: Iterable[ColumnKey]
) -> Iterator[Pair]:
    """Keys to catalogued tables an incomplete read did not see.

    ``unseen`` maps those tables' names to their ids, ``catalogued`` holds
    the catalogue's column keys. A table that failed to read, or that this
    user may not see, is still in the catalogue (nothing is deleted on such
    a read), and so are the keys to it: they keep their ``fk_field`` and
    relationship.
    """
    name_of = {pk: name for name, pk in unseen.items()}
    targets: dict[str, set[str]] = defaultdict(set)
    for table_id, column in catalogued:
        name = name_of.get(table_id)
        if name is not None:
            targets[name].add(column)
    return _key_pairs(
        snapshot,
        _snapshot_columns(snapshot),
        lambda table: targets.get(table, frozenset()),
    )


#: ``_Sync._text_budget`` before it is asked.
_UNASKED: Any = object()

#: The ``SqlDb`` field of the stored report (``DbElementsTaskMixin``).
_REPORT = "db_elements_report"


@dataclass
class _Plan:
    """What the sync will do, computed before anything is written."""

    keep_tables: dict[str, _Row] = field(default_factory=dict)
    gone_tables: list[_Row] = field(default_factory=list)
    duplicate_tables: list[_Row] = field(default_factory=list)
    #: The columns kept, by key (a duplicate table's under its keeper).
    columns: dict[ColumnKey, ColumnRow] = field(default_factory=dict)
    duplicate_columns: list[_ColumnRow] = field(default_factory=list)
    reparented_columns: list[_ColumnRow] = field(default_factory=list)
    #: Keepers the merge of duplicates wrote to (annotations joined, a
    #: column moved to its keeper table): updated rows, for the report.
    merged_tables: set[Any] = field(default_factory=set)
    merged_columns: set[Any] = field(default_factory=set)
    #: Tables an incomplete read did not see: kept as they are.
    unread_tables: list[Any] = field(default_factory=list)
    #: The keeper of each merged duplicate, by key: tables and columns.
    keepers: dict[Any, Any] = field(default_factory=dict)
    column_keepers: dict[Any, Any] = field(default_factory=dict)


@dataclass
class _ColumnPlan:
    """The snapshot's columns against the catalogue's, before any write."""

    #: Columns whose values changed.
    update: list[_Row] = field(default_factory=list)
    #: Columns whose empty description a comment fills (some also in
    #: ``update``).
    fill: list[_Row] = field(default_factory=list)
    #: New columns: table name, column name, values, comment to fill with.
    new: list[tuple[str, str, tuple[Any, ...], str]] = field(default_factory=list)
    unchanged: int = 0
    #: Catalogue columns the snapshot does not have.
    gone: list[ColumnRow] = field(default_factory=list)
    #: Of those, the ones deleted (none after an incomplete read).
    deleted: set[Any] = field(default_factory=set)


class _Sync:
    def __init__(
        self,
        sql_db: models.Model,
        snapshot: SchemaSnapshot,
        catalogue: Catalogue,
        report: HarvestReport,
        *,
        force: bool,
        checkpoint: Checkpoint | None,
        batch_size: int,
    ) -> None:
        self.sql_db = sql_db
        self.snapshot = snapshot
        self.cat = catalogue
        self.report = report
        self.force = force
        self.checkpoint = checkpoint
        self.batch_size = batch_size
        self.using = writes_to(sql_db)
        self.total = len(snapshot.tables)
        #: The annotations of the rows this run deleted (``_annotated``).
        self.annotations_deleted: list[dict[str, Any]] = []
        self.table_fields = [
            f for f in _TABLE_METADATA if model_has_field(catalogue.table, f)
        ]
        self.column_fields = [
            f for f in _COLUMN_METADATA if model_has_field(catalogue.column, f)
        ]
        self.table_has_comment = "db_comment" in self.table_fields
        self.column_has_comment = "db_comment" in self.column_fields
        #: Comments fill empty column descriptions: the model has no
        #: ``db_comment`` field and some column has a comment. (Without
        #: one, whether descriptions are empty is not even loaded.)
        self.fills = not self.column_has_comment and _has_column_comment(snapshot)
        #: The column fields the sync writes, in ``ColumnRow`` order.
        self.update_fields = [
            "data_format",
            "pk_field",
            "fk_field",
            *self.column_fields,
        ]
        #: The metadata values of ``_COLUMN_METADATA`` the model has, as a tuple.
        self._pick_metadata = _picker(
            [_COLUMN_METADATA.index(name) for name in self.column_fields]
        )
        #: Fitted to the host's fields: text cut to a field's ``max_length``
        #: (``char_limits``), no default stored as "" where
        #: ``default_value`` is NOT NULL.
        self._table_limits = char_limits(catalogue.table)
        self._column_limits = char_limits(catalogue.column)
        limits = self._column_limits
        #: Cuts ``data_format``, ``pk_field`` and ``fk_field`` when a
        #: field of the host may be too short (rare: None otherwise).
        self._cut = value_cutter(self.update_fields[:3], limits)
        #: The metadata values, cut inline (None: no limit).
        self._type_length = limits.get("data_type")
        self._default_length = limits.get("default_value")
        self._comment_length = limits.get("db_comment")
        self._no_default: str | None = None
        if (
            "default_value" in self.column_fields
            and not catalogue.column._meta.get_field("default_value").null
        ):
            self._no_default = ""
        #: Read once: foreign-key fields and relationships use them. Keys to
        #: tables an incomplete read did not see are added once the
        #: catalogue is loaded (``_unseen_pairs``).
        self.pairs = list(_catalogued_pairs(snapshot))
        #: ``text_budget``, asked when the sync first writes (``_budget``).
        self._text_budget: object = _UNASKED
        #: Whether the ``SqlDb`` model keeps a report, where the harvested
        #: relationships are remembered (``HARVESTED``).
        self.keeps_report = model_has_field(catalogue.sqldb, _REPORT)
        #: The harvested relationships as the stored report had them, and
        #: decoded (None: nothing recorded).
        self.harvest_stored: str | None = None
        self.harvested_before: KeyRanges | None = None
        #: Relationships added by hand, and their pairs (``_find_hand_made``).
        self.hand_made: set[Any] = set()
        self.hand_pairs: list[Pair] = []

    # -- helpers -----------------------------------------------------------
    def _tick(self, done: int) -> None:
        if self.checkpoint is not None:
            self.checkpoint(done, self.total)

    def _q(self, model: type[models.Model]) -> models.QuerySet[Any]:
        return model._default_manager.using(self.using)

    # -- entry -------------------------------------------------------------
    def run(self, written: Callable[[], None] | None = None) -> None:
        """The sync in the catalogue's transaction; ``written`` is called
        as soon as that has committed (or, in a caller's transaction, its
        savepoint is released)."""
        self._tick(0)
        with catalogue_transaction(self.sql_db, written) as writing:
            self._run(writing)

    def _run(self, writing: Callable[[], None]) -> None:
        tables = self._load_tables()
        columns = self._load_columns()
        plan = self._plan_duplicates(tables, columns)
        unseen = self._unseen_tables(plan)
        if unseen:
            self.pairs.extend(_unseen_pairs(self.snapshot, unseen, plan.columns))
        relationships = self._load_relationships()
        self._find_hand_made(plan, relationships)
        column_plan = self._compare_columns(plan)
        gone_columns = self._plan_deletions(plan, column_plan)
        self._tick(0)  # a cancel heard here still stops the run
        writing()
        table_ids = self._write_tables(plan)
        self._tick(self.total // 3)
        new_columns = self._write_columns(table_ids, column_plan, plan.merged_columns)
        self._tick(2 * self.total // 3)
        self._write_relationships(
            table_ids, plan, new_columns, set(unseen.values()), relationships
        )
        self._delete(plan, gone_columns)
        self._tick(self.total)

    # -- loading -----------------------------------------------------------
    def _load_tables(self) -> list[_Row]:
        fields = ["pk", "name", *self.table_fields]
        query = self._q(self.cat.table).filter(sql_db=self.sql_db).order_by("pk")
        if not self.table_has_comment:
            query = query.annotate(**{_EMPTY: _empty_flag("description")})
            fields.append(_EMPTY)
        return [_Row(**values) for values in query.values(*fields)]

    def _load_columns(self) -> list[ColumnRow]:
        fields = ["pk", "sql_table_id", "original_column_name", *self.update_fields]
        query = self._q(self.cat.column).filter(sql_table__sql_db=self.sql_db)
        if self.fills:
            query = query.annotate(**{_EMPTY: _empty_flag("column_description")})
            fields.append(_EMPTY)
        return fetch_values(query.order_by().values_list(*fields))

    def _load_relationships(self) -> list[tuple[Any, ...]]:
        """The catalogue's relationships of this database: key, source and
        target column, source and target table."""
        return fetch_values(
            self._q(self.cat.relationship)
            .filter(source_table__sql_db=self.sql_db)
            .order_by("pk")
            .values_list(
                "pk",
                "source_column_id",
                "target_column_id",
                "source_table_id",
                "target_table_id",
            )
        )

    def _load_harvested(self) -> KeyRanges | None:
        """The relationships the last runs made from the database's foreign
        keys, as the row's stored report keeps them (read afresh: the row
        the caller holds may be older). None: nothing recorded."""
        if not self.keeps_report:
            return None
        stored = (
            self._q(self.cat.sqldb)
            .filter(pk=self.sql_db.pk)
            .values_list(_REPORT, flat=True)
            .first()
        )
        self.harvest_stored = stored_harvest(stored)
        self.harvested_before = decode_keys(self.harvest_stored)
        return self.harvested_before

    # -- planning ----------------------------------------------------------
    def _find_hand_made(
        self, plan: _Plan, relationships: list[tuple[Any, ...]]
    ) -> None:
        """Note the relationships added by hand (``hand_made``): not made by
        an earlier run, and not the database's foreign keys. They stay, and
        so do all after an incomplete read; the ``fk_field`` of a column
        names the targets of the relationships it keeps (``hand_pairs``)."""
        harvested = self._load_harvested()
        complete = self.snapshot.complete
        unknown = [
            r
            for r in relationships
            if not complete or harvested is None or r[0] not in harvested
        ]
        if not unknown:
            return  # the usual case: every one is the database's
        table_names = {row.pk: name for name, row in plan.keep_tables.items()}
        column_keys = {row[_PK]: key for key, row in plan.columns.items()}
        keepers = plan.column_keepers
        declared = set(self.pairs)
        columns_of = _snapshot_columns(self.snapshot)
        for pk, source, target, _source_table, _target_table in unknown:
            # A duplicate column's: judged as its keeper's, which it moves to.
            ends = [
                column_keys.get(keepers.get(source, source)),
                column_keys.get(keepers.get(target, target)),
            ]
            if None in ends:
                continue
            (source_table, source_name), (target_table, target_name) = ends  # type: ignore[misc]
            pair = (
                table_names[source_table],
                source_name,
                table_names[target_table],
                target_name,
            )
            if pair in declared:
                continue  # the database declares it now: the harvest's
            if complete and not (
                source_name in columns_of(pair[0])
                and target_name in columns_of(pair[2])
            ):
                continue  # it goes with a column the database lost
            if harvested is None or pk not in harvested:
                self.hand_made.add(pk)
            self.hand_pairs.append(pair)

    def _plan_duplicates(self, tables: list[_Row], rows: list[ColumnRow]) -> _Plan:
        plan = _Plan()
        keeper_of: dict[Any, _Row] = {}
        for table in tables:
            keeper = plan.keep_tables.setdefault(table.name, table)
            keeper_of[table.pk] = keeper
            if keeper is not table:
                plan.duplicate_tables.append(table)
        plan.columns = {(row[_TABLE], row[_NAME]): row for row in rows}
        if not plan.duplicate_tables and len(plan.columns) == len(rows):
            return plan  # nothing to merge, the usual case
        self._merge_duplicates(
            plan, keeper_of, [_ColumnRow.of(r, self.fills) for r in rows]
        )
        return plan

    def _unseen_tables(self, plan: _Plan) -> dict[str, Any]:
        """Ids of the catalogued tables an incomplete read did not see, by name."""
        if self.snapshot.complete:
            return {}
        read = {table.name for table in self.snapshot.tables}
        return {
            name: row.pk for name, row in plan.keep_tables.items() if name not in read
        }

    def _merge_duplicates(
        self, plan: _Plan, keeper_of: dict[Any, _Row], columns: list[_ColumnRow]
    ) -> None:
        """Merge duplicate tables and columns into their keepers (the oldest)."""
        if plan.duplicate_tables:
            plan.merged_tables = self._merge_annotations(
                self.cat.table,
                [(keeper_of[d.pk], d) for d in plan.duplicate_tables],
                TABLE_ANNOTATIONS,
            )

        # Columns of duplicate tables belong to the keeper from now on; of
        # same-named columns, the keeper table's own (then the oldest) wins.
        def rank(column: _ColumnRow) -> tuple[bool, Any]:
            table_id = column.sql_table_id
            return (keeper_of[table_id].pk != table_id, column.pk)

        by_key: dict[ColumnKey, _ColumnRow] = {}
        pairs: list[tuple[_ColumnRow, _ColumnRow]] = []
        for column in sorted(columns, key=rank):
            owner = keeper_of[column.sql_table_id]
            key = (owner.pk, column.original_column_name)
            keeper_column = by_key.setdefault(key, column)
            if keeper_column is not column:
                pairs.append((keeper_column, column))
        if pairs:
            plan.merged_columns = self._merge_annotations(
                self.cat.column, pairs, COLUMN_ANNOTATIONS
            )
            plan.duplicate_columns = [dup for _, dup in pairs]
            plan.column_keepers = {dup.pk: keeper.pk for keeper, dup in pairs}
        plan.keepers = {d.pk: keeper_of[d.pk].pk for d in plan.duplicate_tables}
        for column in by_key.values():
            owner = keeper_of[column.sql_table_id]
            if column.sql_table_id != owner.pk:
                column.sql_table_id = owner.pk
                plan.reparented_columns.append(column)
                plan.merged_columns.add(column.pk)
        plan.columns = {key: column.row(self.fills) for key, column in by_key.items()}
        self.report.duplicates_removed = len(plan.duplicate_tables) + len(
            plan.duplicate_columns
        )

    def _merge_annotations(
        self,
        model: type[models.Model],
        pairs: Sequence[tuple[_Row, _Row]] | Sequence[tuple[_ColumnRow, _ColumnRow]],
        names: tuple[str, ...],
    ) -> set[Any]:
        """Copy non-empty annotations of duplicates into the keeper's empty
        ones; return the keys of the keepers written to."""
        names = tuple(n for n in names if model_has_field(model, n))
        ids = {row.pk for pair in pairs for row in pair}
        # A column_name equal to the column's name is where every column
        # starts, not someone's word for it.
        own_names = ("original_column_name",) if "column_name" in names else ()
        # Locked until the sync commits: a text written meanwhile by someone
        # else would be overwritten by the merged one.
        texts = {
            row["pk"]: row
            for chunk in self._chunks(ids)
            for row in self._q(model)
            .select_for_update()
            .filter(pk__in=chunk)
            .values("pk", *names, *own_names)
        }
        # Long texts are joined (nobody's words are lost); a short field
        # (``column_name``) keeps the keeper's, when it has one of its own.
        joined = {n for n in names if isinstance(model._meta.get_field(n), TextField)}
        changed: dict[Any, dict[str, Any]] = {}
        for keeper, duplicate in pairs:
            for name in names:
                current = changed.get(keeper.pk, {}).get(name, texts[keeper.pk][name])
                extra = texts[duplicate.pk][name]
                if name == "column_name":
                    given = texts[keeper.pk]["original_column_name"]
                    current = "" if current == given else current
                    extra = "" if extra == given else extra
                if not extra or (current and extra in current):
                    continue
                if not current:
                    changed.setdefault(keeper.pk, {})[name] = extra
                elif name in joined:
                    changed.setdefault(keeper.pk, {})[name] = f"{current}\n\n{extra}"
                else:
                    logger.warning(
                        "Merging duplicate %s rows: kept %s %r, not %r",
                        model._meta.model_name,
                        name,
                        current,
                        extra,
                    )
        keepers = {keeper.pk: keeper for keeper, _ in pairs}
        for pk, values in changed.items():
            self._q(model).filter(pk=pk).update(**values)
            if {"description", "column_description"} & set(values):
                # The keeper is no longer empty: a comment must not fill it.
                setattr(keepers[pk], _EMPTY, False)
        return set(changed)

    def _compare_columns(self, plan: _Plan) -> _ColumnPlan:
        """Match the snapshot's columns to the catalogue's: unchanged, to
        update (and to fill), new; what is left over is gone."""
        # One pass over tens of thousands of columns: locals, dict lookups,
        # no helper calls but the metadata picker (when the model stores
        # metadata).
        found = _ColumnPlan()
        left = dict(plan.columns)
        take = left.pop
        update_fields = self.update_fields
        fills = self.fills
        end = len(update_fields) + _VALUES
        fk_fields = _fk_fields_by_table([*self.pairs, *self.hand_pairs])
        metadata = bool(self.column_fields)
        pick = self._pick_metadata
        cut, no_default = self._cut, self._no_default
        type_length = self._type_length
        default_length, comment_length = self._default_length, self._comment_length
        unchanged = 0
        for table in self.snapshot.tables:
            keeper = plan.keep_tables.get(table.name)
            table_id = None if keeper is None else keeper.pk
            fks = fk_fields.get(table.name)
            for snap in table.columns:
                name = snap.name
                values: tuple[Any, ...] = (
                    snap.data_format,
                    "" if snap.primary_key_position is None else "PK",
                    fks.get(name, "") if fks else "",
                )
                if metadata:
                    values += pick(
                        (
                            snap.raw_type[:type_length],
                            snap.nullable,
                            no_default
                            if snap.default is None
                            else snap.default[:default_length],
                            (snap.comment or "")[:comment_length],
                            snap.ordinal_position,
                        )
                    )
                if cut is not None:
                    values = cut(values)
                row = take((table_id, name), None)
                if row is None:
                    found.new.append((table.name, name, values, snap.comment or ""))
                    continue
                fill = fills and bool(snap.comment) and bool(row[end])
                same = row[_VALUES:end] == values
                if same and not fill:
                    unchanged += 1
                    continue
                update = _Row(
                    pk=row[_PK], **dict(zip(update_fields, values, strict=True))
                )
                if fill:
                    update.column_description = fit(
                        self._column_limits, "column_description", snap.comment or ""
                    )
                    found.fill.append(update)
                if not same:
                    found.update.append(update)
        found.unchanged = unchanged
        found.gone = list(left.values())
        return found

    def _plan_deletions(self, plan: _Plan, columns: _ColumnPlan) -> list[ColumnRow]:
        wanted = {table.name for table in self.snapshot.tables}
        plan.gone_tables = [t for n, t in plan.keep_tables.items() if n not in wanted]
        gone_columns = columns.gone
        if not self.snapshot.complete:
            # An incomplete read cannot tell dropped from unreadable: the
            # rows it did not see are kept as they are.
            if plan.gone_tables or gone_columns:
                self.report.deletions_skipped = True
            plan.unread_tables = [t.pk for t in plan.gone_tables]
            columns.unchanged += len(gone_columns)
            plan.gone_tables = []
            self.report.forced = False  # nothing to force: nothing deleted
            return []
        # Rows of tables left out on purpose (SQLite shadow tables an older
        # version catalogued) go, without counting as deletions.
        left_out = set(self.snapshot.left_out)
        stray = {t.pk for t in plan.gone_tables if t.name in left_out}
        stray_columns = sum(1 for c in gone_columns if c[_TABLE] in stray)
        self._check_threshold(
            len(plan.gone_tables) - len(stray),
            len(plan.keep_tables) - len(stray),
            len(gone_columns) - stray_columns,
            len(plan.columns) - stray_columns,
        )
        columns.deleted = {c[_PK] for c in gone_columns}
        return gone_columns

    def _check_threshold(
        self, gone_tables: int, tables: int, gone_columns: int, columns: int
    ) -> None:
        threshold = float(app_settings.DELETE_THRESHOLD)
        too_many = (tables and gone_tables / tables > threshold) or (
            columns and gone_columns / columns > threshold
        )
        if too_many and not self.force:
            raise DeletionThresholdError(
                f"This run would delete {gone_tables} of {tables} catalogued tables "
                f"and {gone_columns} of {columns} columns, more than the allowed "
                f"{threshold:.0%}; nothing was changed. If the database really "
                "lost them, run again with force (the admin's action ending in "
                '"(force) - ASYNC", the command\'s --force, or force=True).'
            )
        self.report.forced = bool(too_many)

    # -- writing -----------------------------------------------------------
    def _write_tables(self, plan: _Plan) -> dict[str, Any]:
        counts = self.report.tables
        to_create: list[models.Model] = []
        to_update: list[_Row] = []
        to_fill: list[_Row] = []
        # The rows there before that stay: matched, or not read.
        staying = set(plan.unread_tables)
        for snap in self.snapshot.tables:
            row = plan.keep_tables.get(snap.name)
            if row is None:
                to_create.append(self._new_table(snap))
                continue
            staying.add(row.pk)
            if self._apply(row, self._table_values(snap)):
                to_update.append(row)
            if self._fill_description(row, snap.comment):
                to_fill.append(row)
        self._bulk_update(self.cat.table, to_update, self.table_fields)
        kept = self._fill_empty(self.cat.table, to_fill, "description")
        written = _written(to_update, to_fill, kept) | (plan.merged_tables & staying)
        counts.updated = len(written)
        counts.unchanged = len(staying) - counts.updated
        created = self._bulk_create(
            self.cat.table, to_create, "name", {"sql_db": self.sql_db}
        )
        counts.created = len(to_create)
        ids = {name: row.pk for name, row in plan.keep_tables.items()}
        ids.update(created)
        return ids

    def _table_values(self, snap: TableSnapshot) -> dict[str, Any]:
        values: dict[str, Any] = {
            "db_comment": fit(self._table_limits, "db_comment", snap.comment or ""),
            "is_view": snap.is_view,
        }
        return {k: v for k, v in values.items() if k in self.table_fields}

    def _new_table(self, snap: TableSnapshot) -> models.Model:
        values = self._table_values(snap)
        values.update(name=snap.name, sql_db=self.sql_db, generated_comment="")
        if self.table_has_comment or not snap.comment:
            values["description"] = ""
        else:
            values["description"] = fit(self._table_limits, "description", snap.comment)
        return self.cat.table(**values)

    def _write_columns(
        self, table_ids: dict[str, Any], plan: _ColumnPlan, merged: set[Any]
    ) -> dict[ColumnKey, Any]:
        """Write the plan; return the ids of the new columns by key.
        ``merged``: the columns the merge of duplicates wrote to."""
        counts = self.report.columns
        self._bulk_update(self.cat.column, plan.update, self.update_fields)
        kept = self._fill_empty(self.cat.column, plan.fill, "column_description")
        written = _written(plan.update, plan.fill, kept)
        # Filled or not, a row the merge wrote to is updated; every other
        # staying row is counted once, as updated or unchanged.
        merged_only = merged - written - plan.deleted
        counts.updated = len(written) + len(merged_only)
        counts.unchanged = (
            plan.unchanged + len({r.pk for r in plan.fill} - written) - len(merged_only)
        )
        counts.created = len(plan.new)
        if not plan.new:
            return {}
        created: list[dict[str, Any]] = []
        limits = self._column_limits
        for table, name, values, comment in plan.new:
            row = dict(zip(self.update_fields, values, strict=True))
            if not self.column_has_comment:
                # The comment, or "" whatever the field's default.
                row["column_description"] = fit(limits, "column_description", comment)
            row.update(
                sql_table_id=table_ids[table],
                original_column_name=name,
                column_name=fit(limits, "column_name", name),
            )
            created.append(row)
        self._insert(self.cat.column, created)
        return self._reload_column_ids(created)

    def _insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        """Create ``rows`` (plain values), with no ids returned."""
        if rows and not insert_values(
            model, self.using, rows, self.batch_size, self._budget()
        ):
            self._create(model, [model(**values) for values in rows])

    def _budget(self) -> int | None:
        """The most text one statement may carry (``text_budget``), asked
        once a sync, when it first writes."""
        if self._text_budget is _UNASKED:
            self._text_budget = text_budget(self.using)
        return cast("int | None", self._text_budget)

    def _create(self, model: type[models.Model], rows: list[models.Model]) -> None:
        """``bulk_create`` in batches a statement can hold."""
        fields = [f.attname for f in model._meta.concrete_fields]
        size = rows_a_statement(
            connections[self.using], inserted_fields(model), rows, self.batch_size
        )
        for batch in sized_batches(
            rows,
            size,
            self._budget(),
            lambda row: (getattr(row, name) for name in fields),
        ):
            self._q(model).bulk_create(batch, batch_size=len(batch))

    def _reload_column_ids(self, created: list[dict[str, Any]]) -> dict[ColumnKey, Any]:
        """The ids of the ``created`` columns (not of duplicates of others
        in the same tables, which are about to be deleted)."""
        keys = {
            (values["sql_table_id"], values["original_column_name"])
            for values in created
        }
        found: dict[ColumnKey, Any] = {}
        for chunk in self._chunks({table for table, _name in keys}):
            rows = (
                self._q(self.cat.column)
                .filter(sql_table_id__in=chunk)
                .values_list("pk", "sql_table_id", "original_column_name")
            )
            found.update(((t, n), pk) for pk, t, n in rows if (t, n) in keys)
        return found

    def _write_relationships(
        self,
        table_ids: dict[str, Any],
        plan: _Plan,
        new_columns: dict[ColumnKey, Any],
        unseen: set[Any],
        existing: list[tuple[Any, ...]],
    ) -> None:
        """Relationships for ``self.pairs``; ``existing``: the catalogue's
        (``_load_relationships``).

        Those from the ``unseen`` tables (ids) are kept as they are: their
        keys were not read. After any incomplete read no relationship is
        deleted, as no table or column is; one that named a duplicate row
        goes with it, and is made again for the rows kept: from the keys
        read, or -- from an unseen table -- on the merged rows' keepers.
        One added by hand (``hand_made``) stays.
        """
        counts = self.report.relationships
        existing_columns = plan.columns
        merged = {c.pk for c in plan.duplicate_columns}
        merged_tables = {t.pk for t in plan.duplicate_tables}
        complete = self.snapshot.complete

        def column_id(table: str, column: str) -> Any:
            key = (table_ids[table], column)
            found = new_columns.get(key)
            return existing_columns[key][_PK] if found is None else found

        wanted: dict[tuple[Any, Any], tuple[Any, Any]] = {}
        for table, source, target_table, target in self.pairs:
            key = (column_id(table, source), column_id(target_table, target))
            wanted[key] = (table_ids[table], table_ids[target_table])
        seen: set[tuple[Any, Any]] = set()
        stale: list[Any] = []
        #: The database's: made by a run, kept for it.
        harvested: list[Any] = []
        #: Added by hand to rows merged away: made again on their keepers.
        by_hand: dict[tuple[Any, Any], tuple[Any, Any]] = {}
        before = self.harvested_before
        for pk, source_col, target_col, source_tab, target_tab in existing:
            key = (source_col, target_col)
            if (
                key in seen
                or source_col in merged
                or target_col in merged
                or source_tab in merged_tables
                or target_tab in merged_tables
            ):
                self.report.duplicates_removed += 1
                stale.append(pk)
                moved = (
                    plan.column_keepers.get(source_col, source_col),
                    plan.column_keepers.get(target_col, target_col),
                )
                tables = (
                    plan.keepers.get(source_tab, source_tab),
                    plan.keepers.get(target_tab, target_tab),
                )
                if pk in self.hand_made:
                    by_hand.setdefault(moved, tables)  # onto the keepers
                elif tables[0] in unseen:
                    wanted.setdefault(moved, tables)
            elif key in wanted and wanted[key] == (source_tab, target_tab):
                seen.add(key)
                counts.unchanged += 1
                if before is None or pk in before:
                    # Not one a person added before the database declared
                    # it: that stays theirs, whatever the database does.
                    harvested.append(pk)
            elif pk in self.hand_made:
                seen.add(key)
                counts.unchanged += 1
            elif key not in wanted and (source_tab in unseen or not complete):
                if source_tab not in unseen:
                    self.report.deletions_skipped = True
                seen.add(key)
                counts.unchanged += 1
                if before is not None and pk in before:
                    harvested.append(pk)  # still the database's, unread
            else:
                counts.deleted += 1
                stale.append(pk)
        self._delete_rows(self.cat.relationship, stale)
        new = _relationship_rows(wanted, seen)
        moved_by_hand = _relationship_rows(by_hand, seen | wanted.keys())
        self._insert(self.cat.relationship, [*new, *moved_by_hand])
        counts.created = len(new) + len(moved_by_hand)
        if self.keeps_report:
            if new:
                harvested.extend(self._created_relationships(new))
            self.report.relationships_harvested = encode_keys(harvested)

    def _created_relationships(self, new: list[dict[str, Any]]) -> list[Any]:
        """The keys of the ``new`` relationships, just inserted."""
        wanted = {(r["source_column_id"], r["target_column_id"]) for r in new}
        rows = self._load_relationships()
        return [pk for pk, source, target, *_ in rows if (source, target) in wanted]

    def _annotated(
        self, plan: _Plan, gone_columns: list[ColumnRow]
    ) -> list[dict[str, Any]]:
        """The gone tables and columns (not duplicates) that carry
        annotations, each as ``{"table": ..., "annotations": {field: text}}``
        (and ``"column"`` for a column); a query a kind (and a batch of
        keys), only when some go.

        Every row about to go is locked as it is read (columns, then tables,
        each in key order), with or without text: a description someone commits between this read
        and the DELETE would otherwise go unreported. Texts are told apart
        in Python: a case-blind collation (MariaDB's default) would take a
        ``column_name`` differing only in case for the column's own.
        """
        # Columns first, then tables: the order in which deleting a table
        # (Django's cascade, the admin's deletes) locks them.
        columns: list[dict[str, Any]] = []
        names = [n for n in COLUMN_ANNOTATIONS if model_has_field(self.cat.column, n)]
        # The columns' tables by key, duplicates' too (a duplicate's columns
        # still point to it: they move to the keeper after this read).
        table_of = {
            t.pk: t.name for t in (*plan.keep_tables.values(), *plan.duplicate_tables)
        }
        for chunk in self._chunks(sorted(c[_PK] for c in gone_columns)):
            for values in (
                self._q(self.cat.column)
                .filter(pk__in=chunk)
                .select_for_update()
                .order_by("pk")
                .values("sql_table_id", "original_column_name", *names)
            ):
                table = self._table_name(table_of, values.pop("sql_table_id"))
                column = values.pop("original_column_name")
                # A column_name of its own; it starts as the column's name
                # (cut to the field's length).
                given = values.get("column_name")
                if given == column or given == fit(
                    self._column_limits, "column_name", column
                ):
                    del values["column_name"]
                if texts := _texts(values):
                    columns.append(
                        {"table": table, "column": column, "annotations": texts}
                    )
        found: list[dict[str, Any]] = []
        table_names = [
            n for n in TABLE_ANNOTATIONS if model_has_field(self.cat.table, n)
        ]
        gone_tables = sorted(t.pk for t in plan.gone_tables)
        for chunk in self._chunks(gone_tables if table_names else []):
            for values in (
                self._q(self.cat.table)
                .filter(pk__in=chunk)
                .select_for_update()
                .order_by("pk")
                .values("name", *table_names)
            ):
                table = values.pop("name")
                if texts := _texts(values):
                    found.append({"table": table, "annotations": texts})
        found.extend(columns)
        return found

    def _table_name(self, table_of: dict[Any, str], pk: Any) -> str:
        """The name of table ``pk``: from ``table_of``, else (a table
        written by someone after the sync loaded the tables) read."""
        if pk not in table_of:
            rows = self._q(self.cat.table).filter(pk=pk).values_list("name", flat=True)
            table_of[pk] = next(iter(rows), "")
        return table_of[pk]

    def _delete(self, plan: _Plan, gone_columns: list[ColumnRow]) -> None:
        self.annotations_deleted = self._annotated(plan, gone_columns)
        self.report.annotated_deleted = sorted(
            f"{e['table']}.{e['column']}" if "column" in e else e["table"]
            for e in self.annotations_deleted
        )
        if plan.reparented_columns:
            self._bulk_update(
                self.cat.column, plan.reparented_columns, ["sql_table_id"]
            )
        doomed_columns = [c[_PK] for c in gone_columns] + [
            c.pk for c in plan.duplicate_columns
        ]
        self._delete_rows(self.cat.column, doomed_columns)
        gone_table_ids = {t.pk for t in plan.gone_tables}
        self.report.columns.deleted = len(gone_columns)
        self.report.tables.deleted = len(gone_table_ids)
        doomed_tables = gone_table_ids | {t.pk for t in plan.duplicate_tables}
        self._delete_rows(self.cat.table, doomed_tables)

    def _delete_rows(self, model: type[models.Model], keys: Iterable[Any]) -> None:
        """Delete ``model``'s rows ``keys`` and what refers to them: by key
        (``delete_keys``) where nothing else does, else through Django's
        collector."""
        if deletes_by_key((self.cat.table, self.cat.column, self.cat.relationship)):
            delete_keys(model, self.using, keys)
            return
        for chunk in self._chunks(keys):
            self._q(model).filter(pk__in=chunk).delete()

    # -- small pieces ------------------------------------------------------
    @staticmethod
    def _apply(row: _Row, values: dict[str, Any]) -> bool:
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        return changed

    def _fill_description(self, row: _Row, comment: str | None) -> bool:
        """Put a table's ``comment`` into its empty description (no
        ``db_comment`` field); whether it did."""
        if self.table_has_comment or not comment or not getattr(row, _EMPTY, False):
            return False
        row.description = fit(self._table_limits, "description", comment)
        setattr(row, _EMPTY, False)
        return True

    def _bulk_update(
        self,
        model: type[models.Model],
        rows: Sequence[_Row | _ColumnRow],
        fields: list[str],
    ) -> None:
        if not rows or not fields:
            return
        values = [(row.pk, *(getattr(row, name) for name in fields)) for row in rows]
        budget = self._budget()
        if (
            update_values(model, self.using, fields, values, self.batch_size, budget)
            is None
        ):
            # Instances carrying only the key and the fields written.
            instances = [
                model(pk=row.pk, **{name: getattr(row, name) for name in fields})
                for row in rows
            ]
            # A row takes its key in the IN list and, for each field, its key
            # and value in a CASE: more than Django's own batch size counts.
            size = self._rows_per_statement(1 + 2 * len(fields), instances)
            for batch in sized_batches(
                instances,
                size,
                self._budget(),
                lambda row: (getattr(row, name) for name in fields),
            ):
                self._q(model).bulk_update(batch, fields, batch_size=len(batch))

    def _rows_per_statement(self, parameters: int, rows: Sequence[Any]) -> int:
        """How many ``rows`` of ``parameters`` bound values each one statement
        takes: ``batch_size`` at most, fewer where the database limits the
        parameters of a statement (SQLite builds before 3.32: 999)."""
        return rows_a_statement(
            connections[self.using], ["pk"] * parameters, rows, self.batch_size
        )

    def _chunks(self, keys: Iterable[Any]) -> Iterator[list[Any]]:
        """``keys`` in ``IN (...)`` lists a statement can hold (``in_lists``)."""
        return in_lists(keys, self.using)

    def _fill_empty(
        self, model: type[models.Model], rows: Sequence[_Row], name: str
    ) -> set[Any]:
        """Write each row's ``name`` (a description filled from a comment)
        where it is still empty; return the keys of the rows kept as they
        were.

        It was empty when the rows were loaded, but these rows are not
        locked: someone may have written a description since. The test is
        made again by the UPDATE itself, which waits for a writer's
        transaction to end, so a person's words are never replaced.
        """
        kept: set[Any] = set()
        if not rows:
            return kept
        values = [(row.pk, getattr(row, name)) for row in rows]
        written = update_values(
            model,
            self.using,
            [name],
            values,
            self.batch_size,
            self._budget(),
            only_empty=name,
        )
        if written is None:
            kept = self._fill_case_when(model, rows, name)
        elif written < len(rows):
            # Which: those not holding the text this run wrote.
            ours = dict(values)
            for chunk in self._chunks(ours):
                now = self._q(model).filter(pk__in=chunk).values_list("pk", name)
                kept.update(pk for pk, value in now if value != ours[pk])
        if kept:
            logger.info(
                "%d %s descriptions were written during the run and were kept",
                len(kept),
                model._meta.model_name,
            )
        return kept

    def _fill_case_when(
        self, model: type[models.Model], rows: Sequence[_Row], name: str
    ) -> set[Any]:
        """``_fill_empty`` on a database ``update_values`` does not serve:
        an ``UPDATE`` of a ``CASE WHEN`` a row, a batch at a time; the keys
        of the rows kept as they were."""
        kept: set[Any] = set()
        field = cast("models.Field[Any, Any]", model._meta.get_field(name))
        # Per row: its key twice (CASE WHEN and IN) and its text; plus the
        # empty string of the test, counted as a fourth per row.
        size = self._rows_per_statement(4, rows)
        for batch in sized_batches(
            rows, size, self._budget(), lambda row: (getattr(row, name),)
        ):
            text = Case(
                *(When(pk=row.pk, then=Value(getattr(row, name))) for row in batch),
                default=F(name),
                output_field=field,
            )
            keys = [row.pk for row in batch]
            written = (
                self._q(model).filter(_empty(name), pk__in=keys).update(**{name: text})
            )
            if written < len(batch):
                # Which: those not holding the text this run wrote.
                ours = {row.pk: getattr(row, name) for row in batch}
                now = self._q(model).filter(pk__in=keys).values_list("pk", name)
                kept.update(pk for pk, value in now if value != ours[pk])
        return kept

    def _bulk_create(
        self,
        model: type[models.Model],
        rows: list[models.Model],
        key: str,
        parent: dict[str, Any],
    ) -> dict[str, Any]:
        if not rows:
            return {}
        self._create(model, rows)
        if all(r.pk is not None for r in rows):
            return {getattr(r, key): r.pk for r in rows}
        names = [getattr(r, key) for r in rows]
        found = (
            self._q(model)
            .filter(**parent, **{f"{key}__in": names})
            .values_list(key, "pk")
        )
        return dict(found)


def _texts(values: dict[str, Any]) -> dict[str, str]:
    """The non-empty texts of ``values`` (annotation fields)."""
    return {name: str(text) for name, text in values.items() if text}


def _written(updated: list[_Row], filled: list[_Row], kept: set[Any]) -> set[Any]:
    """The keys of the rows written: ``updated``, and those of ``filled``
    not ``kept`` as they were (a description written during the run)."""
    return {row.pk for row in updated} | {
        row.pk for row in filled if row.pk not in kept
    }


def _relationship_rows(
    ends: dict[tuple[Any, Any], tuple[Any, Any]], skip: AbstractSet[tuple[Any, Any]]
) -> list[dict[str, Any]]:
    """Relationship rows to insert, from (source, target column) ->
    (source, target table), but those whose columns are in ``skip``."""
    return [
        {
            "source_column_id": source_col,
            "target_column_id": target_col,
            "source_table_id": source_tab,
            "target_table_id": target_tab,
        }
        for (source_col, target_col), (source_tab, target_tab) in ends.items()
        if (source_col, target_col) not in skip
    ]


def _remember_harvest(
    sql_db: models.Model,
    model: type[models.Model],
    report: HarvestReport,
    log: logging.Logger,
) -> None:
    """Keep the run's harvested relationships in the row's stored report,
    the rest of it as it is. After the catalogue's commit, not in its
    transaction: on MySQL and MariaDB the sync holds a shared lock on the
    row (its inserts' foreign keys), and taking it for writing there, with
    the heartbeat's update waiting for it, is a deadlock. Lost (a failure
    here, a stop), the next runs take the relationships made by this one
    for a person's until the database's keys name them again: none is
    deleted that should have stayed."""
    using = writes_to(sql_db)
    try:
        with transaction.atomic(using=using):
            rows = model._default_manager.using(using).select_for_update()
            stored = list(rows.filter(pk=sql_db.pk).values_list(_REPORT, flat=True))
            if not stored:
                return  # deleted meanwhile
            value = dict(stored[0]) if isinstance(stored[0], dict) else {}
            value[HARVESTED] = report.relationships_harvested
            rows.filter(pk=sql_db.pk).update(**{_REPORT: value})
    except DatabaseError as exc:
        log.warning(
            "The catalogue is written; recording which relationships are the "
            "database's failed (%s): the next runs keep the new ones as if "
            "added by hand until they see them again",
            exc,
        )


def sync_snapshot(
    sql_db: models.Model,
    snapshot: SchemaSnapshot,
    catalogue: Catalogue,
    report: HarvestReport,
    *,
    force: bool = False,
    checkpoint: Checkpoint | None = None,
    batch_size: int | None = None,
    log: logging.Logger | None = None,
    secrets: tuple[str, ...] = (),
    written: Callable[[HarvestReport], None] | None = None,
) -> HarvestReport:
    """Bring ``sql_db``'s catalogue in line with ``snapshot``, all or nothing.

    Fills ``report``'s counts and returns it. Raises
    ``DeletionThresholdError`` (nothing written) when too much would be
    deleted without ``force``, and lets ``HarvestCancelledError`` raised by
    ``checkpoint`` roll everything back. The texts of the annotations
    deleted with rows the database lost go to ``log`` (a run's log), once
    the sync is over, so that they can be copied back; a line holding one
    of ``secrets`` (the database's passwords) is withheld whole.

    ``written`` is called with ``report`` as soon as the catalogue is
    written: committed in autocommit mode; inside a caller's transaction,
    part of it (to commit or roll back with it). What comes after (these
    log lines) may still fail or be stopped: the catalogue stays written.
    """
    size = int(batch_size or app_settings.BATCH_SIZE)
    snapshot = fit_to_catalogue(snapshot, catalogue)
    if (
        snapshot.dialect != "postgresql"  # which has no NUL in text
        and connections[writes_to(sql_db)].vendor == "postgresql"
    ):
        snapshot = without_nul(snapshot)
    report.failed_tables = [
        {"name": f.name, "error": f.error} for f in snapshot.failures
    ]
    with collector_paused():
        sync = _Sync(
            sql_db,
            snapshot,
            catalogue,
            report,
            force=force,
            checkpoint=checkpoint,
            batch_size=size,
        )
        sync.run(None if written is None else partial(written, report))
    if sync.keeps_report and report.relationships_harvested != sync.harvest_stored:
        _remember_harvest(sql_db, catalogue.sqldb, report, log or logger)
    # One line each, all in JSON: a name may hold anything, a line break too.
    # The texts are checked for a password as they are, not as JSON writes
    # them (escaped): a line with one is withheld whole, wherever it goes.
    for entry in sync.annotations_deleted:
        texts = [
            entry["table"],
            entry.get("column", ""),
            *entry["annotations"].values(),
        ]
        line = json.dumps(entry, ensure_ascii=False)
        if any(hide(text, secrets) == WITHHELD for text in texts):
            line = WITHHELD
        (log or logger).warning("Deleted with its annotations: %s", line)
    return report
