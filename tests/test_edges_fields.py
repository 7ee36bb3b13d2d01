"""``IdentifierField`` on a real MariaDB catalogue: names compared byte for byte.

The test suite's own catalogue is on SQLite; here Django's MySQL backend
creates the test app's catalogue tables in a fresh MariaDB database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db.utils import IntegrityError
from sqlalchemy.engine import make_url

from tests import schemas
from tests.services import require_mariadb
from tests.testapp.models import SqlDb, SqlTable

pytestmark = pytest.mark.services


@pytest.fixture
def mariadb_catalogue(django_db_blocker: Any) -> Iterator[Any]:
    """A Django connection to a fresh MariaDB database holding the catalogue."""
    require_mariadb()
    pytest.importorskip("MySQLdb")
    from django.db.backends.mysql.base import DatabaseWrapper

    url = schemas.create_mariadb_database()
    parts = make_url(url)
    wrapper = DatabaseWrapper(
        {
            "ENGINE": "django.db.backends.mysql",
            "NAME": parts.database,
            "USER": parts.username or "",
            "PASSWORD": parts.password or "",
            "HOST": parts.host or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": {"charset": "utf8mb4"},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        },
        alias="edges_mariadb",
    )
    try:
        with django_db_blocker.unblock():
            with wrapper.schema_editor() as editor:
                editor.create_model(SqlDb)
                editor.create_model(SqlTable)
            yield wrapper
    finally:
        wrapper.close()
        schemas.drop_mariadb_database(url)


def insert(connection: Any, model: type[Any], **values: Any) -> int:
    """Insert one row of ``model`` (defaults for the fields not given)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [
        f.get_db_prep_save(
            values[f.attname] if f.attname in values else f.get_default(), connection
        )
        for f in fields
    ]
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({names}) VALUES ({marks})", params
        )
        return int(cursor.lastrowid)


def test_table_names_differing_in_case_are_two_rows(mariadb_catalogue: Any) -> None:
    db_table = SqlTable._meta.db_table
    with mariadb_catalogue.cursor() as cursor:
        cursor.execute(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
            "AND COLUMN_NAME = 'name'",
            [db_table],
        )
        assert cursor.fetchone() == ("utf8mb4_nopad_bin",)
    shop = insert(mariadb_catalogue, SqlDb, name="shop")
    insert(mariadb_catalogue, SqlTable, name="Users", sql_db_id=shop)
    insert(mariadb_catalogue, SqlTable, name="users", sql_db_id=shop)
    with pytest.raises(IntegrityError):
        insert(mariadb_catalogue, SqlTable, name="users", sql_db_id=shop)
    with mariadb_catalogue.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {db_table} WHERE name = 'users'")
        assert cursor.fetchall() == (("users",),)


def test_names_differing_in_trailing_spaces_are_two_rows(
    mariadb_catalogue: Any,
) -> None:
    """PostgreSQL's tables "a" and "a " (a PAD SPACE collation makes them one)."""
    shop = insert(mariadb_catalogue, SqlDb, name="shop")
    insert(mariadb_catalogue, SqlTable, name="a", sql_db_id=shop)
    insert(mariadb_catalogue, SqlTable, name="a ", sql_db_id=shop)
    with mariadb_catalogue.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {SqlTable._meta.db_table} WHERE name = 'a'")
        assert cursor.fetchall() == (("a",),)


def test_explicit_collation_wins(mariadb_catalogue: Any) -> None:
    from thoth_db_elements.fields import IdentifierField

    chosen = IdentifierField(max_length=10, db_collation="utf8mb4_unicode_ci")
    assert chosen.db_parameters(mariadb_catalogue)["collation"] == (
        "utf8mb4_unicode_ci"
    )
    plain = IdentifierField(max_length=10)
    assert plain.db_parameters(mariadb_catalogue)["collation"] == "utf8mb4_nopad_bin"
