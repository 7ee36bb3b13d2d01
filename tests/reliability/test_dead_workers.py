"""SIGKILL a worker at random points of 20 harvests: never a partial catalogue.

Each round changes the source schema, starts a harvest on a real
``qcluster`` and kills the worker process that runs it after a random
delay (seeded; the seed is printed). The catalogue must then be exactly as
before the round or exactly as after a clean harvest; a run left RUNNING
must be found stale by its heartbeat and restart cleanly.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from catalog.models import Relationship, SqlColumn, SqlDb
from tests.cluster import Cluster, wait_for, worker_env
from thoth_db_elements.harvest import create_db_elements
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.tasks import start_db_elements_creation
from thoth_db_elements.validation import check_sqldb_db_elements_can_start, is_stale

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        bool(os.environ.get("THOTH_SKIP_WORKER_STRESS")),
        reason="worker stress runs once, in `make test` (see tox.ini)",
    ),
]

ROUNDS = 20
TABLES = 3000


def make_source(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for n in range(TABLES):
            ref = f", prev_id INTEGER REFERENCES t{n - 1:04d} (id)" if n else ""
            cols = ", ".join(f"c{c} VARCHAR(20)" for c in range(8))
            conn.execute(f"CREATE TABLE t{n:04d} (id INTEGER PRIMARY KEY, {cols}{ref})")
    conn.close()


def catalogue(sql_db: SqlDb) -> tuple[frozenset[Any], frozenset[Any]]:
    """The catalogue's content without ids: columns and relationships."""
    columns = frozenset(
        SqlColumn.objects.filter(sql_table__sql_db=sql_db).values_list(
            "sql_table__name",
            "original_column_name",
            "data_format",
            "pk_field",
            "fk_field",
        )
    )
    relationships = frozenset(
        Relationship.objects.filter(source_table__sql_db=sql_db).values_list(
            "source_table__name",
            "source_column__original_column_name",
            "target_table__name",
            "target_column__original_column_name",
        )
    )
    return columns, relationships


def worker_pid(log_dir: Path, sql_db: SqlDb, after: float) -> int | None:
    for path in sorted((log_dir / "db_elements").glob(f"*_db_{sql_db.pk}_*.log")):
        if path.stat().st_mtime < after:
            continue
        found = re.findall(r"worker pid (\d+)", path.read_text())
        if found:
            return int(found[-1])
    return None


def status(sql_db: SqlDb) -> str:
    return SqlDb.objects.values_list("db_elements_status", flat=True).get(pk=sql_db.pk)


def test_random_kills_leave_before_or_after(tmp_path: Path, log_dir: Path) -> None:
    seed = int(os.environ.get("THOTH_KILL_SEED") or random.randrange(1 << 30))
    print(f"kill seed: {seed} (THOTH_KILL_SEED={seed} repeats this run)")
    chance = random.Random(seed)
    source = tmp_path / "source.sqlite"
    make_source(source)
    target = SqlDb.objects.create(name="target", db_type="SQLite", db_name=str(source))
    reference = SqlDb.objects.create(
        name="reference", db_type="SQLite", db_name=str(source)
    )
    create_db_elements(target)
    cluster = Cluster(
        worker_env(log_dir, heartbeat=0.2, heartbeat_timeout=2), tmp_path / "c.log"
    )
    partial = killed = 0
    detections: list[float] = []
    try:
        with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=2):
            for round_ in range(ROUNDS):
                with sqlite3.connect(source) as conn:
                    conn.execute(
                        f"ALTER TABLE t{round_:04d} ADD COLUMN added_{round_} INTEGER"
                    )
                conn.close()
                before = catalogue(target)
                clock = time.monotonic()
                create_db_elements(reference, force=True)
                # However fast a harvest gets, the kill falls before, during
                # or after it: the delay is drawn against its duration.
                window = 1.5 * (time.monotonic() - clock) + 0.05
                after = catalogue(reference)
                started_at = time.time()
                assert start_db_elements_creation([target]).started
                wait_for(
                    lambda since=started_at: (
                        worker_pid(log_dir, target, since) is not None
                        or status(target) != TaskStatus.RUNNING
                    ),
                    30,
                    "the worker to start",
                )
                time.sleep(chance.uniform(0, window))
                pid = worker_pid(log_dir, target, started_at)
                if pid is not None and status(target) == TaskStatus.RUNNING:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                    at = time.monotonic()
                    wait_for(
                        lambda: (
                            status(target) != TaskStatus.RUNNING
                            or is_stale(SqlDb.objects.get(pk=target.pk))
                        ),
                        30,
                        "the kill to show",
                    )
                    if status(target) == TaskStatus.RUNNING:
                        detections.append(time.monotonic() - at)
                state = catalogue(target)
                if state not in (before, after):
                    partial += 1
                if status(target) == TaskStatus.RUNNING:
                    assert check_sqldb_db_elements_can_start(
                        SqlDb.objects.get(pk=target.pk)
                    )[0]
                    assert start_db_elements_creation([target]).started
                wait_for(
                    lambda: status(target) != TaskStatus.RUNNING, 60, "the run to end"
                )
                assert status(target) == TaskStatus.COMPLETED
                assert catalogue(target) == after
    finally:
        cluster.stop()
    print(
        f"rounds {ROUNDS}, workers killed mid-run {killed}, partial catalogues {partial}, "
        f"dead worker detected in {max(detections, default=0):.2f} s at most"
    )
    assert partial == 0
    assert killed > 0
