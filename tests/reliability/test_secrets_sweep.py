"""Each bad input, started from the admin through django-q2: no password anywhere.

The action is posted by a superuser; django-q2 runs the task in-process
(``Conf.SYNC``) and stores its arguments and result in the ORM as a worker
does. Afterwards the password is looked for in the admin's messages, the
stored task, the queue, the run's log file, the row's error and its report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from catalog.models import SqlDb
from tests.services import MARIADB_URL, PG_URL, require_mariadb, require_postgres
from thoth_db_elements.models import TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = f"pw-{uuid.uuid4().hex}"
PG = make_url(PG_URL)
MARIA = make_url(MARIADB_URL)


@pytest.fixture
def maria_user() -> Iterator[str]:
    """A MariaDB user whose password is not ``SECRET``."""
    require_mariadb()
    name = f"thoth_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE USER '{name}'@'%%' IDENTIFIED BY 'right-one'")
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP USER '{name}'@'%%'")
        engine.dispose()


def pg_fields(**fields: Any) -> dict[str, Any]:
    require_postgres()
    return {
        "db_type": "PostgreSQL",
        "db_host": PG.host,
        "db_port": PG.port,
        "db_name": "postgres",
        "user_name": PG.username,
        **fields,
    }


def not_a_database(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "notes.sqlite"
    path.write_text(f"not a database {SECRET}\n" * 50)
    return {"db_type": "SQLite", "db_name": str(path)}


#: failure mode -> (SqlDb fields, start of db_elements_error)
CASES: dict[str, tuple[Any, str]] = {
    "refused port": (lambda _: pg_fields(db_port=1), "Cannot connect to"),
    "unknown host": (
        lambda _: pg_fields(db_host="no-such-host.invalid"),
        "Cannot connect to",
    ),
    "unknown database": (
        lambda _: pg_fields(db_name="thoth_no_such_db"),
        "Cannot connect to",
    ),
    "unknown schema": (
        lambda _: pg_fields(schema="no_such_schema"),
        "Schema 'no_such_schema'",
    ),
    "empty host": (
        lambda _: pg_fields(db_host=""),
        "The PostgreSQL database has no host",
    ),
    "port out of range": (
        lambda _: pg_fields(db_port=70_000),
        "Port 70000 is out of range",
    ),
    "unsupported type": (
        lambda _: {"db_type": "Informix", "db_host": "h", "db_name": "d"},
        "Database type 'Informix' is not supported",
    ),
    "SQLite file missing": (
        lambda tmp: {"db_type": "SQLite", "db_name": str(tmp / "gone.sqlite")},
        "SQLite file",
    ),
    "SQLite file not a database": (not_a_database, "Cannot connect to sqlite:"),
}


def run_from_admin(sql_db: SqlDb, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Post the admin action; return the messages shown to the user."""
    monkeypatch.setattr(Conf, "SYNC", True)
    user = User.objects.create_superuser(f"admin-{uuid.uuid4().hex[:6]}", "", "pw")
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    response = client.post(
        reverse("admin:catalog_sqldb_changelist"),
        {"action": "create_db_elements_async", "_selected_action": [str(sql_db.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]] + [response.content.decode()]


def places(sql_db: SqlDb, messages: list[str], log_dir: Path) -> dict[str, str]:
    """Every text the password could leak into after a run."""
    found = {
        "admin messages": "\n".join(messages),
        "db_elements_error": sql_db.db_elements_error,
        "db_elements_report": json.dumps(sql_db.db_elements_report),
        "django-q2 tasks": repr(
            [(t.args, t.kwargs, t.result) for t in Task.objects.all()]
        ),
        "django-q2 queue": repr([q.task for q in OrmQ.objects.all()]),
    }
    for path in sorted(log_dir.rglob("*.log")):
        found[str(path)] = path.read_text(errors="replace")
    return found


@pytest.mark.parametrize("mode", list(CASES))
def test_no_secret_after_a_bad_input(
    mode: str, tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fields, message = CASES[mode]
    sql_db = SqlDb.objects.create(name=mode, password=SECRET, **make_fields(tmp_path))
    messages = run_from_admin(sql_db, monkeypatch)
    sql_db.refresh_from_db()
    assert sql_db.db_elements_status == TaskStatus.FAILED
    assert sql_db.db_elements_error.startswith(message), sql_db.db_elements_error
    assert Task.objects.count() == 1
    if mode == "refused port":
        # A failed run's report still names the database, without password.
        assert sql_db.db_elements_report["database"] == (
            f"postgresql://{PG.host}:1/postgres"
        )
        assert sql_db.db_elements_report["dialect"] == "postgresql"
    texts = places(sql_db, messages, log_dir)
    assert any(name.endswith(".log") for name in texts), "no run log was written"
    assert [name for name, text in texts.items() if SECRET in text] == []


def test_no_secret_after_a_wrong_password(
    maria_user: str, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql_db = SqlDb.objects.create(
        name="wrong password",
        db_type="MariaDB",
        db_host=MARIA.host,
        db_port=MARIA.port,
        db_name=MARIA.database,
        user_name=maria_user,
        password=SECRET,
    )
    messages = run_from_admin(sql_db, monkeypatch)
    sql_db.refresh_from_db()
    assert sql_db.db_elements_status == TaskStatus.FAILED
    assert "Access denied" in sql_db.db_elements_error
    texts = places(sql_db, messages, log_dir)
    assert [name for name, text in texts.items() if SECRET in text] == []
