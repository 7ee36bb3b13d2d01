"""``create_db_elements`` and the CLI end to end on real SQLite files."""

from __future__ import annotations

import json
import logging
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Relationship, SqlColumn, SqlDb, SqlTable
from thoth_db_elements.exceptions import (
    ConnectionFailedError,
    DeletionThresholdError,
    SchemaNotFoundError,
    UnsupportedDatabaseError,
)
from thoth_db_elements.harvest import create_db_elements, read_snapshot

pytestmark = pytest.mark.django_db


def sqlite_file(path: Path, script: str) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()
    return path


SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);
CREATE TABLE "order" (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    "placed at" DATETIME
);
CREATE TABLE lines (
    order_id INTEGER REFERENCES "order" (id),
    n INTEGER,
    amount DECIMAL(10, 2),
    PRIMARY KEY (order_id, n)
);
"""


@pytest.fixture
def shop(tmp_path: Path) -> SqlDb:
    path = sqlite_file(tmp_path / "shop.sqlite", SHOP)
    return SqlDb.objects.create(name="shop", db_type="SQLite", db_name=str(path))


def catalogue_writes(captured: CaptureQueriesContext) -> list[str]:
    tables = ("catalog_sqltable", "catalog_sqlcolumn", "catalog_relationship")
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and any(t in q["sql"] for t in tables)
    ]


def test_harvest_fills_the_thothai_catalogue(shop: SqlDb) -> None:
    report = create_db_elements(shop)
    assert report.ok
    assert sorted(
        SqlTable.objects.filter(sql_db=shop).values_list("name", flat=True)
    ) == [
        "customers",
        "lines",
        "order",
    ]
    placed = SqlColumn.objects.get(
        sql_table__name="order", original_column_name="placed at"
    )
    assert placed.data_format == "TIMESTAMP"
    order_id = SqlColumn.objects.get(
        sql_table__name="lines", original_column_name="order_id"
    )
    assert (order_id.pk_field, order_id.fk_field) == ("PK", "order.id")
    assert Relationship.objects.filter(source_table__sql_db=shop).count() == 2
    assert report.to_dict()["tables"] == {
        "created": 3,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
    }
    json.dumps(report.to_dict())


def test_second_harvest_writes_nothing(shop: SqlDb) -> None:
    create_db_elements(shop)
    with CaptureQueriesContext(connection) as captured:
        report = create_db_elements(shop)
    assert catalogue_writes(captured) == []
    assert report.writes == 0


def test_dropped_objects_disappear_and_threshold_applies(shop: SqlDb) -> None:
    create_db_elements(shop)
    with sqlite3.connect(shop.db_name) as conn:
        conn.executescript("ALTER TABLE customers DROP COLUMN email;")
    conn.close()
    report = create_db_elements(shop)
    assert not SqlColumn.objects.filter(original_column_name="email").exists()
    assert report.columns.deleted == 1
    with sqlite3.connect(shop.db_name) as conn:
        conn.executescript('DROP TABLE lines; DROP TABLE "order";')
    conn.close()
    with pytest.raises(DeletionThresholdError):
        create_db_elements(shop)
    assert SqlTable.objects.filter(sql_db=shop).count() == 3
    create_db_elements(shop, force=True)
    assert list(
        SqlTable.objects.filter(sql_db=shop).values_list("name", flat=True)
    ) == ["customers"]


def test_unknown_schema(shop: SqlDb) -> None:
    shop.schema = "elsewhere"
    with pytest.raises(SchemaNotFoundError, match="Schema 'elsewhere' does not exist"):
        create_db_elements(shop)
    assert not SqlTable.objects.exists()


def test_failures_leave_the_catalogue_unchanged(shop: SqlDb, tmp_path: Path) -> None:
    create_db_elements(shop)
    before = list(SqlColumn.objects.order_by("pk").values())
    shop.db_name = str(tmp_path / "gone.sqlite")
    with pytest.raises(ConnectionFailedError):
        create_db_elements(shop)
    shop.db_type = "Informix"
    with pytest.raises(UnsupportedDatabaseError):
        create_db_elements(shop)
    assert list(SqlColumn.objects.order_by("pk").values()) == before


def test_read_snapshot_has_no_side_effects(shop: SqlDb) -> None:
    snapshot = read_snapshot(shop)
    assert [t.name for t in snapshot.tables] == ["customers", "lines", "order"]
    assert not SqlTable.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cli_sync_json(shop: SqlDb, log_dir: Path) -> None:
    out = StringIO()
    call_command(
        "create_db_elements", "shop", "--sync", "--json", stdout=out, stderr=StringIO()
    )
    [entry] = json.loads(out.getvalue())
    assert entry["status"] == "COMPLETED"
    assert entry["report"]["tables"]["created"] == 3


@pytest.mark.django_db(transaction=True)
def test_cli_sync_failure_exits_non_zero(tmp_path: Path, log_dir: Path) -> None:
    broken = SqlDb.objects.create(
        name="broken", db_type="SQLite", db_name=str(tmp_path / "no.sqlite")
    )
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "create_db_elements",
            str(broken.pk),
            "--sync",
            stdout=out,
            stderr=StringIO(),
        )
    assert info.value.returncode == 1
    assert "FAILED" in out.getvalue()


def test_cli_needs_a_selection() -> None:
    with pytest.raises(CommandError, match="at least one database"):
        call_command("create_db_elements", stdout=StringIO())
    with pytest.raises(CommandError, match="No database with id or name 'nope'"):
        call_command("create_db_elements", "nope", stdout=StringIO())


def test_a_run_of_another_database_than_the_last_warns(
    shop: SqlDb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Tables are matched by name: pointing the row at another database (or
    # schema) hands the old tables' annotations to the new ones of the
    # same name. The run says so, comparing with the last completed run's
    # report (as a run of the task layer stores it).
    first = create_db_elements(shop)
    shop.db_elements_report = first.to_dict()
    log = logging.getLogger("thoth_db_elements.test")
    with caplog.at_level(logging.WARNING, logger=log.name):
        create_db_elements(shop, log=log)
    assert [r for r in caplog.records if r.name == log.name] == []
    copy = sqlite_file(tmp_path / "copy.sqlite", SHOP)
    shop.db_name = str(copy)
    with caplog.at_level(logging.WARNING, logger=log.name):
        create_db_elements(shop, log=log)
    [record] = [r for r in caplog.records if r.name == log.name]
    old = shop.db_name.replace("copy", "shop")
    assert record.getMessage() == (
        f'This run reads schema "main" of "sqlite:{copy}"; the catalogue was '
        f'last harvested from schema "main" of "sqlite:{old}". Tables are '
        "matched by name: a table of the same name keeps the annotations "
        "written for the other one"
    )


@pytest.mark.parametrize(
    ("before", "now", "warned"),
    [
        # The default port written or left out: the same database.
        ("postgresql://db:5432/shop", "postgresql://db/shop", False),
        ("mariadb://db/shop", "mariadb://db:3306/shop", False),
        ("postgresql://db:5433/shop", "postgresql://db/shop", True),
        ("postgresql://db/shop", "postgresql://db/sales", True),
        ("postgresql://db:5432/shop", "mariadb://db:5432/shop", True),
    ],
)
def test_the_database_is_compared_without_its_default_port(
    before: str, now: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from thoth_db_elements.harvest import _warn_of_another_source
    from thoth_db_elements.report import HarvestReport

    row = SimpleNamespace(
        db_elements_report={"catalogued_from": {"database": before, "schema": "s"}}
    )
    log = logging.getLogger("thoth_db_elements.test")
    with caplog.at_level(logging.WARNING, logger=log.name):
        _warn_of_another_source(
            log,
            row,
            HarvestReport(sqldb_id=1, database=now, schema="s"),  # type: ignore[arg-type]
        )
    assert bool([r for r in caplog.records if r.name == log.name]) is warned
