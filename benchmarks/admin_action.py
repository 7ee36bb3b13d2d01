"""How long the admin action's request takes for N selected databases.

The action only checks, claims and queues: it must return in well under a
second for 50 databases. Runs the example project's admin through Django's
test client against a throw-away database (SQLite by default, or the
``DATABASE_URL`` given), with the real django-q2 runner (ORM broker: each
queued job is an INSERT).

    python benchmarks/admin_action.py [--databases 50] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="thoth-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("THOTH_LOG_DIR", str(workdir / "logs"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example.settings"
    sys.path[:0] = [str(ROOT / "example_project")]

    import logging

    import django

    django.setup()
    logging.disable(logging.CRITICAL)  # one log line per queued job otherwise
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from catalog.models import SqlDb

    setup_test_environment()
    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", "b@example.com", "pw")
    client = Client()
    client.force_login(user)
    ids = [
        SqlDb.objects.create(
            name=f"db{n:03d}", db_type="SQLite", db_name=f"/data/{n}.sqlite"
        ).pk
        for n in range(args.databases)
    ]
    timings, queries = [], 0
    for _ in range(args.repeat):
        SqlDb.objects.update(db_elements_status="IDLE", db_elements_task_id=None)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/admin/catalog/sqldb/",
                {"action": "create_db_elements_async", "_selected_action": ids},
            )
        timings.append(time.perf_counter() - started)
        queries = len(captured)
        assert response.status_code == 302, response.status_code
    result = {
        "databases": args.databases,
        "django_database": connection.vendor,
        "runs": args.repeat,
        "median_seconds": round(statistics.median(timings), 4),
        "max_seconds": round(max(timings), 4),
        "queries_per_request": queries,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
