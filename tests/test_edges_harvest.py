"""What ``create_db_elements`` logs about unreadable tables and duplicate rows."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from catalog.models import SqlDb, SqlTable
from thoth_db_elements.harvest import create_db_elements

pytestmark = pytest.mark.django_db

LOG = "tests.harvest.run"


def shop_file(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("CREATE TABLE gone (id INTEGER PRIMARY KEY)")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> SqlDb:
    path = shop_file(tmp_path / "shop.sqlite")
    return SqlDb.objects.create(name="shop", db_type="SQLite", db_name=str(path))


def names(sql_db: SqlDb) -> list[str]:
    return sorted(SqlTable.objects.filter(sql_db=sql_db).values_list("name", flat=True))


def test_unreadable_table_is_logged_and_nothing_is_deleted(
    shop: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    create_db_elements(shop)
    assert names(shop) == ["gone", "parent"]
    with closing(sqlite3.connect(shop.db_name)) as raw, raw:
        raw.execute("DROP TABLE gone")
        raw.execute("PRAGMA writable_schema = ON")
        # A virtual table of an extension this SQLite does not have.
        raw.execute(
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
            "('table', 'spatial', 'spatial', 0,"
            " 'CREATE VIRTUAL TABLE spatial USING spatialindex(id, minx, maxx)')"
        )
    with caplog.at_level(logging.INFO, logger=LOG):
        report = create_db_elements(shop, log=logging.getLogger(LOG))
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert (
        'Table "spatial" could not be read: OperationalError: no such module: '
        "spatialindex"
    ) in messages
    [skipped] = [m for m in messages if "nothing was deleted" in m]
    assert skipped.startswith("Some tables could not be read")
    assert skipped.endswith(": nothing was deleted this run")
    assert report.deletions_skipped is True
    assert report.tables.deleted == 0
    # "gone" may have been dropped or may be unreadable: it stays catalogued.
    assert names(shop) == ["gone", "parent"]


def test_complete_read_logs_no_failure(
    shop: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG):
        report = create_db_elements(shop, log=logging.getLogger(LOG))
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert "Read 2 tables, 3 columns, 0 foreign keys from schema main" in messages
    assert not any("could not be read" in m for m in messages)
    assert report.deletions_skipped is False
    assert report.duplicates_removed == 0


def test_duplicate_catalogue_rows_are_merged_and_logged(
    shop: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    SqlTable.objects.create(sql_db=shop, name="parent", description="")
    SqlTable.objects.create(sql_db=shop, name="parent", description="curated")
    with caplog.at_level(logging.INFO, logger=LOG):
        report = create_db_elements(shop, log=logging.getLogger(LOG))
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert "Removed 1 duplicate catalogue rows" in messages
    assert report.duplicates_removed == 1
    assert names(shop) == ["gone", "parent"]
    assert SqlTable.objects.get(sql_db=shop, name="parent").description == "curated"


def test_names_in_log_lines_are_quoted(
    shop: SqlDb, caplog: pytest.LogCaptureFixture
) -> None:
    """A name can hold a line break or a comma: each is written as a JSON
    string, so it reads as one name, whole."""
    odd = "v, w\n2026-01-01 00:00:00,000 - x - INFO - forged"
    with closing(sqlite3.connect(shop.db_name)) as raw, raw:
        raw.execute(f'CREATE TABLE "{odd}" (id INTEGER)')
    create_db_elements(shop)
    SqlTable.objects.filter(sql_db=shop, name=odd).update(description="Kept")
    with closing(sqlite3.connect(shop.db_name)) as raw, raw:
        raw.execute(f'DROP TABLE "{odd}"')
        raw.execute(f'CREATE VIEW "{odd}" AS SELECT id FROM gone')
        raw.execute("DROP TABLE gone")
    with caplog.at_level(logging.INFO, logger=LOG):
        create_db_elements(shop, log=logging.getLogger(LOG))
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    quoted = '"v, w\\n2026-01-01 00:00:00,000 - x - INFO - forged"'
    assert any(m.startswith(f"Table {quoted} could not be read: ") for m in messages)
    # A table the database lost, with its annotation:
    with closing(sqlite3.connect(shop.db_name)) as raw, raw:
        raw.execute(f'DROP VIEW "{odd}"')
    SqlTable.objects.filter(sql_db=shop, name=odd).update(description="Kept")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOG):
        create_db_elements(shop, log=logging.getLogger(LOG), force=True)
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert f"Deleted with their annotations, gone from the database: {quoted}" in (
        messages
    )
