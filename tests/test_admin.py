"""The admin mixin through Django's test client: messages, permissions, CSRF."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from catalog.admin import SqlDbAdmin
from catalog.models import SqlDb
from thoth_db_elements.admin import (
    ACTION_DESCRIPTION,
    FIELDSET_TITLE,
    FORCE_DESCRIPTION,
)
from thoth_db_elements.models import TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:catalog_sqldb_changelist"
IMMEDIATE = "thoth_db_elements.runners.immediate.ImmediateRunner"
RECORDING = "tests.test_admin.RecordingRunner"


class RecordingRunner:
    jobs: list[Any] = []

    def enqueue(self, job: Any) -> str:
        RecordingRunner.jobs.append(job)
        return "queued"

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False


@pytest.fixture(autouse=True)
def _recording_runner() -> Any:
    RecordingRunner.jobs = []
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        yield


def user_with(*codenames: str, superuser: bool = False) -> User:
    user = User.objects.create_user(
        f"u{User.objects.count()}", password="pw", is_staff=True, is_superuser=superuser
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def client_for(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def run_action(client: Client, action: str, ids: list[int]) -> list[str]:
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def db(name: str, **fields: Any) -> SqlDb:
    return SqlDb.objects.create(
        name=name, db_type="SQLite", db_name="/nonexistent", **fields
    )


def test_action_label_and_presence_for_changers() -> None:
    db("listed")
    client = client_for(user_with(superuser=True))
    response = client.get(reverse(CHANGELIST))
    assert ACTION_DESCRIPTION in response.content.decode()
    assert (
        ACTION_DESCRIPTION
        == "Create all database elements (tables, columns, relationships) - ASYNC"
    )


def test_started_message_with_task_id() -> None:
    a, b = db("alpha"), db("beta")
    messages = run_action(
        client_for(user_with(superuser=True)), "create_db_elements_async", [a.pk, b.pk]
    )
    [started] = messages
    assert started.startswith(
        "Started async database elements creation for 2 database(s). Task ID: "
    )
    batch = started.split("Task ID: ")[1].split(".")[0]
    a.refresh_from_db()
    assert a.db_elements_task_id == f"{batch}-{a.pk}"
    assert len(RecordingRunner.jobs) == 2


def test_skipped_databases_are_warned() -> None:
    ready = db("ready")
    busy = db(
        "busy",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
    )
    messages = run_action(
        client_for(user_with(superuser=True)),
        "create_db_elements_async",
        [ready.pk, busy.pk],
    )
    assert messages[0].startswith(
        "Started async database elements creation for 1 database(s)."
    )
    assert messages[1:] == [
        "Skipped 1 database(s) that were not ready:",
        "  - busy: A database elements creation task is currently running",
    ]


def test_none_ready_is_an_error_naming_each() -> None:
    busy = db(
        "busy",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
    )
    odd = db("odd", db_elements_status="PAUSED")
    messages = run_action(
        client_for(user_with(superuser=True)),
        "create_db_elements_async",
        [busy.pk, odd.pk],
    )
    assert messages == [
        "No databases are ready for processing. Skipped: 2",
        "  - busy: A database elements creation task is currently running",
        "  - odd: Unknown status: PAUSED",
    ]
    assert RecordingRunner.jobs == []


def test_empty_selection_message() -> None:
    model_admin = SqlDbAdmin(SqlDb, admin.site)
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    request = RequestFactory().post("/")
    request.user = user_with(superuser=True)
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    model_admin.create_db_elements_async(request, SqlDb.objects.none())
    assert [str(m) for m in get_messages(request)] == [
        "Please select at least one database."
    ]


def test_workspace_comes_from_the_request_or_the_default() -> None:
    from types import SimpleNamespace

    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    model_admin = SqlDbAdmin(SqlDb, admin.site)
    for workspace, expected in ((SimpleNamespace(id=42), 42), (None, 1)):
        target = db(f"w{expected}")
        request = RequestFactory().post("/")
        request.user = user_with(superuser=True)
        request.session = {}  # type: ignore[assignment]
        request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
        if workspace is not None:
            request.current_workspace = workspace  # type: ignore[attr-defined]
        model_admin.create_db_elements_async(
            request, SqlDb.objects.filter(pk=target.pk)
        )
        assert RecordingRunner.jobs[-1].kwargs["workspace_id"] == expected


def test_host_actions_list_display_and_fieldsets_survive() -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user_with(superuser=True)
    model_admin = SqlDbAdmin(SqlDb, admin.site)
    actions = model_admin.get_actions(request)
    assert {"export_csv", "test_connection", "delete_selected"} <= set(actions)
    assert {
        "create_db_elements_async",
        "cancel_db_elements",
        "force_reset_db_elements",
    } <= set(actions)
    display = list(model_admin.get_list_display(request))
    assert display[:5] == ["name", "db_host", "db_type", "db_name", "schema"]
    assert "db_elements_status_badge" in display
    fieldsets = model_admin.get_fieldsets(request, db("x"))
    titles = [title for title, _ in fieldsets]
    assert titles == [None, FIELDSET_TITLE]
    assert "password" in fieldsets[0][1]["fields"]
    ours = fieldsets[1][1]
    assert ours["classes"] == ("collapse",)
    assert list(ours["fields"])[:4] == [
        "db_elements_status",
        "db_elements_task_id",
        "db_elements_start_time",
        "db_elements_end_time",
    ]
    assert "db_elements_log_link" in ours["fields"]


def test_anonymous_is_sent_to_login() -> None:
    response = Client().get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    target = db("x")
    for url in (
        reverse("admin:catalog_sqldb_db_elements_status") + f"?ids={target.pk}",
        reverse("admin:catalog_sqldb_db_elements_logs", args=[target.pk]),
    ):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_staff_without_permissions_gets_403_and_no_action() -> None:
    client = client_for(user_with())
    target = db("x")
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert (
        client.get(
            reverse("admin:catalog_sqldb_db_elements_status") + f"?ids={target.pk}"
        ).status_code
        == 403
    )
    assert (
        client.get(
            reverse("admin:catalog_sqldb_db_elements_logs", args=[target.pk])
        ).status_code
        == 403
    )
    response = client.post(
        reverse(CHANGELIST),
        {"action": "create_db_elements_async", "_selected_action": [target.pk]},
    )
    assert response.status_code == 403
    assert RecordingRunner.jobs == []


def test_view_only_reads_status_and_logs_but_cannot_start(tmp_path: Path) -> None:
    client = client_for(user_with("view_sqldb"))
    target = db(
        "x",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
        db_elements_progress_done=3,
        db_elements_progress_total=10,
    )
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "thoth-db-elements-status status-running" in page.content.decode()
    assert ACTION_DESCRIPTION not in page.content.decode()
    status = client.get(
        reverse("admin:catalog_sqldb_db_elements_status") + f"?ids={target.pk}"
    )
    assert status.status_code == 200
    [row] = status.json()["rows"]
    assert (row["status"], row["done"], row["total"]) == ("RUNNING", 3, 10)
    assert row["detail"].startswith("3/10 tables")
    # The run logs name tables and columns and quote deleted annotations:
    # they need the catalogue's permissions too.
    log_dir = tmp_path / "logs" / "db_elements"
    log_dir.mkdir(parents=True)
    name = f"db_elements_no_workspace_db_{target.pk}_20260101_101010.log"
    (log_dir / name).write_text("Deleted with its annotations: ...")
    logs = reverse("admin:catalog_sqldb_db_elements_logs", args=[target.pk])
    change = reverse("admin:catalog_sqldb_change", args=[target.pk])
    reader = client_for(user_with("view_sqldb", "view_sqltable", "view_sqlcolumn"))
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path / "logs")):
        assert client.get(logs).status_code == 403
        assert logs not in client.get(change).content.decode()
        assert reader.get(logs).status_code == 200
        assert logs in reader.get(change).content.decode()
        half = client_for(user_with("view_sqldb", "view_sqltable"))
        assert half.get(logs).status_code == 403
    client.post(
        reverse(CHANGELIST),
        {"action": "create_db_elements_async", "_selected_action": [target.pk]},
    )
    assert RecordingRunner.jobs == []


def test_post_without_csrf_token_is_refused() -> None:
    target = db("x")
    client = client_for(user_with(superuser=True), csrf=True)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "create_db_elements_async", "_selected_action": [target.pk]},
    )
    assert response.status_code == 403
    assert RecordingRunner.jobs == []


def test_status_endpoint_is_get_only() -> None:
    client = client_for(user_with(superuser=True))
    assert (
        client.post(reverse("admin:catalog_sqldb_db_elements_status")).status_code
        == 405
    )


def test_log_viewer_lists_only_this_databases_files(tmp_path: Path) -> None:
    target, other = db("x"), db("y")
    logs = tmp_path / "logs" / "db_elements"
    logs.mkdir(parents=True)
    mine = logs / f"db_elements_ws_1_db_{target.pk}_20260101_101010.log"
    mine.write_text("2026-01-01 - thoth - INFO - hello from mine\n")
    theirs = logs / f"db_elements_ws_1_db_{other.pk}_20260101_101010.log"
    theirs.write_text("secret of another database\n")
    (tmp_path / "logs" / "passwd").write_text("root:x:0:0\n")
    client = client_for(user_with(superuser=True))
    url = reverse("admin:catalog_sqldb_db_elements_logs", args=[target.pk])
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path / "logs")):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert "hello from mine" in text
        assert "secret of another database" not in text
        for attempt in (
            "../passwd",
            "../../logs/passwd",
            theirs.name,
            "/etc/passwd",
            f"..%2F{theirs.name}",
            str(theirs),
        ):
            response = client.get(url, {"file": attempt})
            assert response.status_code == 404, attempt
            assert b"root:x" not in response.content


def test_force_reset_asks_for_a_reason_then_resets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = db(
        "x",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
        db_elements_task_id="t1",
    )
    client = client_for(user_with(superuser=True))
    page = client.post(
        reverse(CHANGELIST),
        {"action": "force_reset_db_elements", "_selected_action": [target.pk]},
    )
    assert page.status_code == 200
    assert "Reason (logged)" in page.content.decode()
    target.refresh_from_db()
    assert target.db_elements_status == TaskStatus.RUNNING
    response = client.post(
        reverse(CHANGELIST),
        {
            "action": "force_reset_db_elements",
            "_selected_action": [target.pk],
            "post": "yes",
            "reason": "worker host was rebooted",
        },
        follow=True,
    )
    assert "Reset 1 database(s) to Idle." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    target.refresh_from_db()
    assert (target.db_elements_status, target.db_elements_task_id) == (
        TaskStatus.IDLE,
        None,
    )
    assert "worker host was rebooted" in caplog.text


def test_cancel_action() -> None:
    running = db(
        "r",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
        db_elements_heartbeat=timezone.now(),  # a worker has it
    )
    idle = db("i")
    client = client_for(user_with(superuser=True))
    assert run_action(client, "cancel_db_elements", [idle.pk]) == [
        "None of the selected databases is running."
    ]
    assert run_action(client, "cancel_db_elements", [running.pk, idle.pk]) == [
        "Cancel requested for 1 database(s)."
    ]
    running.refresh_from_db()
    assert running.db_elements_cancel_requested is True
    # A run whose worker stopped beating: the cancel is set, but nobody acts.
    dead = db(
        "d",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
        db_elements_heartbeat=timezone.now() - timedelta(hours=1),
    )
    assert run_action(client, "cancel_db_elements", [dead.pk]) == [
        "Cancel requested for 1 database(s).",
        "The database d is not responding: no worker will act on the cancel. "
        "Start it again, or force reset it.",
    ]


def test_change_form_shows_report_and_log_link(tmp_path: Path) -> None:
    target = db(
        "x",
        db_elements_status=TaskStatus.COMPLETED,
        db_elements_report={
            "tables": {"created": 2, "updated": 0, "deleted": 0, "unchanged": 0}
        },
    )
    logs = tmp_path / "logs" / "db_elements"
    logs.mkdir(parents=True)
    (logs / f"db_elements_no_workspace_db_{target.pk}_20260101_101010.log").write_text(
        "x"
    )
    client = client_for(user_with(superuser=True))
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path / "logs")):
        page = client.get(reverse("admin:catalog_sqldb_change", args=[target.pk]))
    text = page.content.decode()
    assert FIELDSET_TITLE in text
    assert "tables: 2 created, 0 updated, 0 deleted, 0 unchanged" in text
    assert "View run logs" in text


def test_immediate_runner_end_to_end_through_the_admin(
    tmp_path: Path, log_dir: Path
) -> None:
    import sqlite3

    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.close()
    target = SqlDb.objects.create(name="s", db_type="SQLite", db_name=str(path))
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=IMMEDIATE):
        run_action(
            client_for(user_with(superuser=True)),
            "create_db_elements_async",
            [target.pk],
        )
    target.refresh_from_db()
    assert target.db_elements_status == TaskStatus.COMPLETED


class RefusingRunner(RecordingRunner):
    """A broker that is down."""

    def enqueue(self, job: Any) -> str:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6390.")


def test_a_job_the_broker_refuses_is_reported_not_started() -> None:
    target = db("target", db_elements_report={"tables": {"created": 7}})
    client = client_for(user_with("change_sqldb"))
    with override_settings(THOTH_DB_ELEMENTS_RUNNER="tests.test_admin.RefusingRunner"):
        shown = run_action(client, "create_db_elements_async", [target.pk])
    assert not any(m.startswith("Started") for m in shown), shown
    assert shown == [
        "Could not queue the task of 1 database(s):",
        "  - target: Could not queue the task: Error 111 connecting to 127.0.0.1:6390.",
    ]
    target.refresh_from_db()
    assert target.db_elements_status == TaskStatus.FAILED
    # The last run's report and log are not this run's.
    assert (target.db_elements_report, target.db_elements_log_file) == ({}, "")


def test_force_action_confirms_then_queues_forced_runs() -> None:
    target = db("target")
    client = client_for(user_with("change_sqldb"))
    page = client.post(
        reverse(CHANGELIST),
        {"action": "create_db_elements_force", "_selected_action": [target.pk]},
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "harvested <strong>with force</strong>" in text
    assert "more than 50% of its catalogue" in text
    assert RecordingRunner.jobs == []  # nothing queued before the confirmation
    target.refresh_from_db()
    assert target.db_elements_status == TaskStatus.IDLE
    shown = run_action_confirmed(client, "create_db_elements_force", [target.pk])
    assert shown[0].startswith("Started async database elements creation for 1 ")
    [job] = RecordingRunner.jobs
    assert job.kwargs["force"] is True
    # The ordinary action does not force.
    other = db("other")
    run_action(client, "create_db_elements_async", [other.pk])
    assert RecordingRunner.jobs[-1].kwargs["force"] is False


def test_force_action_needs_the_change_permission() -> None:
    client = client_for(user_with("view_sqldb"))
    db("listed")
    response = client.get(reverse(CHANGELIST))
    assert FORCE_DESCRIPTION not in response.content.decode()


def run_action_confirmed(client: Client, action: str, ids: list[int]) -> list[str]:
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(i) for i in ids], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]
