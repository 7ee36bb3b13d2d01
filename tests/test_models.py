from __future__ import annotations

import pytest
from django.db import models

from catalog.models import SqlDb as CatalogSqlDb
from tests.testapp.models import SeedOnlySqlDb, SqlColumn, SqlTable, StatusOnlySqlDb
from thoth_db_elements.models import (
    LIFECYCLE_FIELD_NAMES,
    SEED_FIELD_NAMES,
    ColumnDataFormat,
    DbElementsTaskMixin,
    TaskStatus,
)


def test_task_status_values_and_labels() -> None:
    assert [(s.value, s.label) for s in TaskStatus] == [
        ("IDLE", "Idle"),
        ("RUNNING", "Running"),
        ("COMPLETED", "Completed"),
        ("FAILED", "Failed"),
    ]


def test_column_data_format_is_thothai_choices() -> None:
    assert list(ColumnDataFormat.values) == [
        "INT", "FLOAT", "DOUBLE", "DECIMAL", "VARCHAR", "CHAR",
        "DATE", "TIME", "TIMESTAMP", "BOOLEAN", "ENUM",
    ]  # fmt: skip


@pytest.mark.parametrize("model", [CatalogSqlDb, StatusOnlySqlDb, SeedOnlySqlDb])
def test_seed_fields_match_the_seed(model: type[models.Model]) -> None:
    status = model._meta.get_field("db_elements_status")
    assert isinstance(status, models.CharField)
    assert type(status) is models.CharField
    assert status.max_length == 20
    assert status.choices == TaskStatus.choices
    assert status.default == TaskStatus.IDLE
    assert (status.null, status.blank) == (False, False)

    task_id = model._meta.get_field("db_elements_task_id")
    assert type(task_id) is models.CharField
    assert task_id.max_length == 255
    assert (task_id.null, task_id.blank) == (True, True)

    for name in ("db_elements_start_time", "db_elements_end_time"):
        field = model._meta.get_field(name)
        assert type(field) is models.DateTimeField
        assert (field.null, field.blank) == (True, True)
        assert field.default is models.NOT_PROVIDED


def test_status_mixin_adds_only_the_seed_fields() -> None:
    own = {f.name for f in StatusOnlySqlDb._meta.get_fields()} - {"id", "name"}
    assert own == set(SEED_FIELD_NAMES)


def test_task_mixin_adds_the_documented_lifecycle_fields() -> None:
    own = {
        f.name
        for f in CatalogSqlDb._meta.get_fields()
        if f.name.startswith("db_elements_")
    }
    assert own == set(SEED_FIELD_NAMES) | set(LIFECYCLE_FIELD_NAMES)
    for name in LIFECYCLE_FIELD_NAMES:
        assert name in (DbElementsTaskMixin.__doc__ or "")


def test_abstract_catalogue_models_resolve_to_the_hosts_app() -> None:
    assert (
        SqlTable._meta.get_field("sql_db").related_model._meta.label == "testapp.SqlDb"
    )
    assert SqlColumn._meta.get_field("sql_table").related_model is SqlTable


@pytest.mark.django_db
def test_abstract_catalogue_models_are_unique_per_parent() -> None:
    from django.db import IntegrityError, transaction

    from tests.testapp.models import SqlDb

    db = SqlDb.objects.create(name="a")
    table = SqlTable.objects.create(sql_db=db, name="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        SqlTable.objects.create(sql_db=db, name="t")
    SqlColumn.objects.create(sql_table=table, original_column_name="c")
    with pytest.raises(IntegrityError), transaction.atomic():
        SqlColumn.objects.create(sql_table=table, original_column_name="c")


@pytest.mark.django_db
def test_identifiers_are_case_sensitive_on_every_backend() -> None:
    from tests.testapp.models import SqlDb

    db = SqlDb.objects.create(name="a")
    SqlTable.objects.create(sql_db=db, name="Users")
    SqlTable.objects.create(sql_db=db, name="users")  # MariaDB's _ci would refuse
    assert SqlTable.objects.filter(sql_db=db, name="users").count() == 1
