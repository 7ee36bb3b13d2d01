"""The runners on this machine's brokers: django-q2's ORM queue, ``django.tasks``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from thoth_db_elements.exceptions import ConfigurationError
from thoth_db_elements.runners import get_runner
from thoth_db_elements.runners.base import Job
from thoth_db_elements.runners.django_q import DjangoQRunner

pytestmark = pytest.mark.django_db(transaction=True)


def test_django_q_runner_tracks_each_job_separately() -> None:
    from django_q.models import OrmQ

    runner = DjangoQRunner()
    named, unnamed = runner.enqueue_many(
        [
            Job("thoth_db_elements.tasks.run_db_elements_task", (1, "b-1"), name="n1"),
            Job("thoth_db_elements.tasks.run_db_elements_task", (2, "b-2")),
        ]
    )
    queued = {q.task_id(): q.task for q in OrmQ.objects.all()}
    assert set(queued) == {named, unnamed}
    assert queued[named]["name"] == "n1"
    # Without a name django-q2 makes one up; the group is always ours.
    assert queued[unnamed]["name"] not in ("", "n1")
    assert queued[unnamed]["group"] == "thoth_db_elements"
    assert runner.is_active(named) is True
    assert runner.is_active(unnamed) is True
    assert runner.cancel(unnamed) is True
    assert runner.is_active(unnamed) is None
    assert runner.is_active(named) is True
    assert runner.cancel(uuid.uuid4().hex) is False
    assert [q.task_id() for q in OrmQ.objects.all()] == [named]


#: What ``in_transaction`` saw when it ran.
SEEN: list[bool] = []


def in_transaction() -> None:
    from django.db import connection

    SEEN.append(connection.in_atomic_block)


def test_django_q_runner_in_sync_mode_runs_jobs_outside_a_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Q_CLUSTER['sync'] runs each job as it is queued: inside the queueing
    # transaction, a run's own row lock would hold its heartbeat up.
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
    SEEN.clear()
    DjangoQRunner().enqueue_many([Job("tests.test_edges_runners.in_transaction")] * 2)
    assert SEEN == [False, False]


def test_django_q_runner_reports_a_finished_job_as_inactive() -> None:
    from django_q.models import Task

    done = uuid.uuid4().hex
    Task.objects.create(
        id=done,
        name="finished",
        func="thoth_db_elements.tasks.run_db_elements_task",
        started=timezone.now(),
        stopped=timezone.now(),
        success=True,
    )
    assert DjangoQRunner().is_active(done) is False


class EnqueueOnly:
    """Has ``enqueue`` but not the rest of the runner interface."""

    def enqueue(self, job: Job) -> str:
        return "x"


def test_a_class_without_the_whole_interface_is_refused() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_RUNNER="tests.test_edges_runners.EnqueueOnly"
    ):
        with pytest.raises(ConfigurationError, match="is not a task runner"):
            get_runner()


CALLS: list[tuple[object, ...]] = []


def record(*args: object) -> str:
    """A job body: remembers its arguments."""
    CALLS.append(args)
    return "recorded"


needs_django_tasks = pytest.mark.skipif(
    __import__("django").VERSION < (6, 0), reason="django.tasks needs Django 6.0+"
)


@needs_django_tasks
def test_django_tasks_runner_runs_each_job_by_path() -> None:
    from thoth_db_elements.runners.django_tasks import DjangoTasksRunner

    CALLS.clear()
    tasks = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=tasks):
        runner = DjangoTasksRunner()
        ids = [
            runner.enqueue(Job("tests.test_edges_runners.record", (n, f"task-{n}")))
            for n in range(3)
        ]
    assert len(set(ids)) == 3
    assert CALLS == [(0, "task-0"), (1, "task-1"), (2, "task-2")]


@needs_django_tasks
def test_django_tasks_runner_on_a_backend_that_stores_tasks() -> None:
    from thoth_db_elements.runners.django_tasks import DjangoTasksRunner

    tasks = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=tasks):
        from django.tasks import default_task_backend

        backend_id = DjangoTasksRunner().enqueue(
            Job("tests.test_edges_runners.record", (1, "task-1"))
        )
        [stored] = default_task_backend.results  # type: ignore[attr-defined]
    assert stored.id == backend_id
    assert stored.args == ["tests.test_edges_runners.record", [1, "task-1"], {}]


def test_django_q_runner_without_the_redis_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Q_CLUSTER names no broker: django-q2 queues on Redis, and imports its
    # client only then. Without it the row said "No module named 'redis'".
    import sys

    from django_q.conf import Conf

    from catalog.models import SqlDb
    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.tasks import start_db_elements_creation

    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "django_q.brokers.redis_broker", raising=False)
    with pytest.raises(ConfigurationError, match=r"thoth-db-elements\[redis\]"):
        DjangoQRunner().enqueue(Job("tests.test_edges_runners.in_transaction"))
    row = SqlDb.objects.create(name="shop", db_type="SQLite", db_name="shop.sqlite")
    result = start_db_elements_creation([row], runner=DjangoQRunner())
    row.refresh_from_db()
    assert row.db_elements_status == TaskStatus.FAILED
    assert row.db_elements_error.startswith(
        "Could not queue the task: Q_CLUSTER names no other broker, so django-q2 "
        "queues on Redis, and the redis package is not installed"
    )
    assert [r.sqldb_id for r in result.refused] == [row.pk]


def test_django_q_runner_does_not_drop_a_job_a_worker_took() -> None:
    """The ORM broker keeps a taken job, locked, until the worker says it
    is done, to deliver it again should the worker die: dropping it then
    stopped nothing and said it had."""
    from django_q.brokers import get_broker
    from django_q.models import OrmQ

    runner = DjangoQRunner()
    [taken] = runner.enqueue_many([Job("tests.test_edges_runners.record", (1, "t-1"))])
    [(_, payload)] = get_broker().dequeue()  # as a worker's pusher takes it
    assert payload
    [waiting] = runner.enqueue_many(
        [Job("tests.test_edges_runners.record", (2, "t-2"))]
    )
    assert runner.cancel(taken) is False
    assert runner.is_active(taken) is True
    assert runner.cancel(waiting) is True
    assert [q.task_id() for q in OrmQ.objects.all()] == [taken]


@needs_django_tasks
def test_django_tasks_runner_takes_a_job_with_a_uuid_workspace(tmp_path: Any) -> None:
    """``django.tasks`` keeps to JSON's values and refused a UUID: the run
    ended FAILED "Could not queue the task: Unsupported type"."""
    import sqlite3

    from catalog.models import SqlDb
    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.runners.django_tasks import DjangoTasksRunner
    from thoth_db_elements.tasks import start_db_elements_creation

    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.close()
    db = SqlDb.objects.create(name="s", db_type="SQLite", db_name=str(path))
    tasks = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    workspace = uuid.uuid4()
    with override_settings(TASKS=tasks, THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        result = start_db_elements_creation(
            [db], runner=DjangoTasksRunner(), workspace_id=workspace
        )
    assert result.refused == []
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.COMPLETED
    assert db.db_elements_log_file.startswith(f"db_elements_ws_{workspace}_db_")
