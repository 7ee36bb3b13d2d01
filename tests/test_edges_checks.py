"""System checks and settings a half-configured project runs into."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from thoth_db_elements.checks import check_catalogue_models, check_sqldb_model
from thoth_db_elements.conf import app_settings


def test_unset_sqldb_model_is_one_error_not_four() -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL=None):
        assert check_catalogue_models() == []
        assert [m.id for m in check_sqldb_model()] == ["thoth_db_elements.E001"]
        with pytest.raises(SystemCheckError) as info:
            call_command("check", "--tag", "thoth_db_elements")
    report = str(info.value)
    assert "thoth_db_elements.E001" in report
    assert "THOTH_DB_ELEMENTS_SQLDB_MODEL is not set." in report
    assert "E003" not in report


def test_label_without_app_gives_no_catalogue_defaults() -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="SqlDb"):
        assert (
            app_settings.TABLE_MODEL,
            app_settings.COLUMN_MODEL,
            app_settings.RELATIONSHIP_MODEL,
        ) == (None, None, None)
        messages = check_catalogue_models()
    assert [m.msg for m in messages] == [
        "THOTH_DB_ELEMENTS_TABLE_MODEL is not set.",
        "THOTH_DB_ELEMENTS_COLUMN_MODEL is not set.",
        "THOTH_DB_ELEMENTS_RELATIONSHIP_MODEL is not set.",
    ]
    assert {m.id for m in messages} == {"thoth_db_elements.E003"}


def test_explicit_catalogue_model_wins_over_the_default() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_SQLDB_MODEL="catalog.SqlDb",
        THOTH_DB_ELEMENTS_TABLE_MODEL="testapp.SqlTable",
    ):
        assert app_settings.TABLE_MODEL == "testapp.SqlTable"
        assert app_settings.COLUMN_MODEL == "catalog.SqlColumn"


def test_the_sqldb_model_setting_is_matched_whatever_its_case() -> None:
    """``apps.get_model`` (and so the checks) ignore case: so does the
    choice of catalogue for a row."""
    from catalog.models import SqlDb
    from tests.testapp import models as fresh
    from thoth_db_elements.catalogue import catalogue_for

    with override_settings(
        THOTH_DB_ELEMENTS_SQLDB_MODEL="catalog.sqldb",
        THOTH_DB_ELEMENTS_TABLE_MODEL="testapp.SqlTable",
    ):
        assert catalogue_for(SqlDb(name="x")).table is fresh.SqlTable


def test_the_shipped_catalogue_models_need_nothing_the_harvest_does_not_fill() -> None:
    assert [m.id for m in check_catalogue_models()] == []
