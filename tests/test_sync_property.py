"""The sync against a plain model of what it must do, on random histories.

A random first schema is harvested, people and older tools then edit the
catalogue (managed values changed by hand, descriptions emptied or
written, rows deleted, re-created out of order or duplicated), the schema
changes (tables and columns added, dropped, renamed, reordered, retyped,
keys moved), and the sync runs again. What it must leave behind is worked
out here from the catalogue as it was and the new snapshot alone, without
the sync's own code: every column the snapshot has, with its derived
values; annotations kept; an empty description filled by a comment; and
counts that say what happened.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import pytest
from django.db import models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import models as thoth
from tests.snapshots import col, fk
from tests.testapp import models as fresh
from thoth_db_elements.catalogue import catalogue_for
from thoth_db_elements.introspection.snapshot import SchemaSnapshot, TableSnapshot
from thoth_db_elements.persistence import sync_snapshot
from thoth_db_elements.report import HarvestReport

pytestmark = pytest.mark.django_db(transaction=False)

NAMES = ["id", "Id", "name", "a", "b", "c", "d", "e"]
TABLES = ["t1", "T1", "t2", "t3", "t4"]
FORMATS = ["INT", "VARCHAR", "TEXT", "DATE"]
ANNOTATIONS = ("column_name", "column_description", "generated_comment")


class _Rollback(Exception):
    pass


@st.composite
def schemas(draw: st.DrawFn) -> SchemaSnapshot:
    """A schema of a few tables, columns in any order, some keys."""
    names = draw(st.lists(st.sampled_from(TABLES), min_size=1, max_size=4, unique=True))
    tables = []
    for name in names:
        column_names = draw(
            st.lists(st.sampled_from(NAMES), min_size=0, max_size=6, unique=True)
        )
        columns = tuple(
            col(
                column,
                draw(st.sampled_from(FORMATS)),
                pk=1 if draw(st.booleans()) and position == 1 else None,
                comment=draw(st.sampled_from([None, "", "said by the db", "said"])),
                pos=position,
            )
            for position, column in enumerate(column_names, start=1)
        )
        tables.append(TableSnapshot(name=name, columns=columns))
    with_columns = [t for t in tables if t.columns]
    keyed = []
    for table in tables:
        keys = ()
        if table.columns and with_columns and draw(st.booleans()):
            target = draw(st.sampled_from(with_columns))
            keys = (
                fk(
                    (draw(st.sampled_from(table.columns)).name,),
                    target.name,
                    (draw(st.sampled_from(target.columns)).name,),
                ),
            )
        keyed.append(dataclasses.replace(table, foreign_keys=keys))
    return SchemaSnapshot(dialect="sqlite", schema="main", tables=tuple(keyed))


#: What can happen to a table's columns between two reads.
CHANGES = [
    *["same"] * 4,
    *["drop", "add", "rename", "retype", "key", "reorder", "other"],
]


@st.composite
def changed(draw: st.DrawFn, first: SchemaSnapshot) -> SchemaSnapshot:
    """``first`` after a few changes (or a schema of its own)."""
    tables = []
    for table in first.tables:
        columns = list(table.columns)
        change = draw(st.sampled_from(CHANGES))
        if change == "drop" and columns:
            columns.pop(draw(st.integers(0, len(columns) - 1)))
        elif change == "add":
            free = [n for n in NAMES if n not in {c.name for c in columns}]
            if free:
                position = draw(st.integers(0, len(columns)))
                columns.insert(position, col(draw(st.sampled_from(free)), "TEXT"))
        elif change == "rename" and columns:
            free = [n for n in NAMES if n not in {c.name for c in columns}]
            at = draw(st.integers(0, len(columns) - 1))
            if free:
                name = draw(st.sampled_from(free))
                columns[at] = dataclasses.replace(columns[at], name=name)
        elif change == "retype" and columns:
            at = draw(st.integers(0, len(columns) - 1))
            columns[at] = dataclasses.replace(columns[at], data_format="DATE")
        elif change == "key" and columns:
            at = draw(st.integers(0, len(columns) - 1))
            position = None if columns[at].primary_key_position else 1
            columns[at] = dataclasses.replace(
                columns[at], primary_key_position=position
            )
        elif change == "reorder":
            columns.reverse()
        elif change == "other":
            continue
        columns = [
            dataclasses.replace(c, ordinal_position=n)
            for n, c in enumerate(columns, start=1)
        ]
        names = {c.name for c in columns}
        keys = tuple(k for k in table.foreign_keys if k.columns[0] in names)
        tables.append(
            dataclasses.replace(table, columns=tuple(columns), foreign_keys=keys)
        )
    return dataclasses.replace(first, tables=tuple(tables))


#: What people and older tools do to a catalogue column between runs.
EDITS = [
    *["none"] * 8,
    *["empty"] * 2,
    *["retype", "describe", "delete", "recreate", "duplicate"],
]


def expected_fk_fields(snapshot: SchemaSnapshot) -> dict[tuple[str, str], str]:
    names = {t.name: {c.name for c in t.columns} for t in snapshot.tables}
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for table in snapshot.tables:
        for key in table.foreign_keys:
            ((source,), (target,)) = (key.columns, key.referred_columns)
            if key.referred_table in names and target in names[key.referred_table]:
                found[(table.name, source)].add(f"{key.referred_table}.{target}")
    return {k: ", ".join(sorted(v)) for k, v in found.items()}


#: The fresh models' metadata fields, and what the snapshot says of each.
METADATA = {
    "data_type": lambda c: c.raw_type,
    "is_nullable": lambda c: c.nullable,
    "default_value": lambda c: c.default,
    "db_comment": lambda c: c.comment or "",
    "ordinal_position": lambda c: c.ordinal_position,
}


def managed(sql_db: models.Model) -> tuple[str, ...]:
    """The values the sync derives from the snapshot, for this catalogue."""
    extra = tuple(METADATA) if isinstance(sql_db, fresh.SqlDb) else ()
    return ("data_format", "pk_field", "fk_field", *extra)


def catalogue_rows(sql_db: models.Model) -> list[dict[str, Any]]:
    column = catalogue_for(sql_db).column
    return list(
        column._default_manager.filter(sql_table__sql_db=sql_db)
        .order_by("pk")
        .values(
            "pk",
            "sql_table__name",
            "original_column_name",
            *managed(sql_db),
            *ANNOTATIONS,
        )
    )


def run(sql_db: models.Model, snapshot: SchemaSnapshot) -> HarvestReport:
    report = HarvestReport(sqldb_id=sql_db.pk)
    return sync_snapshot(sql_db, snapshot, catalogue_for(sql_db), report, force=True)


def edit(sql_db: models.Model, edits: list[str]) -> None:
    column_model = catalogue_for(sql_db).column
    manager = column_model._default_manager
    rows = list(manager.filter(sql_table__sql_db=sql_db).order_by("pk"))
    for row, what in zip(rows, edits, strict=False):
        if what == "retype":
            manager.filter(pk=row.pk).update(data_format="BLOB", pk_field="?")
        elif what == "describe":
            manager.filter(pk=row.pk).update(
                column_description="Written by a person", column_name="Nice"
            )
        elif what == "empty":
            manager.filter(pk=row.pk).update(column_description="")
        elif what == "delete":
            row.delete()
        elif what == "recreate":
            row.delete()
            row.pk = None
            row.save()
        elif what == "duplicate" and column_model is thoth.SqlColumn:
            row.pk = None
            row.column_description = "Said on the duplicate"
            row.save()


@pytest.mark.parametrize("model", [thoth.SqlDb, fresh.SqlDb], ids=["thothai", "fresh"])
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    first=schemas(),
    edits=st.lists(st.sampled_from(EDITS), max_size=30),
)
def test_the_sync_does_what_the_model_says(
    model: type[models.Model],
    data: st.DataObject,
    first: SchemaSnapshot,
    edits: list[str],
) -> None:
    second = data.draw(st.one_of(changed(first), schemas()), label="second")
    try:
        with transaction.atomic():
            check_history(model, first, second, edits)
            raise _Rollback
    except _Rollback:
        pass


def check_history(
    model: type[models.Model],
    first: SchemaSnapshot,
    second: SchemaSnapshot,
    edits: list[str],
) -> None:
    sql_db = model._default_manager.create(name="random")
    run(sql_db, first)
    edit(sql_db, edits)
    before = catalogue_rows(sql_db)
    fills = model is thoth.SqlDb  # no db_comment field: comments fill

    report = run(sql_db, second)
    after = catalogue_rows(sql_db)

    # Of same-named rows, the oldest stays; a duplicate's annotation goes
    # to the keeper's empty one, or after the keeper's own text (not into
    # column_name, a short field). A keeper so written to is updated.
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    first_seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in before:
        key = (row["sql_table__name"], row["original_column_name"])
        first_seen.setdefault(key, dict(row))
        if key in kept:
            for name in ANNOTATIONS:
                mine, theirs = kept[key][name], row[name]
                if not theirs or (mine and theirs in mine):
                    continue
                if not mine:
                    kept[key][name] = theirs
                elif name != "column_name":
                    kept[key][name] = f"{mine}\n\n{theirs}"
        else:
            kept[key] = dict(row)
    duplicates = len(before) - len(kept)
    fk_fields = expected_fk_fields(second)
    wanted = {(t.name, c.name): (t, c) for t in second.tables for c in t.columns}
    created = updated = unchanged = 0
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for key, (_table, column) in wanted.items():
        values = {
            "data_format": column.data_format,
            "pk_field": "PK" if column.primary_key_position else "",
            "fk_field": fk_fields.get(key, ""),
        }
        if not fills:
            values.update({name: get(column) for name, get in METADATA.items()})
        old = kept.get(key)
        if old is None:
            created += 1
            expected[key] = {
                **values,
                "column_name": column.name,
                "column_description": (column.comment or "") if fills else "",
                "generated_comment": "",
            }
            continue
        annotations = {name: old[name] for name in ANNOTATIONS}
        merged = annotations != {name: first_seen[key][name] for name in ANNOTATIONS}
        fill = fills and bool(column.comment) and not old["column_description"]
        if fill:
            annotations["column_description"] = column.comment
        if merged or fill or any(old[name] != value for name, value in values.items()):
            updated += 1
        else:
            unchanged += 1
        expected[key] = {**values, **annotations}
    deleted = len([key for key in kept if key not in wanted])

    got = {
        (row["sql_table__name"], row["original_column_name"]): {
            name: row[name] for name in (*managed(sql_db), *ANNOTATIONS)
        }
        for row in after
    }
    assert len(got) == len(after), "two catalogue rows for one column"
    assert got == expected
    assert report.duplicates_removed >= duplicates
    counts = report.columns
    assert (counts.created, counts.updated, counts.unchanged, counts.deleted) == (
        created,
        updated,
        unchanged,
        deleted,
    )
    # The oldest row of a name is the one kept, with its id.
    ids = {(r["sql_table__name"], r["original_column_name"]): r["pk"] for r in after}
    for key, old in kept.items():
        if key in wanted:
            assert ids[key] == old["pk"]
    # Run again: nothing to do.
    again = run(sql_db, second)
    assert again.columns.unchanged == len(wanted)
    assert (again.columns.created, again.columns.updated) == (0, 0)
    assert catalogue_rows(sql_db) == after


def table(name: str, *columns: Any) -> TableSnapshot:
    return TableSnapshot(name=name, columns=tuple(columns))


def schema(*tables: TableSnapshot) -> SchemaSnapshot:
    return SchemaSnapshot(dialect="sqlite", schema="main", tables=tables)


ID = col("id", pk=1)
SAID = col("a", comment="said by the db", pos=2)

#: Histories the random ones find only now and then.
CHOSEN = {
    # Same count, same values, another name: not the same columns.
    "renamed": (
        schema(table("t1", ID, col("a", pos=2))),
        schema(table("t1", ID, col("b", pos=2))),
        [],
    ),
    # Nothing changed but an emptied description, which the comment fills.
    "emptied": (
        schema(table("t1", ID, SAID)),
        schema(table("t1", ID, SAID)),
        ["none", "empty"],
    ),
    # Rows no longer in column order (one made again), nothing changed.
    "remade": (
        schema(table("t1", ID, SAID, col("b", pos=3))),
        schema(table("t1", ID, SAID, col("b", pos=3))),
        ["recreate"],
    ),
    # Columns in another order, nothing else.
    "reordered": (
        schema(table("t1", ID, col("a", "TEXT", pos=2))),
        schema(
            table(
                "t1",
                col("a", "TEXT", pos=1),
                dataclasses.replace(ID, ordinal_position=2),
            )
        ),
        [],
    ),
    # A duplicate with words of its own, beside a keeper with its own.
    "both-described": (
        schema(table("t1", ID, SAID)),
        schema(table("t1", ID, SAID)),
        ["none", "duplicate"],
    ),
    # A duplicate left in a table that is gone.
    "gone-duplicate": (
        schema(table("t1", ID), table("t2", col("x"))),
        schema(table("t1", ID)),
        ["none", "duplicate"],
    ),
}


@pytest.mark.parametrize("model", [thoth.SqlDb, fresh.SqlDb], ids=["thothai", "fresh"])
@pytest.mark.parametrize("history", CHOSEN, ids=list(CHOSEN))
def test_the_sync_does_what_the_model_says_on_chosen_histories(
    model: type[models.Model], history: str
) -> None:
    first, second, edits = CHOSEN[history]
    check_history(model, first, second, edits)
