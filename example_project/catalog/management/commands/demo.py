"""``manage.py demo``: the whole job end to end on a bundled SQLite shop.

Creates the demo database and an admin user, registers the database as a
``SqlDb``, starts a django-q2 cluster, harvests through the real queue, waits
for the outcome and prints it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import SqlDb
from thoth_db_elements.logging import run_log_dir
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.tasks import start_async_db_elements_creation

DEMO_SQL = Path(__file__).resolve().parents[3] / "demo" / "shop.sql"


class Command(BaseCommand):
    help = "Create a demo database, harvest it through django-q2 and print the result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=90, help="Seconds to wait."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = self._create_demo_database()
        self._ensure_admin()
        sql_db, _ = SqlDb.objects.update_or_create(
            name="Demo shop",
            defaults={"db_type": "SQLite", "db_name": str(path), "db_host": ""},
        )
        cluster = self._start_cluster()
        try:
            batch = start_async_db_elements_creation(1, [sql_db.pk], None)
            self.stdout.write(f"Started harvest of {sql_db.name!r}, task id {batch}")
            sql_db = self._wait(sql_db, options["timeout"])
        finally:
            self._stop_cluster(cluster)
        self._print(sql_db)
        if sql_db.db_elements_status != TaskStatus.COMPLETED:
            raise CommandError("The demo harvest did not complete.")

    def _create_demo_database(self) -> Path:
        root = Path(settings.BASE_DIR) / "demo_databases"
        root.mkdir(exist_ok=True)
        path = root / "shop.sqlite"
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as connection:
            connection.executescript(DEMO_SQL.read_text(encoding="utf-8"))
        connection.close()
        self.stdout.write(f"Demo database: {path}")
        return path

    def _ensure_admin(self) -> None:
        users = get_user_model()
        if not users.objects.filter(username="admin").exists():
            users.objects.create_superuser("admin", "admin@example.com", "admin")
            self.stdout.write("Created superuser admin / admin")

    def _start_cluster(self) -> subprocess.Popen[bytes]:
        manage = Path(settings.BASE_DIR) / "manage.py"
        self.stdout.write("Starting a django-q2 cluster (manage.py qcluster)")
        return subprocess.Popen(
            [sys.executable, str(manage), "qcluster"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _stop_cluster(self, cluster: subprocess.Popen[bytes]) -> None:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
        self.stdout.write("Cluster stopped")

    def _wait(self, sql_db: SqlDb, timeout: float) -> SqlDb:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            sql_db.refresh_from_db()
            status = sql_db.db_elements_status
            if status != last:
                self.stdout.write(f"Status: {status}")
                last = status
            if status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
                return sql_db
            time.sleep(0.25)
        raise CommandError(
            f"No result after {timeout:.0f} s (status {sql_db.db_elements_status})."
        )

    def _print(self, sql_db: SqlDb) -> None:
        report = sql_db.db_elements_report or {}
        for kind in ("tables", "columns", "relationships"):
            counts = report.get(kind, {})
            self.stdout.write(
                f"{kind.capitalize():>13}: {counts.get('created', 0)} created, "
                f"{counts.get('updated', 0)} updated, {counts.get('deleted', 0)} deleted"
            )
        self.stdout.write(
            f"Status: {sql_db.db_elements_status} {sql_db.db_elements_error}".rstrip()
        )
        if sql_db.db_elements_log_file:
            self.stdout.write(
                f"Log file: {(run_log_dir() / sql_db.db_elements_log_file).resolve()}"
            )
        self.stdout.write(
            "See the result in the admin: python example_project/manage.py runserver, "
            "then open http://127.0.0.1:8000/admin/ and log in as admin / admin."
        )
