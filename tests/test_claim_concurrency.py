"""Of many concurrent claimers of one row, exactly one wins.

Runs on PostgreSQL and MariaDB as Django's database (the tox environments
``*-postgres`` and ``*-mariadb``); SQLite serialises writers and is skipped.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid

import pytest
from django.db import connection, connections

from catalog.models import SqlDb
from tests.claim_worker import race
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.validation import claim_sqldb_db_elements_task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor not in ("postgresql", "mysql"),
        reason="needs PostgreSQL or MariaDB as Django's database (see tox.ini)",
    ),
]

REPETITIONS = 50


def reset(row: SqlDb) -> None:
    SqlDb.objects.filter(pk=row.pk).update(
        db_elements_status=TaskStatus.IDLE, db_elements_task_id=None
    )


def test_threads_race_exactly_one_wins() -> None:
    row = SqlDb.objects.create(name="race")
    threads_count = 16
    for _ in range(REPETITIONS):
        reset(row)
        barrier = threading.Barrier(threads_count)
        results: list[str] = []
        lock = threading.Lock()

        def claim(
            barrier: threading.Barrier = barrier,
            results: list[str] = results,
            lock: threading.Lock = lock,
        ) -> None:
            try:
                task_id = uuid.uuid4().hex
                mine = SqlDb(pk=row.pk)
                mine._state.adding = False
                barrier.wait()
                if claim_sqldb_db_elements_task(mine, task_id):
                    with lock:
                        results.append(task_id)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=claim) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 1
        assert SqlDb.objects.get(pk=row.pk).db_elements_task_id == results[0]


def test_processes_race_exactly_one_wins() -> None:
    row = SqlDb.objects.create(name="race")
    processes_count = 8
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes_count + 1)
    done = context.Barrier(processes_count + 1)
    results = context.Queue()
    db_name = connection.settings_dict["NAME"]
    children = [
        context.Process(
            target=race, args=(db_name, row.pk, REPETITIONS, start, done, results)
        )
        for _ in range(processes_count)
    ]
    for child in children:
        child.start()
    try:
        for _ in range(REPETITIONS):
            reset(row)
            start.wait(timeout=60)
            answers = [results.get(timeout=60) for _ in range(processes_count)]
            assert sorted(answers) == [False] * (processes_count - 1) + [True]
            done.wait(timeout=60)
    finally:
        for child in children:
            child.join(timeout=30)
        results.close()
        results.join_thread()
    assert [child.exitcode for child in children] == [0] * processes_count
