"""The documented quick start, done by a script in a brand-new Django project.

``django-admin startproject``, ``startapp``, the settings, models and admin
of ``docs/quickstart.md``, ``makemigrations``, ``migrate``, a real
``qcluster``, and the admin action through Django's test client: the
database ends COMPLETED with its tables catalogued. Django's own database is
the project's default SQLite file, as a newcomer would have it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

SETTINGS = """
INSTALLED_APPS += ["django_q", "thoth_db_elements", "inventory"]
THOTH_DB_ELEMENTS_SQLDB_MODEL = "inventory.SqlDb"
THOTH_DB_ELEMENTS_LOG_DIR = BASE_DIR / "logs"
Q_CLUSTER = {
    "name": "inventory",
    "timeout": 1800,
    "retry": 2100,
    "max_attempts": 1,
    "ack_failures": True,
    "orm": "default",
    "poll": 0.2,
}
"""

MODELS = """
from django.db import models
from thoth_db_elements.models import (
    AbstractRelationship, AbstractSqlColumn, AbstractSqlTable, DbElementsTaskMixin,
)

class SqlDb(DbElementsTaskMixin, models.Model):
    name = models.CharField(max_length=255)
    db_type = models.CharField(max_length=50)
    db_host = models.CharField(max_length=255, blank=True)
    db_port = models.IntegerField(null=True, blank=True)
    db_name = models.CharField(max_length=255)
    schema = models.CharField(max_length=255, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    password = models.CharField(max_length=255, blank=True)

    def __str__(self):
        return self.name

class SqlTable(AbstractSqlTable): pass
class SqlColumn(AbstractSqlColumn): pass
class Relationship(AbstractRelationship): pass
"""

ADMIN = """
from django.contrib import admin
from thoth_db_elements.admin import DbElementsModelAdmin
from .models import SqlDb

admin.site.register(SqlDb, DbElementsModelAdmin)
"""

DRIVE = """
import sys, time
from django.test.utils import setup_test_environment
setup_test_environment()  # lets the test client's "testserver" host in
from django.contrib.auth.models import User
from django.test import Client
from inventory.models import SqlDb, SqlTable

user = User.objects.create_superuser("admin", "a@example.com", "pw")
db = SqlDb.objects.create(name="shop", db_type="SQLite", db_name=sys.argv[-1])
client = Client()
client.force_login(user)
response = client.post(
    "/admin/inventory/sqldb/",
    {"action": "create_db_elements_async", "_selected_action": [db.pk]},
    follow=True,
)
print([str(m) for m in response.context["messages"]])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    db.refresh_from_db()
    if db.db_elements_status in ("COMPLETED", "FAILED"):
        break
    time.sleep(0.2)
print(db.db_elements_status, db.db_elements_error, SqlTable.objects.filter(sql_db=db).count())
"""


def run(cwd: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_quick_start_in_a_new_project(tmp_path: Path) -> None:
    project = tmp_path / "newsite"
    project.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    run(project, "-m", "django", "startproject", "mysite", ".", env=env)
    run(project, "manage.py", "startapp", "inventory", env=env)
    with (project / "mysite" / "settings.py").open("a") as settings:
        settings.write(SETTINGS)
    (project / "inventory" / "models.py").write_text(textwrap.dedent(MODELS))
    (project / "inventory" / "admin.py").write_text(textwrap.dedent(ADMIN))
    run(project, "manage.py", "makemigrations", "inventory", env=env)
    run(project, "manage.py", "migrate", "-v", "0", env=env)
    assert "no issues" in run(project, "manage.py", "check", env=env)

    source = tmp_path / "shop.sqlite"
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY,"
            " customer_id INTEGER REFERENCES customers (id));"
        )
    conn.close()
    # The worker runs from another directory: the absolute log directory
    # of the quick start keeps its run logs where the admin looks.
    cluster = subprocess.Popen(
        [sys.executable, str(project / "manage.py"), "qcluster"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        (project / "drive.py").write_text(DRIVE)
        out = run(
            project,
            "manage.py",
            "shell",
            "-c",
            f"import sys; sys.argv.append({str(source)!r}); exec(open('drive.py').read())",
            env=env,
        )
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)
    assert "Started async database elements creation for 1 database(s)." in out
    assert out.strip().splitlines()[-1] == "COMPLETED  2"
    assert list((project / "logs" / "db_elements").rglob("*.log"))
    assert not (tmp_path / "logs").exists()
