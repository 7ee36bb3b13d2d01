"""32 concurrent starts of one database, 50 times: exactly one run each time.

Threads and separate processes, on PostgreSQL and MariaDB as Django's
database (the tox environments ``*-postgres`` and ``*-mariadb``); SQLite
serialises writers and is skipped.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Any

import pytest
from django.db import connection, connections

from catalog.models import SqlDb
from tests.reliability.race_worker import CountingRunner, start_race
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.tasks import start_db_elements_creation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        bool(os.environ.get("THOTH_SKIP_HEAVY")),
        reason="heavy race: run in one Python of the matrix (see tox.ini)",
    ),
    pytest.mark.skipif(
        connection.vendor not in ("postgresql", "mysql"),
        reason="needs PostgreSQL or MariaDB as Django's database (see tox.ini)",
    ),
]

STARTERS = 32
ROUNDS = 50


def reset(pk: Any) -> None:
    SqlDb.objects.filter(pk=pk).update(
        db_elements_status=TaskStatus.COMPLETED, db_elements_task_id=None
    )


def test_threads_start_once() -> None:
    row = SqlDb.objects.create(name="race", db_type="SQLite", db_name="/x")
    runner = CountingRunner()
    double_runs = 0
    for _ in range(ROUNDS):
        reset(row.pk)
        barrier = threading.Barrier(STARTERS)
        started: list[int] = []
        lock = threading.Lock()

        def start(
            barrier: threading.Barrier = barrier,
            started: list[int] = started,
            lock: threading.Lock = lock,
        ) -> None:
            try:
                barrier.wait()
                count = len(start_db_elements_creation([row.pk], runner=runner).started)
                with lock:
                    started.append(count)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=start) for _ in range(STARTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(started) == STARTERS
        double_runs += sum(started) - 1
        assert sum(started) == 1
    assert double_runs == 0


def test_processes_start_once() -> None:
    row = SqlDb.objects.create(name="race", db_type="SQLite", db_name="/x")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(STARTERS + 1)
    done = context.Barrier(STARTERS + 1)
    results = context.Queue()
    children = [
        context.Process(
            target=start_race,
            args=(
                connection.settings_dict["NAME"],
                row.pk,
                ROUNDS,
                start,
                done,
                results,
            ),
        )
        for _ in range(STARTERS)
    ]
    for child in children:
        child.start()
    try:
        for _ in range(ROUNDS):
            reset(row.pk)
            start.wait(timeout=120)
            started = [results.get(timeout=120) for _ in range(STARTERS)]
            assert sum(started) == 1
            done.wait(timeout=120)
    finally:
        for child in children:
            child.join(timeout=60)
        results.close()
        results.join_thread()
    assert [child.exitcode for child in children] == [0] * STARTERS
