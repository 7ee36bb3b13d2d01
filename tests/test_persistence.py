"""Snapshot -> catalogue: creates, updates, deletes, keeps annotations."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, models, transaction
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext, isolate_apps

from catalog import models as thoth
from tests.snapshots import col, fk, shop
from tests.testapp import models as fresh
from thoth_db_elements._fields import model_has_field
from thoth_db_elements.catalogue import Catalogue, catalogue_for
from thoth_db_elements.exceptions import (
    CatalogueLockedError,
    DeletionThresholdError,
    HarvestCancelledError,
)
from thoth_db_elements.introspection.snapshot import (
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
)
from thoth_db_elements.persistence import (
    derive_fk_fields,
    sync_snapshot,
    without_nul,
)
from thoth_db_elements.report import HarvestReport, decode_keys

pytestmark = pytest.mark.django_db

SQLDB_MODELS = [thoth.SqlDb, fresh.SqlDb]


@pytest.fixture(params=SQLDB_MODELS, ids=["thothai-shaped", "fresh"])
def sql_db(request: pytest.FixtureRequest) -> models.Model:
    model: type[models.Model] = request.param
    return model._default_manager.create(name="shop", db_type="SQLite")


def sync(
    sql_db: models.Model, snapshot: SchemaSnapshot, **kwargs: Any
) -> HarvestReport:
    report = HarvestReport(sqldb_id=sql_db.pk)
    return sync_snapshot(sql_db, snapshot, catalogue_for(sql_db), report, **kwargs)


def cat(sql_db: models.Model) -> Catalogue:
    return catalogue_for(sql_db)


def columns(sql_db: models.Model) -> dict[str, dict[str, Any]]:
    rows = cat(sql_db).column._default_manager.filter(sql_table__sql_db=sql_db)
    return {
        f"{r['sql_table__name']}.{r['original_column_name']}": r
        for r in rows.values(
            "sql_table__name",
            "original_column_name",
            "column_name",
            "data_format",
            "pk_field",
            "fk_field",
            "column_description",
            "generated_comment",
            "value_description",
        )
    }


def relationships(sql_db: models.Model) -> set[str]:
    rows = cat(sql_db).relationship._default_manager.filter(source_table__sql_db=sql_db)
    return {
        f"{r[0]}.{r[1]}->{r[2]}.{r[3]}"
        for r in rows.values_list(
            "source_table__name",
            "source_column__original_column_name",
            "target_table__name",
            "target_column__original_column_name",
        )
    }


def writes(captured: CaptureQueriesContext) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE")
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(verbs)
    ]


def test_derive_fk_fields_only_inside_the_catalogue() -> None:
    assert derive_fk_fields(shop()) == {
        ("customers", "referrer_id"): "customers.id",
        ("orders", "customer_id"): "customers.id",
        ("order_lines", "order_id"): "orders.id",
    }


def test_cold_sync(sql_db: models.Model) -> None:
    report = sync(sql_db, shop())
    tables = cat(sql_db).table._default_manager.filter(sql_db=sql_db)
    assert sorted(tables.values_list("name", flat=True)) == [
        "big_spenders",
        "customers",
        "order_lines",
        "orders",
    ]
    cols = columns(sql_db)
    assert len(cols) == 10
    assert cols["customers.id"]["pk_field"] == "PK"
    assert cols["customers.email"]["pk_field"] == ""
    assert cols["customers.email"]["column_name"] == "email"
    assert cols["order_lines.line_no"]["pk_field"] == "PK"
    assert cols["order_lines.amount"]["data_format"] == "DECIMAL"
    assert cols["orders.customer_id"]["fk_field"] == "customers.id"
    assert cols["order_lines.order_id"]["fk_field"] == "orders.id"
    assert relationships(sql_db) == {
        "customers.referrer_id->customers.id",
        "orders.customer_id->customers.id",
        "order_lines.order_id->orders.id",
    }
    assert (
        report.tables.created,
        report.columns.created,
        report.relationships.created,
    ) == (4, 10, 3)
    assert report.writes == 17


def test_comments_go_to_db_comment_or_fill_empty_descriptions(
    sql_db: models.Model,
) -> None:
    sync(sql_db, shop())
    table = cat(sql_db).table._default_manager.get(sql_db=sql_db, name="customers")
    email = columns(sql_db)["customers.email"]
    if isinstance(sql_db, fresh.SqlDb):
        assert (table.description, table.db_comment) == ("", "People who buy")  # type: ignore[attr-defined]
        assert email["column_description"] == ""
    else:
        assert table.description == "People who buy"  # type: ignore[attr-defined]
        assert email["column_description"] == "Contact address"


def test_second_run_without_change_writes_nothing(sql_db: models.Model) -> None:
    sync(sql_db, shop())
    with CaptureQueriesContext(connection) as captured:
        report = sync(sql_db, shop())
    assert writes(captured) == []
    assert report.writes == 0
    assert (
        report.tables.unchanged,
        report.columns.unchanged,
        report.relationships.unchanged,
    ) == (4, 10, 3)


def test_annotations_survive_reruns_with_changed_or_empty_comments(
    sql_db: models.Model,
) -> None:
    sync(sql_db, shop())
    c = cat(sql_db)
    c.table._default_manager.filter(sql_db=sql_db, name="customers").update(
        description="Our buyers (curated)",
        generated_comment="LLM: customer master data",
    )
    c.column._default_manager.filter(
        sql_table__sql_db=sql_db, original_column_name="email"
    ).update(
        column_name="E-mail address",
        column_description="Where we write to",
        generated_comment="LLM: email",
        value_description="RFC 5322",
    )
    for comment in ("A new database comment", None):
        sync(sql_db, shop(customer_comment=comment, email_comment=comment))
        table = c.table._default_manager.get(sql_db=sql_db, name="customers")
        assert table.description == "Our buyers (curated)"  # type: ignore[attr-defined]
        assert table.generated_comment == "LLM: customer master data"  # type: ignore[attr-defined]
        email = columns(sql_db)["customers.email"]
        assert email["column_name"] == "E-mail address"
        assert email["column_description"] == "Where we write to"
        assert email["generated_comment"] == "LLM: email"
        assert email["value_description"] == "RFC 5322"


def test_a_column_comment_that_appears_later_fills_the_empty_description(
    sql_db: models.Model,
) -> None:
    # Without any column comment the run does not read whether descriptions
    # are empty; once one appears, it fills the empty description.
    sync(sql_db, shop(email_comment=None))
    with CaptureQueriesContext(connection) as captured:
        sync(sql_db, shop(email_comment=None))
    assert not any("column_description" in q["sql"] for q in captured.captured_queries)
    report = sync(sql_db, shop())
    assert report.columns.updated == 1  # description, or db_comment where it exists
    email = columns(sql_db)["customers.email"]
    expected = "" if isinstance(sql_db, fresh.SqlDb) else "Contact address"
    assert email["column_description"] == expected


def test_new_columns_describe_themselves_whatever_the_field_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A host whose column_description has a default of its own: a new
    # column still gets its comment, or "", with or without other comments.
    field = thoth.SqlColumn._meta.get_field("column_description")
    monkeypatch.setattr(field, "_get_default", lambda: "To be written")
    for number, email_comment in enumerate((None, "Contact address")):
        sql_db = thoth.SqlDb.objects.create(name=f"shop{number}", db_type="SQLite")
        sync(sql_db, shop(email_comment=email_comment))
        described = {k: c["column_description"] for k, c in columns(sql_db).items()}
        assert described.pop("customers.email") == (email_comment or "")
        assert set(described.values()) == {""}


def test_db_comment_field_follows_the_database() -> None:
    sql_db = fresh.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    sync(sql_db, shop(customer_comment="Changed"))
    assert fresh.SqlTable.objects.get(name="customers").db_comment == "Changed"
    report = sync(sql_db, shop(customer_comment=None))
    assert fresh.SqlTable.objects.get(name="customers").db_comment == ""
    assert report.tables.updated == 1


def test_type_and_key_changes_update_existing_columns(sql_db: models.Model) -> None:
    sync(sql_db, shop())
    changed = shop()
    customers = changed.table("customers")
    customers = dataclasses.replace(
        customers,
        columns=(
            col("id", pk=1),
            col("email", "CHAR", raw="char(200)", pos=2),
            col("referrer_id", pk=2, pos=3),
        ),
        foreign_keys=(),
    )
    changed = dataclasses.replace(
        changed,
        tables=tuple(customers if t.name == "customers" else t for t in changed.tables),
    )
    report = sync(sql_db, changed)
    cols = columns(sql_db)
    assert cols["customers.email"]["data_format"] == "CHAR"
    assert cols["customers.referrer_id"]["pk_field"] == "PK"
    assert cols["customers.referrer_id"]["fk_field"] == ""  # stale value cleared
    assert "customers.referrer_id->customers.id" not in relationships(sql_db)
    assert report.relationships.deleted == 1
    assert report.columns.updated == 2


def test_changes_and_fills_are_written_by_plain_joined_updates(
    sql_db: models.Model,
) -> None:
    # One UPDATE joined to a list of values a batch, not Django's CASE WHEN
    # a row and field, whose compiling made a large change slow.
    sync(sql_db, shop(email_comment=None))
    changed = shop()
    customers = dataclasses.replace(
        changed.table("customers"),
        columns=(
            col("id", pk=1),
            col("email", "CHAR", raw="char(200)", pos=2, comment="Contact address"),
            col("referrer_id", pos=3),
        ),
    )
    changed = dataclasses.replace(
        changed,
        tables=tuple(customers if t.name == "customers" else t for t in changed.tables),
    )
    with CaptureQueriesContext(connection) as captured:
        report = sync(sql_db, changed)
    updates = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")
    ]
    assert updates
    assert not any("CASE" in sql for sql in updates)
    email = columns(sql_db)["customers.email"]
    assert email["data_format"] == "CHAR"
    described = "" if isinstance(sql_db, fresh.SqlDb) else "Contact address"
    assert email["column_description"] == described
    assert report.columns.updated == 1


def test_a_hosts_delete_signals_still_hear_of_the_rows_a_sync_deletes() -> None:
    # Rows are deleted by key, without Django's collector, only where no
    # receiver would miss them.
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop(extra_tables=2))
    heard: list[str] = []

    def receiver(instance: Any, **kwargs: Any) -> None:
        heard.append(f"{instance.sql_table.name}.{instance.original_column_name}")

    post_delete.connect(receiver, sender=thoth.SqlColumn)
    try:
        report = sync(sql_db, shop(extra_tables=1), force=True)
    finally:
        post_delete.disconnect(receiver, sender=thoth.SqlColumn)
    assert report.tables.deleted == 1
    assert heard
    assert all(name.startswith("extra_0001.") for name in heard)
    assert not thoth.SqlTable.objects.filter(sql_db=sql_db, name="extra_0001").exists()


def test_dropped_and_renamed_objects_disappear(sql_db: models.Model) -> None:
    sync(sql_db, shop(extra_tables=4))
    renamed = shop(extra_tables=3)
    renamed = dataclasses.replace(
        renamed,
        tables=tuple(
            dataclasses.replace(t, name="extra_new") if t.name == "extra_0002" else t
            for t in renamed.tables
        ),
    )
    report = sync(sql_db, renamed)
    names = set(
        cat(sql_db)
        .table._default_manager.filter(sql_db=sql_db)
        .values_list("name", flat=True)
    )
    assert "extra_0002" not in names
    assert {"extra_new", "extra_0000", "extra_0001"} <= names
    assert "extra_0003" not in names
    assert report.tables.deleted == 2
    assert report.tables.created == 1
    assert "extra_new.customer_id->customers.id" in relationships(sql_db)


def test_dropped_column_disappears(sql_db: models.Model) -> None:
    sync(sql_db, shop())
    snapshot = shop()
    orders = snapshot.table("orders")
    orders = dataclasses.replace(orders, columns=orders.columns[:2])
    snapshot = dataclasses.replace(
        snapshot,
        tables=tuple(orders if t.name == "orders" else t for t in snapshot.tables),
    )
    report = sync(sql_db, snapshot)
    assert "orders.placed_at" not in columns(sql_db)
    assert report.columns.deleted == 1


def test_threshold_refuses_mass_deletion_and_force_allows_it(
    sql_db: models.Model,
) -> None:
    sync(sql_db, shop(extra_tables=6))
    before = (columns(sql_db), relationships(sql_db))
    with pytest.raises(DeletionThresholdError) as caught:
        sync(sql_db, shop())
    assert str(caught.value) == (
        "This run would delete 6 of 10 catalogued tables and 12 of 22 columns, "
        "more than the allowed 50%; nothing was changed. If the database really "
        "lost them, run again with force (the admin's action ending in "
        '"(force) - ASYNC", the command\'s --force, or force=True).'
    )
    assert (columns(sql_db), relationships(sql_db)) == before
    report = sync(sql_db, shop(), force=True)
    assert report.tables.deleted == 6
    assert report.forced is True


def test_shadow_tables_an_older_version_catalogued_go_without_counting(
    sql_db: models.Model,
) -> None:
    """Five shadow tables of an FTS5 table, catalogued before they were left
    out, are more than half the catalogue: removed all the same."""
    shadows = tuple(
        f"docs_{part}" for part in ("config", "content", "data", "docsize", "idx")
    )
    snapshot = shop()
    older = dataclasses.replace(
        snapshot,
        tables=(
            *snapshot.tables,
            *(
                TableSnapshot(name=name, columns=(col("id"), col("block")))
                for name in shadows
            ),
        ),
    )
    sync(sql_db, older)
    report = sync(sql_db, dataclasses.replace(snapshot, left_out=shadows))
    assert report.tables.deleted == 5
    assert not cat(sql_db).table._default_manager.filter(name__in=shadows).exists()
    # Without the snapshot saying so, that many would be refused.
    sync(sql_db, older)
    with pytest.raises(DeletionThresholdError):
        sync(sql_db, snapshot)


def test_empty_snapshot_is_refused(sql_db: models.Model) -> None:
    sync(sql_db, shop())
    with pytest.raises(DeletionThresholdError):
        sync(sql_db, SchemaSnapshot(dialect="sqlite", schema="main", tables=()))


def test_incomplete_read_deletes_nothing(sql_db: models.Model) -> None:
    sync(sql_db, shop())
    failure = TableFailure(name="orders", error="OperationalError: boom")
    report = sync(sql_db, shop(drop=("orders",), failures=(failure,)))
    assert "orders.id" in columns(sql_db)
    assert report.deletions_skipped is True
    assert report.failed_tables == [
        {"name": "orders", "error": "OperationalError: boom"}
    ]
    # Nor the keys to or from the table not read: fk_field and relationships.
    assert columns(sql_db)["order_lines.order_id"]["fk_field"] == "orders.id"
    assert columns(sql_db)["orders.customer_id"]["fk_field"] == "customers.id"
    assert relationships(sql_db) == {
        "customers.referrer_id->customers.id",
        "orders.customer_id->customers.id",
        "order_lines.order_id->orders.id",
    }
    assert report.relationships.deleted == 0
    # The rows not read are kept as they are: counted unchanged, so the
    # totals are what the catalogue holds (the progress shown says so).
    model = cat(sql_db)
    assert report.tables.total == (
        model.table._default_manager.filter(sql_db=sql_db).count()
    )
    assert report.columns.total == len(columns(sql_db))
    assert (report.tables.deleted, report.columns.deleted) == (0, 0)
    # Read again in full, a key that is really gone goes.
    snapshot = shop()
    snapshot = dataclasses.replace(
        snapshot,
        tables=tuple(
            dataclasses.replace(t, foreign_keys=()) if t.name == "order_lines" else t
            for t in snapshot.tables
        ),
    )
    report = sync(sql_db, snapshot)
    assert "order_lines.order_id->orders.id" not in relationships(sql_db)
    assert columns(sql_db)["order_lines.order_id"]["fk_field"] == ""
    assert report.relationships.deleted == 1


def test_cancel_rolls_everything_back(sql_db: models.Model) -> None:
    def checkpoint(done: int, total: int) -> None:
        if done > 0:
            raise HarvestCancelledError("Cancelled")

    with pytest.raises(HarvestCancelledError):
        sync(sql_db, shop(), checkpoint=checkpoint)
    assert columns(sql_db) == {}


def test_duplicates_of_an_older_tool_are_merged_keeping_annotations() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    first = thoth.SqlTable.objects.create(sql_db=sql_db, name="customers")
    second = thoth.SqlTable.objects.create(
        sql_db=sql_db, name="customers", description="Kept"
    )
    thoth.SqlColumn.objects.create(sql_table=first, original_column_name="id")
    thoth.SqlColumn.objects.create(
        sql_table=first, original_column_name="id", value_description="1..n"
    )
    thoth.SqlColumn.objects.create(
        sql_table=second, original_column_name="email", column_description="Mail"
    )
    report = sync(sql_db, shop())
    assert thoth.SqlTable.objects.filter(sql_db=sql_db, name="customers").count() == 1
    table = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    assert table.pk == first.pk
    assert table.description == "Kept"
    cols = columns(sql_db)
    assert cols["customers.id"]["value_description"] == "1..n"
    assert cols["customers.email"]["column_description"] == "Mail"
    assert thoth.SqlColumn.objects.filter(sql_table__sql_db=sql_db).count() == 10
    assert report.duplicates_removed == 2
    # The keeper the merge wrote to is an updated row, not an unchanged one.
    tables = thoth.SqlTable.objects.filter(sql_db=sql_db).count()
    assert (report.tables.created, report.tables.updated) == (tables - 1, 1)
    assert report.tables.unchanged == 0
    assert report.columns.total == 10
    # Duplicate relationships are removed too.
    rel = thoth.Relationship.objects.filter(source_table__sql_db=sql_db).first()
    assert rel is not None
    rel.pk = None
    rel.save()
    assert sync(sql_db, shop()).duplicates_removed == 1
    assert len(relationships(sql_db)) == 3


def test_duplicate_columns_of_one_table_merge_before_new_columns_and_keys() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    customers = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    keeper = thoth.SqlColumn.objects.get(
        sql_table=customers, original_column_name="referrer_id"
    )
    # Rows an older tool left: the same columns again, newer.
    thoth.SqlColumn.objects.create(
        sql_table=customers, original_column_name="referrer_id"
    )
    thoth.SqlColumn.objects.filter(
        sql_table=customers, original_column_name="email"
    ).update(column_description="")
    thoth.SqlColumn.objects.create(
        sql_table=customers,
        original_column_name="email",
        column_description="Mail, by hand",
    )
    snapshot = shop()
    table = snapshot.table("customers")
    grown = dataclasses.replace(table, columns=(*table.columns, col("nickname", pos=4)))
    snapshot = dataclasses.replace(
        snapshot,
        tables=tuple(grown if t is table else t for t in snapshot.tables),
    )
    report = sync(sql_db, snapshot)
    assert report.duplicates_removed == 2
    assert (report.columns.created, report.columns.deleted) == (1, 0)
    # The duplicate's annotation went to the emptied keeper, and the
    # database comment did not overwrite it.
    assert columns(sql_db)["customers.email"]["column_description"] == "Mail, by hand"
    # The key stays on the column kept, not on the duplicate deleted.
    assert "customers.referrer_id->customers.id" in relationships(sql_db)
    key = thoth.Relationship.objects.get(
        source_table=customers, source_column__original_column_name="referrer_id"
    )
    assert key.source_column_id == keeper.pk
    assert report.relationships.unchanged == 3


def test_other_databases_are_left_alone(sql_db: models.Model) -> None:
    other = type(sql_db)._default_manager.create(name="other")
    sync(other, shop())
    sync(sql_db, shop(drop=("orders", "order_lines")))
    assert len(columns(other)) == 10
    assert columns(other)["orders.customer_id"]["fk_field"] == "customers.id"


@pytest.mark.parametrize("model", SQLDB_MODELS, ids=["thothai-shaped", "fresh"])
def test_query_count_does_not_grow_with_tables(model: type[models.Model]) -> None:
    """Apart from INSERT batches the backend forces, the query count is constant.

    SQLite builds limited to 999 bound parameters split a bulk INSERT into
    more statements; those are counted against what the backend requires.
    """
    counts = []
    for extra in (20, 200):
        sql_db = model._default_manager.create(name=f"db{extra}")
        with CaptureQueriesContext(connection) as cold:
            sync(sql_db, shop(extra_tables=extra))
        with CaptureQueriesContext(connection) as warm:
            sync(sql_db, shop(extra_tables=extra))
        inserts = [q for q in cold.captured_queries if q["sql"].startswith("INSERT")]
        counts.append((len(cold) - len(inserts), len(inserts), len(warm)))
        c = cat(sql_db)
        rows = {
            c.table: 4 + extra,
            c.column: 10 + 2 * extra,
            c.relationship: 3 + extra,
        }
        needed = sum(
            math.ceil(
                n
                / min(
                    1000,
                    connection.ops.bulk_batch_size(
                        [f for f in m._meta.concrete_fields if not f.primary_key],
                        [None] * n,
                    )
                    or n,
                )
            )
            for m, n in rows.items()
        )
        assert len(inserts) == needed
    (other_small, _, warm_small), (other_big, _, warm_big) = counts
    assert other_big == other_small
    assert warm_big == warm_small


def test_names_longer_than_the_catalogue_are_reported_not_truncated(
    sql_db: models.Model,
) -> None:
    sync(sql_db, shop())
    long_table = dataclasses.replace(shop().table("orders"), name="o" * 300)
    long_column = dataclasses.replace(
        shop().table("customers"), columns=(col("id", pk=1), col("c" * 256, pos=2))
    )
    snapshot = dataclasses.replace(
        shop(), tables=(*shop(drop=("customers",)).tables, long_table, long_column)
    )
    report = sync(sql_db, snapshot)
    assert [f["name"] for f in report.failed_tables] == ["o" * 200, "customers"]
    assert "longer than the catalogue can store" in report.failed_tables[0]["error"]
    assert report.deletions_skipped is True  # incomplete: customers is kept
    assert "customers.email" in columns(sql_db)


@contextmanager
def own_catalogue(
    table_fields: dict[str, models.Field[Any, Any]],
    column_fields: dict[str, models.Field[Any, Any]],
) -> Iterator[Catalogue]:
    """A host catalogue of its own: ThothAI's fields, ``description`` and
    ``column_description`` as given or TextFields, plus the fields given.
    Its tables exist for the block. Call inside ``isolate_apps``."""

    def model(name: str, fields: dict[str, Any]) -> type[models.Model]:
        meta = type("Meta", (), {"app_label": "testapp"})
        attrs = {"__module__": __name__, "Meta": meta, **fields}
        return type(name, (models.Model,), attrs)

    own_db = model("OwnDb", {"name": models.CharField(max_length=50)})
    own_table = model(
        "OwnTable",
        {
            "name": models.CharField(max_length=255),
            "description": models.TextField(blank=True),
            "generated_comment": models.TextField(blank=True),
            "sql_db": models.ForeignKey(own_db, models.CASCADE, related_name="+"),
            **table_fields,
        },
    )
    own_column = model(
        "OwnColumn",
        {
            "original_column_name": models.CharField(max_length=255),
            "column_name": models.CharField(max_length=255, blank=True),
            "data_format": models.CharField(max_length=255),
            "column_description": models.TextField(blank=True),
            "generated_comment": models.TextField(blank=True),
            "value_description": models.TextField(blank=True),
            "pk_field": models.TextField(blank=True),
            "fk_field": models.TextField(blank=True),
            "sql_table": models.ForeignKey(own_table, models.CASCADE, related_name="+"),
            **column_fields,
        },
    )
    own_relationship = model(
        "OwnRelationship",
        {
            f"{end}_{kind}": models.ForeignKey(target, models.CASCADE, related_name="+")
            for end in ("source", "target")
            for kind, target in (("table", own_table), ("column", own_column))
        },
    )
    own = [own_db, own_table, own_column, own_relationship]
    with connection.schema_editor() as editor:
        for each in own:
            editor.create_model(each)
    try:
        yield Catalogue(*own)
    finally:
        with connection.schema_editor() as editor:
            for each in reversed(own):
                editor.delete_model(each)


@pytest.mark.django_db(transaction=True)
@isolate_apps("tests.testapp")
def test_metadata_fields_of_a_host_of_its_own_shape() -> None:
    """A NOT NULL ``default_value`` gets "" for no default; the raw type is
    cut to the host's ``data_type`` length."""
    extra = {
        "data_type": models.CharField(max_length=8, blank=True),
        "default_value": models.TextField(blank=True),
    }
    with own_catalogue({}, extra) as catalogue:
        sql_db = catalogue.sqldb.objects.create(name="shop")
        snapshot = shop()
        for _ in range(2):
            report = sync_snapshot(
                sql_db, snapshot, catalogue, HarvestReport(sqldb_id=sql_db.pk)
            )
        assert (report.columns.created, report.columns.unchanged) == (0, 10)
        email = catalogue.column.objects.get(original_column_name="email")
        assert (email.data_type, email.default_value) == ("varchar(", "")


@pytest.mark.django_db(transaction=True)
@isolate_apps("tests.testapp")
def test_values_longer_than_the_hosts_char_fields_are_cut_to_fit() -> None:
    """What the database reports (types, defaults, comments, key targets)
    is cut to a host's shorter CharFields, on every database (PostgreSQL and
    MariaDB refuse longer values), and a re-run finds nothing changed."""
    table_fields = {"description": models.CharField(max_length=6, blank=True)}
    column_fields = {
        "column_name": models.CharField(max_length=4, blank=True),
        "column_description": models.CharField(max_length=5, blank=True),
        "fk_field": models.CharField(max_length=7, blank=True),
        "pk_field": models.CharField(max_length=1, blank=True),
        "data_type": models.CharField(max_length=8, blank=True),
        "default_value": models.CharField(max_length=3, blank=True, null=True),
    }
    snapshot = shop()
    customers = snapshot.table("customers")
    email = dataclasses.replace(customers.columns[1], default="'nobody@example.com'")
    snapshot = dataclasses.replace(
        snapshot,
        tables=tuple(
            dataclasses.replace(t, columns=(t.columns[0], email, t.columns[2]))
            if t.name == "customers"
            else t
            for t in snapshot.tables
        ),
    )
    with own_catalogue(table_fields, column_fields) as catalogue:
        sql_db = catalogue.sqldb.objects.create(name="shop")
        reports = [
            sync_snapshot(
                sql_db, snapshot, catalogue, HarvestReport(sqldb_id=sql_db.pk)
            )
            for _ in range(2)
        ]
        assert reports[1].columns.unchanged == 10
        assert reports[1].tables.unchanged == 4
        table = catalogue.table.objects.get(name="customers")
        assert table.description == "People"
        row = catalogue.column.objects.get(
            sql_table__name="customers", original_column_name="email"
        )
        assert (row.column_name, row.column_description) == ("emai", "Conta")
        assert (row.data_type, row.default_value) == ("varchar(", "'no")
        referrer = catalogue.column.objects.get(original_column_name="referrer_id")
        key = catalogue.column.objects.get(
            sql_table__name="customers", original_column_name="id"
        )
        assert (referrer.fk_field, key.pk_field) == ("custome", "P")
        # An empty description is filled again, cut as before.
        catalogue.table.objects.filter(pk=table.pk).update(description="")
        report = sync_snapshot(
            sql_db, snapshot, catalogue, HarvestReport(sqldb_id=sql_db.pk)
        )
        assert report.tables.updated == 1
        assert catalogue.table.objects.get(pk=table.pk).description == "People"
        # So is an empty column description.
        catalogue.column.objects.filter(pk=row.pk).update(column_description="")
        report = sync_snapshot(
            sql_db, snapshot, catalogue, HarvestReport(sqldb_id=sql_db.pk)
        )
        assert report.columns.updated == 1
        row.refresh_from_db()
        assert row.column_description == "Conta"
        # A column_name cut to fit is no annotation of its own when the
        # column goes; one changed by hand is.
        catalogue.column.objects.filter(original_column_name="referrer_id").update(
            column_name="Ref"
        )
        catalogue.column.objects.filter(pk=row.pk).update(column_description="")
        snapshot = dataclasses.replace(
            snapshot, tables=tuple(t for t in snapshot.tables if t.name != "customers")
        )
        report = sync_snapshot(
            sql_db, snapshot, catalogue, HarvestReport(sqldb_id=sql_db.pk), force=True
        )
        assert report.annotated_deleted == ["customers", "customers.referrer_id"]


@pytest.mark.django_db(transaction=True)
@isolate_apps("tests.testapp")
def test_database_comments_are_cut_to_a_hosts_char_field() -> None:
    def comment() -> dict[str, models.Field[Any, Any]]:
        return {"db_comment": models.CharField(max_length=5, blank=True)}

    with own_catalogue(comment(), comment()) as catalogue:
        sql_db = catalogue.sqldb.objects.create(name="shop")
        reports = [
            sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
            for _ in range(2)
        ]
        assert (reports[1].tables.unchanged, reports[1].columns.unchanged) == (4, 10)
        assert catalogue.table.objects.get(name="customers").db_comment == "Peopl"
        email = catalogue.column.objects.get(original_column_name="email")
        assert (email.db_comment, email.column_description) == ("Conta", "")


class VarChar(models.Field):  # type: ignore[type-arg]
    """A host's own field stored as ``varchar``, not a CharField."""

    def get_internal_type(self) -> str:
        return "CharField"


@pytest.mark.django_db(transaction=True)
@isolate_apps("tests.testapp")
def test_any_field_with_a_max_length_is_cut_to_it() -> None:
    """Not only CharFields: a field of the host's own stored as ``varchar``,
    and a TextField with a ``max_length`` (which its forms check)."""
    columns = {
        "db_comment": VarChar(max_length=5, blank=True),
        "data_type": models.TextField(max_length=8, blank=True),
    }
    with own_catalogue({}, columns) as catalogue:
        sql_db = catalogue.sqldb.objects.create(name="shop")
        reports = [
            sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
            for _ in range(2)
        ]
        assert reports[1].columns.unchanged == 10
        email = catalogue.column.objects.get(original_column_name="email")
        assert (email.db_comment, email.data_type) == ("Conta", "varchar(")


def test_the_mysql_session_lock_timeout_is_put_back(sql_db: models.Model) -> None:
    if connection.vendor != "mysql":
        pytest.skip("MySQL/MariaDB as Django's database (the tox environments)")
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 77")
    sync(sql_db, shop())
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout")
        assert cursor.fetchone()[0] == 77


def without_referrer_key(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """``snapshot`` with the foreign key customers.referrer_id dropped."""
    tables = tuple(
        dataclasses.replace(t, foreign_keys=()) if t.name == "customers" else t
        for t in snapshot.tables
    )
    return dataclasses.replace(snapshot, tables=tables)


def fk_field(sql_db: models.Model, name: str) -> str:
    return str(columns(sql_db)[name]["fk_field"])


def add_by_hand(sql_db: models.Model, source: str, target: str) -> None:
    """A relationship as ThothAI's "Associate candidates FK to PK" makes
    one: the row, and the target in the source column's ``fk_field``."""
    table, column = source.split(".")
    row = cat(sql_db).column._default_manager.get(
        sql_table__sql_db=sql_db, sql_table__name=table, original_column_name=column
    )
    relate_by_hand(sql_db, row, target)


def relate_by_hand(sql_db: models.Model, source: Any, target: str) -> None:
    """``add_by_hand`` from the column row ``source`` (a duplicate, say)."""
    c = cat(sql_db)
    table, column = target.split(".")
    target_row = c.column._default_manager.get(
        sql_table__sql_db=sql_db, sql_table__name=table, original_column_name=column
    )
    c.relationship._default_manager.create(
        source_table=source.sql_table,
        source_column=source,
        target_table=target_row.sql_table,
        target_column=target_row,
    )
    source.fk_field = target
    source.save(update_fields=["fk_field"])


def stored_harvest_of(sql_db: models.Model) -> Any:
    sql_db.refresh_from_db()
    return (sql_db.db_elements_report or {}).get("relationships_harvested")


def test_incomplete_read_deletes_no_relationship_between_tables_read(
    sql_db: models.Model,
) -> None:
    """A key dropped from the database stays after an incomplete read (with
    its ``fk_field``: the two agree), whose tables were read or not; the
    next complete read removes both."""
    sync(sql_db, shop())
    key = "customers.referrer_id->customers.id"
    failure = TableFailure(name="a_view", error="OperationalError: no such table")
    report = sync(sql_db, without_referrer_key(shop(failures=(failure,))), force=True)
    assert key in relationships(sql_db)
    assert fk_field(sql_db, "customers.referrer_id") == "customers.id"
    assert report.relationships.deleted == 0
    assert report.deletions_skipped is True
    assert report.forced is False  # nothing was deleted, so nothing forced
    # The next complete read removes it.
    report = sync(sql_db, without_referrer_key(shop()))
    assert key not in relationships(sql_db)
    assert fk_field(sql_db, "customers.referrer_id") == ""
    assert (report.relationships.deleted, report.deletions_skipped) == (1, False)


def test_a_relationship_added_by_hand_stays_with_its_fk_field(
    sql_db: models.Model,
) -> None:
    """Re-runs keep what people added (ThothAI's candidates FK to PK for a
    database that declares no keys) and still remove the keys the database
    dropped."""
    sync(sql_db, shop())
    add_by_hand(sql_db, "orders.placed_at", "customers.id")
    by_hand = "orders.placed_at->customers.id"
    for _ in range(2):
        report = sync(sql_db, shop())
        assert by_hand in relationships(sql_db)
        assert fk_field(sql_db, "orders.placed_at") == "customers.id"
        assert (report.relationships.deleted, report.columns.updated) == (0, 0)
        assert report.writes == 0
    # The database drops a key it declared: that one goes, not the other.
    report = sync(sql_db, without_referrer_key(shop()))
    assert "customers.referrer_id->customers.id" not in relationships(sql_db)
    assert by_hand in relationships(sql_db)
    assert report.relationships.deleted == 1
    assert fk_field(sql_db, "orders.placed_at") == "customers.id"
    # Its target column gone, it goes too (with the column), and so does
    # the fk_field naming it.
    snapshot = shop()
    tables = tuple(
        dataclasses.replace(t, columns=t.columns[:2]) if t.name == "orders" else t
        for t in snapshot.tables
    )
    sync(sql_db, dataclasses.replace(snapshot, tables=tables), force=True)
    assert by_hand not in relationships(sql_db)


def test_with_nothing_recorded_the_keys_the_database_declares_become_the_harvests(
    sql_db: models.Model,
) -> None:
    """Nothing recorded yet (a catalogue filled before): the relationships
    the database declares are the harvest's from that run on, and go when it
    drops them; any other is taken for a person's and kept, even if the
    database declares and drops its key later."""
    sync(sql_db, shop())
    type(sql_db)._default_manager.filter(pk=sql_db.pk).update(db_elements_report=None)
    add_by_hand(sql_db, "orders.placed_at", "customers.id")
    sync(sql_db, shop())
    assert stored_harvest_of(sql_db)
    sync(sql_db, without_referrer_key(shop()))
    assert "customers.referrer_id->customers.id" not in relationships(sql_db)
    assert "orders.placed_at->customers.id" in relationships(sql_db)
    sync(sql_db, with_placed_at_key(shop()))
    sync(sql_db, shop())
    assert "orders.placed_at->customers.id" in relationships(sql_db)


def with_placed_at_key(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    """``snapshot`` with a foreign key orders.placed_at -> customers.id."""
    key = fk(("placed_at",), "customers", ("id",))
    tables = tuple(
        dataclasses.replace(t, foreign_keys=(*t.foreign_keys, key))
        if t.name == "orders"
        else t
        for t in snapshot.tables
    )
    return dataclasses.replace(snapshot, tables=tables)


def test_a_relationship_added_by_hand_stays_when_the_database_declares_and_drops_it(
    sql_db: models.Model,
) -> None:
    """A person's before the database declared it, it stays a person's."""
    sync(sql_db, shop())
    add_by_hand(sql_db, "orders.placed_at", "customers.id")
    by_hand = "orders.placed_at->customers.id"
    sync(sql_db, shop())
    report = sync(sql_db, with_placed_at_key(shop()))
    assert (report.relationships.created, report.relationships.deleted) == (0, 0)
    report = sync(sql_db, shop())
    assert report.relationships.deleted == 0
    assert by_hand in relationships(sql_db)
    assert fk_field(sql_db, "orders.placed_at") == "customers.id"


def test_a_relationship_added_by_hand_to_a_duplicate_of_an_unread_table_stays() -> None:
    """Moved onto the rows kept while its table was not read: still a
    person's, which the next complete read keeps. (Duplicates: a model
    without unique constraints, ThothAI's.)"""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    c = cat(sql_db)
    orders = c.table._default_manager.get(sql_db=sql_db, name="orders")
    newer = c.table._default_manager.create(sql_db=sql_db, name="orders")
    duplicate = c.column._default_manager.create(
        sql_table=newer, original_column_name="placed_at"
    )
    relate_by_hand(sql_db, duplicate, "customers.id")
    failure = TableFailure(name="orders", error="OperationalError: boom")
    sync(sql_db, shop(drop=("orders",), failures=(failure,)))
    by_hand = "orders.placed_at->customers.id"
    assert by_hand in relationships(sql_db)
    report = sync(sql_db, shop())
    assert report.relationships.deleted == 0
    assert by_hand in relationships(sql_db)
    assert (
        c.relationship._default_manager.get(
            source_column__original_column_name="placed_at"
        ).source_table_id
        == orders.pk
    )
    assert fk_field(sql_db, "orders.placed_at") == "customers.id"


def test_the_harvested_relationships_are_recorded_only_when_they_change(
    sql_db: models.Model,
) -> None:
    report = sync(sql_db, shop())
    recorded = stored_harvest_of(sql_db)
    assert recorded == report.relationships_harvested
    keys = set(
        cat(sql_db)
        .relationship._default_manager.filter(source_table__sql_db=sql_db)
        .values_list("pk", flat=True)
    )
    assert decode_keys(recorded) is not None
    assert all(k in decode_keys(recorded) for k in keys)  # type: ignore[operator]
    with CaptureQueriesContext(connection) as queries:
        sync(sql_db, shop())
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    sql_db.refresh_from_db()
    assert sql_db.db_elements_report == {"relationships_harvested": recorded}


def test_keys_of_merged_duplicates_count_as_duplicates_not_deletions() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    customers = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    keeper = thoth.SqlColumn.objects.get(
        sql_table=customers, original_column_name="referrer_id"
    )
    newer = thoth.SqlColumn.objects.create(
        sql_table=customers, original_column_name="referrer_id"
    )
    # The key of an older tool's run points at the newer duplicate.
    thoth.Relationship.objects.filter(source_column=keeper).update(source_column=newer)
    report = sync(sql_db, shop())
    assert report.duplicates_removed == 2  # the column and its key
    assert report.relationships.deleted == 0
    assert report.relationships.created == 1
    key = thoth.Relationship.objects.get(source_table=customers)
    assert key.source_column_id == keeper.pk


def test_a_relationship_added_by_hand_to_a_duplicate_moves_to_its_keeper() -> None:
    """An older tool left a column twice, and someone joined the newer one
    by hand: the merge keeps the relationship, on the column kept."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    orders = thoth.SqlTable.objects.get(sql_db=sql_db, name="orders")
    keeper = thoth.SqlColumn.objects.get(
        sql_table=orders, original_column_name="placed_at"
    )
    newer = thoth.SqlColumn.objects.create(
        sql_table=orders, original_column_name="placed_at"
    )
    relate_by_hand(sql_db, newer, "customers.id")
    report = sync(sql_db, shop())
    assert report.duplicates_removed == 2  # the column and its relationship
    assert report.relationships.deleted == 0
    assert "orders.placed_at->customers.id" in relationships(sql_db)
    moved = thoth.Relationship.objects.get(
        source_table=orders,
        target_table__name="customers",
        source_column__original_column_name="placed_at",
    )
    assert moved.source_column_id == keeper.pk
    assert fk_field(sql_db, "orders.placed_at") == "customers.id"
    # Still a person's: the next run keeps it.
    report = sync(sql_db, shop())
    assert report.writes == 0
    assert "orders.placed_at->customers.id" in relationships(sql_db)


def test_keys_from_a_table_not_read_move_to_its_merged_rows() -> None:
    # An older tool left "orders" twice, the key's column on the newer one.
    # Read incomplete, "orders" failing: its key was not read, and is kept,
    # on the rows kept.
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    orders = thoth.SqlTable.objects.get(sql_db=sql_db, name="orders")
    newer = thoth.SqlTable.objects.create(sql_db=sql_db, name="orders")
    thoth.SqlColumn.objects.filter(
        sql_table=orders, original_column_name="customer_id"
    ).update(sql_table=newer)
    thoth.Relationship.objects.filter(source_table=orders).update(source_table=newer)
    before = relationships(sql_db)
    failure = TableFailure(name="orders", error="OperationalError: boom")
    report = sync(sql_db, shop(drop=("orders",), failures=(failure,)))
    assert relationships(sql_db) == before
    key = thoth.Relationship.objects.get(
        source_column__original_column_name="customer_id"
    )
    assert (key.source_table_id, key.source_column.sql_table_id) == (
        orders.pk,
        orders.pk,
    )
    assert columns(sql_db)["orders.customer_id"]["fk_field"] == "customers.id"
    assert report.duplicates_removed == 2  # the table, and its key's old row
    assert report.relationships.created == 1


def test_a_nul_character_reaches_a_postgresql_catalogue_as_u_fffd(
    sql_db: models.Model,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL as Django's database (the tox environments)")
    snapshot = shop(customer_comment="people\x00who buy", email_comment="a\x00b")
    snapshot = dataclasses.replace(snapshot, dialect="mariadb")
    sync(sql_db, snapshot)
    email = cat(sql_db).column._default_manager.get(
        sql_table__sql_db=sql_db, original_column_name="email"
    )
    # In db_comment where the model has one, else in the empty description.
    assert getattr(email, "db_comment", email.column_description) == "a\ufffdb"
    with CaptureQueriesContext(connection) as captured:
        report = sync(sql_db, snapshot)
    assert writes(captured) == []
    assert report.columns.unchanged == 10


def test_without_nul_reports_a_name_with_nul_and_keeps_the_rest() -> None:
    snapshot = shop()
    bad = dataclasses.replace(snapshot.tables[0], name="cust\x00omers")
    odd = dataclasses.replace(
        snapshot.tables[1],
        comment="x\x00",
        columns=(
            dataclasses.replace(
                snapshot.tables[1].columns[0], default="'\x00'", raw_type="t\x00"
            ),
            *snapshot.tables[1].columns[1:],
        ),
    )
    unread = TableFailure("v\x00", "OperationalError: no such table: v\x00")
    cleaned = without_nul(
        dataclasses.replace(
            snapshot, tables=(bad, odd, *snapshot.tables[2:]), failures=(unread,)
        )
    )
    assert [f.name for f in cleaned.failures] == ["v\ufffd", "cust\ufffdomers"]
    assert cleaned.failures[0].error == "OperationalError: no such table: v\ufffd"
    table = cleaned.tables[0]
    assert (table.comment, table.columns[0].default, table.columns[0].raw_type) == (
        "x\ufffd",
        "'\ufffd'",
        "t\ufffd",
    )
    assert cleaned.tables[1:] == snapshot.tables[2:]
    assert without_nul(snapshot) is snapshot


def test_the_postgresql_lock_timeout_of_a_callers_transaction_is_put_back(
    sql_db: models.Model,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL as Django's database (the tox environments)")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '77s'")
        sync(sql_db, shop())
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "77s"
        # A sync that fails leaves it as it was too.
        with pytest.raises(DeletionThresholdError):
            sync(sql_db, shop(drop=("customers", "orders", "order_lines")))
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "77s"

        # And one whose ``written`` raises (the library's was kept).
        def refuse(report: HarvestReport) -> None:
            raise RuntimeError("the caller's hook failed")

        with pytest.raises(RuntimeError, match="hook failed"):
            sync(sql_db, shop(extra_tables=1), written=refuse)
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "77s"


def test_the_report_names_deleted_rows_that_carried_annotations(
    sql_db: models.Model, caplog: pytest.LogCaptureFixture
) -> None:
    sync(sql_db, shop(customer_comment=None, email_comment=None))
    c = cat(sql_db)
    c.table._default_manager.filter(sql_db=sql_db, name="order_lines").update(
        description="One line of an order"
    )
    c.column._default_manager.filter(
        sql_table__sql_db=sql_db, original_column_name="email"
    ).update(column_name="E-mail")
    snapshot = shop(drop=("order_lines",), customer_comment=None, email_comment=None)
    customers = snapshot.table("customers")
    snapshot = dataclasses.replace(
        snapshot,
        tables=tuple(
            dataclasses.replace(
                t, columns=tuple(x for x in t.columns if x.name != "email")
            )
            if t is customers
            else t
            for t in snapshot.tables
        ),
    )
    run_log = logging.getLogger("thoth_db_elements.test")
    with caplog.at_level("WARNING", logger="thoth_db_elements.test"):
        report = sync(sql_db, snapshot, log=run_log)
    assert report.tables.deleted == 1
    assert report.annotated_deleted == ["customers.email", "order_lines"]
    # Their texts are in the run's log, to be copied back.
    logged = [
        json.loads(r.getMessage().removeprefix("Deleted with its annotations: "))
        for r in caplog.records
        if r.name == run_log.name
    ]
    assert logged == [
        {
            "table": "order_lines",
            "annotations": {"description": "One line of an order"},
        },
        {
            "table": "customers",
            "column": "email",
            "annotations": {"column_name": "E-mail"},
        },
    ]
    assert report.to_dict()["annotated_deleted"] == ["customers.email", "order_lines"]
    # Nothing deleted, nothing named.
    assert sync(sql_db, snapshot).annotated_deleted == []


def test_a_column_name_differing_only_in_case_counts_as_an_annotation() -> None:
    # ThothAI's models compare names in the database's collation: on
    # MariaDB's default one, "Email" = "email". The name someone gave is
    # still theirs, and goes into the report when its column goes.
    sql_db = thoth.SqlDb.objects.create(name="cases")
    sync(sql_db, shop(customer_comment=None, email_comment=None))
    thoth.SqlColumn.objects.filter(
        sql_table__sql_db=sql_db, original_column_name="email"
    ).update(column_name="Email")
    snapshot = shop(drop=("customers",), customer_comment=None, email_comment=None)
    report = sync(sql_db, snapshot, force=True)
    assert report.annotated_deleted == ["customers.email"]


def test_a_table_and_a_column_of_the_same_dotted_name_are_both_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Table "t.c" and column "c" of table "t": two rows, two entries.
    sql_db = thoth.SqlDb.objects.create(name="dots")
    before = SchemaSnapshot(
        dialect="sqlite",
        schema="main",
        tables=(
            TableSnapshot(name="t", columns=(col("id"), col("c"), col("d"))),
            TableSnapshot(name="t.c", columns=(col("id"),)),
            TableSnapshot(name="u", columns=(col("id"),)),
        ),
    )
    sync(sql_db, before)
    thoth.SqlTable.objects.filter(name="t.c").update(description="TABLE TEXT")
    thoth.SqlColumn.objects.filter(original_column_name="c").update(
        column_description="COLUMN TEXT"
    )
    after = dataclasses.replace(
        before,
        tables=(
            TableSnapshot(name="t", columns=(col("id"), col("d"))),
            TableSnapshot(name="u", columns=(col("id"),)),
        ),
    )
    run_log = logging.getLogger("thoth_db_elements.test")
    with caplog.at_level("WARNING", logger=run_log.name):
        report = sync(sql_db, after, log=run_log)
    assert report.annotated_deleted == ["t.c", "t.c"]
    texts = sorted(r.getMessage() for r in caplog.records if r.name == run_log.name)
    assert [json.loads(t.split(": ", 1)[1])["annotations"] for t in texts] == [
        {"column_description": "COLUMN TEXT"},
        {"description": "TABLE TEXT"},
    ]


WITHHELD_LINE = "Deleted with its annotations: [not shown: it contained a password]"


def deleted_lines(
    caplog: pytest.LogCaptureFixture, texts: dict[str, str], secrets: tuple[str, ...]
) -> list[str]:
    """The deleted-annotation lines of a sync that deletes every table of
    the shop but its first, after the tables of ``texts`` were described so."""
    sql_db = thoth.SqlDb.objects.create(name="secret")
    sync(sql_db, shop())
    for name, text in texts.items():
        thoth.SqlTable.objects.filter(sql_db=sql_db, name=name).update(description=text)
    snapshot = shop()
    gone = dataclasses.replace(snapshot, tables=snapshot.tables[:1])
    with caplog.at_level("WARNING", logger="thoth_db_elements.persistence"):
        sync(sql_db, gone, force=True, secrets=secrets)
    return sorted(
        r.getMessage()
        for r in caplog.records
        if "with its annotations" in r.getMessage()
    )


def test_a_deleted_annotation_holding_a_password_is_withheld(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Checked as written, not as JSON escapes it (a line break before it,
    # a quote in it): the line goes to the host's logs too.
    texts = {"orders": "Login:\nhunter2", "order_lines": 'key pa"ss', "customers": "ok"}
    lines = deleted_lines(caplog, texts, ("hunter2", 'pa"ss'))
    assert lines.count(WITHHELD_LINE) == 2
    assert not [line for line in lines if "hunter2" in line or "key pa" in line]
    assert any('"ok"' in line for line in lines)


def test_a_deleted_annotation_holding_an_encoded_password_is_withheld(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A connection string (URL-encoded) or a settings dump (JSON) pasted
    # into a description spells the password otherwise.
    texts = {
        "orders": "replica: host=db password=p%40ss%22w%C3%B8rd",
        "order_lines": '{"user": "app", "password": "p@ss\\"w\\u00f8rd"}',
        "customers": "ok",
    }
    lines = deleted_lines(caplog, texts, ('p@ss"wørd',))
    assert lines.count(WITHHELD_LINE) == 2
    assert any('"ok"' in line for line in lines)


def test_the_run_log_names_at_most_twenty_deleted_annotated_rows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from thoth_db_elements.harvest import _log_counts

    report = HarvestReport(sqldb_id=1)
    report.annotated_deleted = [f"t{n:02d}" for n in range(23)]
    with caplog.at_level("WARNING", logger="thoth_db_elements.test"):
        _log_counts(logging.getLogger("thoth_db_elements.test"), report)
    (record,) = [r for r in caplog.records if "annotations" in r.getMessage()]
    assert record.getMessage().endswith('"t18", "t19" and 3 more')
    assert "t20" not in record.getMessage()


@contextmanager
def sqlite_parameter_limit(limit: int) -> Iterator[None]:
    """Django's SQLite connection limited to ``limit`` parameters a statement,
    as builds of SQLite before 3.32 are (999)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite as Django's database")
    connection.ensure_connection()
    raw = connection.connection
    before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    try:
        yield
    finally:
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def chain(count: int, fmt: str = "INT", comment: str | None = None) -> SchemaSnapshot:
    """``count`` tables, each with a key to the one before."""
    return SchemaSnapshot(
        dialect="sqlite",
        schema="main",
        tables=tuple(
            TableSnapshot(
                name=f"t{i:04d}",
                comment=comment,
                columns=(col("id", fmt, pk=1), col("ref", fmt, pos=2)),
                foreign_keys=(
                    ForeignKeySnapshot(None, ("ref",), None, f"t{i - 1:04d}", ("id",)),
                )
                if i
                else (),
            )
            for i in range(count)
        ),
    )


def test_every_statement_keeps_to_sqlites_parameter_limit() -> None:
    sql_db = thoth.SqlDb.objects.create(name="many")
    with sqlite_parameter_limit(999):
        report = sync(sql_db, chain(1500))
        assert (report.tables.created, report.relationships.created) == (1500, 1499)
        report = sync(sql_db, chain(1500, "BIGINT", comment="filled"))
        assert (report.columns.updated, report.tables.updated) == (3000, 1500)
        report = sync(sql_db, chain(700), force=True)
        assert (report.tables.deleted, report.columns.deleted) == (800, 1600)
        assert report.relationships.deleted == 800
    assert set(
        thoth.SqlTable.objects.filter(sql_db=sql_db).values_list(
            "description", flat=True
        )
    ) == {"filled"}


def test_merging_takes_a_duplicates_own_column_name_over_the_default() -> None:
    """Every column's column_name starts as its name: only another value is
    someone's, and survives a merge into a keeper that has none."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync(sql_db, shop())
    customers = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    thoth.SqlColumn.objects.create(
        sql_table=customers, original_column_name="id", column_name="Customer number"
    )
    thoth.SqlColumn.objects.filter(
        sql_table=customers, original_column_name="email"
    ).update(column_name="E-mail")
    thoth.SqlColumn.objects.create(
        sql_table=customers, original_column_name="email", column_name="Mail"
    )
    report = sync(sql_db, shop())
    assert report.duplicates_removed == 2
    names = dict(
        thoth.SqlColumn.objects.filter(sql_table=customers).values_list(
            "original_column_name", "column_name"
        )
    )
    assert names["id"] == "Customer number"
    assert names["email"] == "E-mail"  # the keeper's own is kept


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_catalogue_locked_by_another_connection_says_how_long_it_waited(
    sql_db: models.Model,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite as Django's database")
    connection.ensure_connection()
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    other.isolation_level = None
    other.execute("BEGIN IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        (before,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout = 200")
    try:
        with pytest.raises(CatalogueLockedError) as info:
            sync(sql_db, shop())
    finally:
        other.execute("ROLLBACK")
        other.close()
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(before)}")
    assert str(info.value) == (
        "The catalogue is locked by another transaction (waited as long as the "
        "database connection's timeout option); nothing was changed. Run again "
        "when it is free."
    )
    assert columns(sql_db) == {}


@pytest.mark.django_db(transaction=True)
def test_written_is_called_once_the_catalogue_is_written_and_only_then() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    calls: list[HarvestReport] = []
    # Refused: nothing written, no call.
    with pytest.raises(DeletionThresholdError):
        sync(sql_db, shop(), written=calls.append)
        sync(sql_db, dataclasses.replace(shop(), tables=()), written=calls.append)
    assert len(calls) == 1
    # Inside a caller's transaction: written into it, to go with it.
    with pytest.raises(RuntimeError), transaction.atomic():
        report = sync(
            sql_db,
            dataclasses.replace(shop(), tables=shop().tables[:1]),
            force=True,
            written=calls.append,
        )
        assert calls[-1] is report
        raise RuntimeError("rolled back")
    assert len(calls) == 2
    assert thoth.SqlTable.objects.filter(sql_db=sql_db).count() == len(shop().tables)


@pytest.mark.django_db(transaction=True)
def test_a_session_with_nothing_to_put_back_does_not_reconnect() -> None:
    """Off MySQL the sync changes nothing of the session that outlives it:
    its end opens no cursor (on a connection gone, it would reconnect, and
    log a MySQL warning on PostgreSQL when that failed)."""
    from thoth_db_elements import _catalogue_lock

    session = _catalogue_lock._Session(
        thoth.SqlDb.objects.create(name="x", db_type="SQLite")
    )
    connection.close()
    session.end()
    assert connection.connection is None


def _long_comments(letter: str) -> SchemaSnapshot:
    """50 tables x 20 columns whose comments come to 17.5 MB of tables' and
    17 MB of columns' text: more than MariaDB's default
    ``max_allowed_packet`` (16 MiB) for a statement of each."""
    return SchemaSnapshot(
        dialect="postgresql",
        schema="public",
        tables=tuple(
            TableSnapshot(
                name=f"t{t:02d}",
                comment=letter * 350_000,
                columns=tuple(
                    col(f"c{c:02d}", comment=letter * 17_000, pos=c + 1)
                    for c in range(20)
                ),
            )
            for t in range(50)
        ),
    )


def test_long_comments_are_written_in_statements_the_database_takes(
    sql_db: models.Model,
) -> None:
    # MariaDB refuses a statement longer than max_allowed_packet: rows are
    # batched by the text they carry too, not by their number alone. New
    # rows (INSERT), changed comments (UPDATE) and descriptions filled from
    # comments (the ThothAI-shaped models) alike.
    quiet = _long_comments("")
    sync(sql_db, quiet)
    report = sync(sql_db, _long_comments("a"))
    assert report.columns.updated == 1000
    report = sync(sql_db, _long_comments("b"))
    c = cat(sql_db)
    column = c.column._default_manager.get(
        sql_table__sql_db=sql_db, sql_table__name="t49", original_column_name="c19"
    )
    table = c.table._default_manager.get(sql_db=sql_db, name="t49")
    if model_has_field(c.column, "db_comment"):
        assert report.columns.updated == 1000
        assert column.db_comment == "b" * 17_000
        assert table.db_comment == "b" * 350_000
    else:  # filled once, then kept as written
        assert column.column_description == "a" * 17_000
        assert table.description == "a" * 350_000
    sql_db.delete()
    again = type(sql_db)._default_manager.create(name="again", db_type="SQLite")
    assert sync(again, _long_comments("c")).columns.created == 1000
