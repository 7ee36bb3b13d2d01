"""Run logs: tracebacks without secrets, plain messages untouched, console echo."""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.logging import (
    RedactingFilter,
    open_run_log,
    prune_run_logs,
    run_log_files,
    scrub,
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


# -- passwords in URLs, in time linear in the text ------------------------------
#: The URLs whose password ``scrub`` hides, as a regular expression: the
#: rule the one-pass scanner keeps to.
URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@"
)


def by_the_rule(text: str) -> str:
    return URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", text)


@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                "Z",
                "1",
                "_",
                "+",
                ".",
                "-",
                ":",
                "/",
                "@",
                " ",
                "\n",
                "é",
                "٣",
                "://",
                "u:p@",
                "x://u:p@h",
                "\u2028",
            ]
        ),
        max_size=30,
    ).map("".join)
)
@settings(max_examples=3000, deadline=None)
def test_url_passwords_are_hidden_by_the_rule(text: str) -> None:
    assert scrub(text) == by_the_rule(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
        ("a mysql://r:x@y and 9pg://s:t@u", "a mysql://r:***@y and 9pg://s:***@u"),
        ("x://u:p://q@h", "x://u:***@h"),
        ("x://u:p q@h", "x://u:p q@h"),
        ("__://u:p@h", "__://u:p@h"),
    ],
)
def test_url_passwords_are_hidden(text: str, expected: str) -> None:
    assert scrub(text) == expected == by_the_rule(text)


# A regular expression for the rule tries every letter of a long word as a
# scheme's start: 80,000 letters took it 19 s, a megabyte most of an hour
# (a table's comment in a log line). The scan takes milliseconds; the
# alarm only stops a test that would otherwise hang.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c" * 1_000_000, "c" * 1_000_000),
        ("a://b:" * 200_000, "a://b:" * 200_000),
        ("a://b:" * 200_000 + "@", "a://b:***@"),
        ("x" * 1_000_000 + "://u:p@h", "x" * 1_000_000 + "://u:***@h"),
        ("a://" + "b" * 1_000_000, "a://" + "b" * 1_000_000),
    ],
    ids=["word", "no-at", "one-at", "long-scheme", "long-user"],
)
def test_url_passwords_of_a_long_text(text: str, expected: str) -> None:
    previous = signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(30)
    try:
        result = scrub(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result == expected


def _too_slow(signum: int, frame: object) -> None:
    raise AssertionError("scrub took more than 30 s")


# -- one logger a row ---------------------------------------------------------
def test_runs_of_rows_sharing_a_key_write_each_to_its_own_file(log_dir: Path) -> None:
    """Two runs in one process (``ImmediateRunner``, a threaded server): row
    7 of the configured model and of another, and key ``7`` beside ``7.b``
    (whose logger was ``7``'s child)."""
    with (
        open_run_log(7) as first,
        open_run_log(7, model_label="testapp.otherdb") as other,
        open_run_log("7.b") as dotted,
        open_run_log("7%2Eb") as escaped,
    ):
        for run_log, text in (
            (first, "first"),
            (other, "other"),
            (dotted, "dotted"),
            (escaped, "escaped"),
        ):
            run_log.logger.info("line of %s", text)
    names = {first.logger.name, other.logger.name, dotted.logger.name}
    assert names == {
        "thoth_db_elements.runs.db_7",
        "thoth_db_elements.runs.model:testapp:otherdb.db_7",
        "thoth_db_elements.runs.db_7%2Eb",
    }
    assert escaped.logger.name == "thoth_db_elements.runs.db_7%252Eb"
    for run_log, text in (
        (first, "first"),
        (other, "other"),
        (dotted, "dotted"),
        (escaped, "escaped"),
    ):
        lines = run_log.path.read_text().splitlines()
        assert [line.split(" - ")[-1] for line in lines] == [f"line of {text}"]


def test_a_line_break_in_a_message_cannot_pass_for_a_record(log_dir: Path) -> None:
    forged = "2026-01-01 00:00:00,000 - thoth_db_elements.runs.db_1 - INFO - Done"
    with open_run_log(8) as run_log:
        run_log.logger.error("Table %s could not be read", f"v\n{forged}\r\nx")
        run_log.logger.info("next")
    lines = run_log.path.read_text().splitlines()
    assert len(lines) == 4
    assert lines[0].endswith(" - ERROR - Table v")
    assert lines[1:3] == [f"    {forged}", "    x could not be read"]
    assert lines[3].endswith(" - INFO - next")


def test_control_characters_are_escaped_and_json_lines_stay_json(
    log_dir: Path,
) -> None:
    """An escape sequence in a name reaches neither the file nor the
    console raw; escaped JSON's way, a JSON line reads back as it was."""
    import json

    # json.dumps escapes C0 itself, not DEL or C1.
    entry = json.dumps({"table": "t\x7f\x9b31m"}, ensure_ascii=False)
    with open_run_log(10) as run_log:
        run_log.logger.warning("Table %s could not be read", "t\x1b[31m\x00\x7f\tz")
        run_log.logger.warning("Deleted with its annotations: %s", entry)
    text = run_log.path.read_text(encoding="utf-8")
    assert not set(text) & {"\x1b", "\x00", "\x7f", "\x9b"}
    first, second = text.split("\n")[:-1]
    assert first.endswith(" - Table t\\u001b[31m\\u0000\\u007f\tz could not be read")
    assert json.loads(second.split("Deleted with its annotations: ")[1]) == {
        "table": "t\x7f\x9b31m"
    }


def test_a_model_whose_label_starts_like_a_key_does_not_share_its_logger(
    log_dir: Path,
) -> None:
    """Key ``app:thing`` of the configured model and row 7 of model
    ``db_app.thing``: the second's logger was the first's child."""
    with (
        open_run_log("app:thing") as keyed,
        open_run_log(7, model_label="db_app.thing") as other,
    ):
        other.logger.info("line of other")
    assert "line of other" not in keyed.path.read_text()
    assert "line of other" in other.path.read_text()


def test_a_line_separator_in_a_name_stays_in_its_line(log_dir: Path) -> None:
    """U+2028 and its kind are no line breaks: a JSON line holding one (a
    deleted annotation's) stays whole and valid."""
    import json

    entry = json.dumps({"table": "a\u2028b\u2029c\x85d"}, ensure_ascii=False)
    with open_run_log(9) as run_log:
        run_log.logger.warning("Deleted with its annotations: %s", entry)
    (line,) = run_log.path.read_text(encoding="utf-8").split("\n")[:-1]
    assert json.loads(line.split("Deleted with its annotations: ")[1]) == {
        "table": "a\u2028b\u2029c\x85d"
    }


@pytest.mark.parametrize("secret", ["p@ss", "p ss", "a@b c"])
def test_a_password_that_cuts_a_url_short_is_withheld_whole(secret: str) -> None:
    """The password of ``postgresql://u:p@ss@h`` reads ``p`` as a URL's:
    hiding it would leave ``ss`` to be read."""
    text = f"cannot connect to postgresql://u:{secret}@db.example/sales"
    assert scrub(text, (secret,)) == WITHHELD


@pytest.mark.parametrize(
    ("secret", "spelt"), [("p@ss", "p%40ss"), ("my pass", "my%20pass")]
)
def test_a_password_spelt_for_a_url_is_hidden_as_a_urls(
    secret: str, spelt: str
) -> None:
    text = f"cannot connect to postgresql+psycopg://u:{spelt}@db.example/sales"
    assert scrub(text, (secret,)) == (
        "cannot connect to postgresql+psycopg://u:***@db.example/sales"
    )
