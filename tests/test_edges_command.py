"""``manage.py create_db_elements``: every option and error path, via call_command."""

from __future__ import annotations

import io
import json
import os
import re
import select
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.test import override_settings
from django.utils import timezone

from catalog.models import SqlDb, SqlTable
from tests.testapp.models import SeedOnlySqlDb
from thoth_db_elements.management.commands.create_db_elements import ProgressBar
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.base import Job

pytestmark = pytest.mark.django_db(transaction=True)

RECORDING = "tests.test_edges_command.RecordingRunner"


class RecordingRunner:
    """Keeps the queued jobs (a broker that nobody serves)."""

    jobs: list[Job] = []

    def enqueue(self, job: Job) -> str:
        RecordingRunner.jobs.append(job)
        return f"backend-{len(RecordingRunner.jobs)}"

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False


@pytest.fixture(autouse=True)
def _no_jobs() -> None:
    RecordingRunner.jobs = []


def sqlite_db(path: Path, *tables: str) -> Path:
    with sqlite3.connect(path) as conn:
        for table in tables:
            conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    return path


def source(tmp_path: Path, name: str, *tables: str) -> SqlDb:
    path = sqlite_db(tmp_path / f"{name}.sqlite", *tables)
    return SqlDb.objects.create(name=name, db_type="SQLite", db_name=str(path))


def run(*args: str, stderr: Any = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_db_elements", *args, stdout=out, stderr=stderr or err)
    return out.getvalue(), err.getvalue()


def test_all_harvests_every_database_in_order(tmp_path: Path, log_dir: Path) -> None:
    first = source(tmp_path, "first", "a")
    second = source(tmp_path, "second", "b", "c")
    out, _ = run("--all", "--sync", "--json")
    reports = json.loads(out)
    assert [r["sqldb_id"] for r in reports] == [first.pk, second.pk]
    assert [r["status"] for r in reports] == ["COMPLETED", "COMPLETED"]
    assert [r["report"]["tables"]["created"] for r in reports] == [1, 2]
    assert SqlTable.objects.filter(sql_db=second).count() == 2


def test_json_lists_the_databases_that_could_not_start(
    tmp_path: Path, log_dir: Path
) -> None:
    first = source(tmp_path, "first", "a")
    busy = source(tmp_path, "busy", "b")
    now = timezone.now()
    SqlDb.objects.filter(pk=busy.pk).update(
        db_elements_status=TaskStatus.RUNNING,
        db_elements_start_time=now,
        db_elements_heartbeat=now,
    )
    out, err = run("--all", "--sync", "--json")
    reports = json.loads(out)
    assert [(r["name"], r["status"]) for r in reports] == [
        ("first", "COMPLETED"),
        ("busy", "SKIPPED"),
    ]
    assert reports[1] == {
        "sqldb_id": busy.pk,
        "name": "busy",
        "task_id": None,
        "status": "SKIPPED",
        "report": {},
        "reason": "A database elements creation task is currently running",
    }
    assert "Skipped busy: " in err
    assert reports[0]["sqldb_id"] == first.pk


def test_sync_summary_line_per_database(tmp_path: Path, log_dir: Path) -> None:
    shop = source(tmp_path, "shop", "customers", "orders")
    out, _ = run(str(shop.pk), "--sync", "--workspace", "9")
    [line] = out.splitlines()
    assert re.fullmatch(
        r"shop: COMPLETED \(task \w+-\d+\) tables 2\+ 0~ 0-, "
        r"columns 4\+ 0~ 0-, relationships 0\+ 0~ 0-",
        line,
    ), line
    assert any(p.name.startswith("db_elements_ws_9_db_") for p in log_dir.rglob("*"))


def test_queued_run_prints_its_task_id(tmp_path: Path) -> None:
    shop = source(tmp_path, "shop", "customers")
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        out, err = run("shop")
    shop.refresh_from_db()
    assert out.strip() == f"shop: RUNNING, queued (task {shop.db_elements_task_id})"
    assert err == ""
    [job] = RecordingRunner.jobs
    assert job.args == (shop.pk, shop.db_elements_task_id)
    assert job.kwargs["force"] is False


def test_a_queued_run_does_not_show_the_last_runs_report(
    tmp_path: Path, log_dir: Path
) -> None:
    shop = source(tmp_path, "shop", "customers")
    run("shop", "--sync")
    shop.refresh_from_db()
    assert shop.db_elements_report["tables"]["created"] == 1
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        out, _ = run("shop")
        shop.refresh_from_db()
        assert out.strip() == f"shop: RUNNING, queued (task {shop.db_elements_task_id})"
        SqlDb.objects.filter(pk=shop.pk).update(db_elements_status="IDLE")
        out, _ = run("shop", "--json")
    [queued] = json.loads(out)
    assert (queued["status"], queued["report"]) == ("RUNNING", {})


def test_force_is_passed_to_the_job(tmp_path: Path) -> None:
    source(tmp_path, "shop", "customers")
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        run("shop", "--force", "--workspace", "4")
    [job] = RecordingRunner.jobs
    assert (job.kwargs["force"], job.kwargs["workspace_id"]) == (True, "4")


def test_busy_database_is_skipped_with_its_reason(tmp_path: Path) -> None:
    busy = source(tmp_path, "busy", "t")
    SqlDb.objects.filter(pk=busy.pk).update(
        db_elements_status=TaskStatus.RUNNING, db_elements_start_time=timezone.now()
    )
    err = io.StringIO()
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        with pytest.raises(CommandError, match="could not start") as info:
            run("busy", stderr=err)
    assert info.value.returncode == 1
    assert err.getvalue().strip() == (
        "Skipped busy: A database elements creation task is currently running"
    )
    assert RecordingRunner.jobs == []


def test_one_skipped_one_started_succeeds(tmp_path: Path) -> None:
    busy = source(tmp_path, "busy", "t")
    source(tmp_path, "free", "t")
    SqlDb.objects.filter(pk=busy.pk).update(
        db_elements_status=TaskStatus.RUNNING, db_elements_start_time=timezone.now()
    )
    err = io.StringIO()
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        out, _ = run("busy", "free", stderr=err)
    assert "Skipped busy" in err.getvalue()
    assert out.startswith("free: RUNNING, queued (task ")


def test_select_by_id_and_name_without_duplicates(tmp_path: Path) -> None:
    shop = source(tmp_path, "shop", "t")
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        out, _ = run(str(shop.pk), "shop")
    assert len(out.splitlines()) == 1
    assert len(RecordingRunner.jobs) == 1


def test_names_and_all_together_are_a_command_error(tmp_path: Path) -> None:
    """Not --all with the names ignored: which did the user mean?"""
    source(tmp_path, "shop", "a")
    with pytest.raises(CommandError, match=r"not both: doesnotexist and --all\.$"):
        run("--all", "doesnotexist")
    assert not RecordingRunner.jobs
    assert SqlDb.objects.get(name="shop").db_elements_status == TaskStatus.IDLE


def test_a_name_made_of_digits_is_found_by_name(tmp_path: Path) -> None:
    numeric = source(tmp_path, "2024", "t")
    with override_settings(THOTH_DB_ELEMENTS_RUNNER=RECORDING):
        out, _ = run("2024")
    assert out.startswith("2024: RUNNING")
    assert RecordingRunner.jobs[0].args[0] == numeric.pk


@pytest.mark.parametrize("ref", ["\u00b2", "99999999999999999999", "-"])
def test_a_reference_that_is_no_key_nor_name_is_a_command_error(
    tmp_path: Path, ref: str
) -> None:
    # "\u00b2" passes str.isdigit() but is no integer; the long one is out
    # of the key's range.
    source(tmp_path, "shop", "t")
    with pytest.raises(CommandError, match="No database with id or name"):
        run(ref)


def test_a_workspace_with_any_characters_names_a_log_that_is_listed(
    tmp_path: Path, log_dir: Path
) -> None:
    from thoth_db_elements.logging import log_label, run_log_files

    shop = source(tmp_path, "shop", "t")
    run("shop", "--sync", "--workspace", "team_a/b")
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.COMPLETED
    [path] = run_log_files(shop.pk, log_label(SqlDb))
    assert path.name == shop.db_elements_log_file
    assert path.name.startswith("db_elements_ws_team%5Fa%2Fb_db_")


def test_unconfigured_sqldb_model_is_a_command_error() -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL=None):
        with pytest.raises(
            CommandError, match="THOTH_DB_ELEMENTS_SQLDB_MODEL is not set"
        ):
            run("--all")
    with override_settings(THOTH_DB_ELEMENTS_SQLDB_MODEL="catalog.Nope"):
        with pytest.raises(CommandError, match="is not an installed model"):
            run("--all")


def _drain(fd: int) -> bytes:
    data = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_sync_on_a_terminal_draws_and_closes_the_bar(
    tmp_path: Path, log_dir: Path
) -> None:
    shop = source(tmp_path, "shop", "customers")
    master, slave = os.openpty()
    terminal = os.fdopen(slave, "w")
    try:
        out, _ = run("shop", "--sync", stderr=terminal)
        terminal.flush()
        written = _drain(master)
    finally:
        terminal.close()
        os.close(master)
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.COMPLETED
    assert out.startswith("shop: COMPLETED")
    # The bar ends its line so the next output starts on a fresh one.
    assert written.endswith(b"\n"), written


def test_progress_bar_draws_a_running_row() -> None:
    SqlDb.objects.create(
        name="shop",
        db_type="SQLite",
        db_name="x",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_progress_done=3,
        db_elements_progress_total=10,
    )
    SqlDb.objects.create(name="idle", db_type="SQLite", db_name="y")
    text = io.StringIO()
    bar = ProgressBar(
        SqlDb, list(SqlDb.objects.values_list("pk", flat=True)), OutputWrapper(text)
    )
    bar.start()
    deadline = time.monotonic() + 5
    while "tables" not in text.getvalue() and time.monotonic() < deadline:
        time.sleep(0.1)
    bar.stop()
    assert not bar.is_alive()
    assert f"\rshop: [{'#' * 9}{' ' * 21}] 3/10 tables" in text.getvalue()
    assert "idle" not in text.getvalue()


def test_progress_bar_waits_for_a_total() -> None:
    SqlDb.objects.create(
        name="queued",
        db_type="SQLite",
        db_name="x",
        db_elements_status=TaskStatus.RUNNING,
    )
    text = io.StringIO()
    bar = ProgressBar(
        SqlDb, list(SqlDb.objects.values_list("pk", flat=True)), OutputWrapper(text)
    )
    bar.start()
    time.sleep(1.2)
    bar.stop()
    assert text.getvalue() == "\n"


def test_progress_bar_is_silent_without_progress_fields() -> None:
    row = SeedOnlySqlDb.objects.create(name="seed", db_elements_status="RUNNING")
    text = io.StringIO()
    bar = ProgressBar(SeedOnlySqlDb, [row.pk], OutputWrapper(text))
    bar.start()
    bar.join(timeout=5)
    assert not bar.is_alive()
    bar.stop()
    assert text.getvalue() == "\n"


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_all_without_any_database_says_so_and_succeeds(extra: list[str]) -> None:
    out, err = run("--all", *extra)
    assert err.strip() == "No databases to harvest."
    assert out.strip() == ("[]" if extra else "")


class RefusingRunner(RecordingRunner):
    """A broker that is down."""

    def enqueue(self, job: Job) -> str:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6390.")


def test_a_refused_job_fails_the_command_without_the_last_runs_report(
    tmp_path: Path, log_dir: Path
) -> None:
    shop = source(tmp_path, "shop", "customers")
    run("shop", "--sync")
    err = io.StringIO()
    with (
        override_settings(
            THOTH_DB_ELEMENTS_RUNNER="tests.test_edges_command.RefusingRunner"
        ),
        pytest.raises(CommandError, match="could not start"),
    ):
        run("shop", "--json", stderr=err)
    assert "Not queued shop: Could not queue the task: Error 111" in err.getvalue()
    out = io.StringIO()
    with (
        override_settings(
            THOTH_DB_ELEMENTS_RUNNER="tests.test_edges_command.RefusingRunner"
        ),
        pytest.raises(CommandError),
    ):
        call_command("create_db_elements", "shop", "--json", stdout=out, stderr=err)
    [refused] = json.loads(out.getvalue())
    # No counts: only where the catalogue was harvested from, and which
    # relationships are the database's, still.
    assert (refused["status"], sorted(refused["report"])) == (
        "FAILED",
        ["catalogued_from", "relationships_harvested"],
    )
    assert refused["reason"].startswith("Could not queue the task: Error 111")
    out = io.StringIO()
    with (
        override_settings(
            THOTH_DB_ELEMENTS_RUNNER="tests.test_edges_command.RefusingRunner"
        ),
        pytest.raises(CommandError),
    ):
        call_command("create_db_elements", "shop", stdout=out, stderr=err)
    shop.refresh_from_db()
    assert out.getvalue() == f"shop: FAILED (task {shop.db_elements_task_id})\n"
    shop.refresh_from_db()
    assert shop.db_elements_status == TaskStatus.FAILED
    assert sorted(shop.db_elements_report) == [  # no counts
        "catalogued_from",
        "relationships_harvested",
    ]
    assert shop.db_elements_error.startswith("Could not queue the task: Error 111")


def test_sigterm_is_an_interrupt_once_and_put_back_after() -> None:
    import os
    import signal

    from thoth_db_elements.management.commands.create_db_elements import (
        Terminated,
        _terminate_as_interrupt,
    )

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with _terminate_as_interrupt(), pytest.raises(Terminated):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except Terminated:
            # A second one while the first one's clean-up runs: ignored
            # (and the first one, sent again meanwhile, too).
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
            raise
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


class LandsInAFinalizer:
    """Its finalizer is where SIGTERM lands: Python only prints what a
    finalizer raises."""

    def __del__(self) -> None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100_000):  # the handler runs between these
            pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_sigterm_lost_in_a_finalizer_is_sent_again() -> None:
    import signal

    from thoth_db_elements.management.commands.create_db_elements import (
        Terminated,
        _terminate_as_interrupt,
    )

    with pytest.raises(Terminated), _terminate_as_interrupt():
        LandsInAFinalizer()  # dropped at once: its finalizer runs here
        time.sleep(2)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_handler_of_the_hosts_is_left_as_it_is() -> None:
    import os
    import signal

    from thoth_db_elements.management.commands.create_db_elements import (
        _terminate_as_interrupt,
    )

    heard: list[int] = []

    def host(signum: int, frame: Any) -> None:
        heard.append(signum)

    previous = signal.signal(signal.SIGTERM, host)
    try:
        with _terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGTERM) is host
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert heard == [signal.SIGTERM]


@pytest.mark.parametrize("when", ["installed", "restoring"])
def test_a_sigterm_as_the_handler_is_set_or_put_back_leaves_the_default(
    when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM landing just after the handler is set, or as it is put back
    (``signal.signal`` runs a handler due first): raised once, and SIGTERM
    has its default action again after."""
    import os
    import signal

    from thoth_db_elements.management.commands import create_db_elements as module

    real = signal.signal
    sent: list[str] = []

    def signal_then_term(signum: int, handler: Any) -> Any:
        if when == "restoring" and handler is signal.SIG_DFL and not sent:
            sent.append(when)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        previous = real(signum, handler)
        if when == "installed" and callable(handler) and not sent:
            sent.append(when)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        return previous

    monkeypatch.setattr(module.signal, "signal", signal_then_term)
    with pytest.raises(module.Terminated), module._terminate_as_interrupt():
        time.sleep(0.05)
    monkeypatch.undo()
    assert sent == [when]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_ctrl_c_as_the_sigterm_handler_is_put_back_leaves_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import signal

    from thoth_db_elements.management.commands import create_db_elements as module

    real = signal.signal
    sent: list[bool] = []

    def interrupt_then_set(signum: int, handler: Any) -> Any:
        if handler is signal.SIG_DFL and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        return real(signum, handler)

    monkeypatch.setattr(module.signal, "signal", interrupt_then_set)
    with pytest.raises(KeyboardInterrupt), module._terminate_as_interrupt():
        pass
    monkeypatch.undo()
    assert sent
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def deleting_url(sql_db: SqlDb) -> str:
    """A URL hook that deletes the row it builds for when it is "victim":
    someone deleting it in the admin while its run goes on."""
    if sql_db.name == "victim":
        SqlDb.objects.filter(pk=sql_db.pk).delete()
    return f"sqlite:///{sql_db.db_name}"


def test_a_row_deleted_while_it_ran_is_reported_the_others_too(
    tmp_path: Path, log_dir: Path
) -> None:
    """The command reads each row back after the runs: one deleted
    meanwhile is DELETED, and the others' results are all printed."""

    path = sqlite_db(tmp_path / "victim.sqlite", "a")

    def harvest(*args: str) -> str:
        SqlDb.objects.create(name="victim", db_type="SQLite", db_name=str(path))
        out = io.StringIO()
        with pytest.raises(CommandError, match="At least one database failed"):
            call_command(
                "create_db_elements",
                "victim",
                "kept",
                "--sync",
                *args,
                stdout=out,
                stderr=io.StringIO(),
            )
        return out.getvalue()

    source(tmp_path, "kept", "b")
    with override_settings(
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_edges_command.deleting_url"
    ):
        reports = json.loads(harvest("--json"))
        lines = harvest().splitlines()
    assert [(r["name"], r["status"]) for r in reports] == [
        ("victim", "DELETED"),
        ("kept", "COMPLETED"),
    ]
    assert reports[0]["reason"] == "Deleted while it ran"
    assert reports[0]["report"] == {}
    assert re.fullmatch(r"victim: DELETED \(task \w+-\d+\)", lines[0]), lines
    assert re.match(r"kept: COMPLETED \(task \w+-\d+\) tables 0\+", lines[1]), lines
    assert not SqlDb.objects.filter(name="victim").exists()


def test_a_name_with_terminal_escapes_is_printed_escaped(
    tmp_path: Path, log_dir: Path
) -> None:
    """A database named with an escape sequence cannot colour, clear or
    retitle the terminal of whoever runs the command or reads the log."""
    shop = source(tmp_path, "shop", "t")
    SqlDb.objects.filter(pk=shop.pk).update(name="shop\x1b[2J\x9b31m\rok\n")
    out, _ = run("--all", "--sync")
    assert not {"\x1b", "\x9b", "\r"} & set(out)
    assert out.startswith("shop\\u001b[2J\\u009b31m\\u000dok\\u000a: COMPLETED")
    busy = source(tmp_path, "busy\x07", "t")
    SqlDb.objects.filter(pk=busy.pk).update(
        db_elements_status=TaskStatus.RUNNING, db_elements_start_time=timezone.now()
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        run(str(busy.pk), stderr=err)
    assert err.getvalue().startswith("Skipped busy\\u0007: ")
    [log] = log_dir.glob(f"**/*_db_{shop.pk}_*.log")
    text = log.read_text()
    assert not {"\x1b", "\x9b"} & set(text)
    assert "(shop\\u001b[2J\\u009b31m\n    ok\n     - " in text  # lines indented
