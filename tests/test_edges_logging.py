"""Run logs: tracebacks without secrets, plain messages untouched, console echo."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.logging import (
    RedactingFilter,
    open_run_log,
    prune_run_logs,
    run_log_files,
)

SECRET = "hunter2-secret"


def test_traceback_in_the_run_log_has_no_secret(log_dir: Path) -> None:
    with open_run_log(41, 3, secrets=(SECRET,)) as run_log:
        try:
            raise RuntimeError(
                f"login failed for postgresql://reader:{SECRET}@db.example/sales"
            )
        except RuntimeError:
            run_log.logger.exception("Harvest crashed")
    text = run_log.path.read_text()
    assert "ERROR - Harvest crashed" in text
    assert "Traceback (most recent call last)" in text
    assert (
        "RuntimeError: login failed for postgresql://reader:***@db.example/sales"
        in (text)
    )
    assert SECRET not in text


def test_message_without_secret_or_arguments_is_left_as_it_is() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain text", None, None)
    assert RedactingFilter((SECRET, "")).filter(record) is True
    assert record.msg == "plain text"
    assert record.args is None
    assert record.exc_info is None


def test_arguments_are_merged_and_scrubbed() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "user %s password %s", ("u", SECRET), None
    )
    RedactingFilter((SECRET,)).filter(record)
    assert (record.msg, record.args) == (WITHHELD, None)


@contextmanager
def unconfigured_library_logging() -> Iterator[None]:
    """A host that configured no handler for the library (nor above it).

    Entered inside the test: pytest attaches its capture handlers to every
    non-propagating logger when a test phase starts.
    """
    library = logging.getLogger("thoth_db_elements")
    saved = library.propagate, list(library.handlers)
    library.propagate = False
    for handler in saved[1]:
        library.removeHandler(handler)
    try:
        yield
    finally:
        library.propagate = saved[0]
        for handler in saved[1]:
            library.addHandler(handler)


def test_run_log_is_echoed_on_the_console_without_host_logging(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with unconfigured_library_logging(), open_run_log(42, None) as run_log:
        run_log.logger.info("Reading schema of sqlite:/tmp/x.sqlite")
        assert len(run_log.handlers) == 2
    err = capsys.readouterr().err
    assert "INFO - Reading schema of sqlite:/tmp/x.sqlite" in err
    assert "Reading schema of sqlite:/tmp/x.sqlite" in run_log.path.read_text()
    assert run_log.handlers == []
    assert logging.getLogger("thoth_db_elements.runs.db_42").handlers == []


def test_runs_started_in_the_same_second_get_a_file_each(log_dir: Path) -> None:
    started = datetime(2026, 11, 30, 18, 43, 52)
    paths = []
    for number in range(3):
        with open_run_log(22, 7, started=started) as run_log:
            run_log.logger.info("run %d", number)
            paths.append(run_log.path)
    assert [p.name for p in paths] == [
        "db_elements_ws_7_db_22_20261130_184352.log",
        "db_elements_ws_7_db_22_20261130_184352_2.log",
        "db_elements_ws_7_db_22_20261130_184352_3.log",
    ]
    assert [p.read_text().count(" - INFO - run ") for p in paths] == [1, 1, 1]
    assert [oct(p.stat().st_mode & 0o777) for p in paths] == ["0o640"] * 3


def test_a_run_after_pruning_takes_a_number_past_the_highest(log_dir: Path) -> None:
    """Not the first free name: with the oldest pruned, that would make the
    newest run look like the oldest, and the next pruning remove it."""
    started = datetime(2026, 11, 30, 18, 43, 52)
    for _ in range(2):
        with open_run_log(22, 7, started=started):
            pass
    assert prune_run_logs(22, keep=1)[0].name.endswith("184352.log")
    with open_run_log(22, 7, started=started) as run_log:
        pass
    assert run_log.path.name.endswith("184352_3.log")
    assert run_log_files(22) == [
        run_log.path,
        run_log.path.with_name("db_elements_ws_7_db_22_20261130_184352_2.log"),
    ]
    assert [p.name for p in prune_run_logs(22, keep=1)] == [
        "db_elements_ws_7_db_22_20261130_184352_2.log"
    ]
    assert run_log_files(22) == [run_log.path]
