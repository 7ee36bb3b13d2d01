"""Run logs: how many a database keeps, and their removal with its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from catalog.models import SqlDb
from tests.test_tasks import IMMEDIATE, make_source
from tests.testapp.models import SeedOnlySqlDb
from thoth_db_elements.logging import run_log_files
from thoth_db_elements.signals import harvested_models
from thoth_db_elements.tasks import start_async_db_elements_creation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source_path(tmp_path: Path) -> Path:
    return make_source(tmp_path / "shop.sqlite")


def _row(path: Path, name: str = "shop") -> SqlDb:
    return SqlDb.objects.create(name=name, db_type="SQLite", db_name=str(path))


def _harvest(*rows: Any, times: int = 1) -> None:
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE):
        for _ in range(times):
            start_async_db_elements_creation(1, [row.pk for row in rows], 1)


def test_all_run_logs_are_kept_by_default(source_path: Path, log_dir: Path) -> None:
    shop = _row(source_path)
    _harvest(shop, times=3)
    assert len(run_log_files(shop.pk)) == 3


def test_only_the_newest_run_logs_are_kept(
    source_path: Path, log_dir: Path, settings: Any
) -> None:
    settings.THOTH_DB_ELEMENTS_RUN_LOGS_KEPT = 2
    shop, other = _row(source_path), _row(source_path, "other")
    _harvest(other)
    names = []
    for _ in range(4):
        _harvest(shop)
        shop.refresh_from_db()
        names.append(shop.db_elements_log_file)
    assert len(set(names)) == 4
    # The last two runs' files stay, the newest first.
    assert [f.name for f in run_log_files(shop.pk)] == names[:1:-1]
    assert len(run_log_files(other.pk)) == 1


def test_deleting_a_row_removes_its_run_logs(source_path: Path, log_dir: Path) -> None:
    shop, other = _row(source_path), _row(source_path, "other")
    _harvest(shop, other)
    pk = shop.pk
    with transaction.atomic():
        shop.delete()
        assert len(run_log_files(pk)) == 1  # not before the deletion commits
    assert run_log_files(pk) == []
    assert len(run_log_files(other.pk)) == 1
    # A new row given the old key lists no logs of the old one.
    assert run_log_files(SqlDb.objects.create(pk=pk, name="new").pk) == []


def test_a_deletion_rolled_back_keeps_the_run_logs(
    source_path: Path, log_dir: Path
) -> None:
    shop = _row(source_path)
    _harvest(shop)
    with pytest.raises(RuntimeError), transaction.atomic():
        SqlDb.objects.filter(pk=shop.pk).delete()
        raise RuntimeError("changed my mind")
    assert len(run_log_files(shop.pk)) == 1


def test_every_model_with_the_status_fields_is_watched() -> None:
    labels = {model._meta.label for model in harvested_models()}
    assert {"catalog.SqlDb", "testapp.SqlDb"} <= labels
    assert SeedOnlySqlDb._meta.label in labels
    assert "catalog.SqlTable" not in labels
