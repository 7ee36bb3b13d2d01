"""200 small databases, two ``qcluster`` processes on one Redis.

Every database is harvested exactly once, nothing is left RUNNING; the total
time and the clusters' peak memory are printed.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from catalog.models import SqlDb, SqlTable
from tests.cluster import Cluster, run_cli, wait_for, worker_env
from tests.services import REDIS_URL, probe
from thoth_db_elements.models import TaskStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        bool(os.environ.get("THOTH_SKIP_WORKER_STRESS")),
        reason="worker stress runs once, in `make test` (see tox.ini)",
    ),
]

DATABASES = 200


def peak_rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def test_two_clusters_harvest_200_databases(tmp_path: Path, log_dir: Path) -> None:
    probe("Redis", lambda: __import__("redis").Redis.from_url(REDIS_URL).ping())
    source = tmp_path / "small.sqlite"
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id), w REAL);"
        )
    conn.close()
    dbs = [
        SqlDb(name=f"db{n:03d}", db_type="SQLite", db_name=str(source))
        for n in range(DATABASES)
    ]
    SqlDb.objects.bulk_create(dbs)
    ids = list(SqlDb.objects.values_list("pk", flat=True))
    env = worker_env(
        log_dir, redis_url=REDIS_URL, queue=f"thoth-{uuid.uuid4().hex[:8]}"
    )
    clusters = [Cluster(env, tmp_path / f"c{n}.log") for n in range(2)]
    try:
        time.sleep(2)
        started = time.monotonic()
        cli = run_cli(env, "--all")
        assert cli.returncode == 0, cli.stderr
        wait_for(
            lambda: (
                not SqlDb.objects.exclude(
                    db_elements_status__in=[TaskStatus.COMPLETED, TaskStatus.FAILED]
                ).exists()
            ),
            300,
            "200 harvests",
        )
        elapsed = time.monotonic() - started
        memory = peak_rss_mib(
            [p for c in clusters for p in [c.process.pid, *c.worker_pids()]]
        )
    finally:
        for cluster in clusters:
            cluster.stop()
    assert (
        SqlDb.objects.filter(db_elements_status=TaskStatus.COMPLETED).count()
        == DATABASES
    )
    assert SqlTable.objects.count() == 2 * DATABASES
    logs = list((log_dir / "db_elements").glob("*.log"))
    per_db = {int(re.search(r"_db_(\d+)_", p.name).group(1)) for p in logs}  # type: ignore[union-attr]
    assert len(logs) == DATABASES  # exactly once each
    assert per_db == set(ids)
    print(
        f"{DATABASES} databases by 2 clusters in {elapsed:.1f} s; peak RSS {memory:.0f} MiB"
    )
