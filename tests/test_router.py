"""Under a primary/replica router every write goes to the primary.

Django's documented router sends reads to a replica, which is read-only (a
hot standby) and may be behind. An instance read through it carries the
replica as its database (``_state.db``): the library must write where the
router writes, and decide claims on what the primary holds. Here the
replica is the default database mirrored, with every write refused on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlDb, SqlTable
from tests.test_tasks import RecordingRunner, deliver, make_source
from thoth_db_elements.harvest import create_db_elements
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import (
    request_cancel_sqldb_db_elements_task,
    start_db_elements_creation,
)
from thoth_db_elements.validation import (
    check_sqldb_db_elements_can_start,
    force_reset_sqldb_db_elements_task_status,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class PrimaryReplicaRouter:
    """Reads from the replica, writes to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


def _refuse_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    words = sql.lstrip().upper()
    if words.startswith(_WRITES) or " FOR UPDATE" in words:
        raise AssertionError(f"written on the replica: {sql[:80]}")
    return execute(sql, params, many, context)


def _on_connect(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.alias == "replica" and _refuse_writes not in (
        connection.execute_wrappers
    ):
        connection.execute_wrappers.append(_refuse_writes)


@pytest.fixture
def replica() -> Iterator[None]:
    """The router on, and the replica read-only in every thread."""
    main = connections["replica"]
    main.execute_wrappers.append(_refuse_writes)
    connection_created.connect(_on_connect)
    try:
        with override_settings(DATABASE_ROUTERS=[PrimaryReplicaRouter()]):
            yield
    finally:
        connection_created.disconnect(_on_connect)
        main.execute_wrappers.remove(_refuse_writes)


@contextmanager
def replica_behind() -> Iterator[None]:
    """The replica frozen as it is now (a read snapshot held open on its
    connection): what is written meanwhile reaches it only after."""
    replica = connections["replica"]
    begin = {
        "postgresql": ["BEGIN ISOLATION LEVEL REPEATABLE READ"],
        # Django's connections read committed: the next transaction not.
        "mysql": [
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT",
        ],
    }.get(replica.vendor, ["BEGIN"])
    with replica.cursor() as cursor:
        for statement in begin:
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM catalog_sqldb")
    try:
        yield
    finally:
        with replica.cursor() as cursor:
            cursor.execute("ROLLBACK")


@pytest.fixture
def source(tmp_path: Path) -> SqlDb:
    path = make_source(tmp_path / "shop.sqlite")
    return SqlDb.objects.using("default").create(
        name="shop", db_type="SQLite", db_name=str(path)
    )


def _read(pk: Any) -> SqlDb:
    """The row as the host's code reads it: through the replica."""
    row = SqlDb.objects.get(pk=pk)
    assert row._state.db == "replica"
    return row


def test_the_replica_refuses_writes(replica: None, source: SqlDb) -> None:
    """The set-up itself: a test below that wrote there would fail."""
    row = _read(source.pk)
    with pytest.raises(AssertionError, match="written on the replica"):
        SqlDb.objects.using("replica").filter(pk=row.pk).update(name="x")


def test_a_run_writes_its_claim_beats_catalogue_and_end_to_the_primary(
    replica: None, source: SqlDb, log_dir: Path
) -> None:
    result = start_db_elements_creation([_read(source.pk)], runner=ImmediateRunner())
    assert [s.sqldb_id for s in result.started] == [source.pk]
    row = SqlDb.objects.using("default").get(pk=source.pk)
    assert row.db_elements_status == TaskStatus.COMPLETED, row.db_elements_error
    assert SqlTable.objects.using("default").filter(sql_db=row).count() == 2


def test_a_delivered_job_takes_its_run_on_the_primary(
    replica: None, source: SqlDb, log_dir: Path
) -> None:
    runner = RecordingRunner()
    start_db_elements_creation([source.pk], runner=runner)
    [job] = runner.jobs
    assert deliver(job)["status"] == "completed"
    row = SqlDb.objects.using("default").get(pk=source.pk)
    assert row.db_elements_status == TaskStatus.COMPLETED


def test_the_helpers_write_to_the_primary(replica: None, source: SqlDb) -> None:
    SqlDb.objects.using("default").filter(pk=source.pk).update(
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="t-1",
        db_elements_start_time=timezone.now(),
    )
    row = _read(source.pk)
    assert check_sqldb_db_elements_can_start(row) == (
        False,
        "A database elements creation task is currently running",
    )
    assert request_cancel_sqldb_db_elements_task(_read(source.pk)) is True
    assert force_reset_sqldb_db_elements_task_status(_read(source.pk)) is True
    row = SqlDb.objects.using("default").get(pk=source.pk)
    assert row.db_elements_status == TaskStatus.IDLE
    assert row.db_elements_cancel_requested is False


def test_the_command_reports_what_the_run_wrote_not_a_replica_behind(
    replica: None, source: SqlDb, log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with replica_behind():
        assert _read(source.pk).db_elements_status == TaskStatus.IDLE
        call_command("create_db_elements", "shop", "--sync")
        # The replica has not seen the run yet; the command did.
        assert _read(source.pk).db_elements_status == TaskStatus.IDLE
    assert "shop: COMPLETED" in capsys.readouterr().out


def test_create_db_elements_writes_the_catalogue_to_the_primary(
    replica: None, source: SqlDb
) -> None:
    report = create_db_elements(_read(source.pk))
    assert report.tables.created == 2
    assert SqlTable.objects.using("default").filter(sql_db_id=source.pk).count() == 2


def test_the_admins_live_status_reads_what_runs_wrote(
    replica: None, source: SqlDb
) -> None:
    """The badges poll for the run's progress: from the database the runs
    write to, not from a replica behind it."""
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    admin_user = User.objects.create_superuser("admin", "a@example.com", "pw")
    client = Client()
    client.force_login(admin_user)
    url = reverse("admin:catalog_sqldb_db_elements_status") + f"?ids={source.pk}"
    with replica_behind():
        SqlDb.objects.using("default").filter(pk=source.pk).update(
            db_elements_status=TaskStatus.COMPLETED
        )
        assert _read(source.pk).db_elements_status == TaskStatus.IDLE
        [row] = client.get(url).json()["rows"]
    assert row["status"] == "COMPLETED"
