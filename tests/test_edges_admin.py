"""The admin mixin on hosts unlike the example's, through Django's test client.

``tests/test_admin.py`` drives the example host, whose admin declares
``list_display`` and ``fieldsets`` with the seed's status fields. Here an
admin site of this module (its own URLconf) registers the test app's models
with the ready-made ``DbElementsModelAdmin`` (nothing declared) and with a
seed-only admin that already shows the badge and lists a status field as
read-only: the mixin must fill in what is missing and never duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils import timezone

from tests.testapp.models import SeedOnlySqlDb, SqlDb
from thoth_db_elements.admin import (
    FIELDSET_TITLE,
    QUEUED_DETAIL,
    STALE_DETAIL,
    DbElementsAdminMixin,
    DbElementsModelAdmin,
)
from thoth_db_elements.models import (
    LIFECYCLE_FIELD_NAMES,
    SEED_FIELD_NAMES,
    TaskStatus,
)

pytestmark = pytest.mark.django_db(transaction=True)


class SeedOnlyAdmin(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A host admin that already shows the badge and a read-only status."""

    list_display = ("name", "db_elements_status_badge")
    readonly_fields = ("db_elements_status",)


class GuardedAdmin(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A host that refuses changes to some rows, row by row."""

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None or not str(obj.name).startswith("ro-")


class NoActionsAdmin(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A host that turned the change list's actions off."""

    actions = None


class NoPasswordForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = SqlDb
        exclude = ["password"]  # noqa: DJ006


class StampAdminMixin:
    """Another mixin of the host's, after ours: its save_model must run."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj.user_name = f"edited by {request.user.username}"
        super().save_model(request, obj, form, change)  # type: ignore[misc]


class NoPasswordAdmin(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A host whose form keeps the password out (no fieldsets of its own)."""

    form = NoPasswordForm


class HostAdmin(DbElementsAdminMixin, StampAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A host with another mixin, and run fields it shows read-only in a
    fieldset of its own."""

    readonly_fields = ("db_elements_heartbeat", "db_elements_error")
    fieldsets = (
        (None, {"fields": ("name", "db_type", "db_mode")}),
        ("Worker", {"fields": ("db_elements_heartbeat", "db_elements_error")}),
    )


site = admin.AdminSite(name="edges")
site.register(SqlDb, DbElementsModelAdmin)
site.register(SeedOnlySqlDb, SeedOnlyAdmin)
guarded = admin.AdminSite(name="guarded")
guarded.register(SqlDb, GuardedAdmin)
no_actions = admin.AdminSite(name="noactions")
no_actions.register(SqlDb, NoActionsAdmin)
hosted = admin.AdminSite(name="hosted")
hosted.register(SqlDb, HostAdmin)
no_password = admin.AdminSite(name="nopassword")
no_password.register(SqlDb, NoPasswordAdmin)

urlpatterns = [
    path("edges/", site.urls),
    path("guarded/", guarded.urls),
    path("noactions/", no_actions.urls),
    path("hosted/", hosted.urls),
    path("nopassword/", no_password.urls),
    path("admin/", include("example.urls")),
]

PLAIN = "edges:testapp_sqldb"
SEED = "edges:testapp_seedonlysqldb"


@pytest.fixture(autouse=True)
def _edges_urls() -> Iterator[None]:
    with override_settings(ROOT_URLCONF=__name__):
        yield


@pytest.fixture
def client() -> Client:
    user = User.objects.create_superuser("edges", password="pw")
    client = Client()
    client.force_login(user)
    return client


def status_rows(client: Client, ids: str) -> list[dict[str, Any]]:
    response = client.get(reverse(f"{PLAIN}_db_elements_status"), {"ids": ids})
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def test_plain_admin_gets_the_badge_column(client: Client) -> None:
    SqlDb.objects.create(name="plain", db_elements_status=TaskStatus.COMPLETED)
    page = client.get(reverse(f"{PLAIN}_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "DB elements status" in text
    assert 'class="thoth-db-elements-status status-completed"' in text


def test_plain_admin_gets_the_status_fieldset(client: Client, tmp_path: Path) -> None:
    target = SqlDb.objects.create(name="plain")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path / "never-made")):
        page = client.get(reverse(f"{PLAIN}_change", args=[target.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert FIELDSET_TITLE in text
    assert (
        "Status of the last database elements creation task: progress, report and log."
        in text
    )
    # No log directory at all: no link, and the page still renders.
    assert "View run logs" not in text
    # Status fields are shown, not editable.
    assert 'name="db_elements_status"' not in text
    assert 'name="name"' in text


@pytest.mark.parametrize("page", ["add", "change"])
def test_no_run_field_is_an_input_of_the_form(client: Client, page: str) -> None:
    target = SqlDb.objects.create(name="plain")
    args = [target.pk] if page == "change" else []
    text = client.get(reverse(f"{PLAIN}_{page}", args=args)).content.decode()
    for name in (*SEED_FIELD_NAMES, *LIFECYCLE_FIELD_NAMES):
        assert f'name="{name}"' not in text, name
    assert 'name="name"' in text


def test_saving_the_form_keeps_what_a_run_wrote_meanwhile(client: Client) -> None:
    """The form was opened before the run ended; saving it changes the
    host's fields only."""
    target = SqlDb.objects.create(
        name="plain", db_elements_status=TaskStatus.RUNNING, db_elements_task_id="t1"
    )
    url = reverse(f"{PLAIN}_change", args=[target.pk])
    assert client.get(url).status_code == 200
    SqlDb.objects.filter(pk=target.pk).update(
        db_elements_status=TaskStatus.COMPLETED,
        db_elements_log_file="new.log",
        db_elements_report={"status": "completed"},
        db_elements_cancel_requested=False,
    )
    form = {
        "name": "renamed",
        "db_type": "SQLite",
        "db_mode": "dev",
        # What an old form held, were these inputs.
        "db_elements_status": TaskStatus.RUNNING,
        "db_elements_log_file": "old.log",
        "db_elements_report": "null",
        "db_elements_cancel_requested": "on",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "renamed"
    assert target.db_elements_status == TaskStatus.COMPLETED
    assert target.db_elements_log_file == "new.log"
    assert target.db_elements_report == {"status": "completed"}
    assert target.db_elements_cancel_requested is False


def test_a_host_form_its_mixins_and_its_read_only_run_fields_are_kept(
    client: Client,
) -> None:
    target = SqlDb.objects.create(
        name="hosted", password="s3cret", db_elements_error="boom"
    )
    plain = reverse("nopassword:testapp_sqldb_change", args=[target.pk])
    text = client.get(plain).content.decode()
    # The form's own Meta.exclude holds: no password input.
    assert 'name="name"' in text
    assert 'name="password"' not in text
    assert "s3cret" not in text
    url = reverse("hosted:testapp_sqldb_change", args=[target.pk])
    text = client.get(url).content.decode()
    # The run fields the host shows read-only, where it put them.
    assert "Worker" in text
    assert "boom" in text
    assert 'name="db_elements_error"' not in text
    response = client.post(
        url, {"name": "renamed", "db_type": "SQLite", "db_mode": "dev"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.password) == ("renamed", "s3cret")
    # The host's other mixin saw the save.
    assert target.user_name == "edited by edges"
    assert target.db_elements_error == "boom"


def test_save_model_writes_no_run_field_of_a_stale_instance() -> None:
    """Between loading the row and saving it, a run may end: the admin's
    save must not put the loaded values back."""
    from django.test import RequestFactory

    target = SqlDb.objects.create(
        name="plain", db_elements_status=TaskStatus.RUNNING, db_elements_task_id="t1"
    )
    loaded = SqlDb.objects.get(pk=target.pk)
    SqlDb.objects.filter(pk=target.pk).update(
        db_elements_status=TaskStatus.FAILED, db_elements_error="boom"
    )
    loaded.name = "renamed"
    request = RequestFactory().post("/")
    request.user = User.objects.create_superuser("saver", password="pw")
    DbElementsModelAdmin(SqlDb, site).save_model(request, loaded, None, change=True)
    target.refresh_from_db()
    assert (target.name, target.db_elements_status, target.db_elements_error) == (
        "renamed",
        TaskStatus.FAILED,
        "boom",
    )


def test_a_row_deleted_before_its_save_comes_back_without_its_run() -> None:
    """Django saves a row deleted meanwhile anew; it must not come back
    RUNNING, a run nobody runs."""
    from django.test import RequestFactory

    loaded = SqlDb.objects.create(
        name="gone", db_elements_status=TaskStatus.RUNNING, db_elements_task_id="t1"
    )
    SqlDb.objects.filter(pk=loaded.pk).delete()
    request = RequestFactory().post("/")
    request.user = User.objects.create_superuser("saver", password="pw")
    DbElementsModelAdmin(SqlDb, site).save_model(request, loaded, None, change=True)
    again = SqlDb.objects.get(pk=loaded.pk)
    assert (again.name, again.db_elements_status, again.db_elements_task_id) == (
        "gone",
        TaskStatus.IDLE,
        None,
    )


def test_a_run_ending_before_the_save_of_a_filtered_admin_keeps_its_result() -> None:
    """The admin of a proxy whose default manager shows running rows only:
    the run ends between loading the form and saving it. The save must
    find the row all the same, and keep the run's result."""
    from django.test import RequestFactory

    from tests.testapp.models import RunningSqlDb

    SqlDb.objects.create(name="busy", db_elements_status=TaskStatus.RUNNING)
    loaded = RunningSqlDb.objects.get(name="busy")
    SqlDb.objects.filter(pk=loaded.pk).update(
        db_elements_status=TaskStatus.FAILED, db_elements_error="boom"
    )
    loaded.db_host = "edited"
    request = RequestFactory().post("/")
    request.user = User.objects.create_superuser("saver", password="pw")
    DbElementsModelAdmin(RunningSqlDb, site).save_model(
        request, loaded, None, change=True
    )
    row = SqlDb.objects.get(pk=loaded.pk)
    assert (row.db_host, row.db_elements_status, row.db_elements_error) == (
        "edited",
        TaskStatus.FAILED,
        "boom",
    )


def test_deleting_from_the_change_list_and_the_form(client: Client) -> None:
    rows = [SqlDb.objects.create(name=f"r{n}") for n in range(3)]
    response = client.post(
        reverse(f"{PLAIN}_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(r.pk) for r in rows[:2]],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse(f"{PLAIN}_delete", args=[rows[2].pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not SqlDb.objects.exists()


def test_add_form_shows_dashes_for_a_row_not_saved_yet(client: Client) -> None:
    page = client.get(reverse(f"{PLAIN}_add"))
    assert page.status_code == 200
    text = page.content.decode()
    assert FIELDSET_TITLE in text
    assert "View run logs" not in text


def test_report_with_unreadable_tables_and_error_is_summarised(
    client: Client,
) -> None:
    counts = {"created": 1, "updated": 0, "deleted": 0, "unchanged": 3}
    target = SqlDb.objects.create(
        name="partial",
        db_elements_status=TaskStatus.FAILED,
        db_elements_report={
            "tables": counts,
            "failed_tables": [{"name": "a"}, {"name": "b"}],
            "error": "the catalogue was locked",
        },
    )
    page = client.get(reverse(f"{PLAIN}_change", args=[target.pk]))
    text = page.content.decode()
    assert (
        "tables: 1 created, 0 updated, 0 deleted, 3 unchanged; unreadable tables: 2; "
        "error: the catalogue was locked"
    ) in text


def test_a_failed_badge_carries_its_error_from_the_first_page(
    client: Client,
) -> None:
    SqlDb.objects.create(
        name="broken",
        db_elements_status=TaskStatus.FAILED,
        db_elements_error='Cannot connect: <host> said "no"',
    )
    text = client.get(reverse(f"{PLAIN}_changelist")).content.decode()
    assert 'title="Cannot connect: &lt;host&gt; said &quot;no&quot;"' in text


def test_finished_run_shows_its_last_progress(client: Client) -> None:
    target = SqlDb.objects.create(
        name="done",
        db_elements_status=TaskStatus.COMPLETED,
        db_elements_progress_done=None,
        db_elements_progress_total=7,
    )
    page = client.get(reverse(f"{PLAIN}_change", args=[target.pk]))
    assert "0/7 tables" in page.content.decode()


def test_running_without_start_time_shows_progress_and_is_stale(
    client: Client,
) -> None:
    # The seed's defect: such a row was never cleaned up; here it is stale.
    target = SqlDb.objects.create(
        name="queued",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=None,
        db_elements_progress_done=3,
        db_elements_progress_total=10,
    )
    [row] = status_rows(client, f"{target.pk}")
    assert row["detail"] == f"3/10 tables, {STALE_DETAIL}"
    assert row["label"] == "Running"


def test_a_run_no_worker_has_taken_says_it_is_queued(client: Client) -> None:
    start = timezone.now() - timedelta(seconds=75)
    queued = SqlDb.objects.create(
        name="queued",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=start,
    )
    taken = SqlDb.objects.create(
        name="taken",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=start,
        db_elements_heartbeat=timezone.now(),
    )
    rows = {r["id"]: r for r in status_rows(client, f"{queued.pk},{taken.pk}")}
    assert rows[queued.pk]["detail"] == f"{QUEUED_DETAIL} 1m 15s"
    assert rows[taken.pk]["detail"] == "1m 15s"
    response = client.post(
        reverse(f"{PLAIN}_changelist"),
        {"action": "cancel_db_elements", "_selected_action": [str(queued.pk)]},
        follow=True,
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Cancel requested for 1 database(s).",
        "The database queued is still queued: it stops when a worker takes it. "
        "If no worker "
        "is running, force reset it.",
    ]


def test_a_run_whose_worker_stopped_beating_says_so(client: Client) -> None:
    now = timezone.now()
    alive, dead = (
        SqlDb.objects.create(
            name=name,
            db_elements_status=TaskStatus.RUNNING,
            db_elements_start_time=now - timedelta(minutes=20),
            db_elements_heartbeat=now - timedelta(seconds=seconds),
        )
        for name, seconds in (("alive", 3), ("dead", 400))
    )
    rows = {r["id"]: r["detail"] for r in status_rows(client, f"{alive.pk},{dead.pk}")}
    assert rows[alive.pk].startswith("20m ")
    assert STALE_DETAIL not in rows[alive.pk]
    assert rows[dead.pk].startswith("20m ")
    assert rows[dead.pk].endswith(f", {STALE_DETAIL}")


def test_status_endpoint_ignores_ids_that_are_not_numbers(client: Client) -> None:
    target = SqlDb.objects.create(name="x", db_elements_status=TaskStatus.IDLE)
    rows = status_rows(
        client, f"abc,,{target.pk}, 1 OR 1=1,-5,\u00b2,99999999999999999999"
    )
    assert [r["id"] for r in rows] == [target.pk]
    assert rows[0]["detail"] == ""
    assert status_rows(client, "") == []


def test_log_viewer_of_a_missing_database_is_404(client: Client) -> None:
    target = SqlDb.objects.create(name="x")
    missing = target.pk + 1000
    response = client.get(reverse(f"{PLAIN}_db_elements_logs", args=[missing]))
    assert response.status_code == 404
    response = client.get(reverse(f"{PLAIN}_db_elements_logs", args=["not-a-pk"]))
    assert response.status_code == 404


def test_log_viewer_without_any_log(client: Client, tmp_path: Path) -> None:
    target = SqlDb.objects.create(name="x")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        page = client.get(reverse(f"{PLAIN}_db_elements_logs", args=[target.pk]))
    assert page.status_code == 200
    assert "No run log has been written for this database yet." in (
        page.content.decode()
    )


def test_seed_only_admin_keeps_one_badge_and_its_readonly_field(
    client: Client,
) -> None:
    target = SeedOnlySqlDb.objects.create(name="seed", db_elements_status="RUNNING")
    page = client.get(reverse(f"{SEED}_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('class="thoth-db-elements-status status-running"') == 1
    assert text.count("column-db_elements_status_badge") == 1
    change = client.get(reverse(f"{SEED}_change", args=[target.pk]))
    assert change.status_code == 200
    change_text = change.content.decode()
    assert FIELDSET_TITLE in change_text
    assert 'name="db_elements_status"' not in change_text
    assert 'name="db_elements_task_id"' not in change_text


def test_cancel_on_a_model_without_the_cancel_field(client: Client) -> None:
    # Not offered; where a host lists it anyway, it says why nothing happens
    # (not "none is running" beside a RUNNING row).
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    target = SeedOnlySqlDb.objects.create(
        name="seed",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=timezone.now(),
    )
    page = client.get(reverse(f"{SEED}_changelist")).content.decode()
    assert 'value="create_db_elements_async"' in page
    assert 'value="cancel_db_elements"' not in page
    request = RequestFactory().post("/")
    request.user = User.objects.create_superuser("canceller", password="pw")
    request.session = {}  # type: ignore[attr-defined]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    SeedOnlyAdmin(SeedOnlySqlDb, site).cancel_db_elements(
        request, SeedOnlySqlDb.objects.all()
    )
    assert [str(m) for m in get_messages(request)] == [
        "Runs of seed only sql dbs cannot be cancelled: the model has no "
        "db_elements_cancel_requested field (DbElementsTaskMixin). Force reset "
        "a run instead."
    ]
    target.refresh_from_db()
    assert target.db_elements_status == TaskStatus.RUNNING


def test_log_viewer_shows_the_end_of_a_large_file(
    client: Client, tmp_path: Path
) -> None:
    target = SqlDb.objects.create(name="x")
    # Not the SQLDB_MODEL: its logs have a directory of their own.
    logs = tmp_path / "db_elements" / "testapp.sqldb"
    logs.mkdir(parents=True)
    big = logs / f"db_elements_no_workspace_db_{target.pk}_20260101_101010.log"
    with big.open("w") as handle:
        handle.write("first line, long gone\n")
        handle.write("x" * 2_500_000 + "\n")
        handle.write("the very last line\n")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        page = client.get(reverse(f"{PLAIN}_db_elements_logs", args=[target.pk]))
    text = page.content.decode()
    assert "the very last line" in text
    assert "first line, long gone" not in text
    assert "Only the end of a large file is shown." in text


def test_log_files_of_runs_in_the_same_second_are_listed_newest_first(
    tmp_path: Path,
) -> None:
    target = SqlDb.objects.create(name="x")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        from thoth_db_elements.logging import run_log_dir

        directory = run_log_dir(SqlDb._meta.label_lower)
        directory.mkdir(parents=True)
        names = [
            f"db_elements_ws_1_db_{target.pk}_20261130_184351.log",
            f"db_elements_ws_1_db_{target.pk}_20261130_184352.log",
            f"db_elements_ws_1_db_{target.pk}_20261130_184352_2.log",
            f"db_elements_ws_1_db_{target.pk}_20261130_184352_10.log",
            f"db_elements_ws_1_db_{target.pk}1_20261130_184353.log",  # another db
        ]
        for name in names:
            (directory / name).write_text("x")
        found = [p.name for p in DbElementsAdminMixin._log_files(target)]
    assert found == [names[3], names[2], names[1], names[0]]


def test_log_viewer_shows_no_log_of_another_model_or_a_link(
    client: Client, tmp_path: Path
) -> None:
    """Row 7 of the SQLDB_MODEL and row 7 of another model with the mixin
    have logs of their own; a link in the directory is not followed."""
    from catalog.models import SqlDb as ThothSqlDb
    from thoth_db_elements.logging import open_run_log, run_log_dir

    ours = SqlDb.objects.create(name="ours")
    theirs = ThothSqlDb.objects.create(pk=ours.pk, name="theirs")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(tmp_path)):
        with open_run_log(theirs.pk, 1, model_label="catalog.sqldb") as run_log:
            run_log.logger.info("the other model's run")
        assert run_log.path.parent == run_log_dir()
        with open_run_log(ours.pk, 1, model_label="testapp.sqldb") as mine:
            mine.logger.info("this model's run")
        assert mine.path.parent == tmp_path / "db_elements" / "testapp.sqldb"
        link = mine.path.parent / f"db_elements_ws_1_db_{ours.pk}_20990101_000000.log"
        link.symlink_to("/etc/hostname")
        page = client.get(reverse(f"{PLAIN}_db_elements_logs", args=[ours.pk]))
        listed = [p.name for p in DbElementsAdminMixin._log_files(ours)]
    text = page.content.decode()
    assert "this model&#x27;s run" in text or "this model's run" in text
    assert "the other model" not in text
    assert listed == [mine.path.name]


def test_actions_leave_the_rows_the_host_refuses_to_change(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Each action asks ``has_change_permission(request, obj)`` as the
    change form does."""
    from django.contrib.messages import get_messages

    free = SqlDb.objects.create(name="free", db_elements_status=TaskStatus.RUNNING)
    locked = SqlDb.objects.create(name="ro-db", db_elements_status=TaskStatus.RUNNING)
    changelist = reverse("guarded:testapp_sqldb_changelist")
    for action, extra in (
        ("cancel_db_elements", {}),
        ("force_reset_db_elements", {"post": "yes", "reason": "two\nlines"}),
    ):
        response = client.post(
            changelist,
            {"action": action, "_selected_action": [free.pk, locked.pk], **extra},
            follow=True,
        )
        shown = [str(m) for m in get_messages(response.wsgi_request)]
        assert (
            "You may not change 1 of the selected database(s), left as they are: ro-db"
        ) in shown, shown
    free.refresh_from_db()
    locked.refresh_from_db()
    assert (free.db_elements_status, locked.db_elements_status) == (
        TaskStatus.IDLE,
        TaskStatus.RUNNING,
    )
    assert locked.db_elements_cancel_requested is False
    # The reason went to the log on one line.
    assert f"SqlDb {free.pk}: two lines (by edges)" in caplog.text
    assert f"SqlDb {locked.pk}:" not in caplog.text


def test_every_row_refused_says_so_and_nothing_else(client: Client) -> None:
    """No "Skipped: 0", "none is running" or "Reset 0" after the refusal:
    the rows were not looked at."""
    from django.contrib.messages import get_messages

    locked = SqlDb.objects.create(name="ro-db", db_elements_status=TaskStatus.RUNNING)
    changelist = reverse("guarded:testapp_sqldb_changelist")
    refusal = (
        "You may not change 1 of the selected database(s), left as they are: ro-db"
    )
    for action, extra in (
        ("create_db_elements_async", {}),
        ("cancel_db_elements", {}),
        ("force_reset_db_elements", {"post": "yes", "reason": "why"}),
    ):
        response = client.post(
            changelist,
            {"action": action, "_selected_action": [locked.pk], **extra},
            follow=True,
        )
        shown = [str(m) for m in get_messages(response.wsgi_request)]
        assert shown == [refusal], (action, shown)
    locked.refresh_from_db()
    assert locked.db_elements_status == TaskStatus.RUNNING


def test_a_row_deleted_after_selection_is_skipped_not_a_server_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted between the change list's query and the can-start check:
    the others start, and the deleted one is named."""
    from django.contrib.messages import get_messages

    from thoth_db_elements import admin as admin_module

    kept = SqlDb.objects.create(name="kept", db_type="SQLite", db_name=":memory:")
    gone = SqlDb.objects.create(name="gone", db_type="SQLite", db_name=":memory:")
    check = admin_module.check_sqldb_db_elements_can_start

    def deleted_first(sql_db: Any) -> tuple[bool, str]:
        if sql_db.pk == gone.pk:
            SqlDb.objects.filter(pk=gone.pk).delete()  # another admin's delete
        return check(sql_db)

    monkeypatch.setattr(
        admin_module, "check_sqldb_db_elements_can_start", deleted_first
    )
    response = client.post(
        reverse(f"{PLAIN}_changelist"),
        {"action": "create_db_elements_async", "_selected_action": [kept.pk, gone.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(
        m.startswith("Started async database elements creation for 1 ") for m in shown
    ), shown
    assert "  - gone: Not found" in shown, shown
    kept.refresh_from_db()
    assert kept.db_elements_status != TaskStatus.IDLE


def test_a_reset_that_fails_is_not_counted_as_done(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.contrib.messages import get_messages
    from django.db import DatabaseError

    from thoth_db_elements import validation

    ok = SqlDb.objects.create(name="ok", db_elements_status=TaskStatus.RUNNING)
    bad = SqlDb.objects.create(name="bad", db_elements_status=TaskStatus.RUNNING)
    reset = validation._reset

    def refusing(sql_db: Any, using: str) -> Any:
        if sql_db.pk == bad.pk:
            raise DatabaseError("the database refused")
        return reset(sql_db, using)

    monkeypatch.setattr(validation, "_reset", refusing)
    response = client.post(
        reverse(f"{PLAIN}_changelist"),
        {
            "action": "force_reset_db_elements",
            "_selected_action": [ok.pk, bad.pk],
            "post": "yes",
            "reason": "stuck",
        },
        follow=True,
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Reset 1 database(s) to Idle." in shown, shown
    assert (
        "Could not reset 1 database(s), left as they are (the log says why): bad"
        in shown
    ), shown
    bad.refresh_from_db()
    assert bad.db_elements_status == TaskStatus.RUNNING


def test_a_host_without_actions_or_a_popup_gets_none_of_ours(client: Client) -> None:
    SqlDb.objects.create(name="x")
    page = client.get(reverse("noactions:testapp_sqldb_changelist"))
    assert "create_db_elements_async" not in page.content.decode()
    page = client.get(reverse(f"{PLAIN}_changelist"), {"_popup": "1"})
    assert "create_db_elements_async" not in page.content.decode()
    page = client.get(reverse(f"{PLAIN}_changelist"))
    assert "create_db_elements_async" in page.content.decode()
