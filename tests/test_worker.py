"""The background path with real ``qcluster`` processes and real brokers."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from catalog.models import SqlColumn, SqlDb, SqlTable
from tests import schemas
from tests.cluster import Cluster, run_cli, wait_for, worker_env
from tests.services import REDIS_URL, probe, require_mariadb, require_postgres
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.tasks import (
    request_cancel_sqldb_db_elements_task,
    start_db_elements_creation,
)
from thoth_db_elements.validation import check_sqldb_db_elements_can_start, is_stale

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

SECRET = "hunter2-Secret!"
READER = f"thoth_reader_{uuid.uuid4().hex[:8]}"


def make_sqlite(path: Path, tables: int, columns: int = 8) -> Path:
    """A SQLite database of ``tables`` tables, each referencing the previous."""
    statements = []
    for number in range(tables):
        cols = ", ".join(f"c{c} VARCHAR(40)" for c in range(columns))
        ref = f", prev_id INTEGER REFERENCES t{number - 1:05d} (id)" if number else ""
        statements.append(
            f"CREATE TABLE t{number:05d} (id INTEGER PRIMARY KEY, {cols}{ref});"
        )
    with sqlite3.connect(path) as conn:
        conn.executescript("\n".join(statements))
    conn.close()
    return path


def sqlite_db(path: Path, name: str = "shop") -> SqlDb:
    return SqlDb.objects.create(
        name=name, db_type="SQLite", db_name=str(path), password=SECRET
    )


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    from django.test import override_settings

    root = tmp_path / "logs"
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(root)):
        yield root  # type: ignore[misc]


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[Cluster]]:
    started: list[Cluster] = []
    yield started
    for cluster in started:
        cluster.stop()


def status(db: SqlDb) -> str:
    return SqlDb.objects.values_list("db_elements_status", flat=True).get(pk=db.pk)


def wait_for_heartbeat(db: SqlDb) -> None:
    """Wait until a worker runs ``db``'s harvest (its first heartbeat)."""
    wait_for(
        lambda: SqlDb.objects.filter(
            pk=db.pk, db_elements_heartbeat__isnull=False
        ).exists(),
        30,
        "the worker to start",
    )


def finished(*dbs: SqlDb) -> bool:
    done = (TaskStatus.COMPLETED, TaskStatus.FAILED)
    return all(status(db) in done for db in dbs)


def grep_secret(*places: Path) -> list[str]:
    found = []
    for place in places:
        for path in place.rglob("*") if place.is_dir() else [place]:
            if path.is_file() and SECRET in path.read_text(errors="replace"):
                found.append(str(path))
    return found


def task_rows_mention_secret() -> bool:
    from django_q.models import OrmQ, Task

    stored = [repr((t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    stored += [repr(q.task) for q in OrmQ.objects.all()]
    return any(SECRET in s for s in stored)


@pytest.fixture(scope="module")
def server_sources() -> Iterator[list[tuple[str, str, str]]]:
    """A quirk database on this machine's PostgreSQL and one on MariaDB."""
    require_postgres()
    require_mariadb()
    with (
        schemas.pg_quirk_database() as pg_url,
        schemas.mariadb_quirk_database() as maria_url,
    ):
        # A reader that needs the secret password, so leaks can be looked for.
        maria_name = schemas.database_name(maria_url)
        schemas.run_ddl(
            maria_url,
            [
                f"CREATE USER '{READER}'@'%' IDENTIFIED BY '{SECRET}'",
                f"GRANT SELECT, SHOW VIEW ON `{maria_name}`.* TO '{READER}'@'%'",
            ],
        )
        try:
            reader_url = (
                make_url(maria_url)
                .set(username=READER)
                .render_as_string(hide_password=False)
            )
            yield [("PostgreSQL", pg_url, "8"), ("MariaDB", reader_url, "7")]
        finally:
            schemas.run_ddl(maria_url, [f"DROP USER IF EXISTS '{READER}'@'%'"])


def server_db(db_type: str, url: str) -> SqlDb:
    parsed = make_url(url)
    return SqlDb.objects.create(
        name=db_type,
        db_type=db_type,
        db_host=parsed.host or "",
        db_port=parsed.port,
        db_name=parsed.database or "",
        user_name=parsed.username or "",
        password=SECRET,
    )


def test_orm_broker_cluster_harvests_and_logs(
    tmp_path: Path,
    logs: Path,
    clusters: list[Cluster],
    server_sources: list[tuple[str, str, str]],
) -> None:
    good = sqlite_db(make_sqlite(tmp_path / "good.sqlite", 12))
    servers = [(server_db(t, u), int(n)) for t, u, n in server_sources]
    bad = SqlDb.objects.create(
        name="bad",
        db_type="PostgreSQL",
        db_host="127.0.0.1",
        db_port=1,
        db_name="x",
        user_name="u",
        password=SECRET,
    )
    everything = [good, bad, *(db for db, _ in servers)]
    clusters.append(Cluster(worker_env(logs), tmp_path / "cluster.log"))
    result = start_db_elements_creation(everything, workspace_id=4, user_id=9)
    assert len(result.started) == 4
    wait_for(
        lambda: status(good) == TaskStatus.RUNNING or finished(good), 10, "RUNNING"
    )
    wait_for(lambda: finished(*everything), 90, "all runs to finish")
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.db_elements_status == TaskStatus.COMPLETED, good.db_elements_error
    assert SqlTable.objects.filter(sql_db=good).count() == 12
    assert SqlColumn.objects.filter(sql_table__sql_db=good).count() == 12 * 9 + 11
    for db, tables in servers:
        db.refresh_from_db()
        assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
        assert SqlTable.objects.filter(sql_db=db).count() == tables
        text = (logs / "db_elements" / db.db_elements_log_file).read_text()
        assert f"Tables: {tables} created" in text
    assert re.fullmatch(
        rf"db_elements_ws_4_db_{good.pk}_\d{{8}}_\d{{6}}\.log",
        good.db_elements_log_file,
    )
    text = (logs / "db_elements" / good.db_elements_log_file).read_text()
    assert "Starting database elements creation" in text
    assert "workspace 4, user 9" in text
    assert "Finished with status COMPLETED" in text
    assert bad.db_elements_status == TaskStatus.FAILED
    assert bad.db_elements_error.startswith(
        "Cannot connect to postgresql://127.0.0.1:1/x"
    )
    assert (
        "ERROR - Failed: Cannot connect"
        in (logs / "db_elements" / bad.db_elements_log_file).read_text()
    )
    assert grep_secret(logs, tmp_path / "cluster.log") == []
    assert not task_rows_mention_secret()


def test_redis_broker_via_the_cli(
    tmp_path: Path,
    logs: Path,
    clusters: list[Cluster],
    server_sources: list[tuple[str, str, str]],
) -> None:
    probe("Redis", lambda: __import__("redis").Redis.from_url(REDIS_URL).ping())
    dbs = [
        sqlite_db(make_sqlite(tmp_path / f"r{n}.sqlite", 5), name=f"r{n}")
        for n in range(3)
    ]
    servers = [(server_db(t, u), int(n)) for t, u, n in server_sources]
    env = worker_env(logs, redis_url=REDIS_URL, queue=f"thoth-{uuid.uuid4().hex[:8]}")
    clusters.append(Cluster(env, tmp_path / "cluster.log"))
    cli = run_cli(env, *[str(db.pk) for db in dbs], *[str(db.pk) for db, _ in servers])
    assert cli.returncode == 0, cli.stderr
    wait_for(
        lambda: finished(*dbs, *(db for db, _ in servers)),
        90,
        "the Redis cluster to harvest",
    )
    for db, tables in servers:
        db.refresh_from_db()
        assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
        assert SqlTable.objects.filter(sql_db=db).count() == tables
    for db in dbs:
        db.refresh_from_db()
        assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
        assert SqlTable.objects.filter(sql_db=db).count() == 5
    assert SECRET not in cli.stdout + cli.stderr
    assert grep_secret(logs) == []


def test_sigkill_mid_harvest_is_detected_and_rerun(
    tmp_path: Path, logs: Path, clusters: list[Cluster]
) -> None:
    db = sqlite_db(make_sqlite(tmp_path / "big.sqlite", 1500, columns=12))
    env = worker_env(logs, heartbeat=0.3, heartbeat_timeout=3)
    cluster = Cluster(env, tmp_path / "cluster1.log")
    clusters.append(cluster)
    from django.test import override_settings

    with override_settings(THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS=3):
        start_db_elements_creation([db])
        wait_for_heartbeat(db)
        assert status(db) == TaskStatus.RUNNING
        os.killpg(cluster.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        cluster.process.wait(timeout=10)
        assert SqlTable.objects.filter(sql_db=db).count() == 0  # nothing partial
        wait_for(
            lambda: is_stale(SqlDb.objects.get(pk=db.pk)), 30, "the run to look stale"
        )
        detected = time.monotonic() - killed
        print(
            f"dead worker detected {detected:.2f} s after SIGKILL (heartbeat time-out 3 s)"
        )
        assert detected < 10
        assert check_sqldb_db_elements_can_start(SqlDb.objects.get(pk=db.pk)) == (
            True,
            "Previous task was stale and has been cleaned up",
        )
        clusters.append(Cluster(env, tmp_path / "cluster2.log"))
        assert start_db_elements_creation([db]).started
        wait_for(lambda: finished(db), 120, "the rerun")
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
    assert SqlTable.objects.filter(sql_db=db).count() == 1500


def test_cancel_during_a_run(
    tmp_path: Path, logs: Path, clusters: list[Cluster]
) -> None:
    path = make_sqlite(tmp_path / "big.sqlite", 1500, columns=12)
    db = sqlite_db(path)
    # The run is held in its read by a lock on the source (SQLite waits up
    # to 5 s for it) until the cancel has been requested and heard: however
    # fast the harvest, the cancel lands while it runs.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        clusters.append(
            Cluster(worker_env(logs, heartbeat=0.2), tmp_path / "cluster.log")
        )
        start_db_elements_creation([db])
        wait_for_heartbeat(db)
        assert request_cancel_sqldb_db_elements_task(db)
        # Five heartbeats: the run hears the cancel at its next checkpoint,
        # before its read or, waiting on the lock, right after it.
        time.sleep(1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_for(lambda: finished(db), 60, "the cancelled run to end")
    db.refresh_from_db()
    assert (db.db_elements_status, db.db_elements_error) == (
        TaskStatus.FAILED,
        "Cancelled",
    )
    assert SqlTable.objects.filter(sql_db=db).count() == 0


def test_two_redis_clusters_share_a_batch(
    tmp_path: Path, logs: Path, clusters: list[Cluster]
) -> None:
    probe("Redis", lambda: __import__("redis").Redis.from_url(REDIS_URL).ping())
    source = make_sqlite(tmp_path / "small.sqlite", 40)
    dbs = [sqlite_db(source, name=f"db{n:02d}") for n in range(20)]
    env = worker_env(logs, redis_url=REDIS_URL, queue=f"thoth-{uuid.uuid4().hex[:8]}")
    first = Cluster(env, tmp_path / "c1.log")
    second = Cluster(env, tmp_path / "c2.log")
    clusters.extend([first, second])
    time.sleep(2)  # both clusters up before the batch lands
    cli = run_cli(env, *[str(db.pk) for db in dbs])
    assert cli.returncode == 0, cli.stderr
    wait_for(lambda: finished(*dbs), 120, "20 harvests")
    pids_by_db: dict[int, list[str]] = {}
    for db in dbs:
        db.refresh_from_db()
        assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
        files = sorted((logs / "db_elements").glob(f"db_elements_*_db_{db.pk}_*.log"))
        assert len(files) == 1  # harvested exactly once
        pids_by_db[db.pk] = re.findall(r"worker pid (\d+)", files[0].read_text())
    first_pids = {str(p) for p in first.worker_pids()}
    second_pids = {str(p) for p in second.worker_pids()}
    used = {pids[0] for pids in pids_by_db.values()}
    assert used & first_pids, "the first cluster ran nothing"
    assert used & second_pids, "the second cluster ran nothing"


def test_sigterm_during_a_sync_batch_ends_every_database(
    tmp_path: Path, logs: Path
) -> None:
    """``create_db_elements --sync`` stopped by SIGTERM (``timeout``,
    systemd, Kubernetes, a CI cancel): the run going on and the databases
    not started yet end FAILED, as with Ctrl-C, not RUNNING with nothing to
    run them."""
    import subprocess
    import sys

    from tests.cluster import MANAGE, ROOT

    big = sqlite_db(make_sqlite(tmp_path / "big.sqlite", 5000), "big")
    small = sqlite_db(make_sqlite(tmp_path / "small.sqlite", 2), "small")
    pks = [str(big.pk), str(small.pk)]
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "create_db_elements", "--sync", *pks],
        env=worker_env(logs),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_heartbeat(big)  # its run has begun
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, err
    assert "Stopped: terminated (SIGTERM); see each database's status." in err
    rows = {
        row.name: (row.db_elements_status, row.db_elements_error)
        for row in SqlDb.objects.filter(pk__in=[big.pk, small.pk])
    }
    assert rows == {
        "big": (TaskStatus.FAILED, "Stopped by the worker: terminated (SIGTERM)"),
        "small": (TaskStatus.FAILED, "Not started: interrupted (Terminated)"),
    }
    assert check_sqldb_db_elements_can_start(small)[0]
