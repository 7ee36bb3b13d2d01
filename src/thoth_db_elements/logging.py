"""Log directories, the per-run file logger and credential redaction.

The seed writes one log file per run under ``logs/db_elements/``; the root
directory is the ``THOTH_DB_ELEMENTS_LOG_DIR`` setting (default ``logs``,
relative to the working directory as in the seed).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import string
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from django.apps import apps
from django.db import models

from ._secrets import WITHHELD, cuts_a_url, hide
from .conf import app_settings

__all__ = [
    "LOG_FORMAT",
    "RUN_LOG_SUBDIR",
    "RedactingFilter",
    "RunLog",
    "RunLogFormatter",
    "ensure_log_directories",
    "log_label",
    "open_run_log",
    "printable",
    "prune_run_logs",
    "remove_paths",
    "remove_run_logs",
    "run_log_dir",
    "run_log_files",
    "run_log_name",
    "run_logger_name",
    "run_logs_of",
    "scrub",
]

logger = logging.getLogger(__name__)

#: The seed's log line format.
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

#: Sub-directory of the log root that holds one file per run.
RUN_LOG_SUBDIR = "db_elements"


def run_log_dir(model_label: str | None = None) -> Path:
    """Directory of the per-run log files: ``LOG_DIR/db_elements`` for the
    ``SQLDB_MODEL`` (or no label), ``LOG_DIR/db_elements/<app_label.model>``
    for another model with the mixin, whose rows have keys of their own
    (row 7 of one must not see the logs of row 7 of the other)."""
    base = app_settings.LOG_DIR / RUN_LOG_SUBDIR
    if model_label is None or model_label.lower() in _default_labels():
        return base
    return base / model_label.lower()


def _default_labels() -> set[str]:
    """The labels whose logs go to ``LOG_DIR/db_elements``: the
    ``SQLDB_MODEL`` setting's, and its concrete model's when it names a
    proxy (``log_label``)."""
    configured = str(app_settings.SQLDB_MODEL or "").lower()
    labels = {configured}
    # Not installed, or not "app.Model": check E001 says so.
    with suppress(LookupError, ValueError):
        labels.add(log_label(apps.get_model(configured)))
    return labels


def ensure_log_directories(*, raise_errors: bool = True) -> list[Path]:
    """Create the log root and its ``db_elements`` directory if missing.

    Returns the directories. With ``raise_errors=False`` a failure (read-only
    file system, permissions) is logged instead of raised; check W001 reports
    it too.
    """
    directories = [app_settings.LOG_DIR, run_log_dir()]
    for directory in directories:
        try:
            # Not world-readable: run logs name hosts, schemas and users.
            directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            if raise_errors:
                raise
            logger.warning("Cannot create log directory %s: %s", directory, exc)
    return directories


_ASCII_LETTERS: Final = frozenset(string.ascii_letters)
_SPACE = re.compile(r"\s")


def _in_scheme(char: str) -> bool:
    """Whether ``char`` may be part of a URL's scheme (``[\\w+.-]``)."""
    return char.isalnum() or char in "_+.-"


def _without_url_passwords(text: str) -> str:
    """``text`` with the password of each URL in it (``scheme://user:password@``)
    replaced by ``***``.

    The scheme is a run of letters, digits, ``_+.-`` from its first ASCII
    letter; the user holds none of ``:/@`` or white space, the password no
    ``@`` or white space. Scanned in one pass, in time linear in the text:
    a regular expression for the same URLs tries every letter of a long
    word as a scheme's start, which took seconds for a 20,000-character
    table comment, and minutes for longer ones, in a log line."""
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    next_at = next_space = -1  # found at or after the last look, else -1
    end = len(text)
    marker = text.find("://")
    while marker >= 0:
        start = marker
        while start > done and _in_scheme(text[start - 1]):
            start -= 1
        scheme = next(
            (i for i in range(start, marker) if text[i] in _ASCII_LETTERS), None
        )
        user_end = marker + 3
        while (
            user_end < end
            and text[user_end] not in ":/@"
            and not (text[user_end].isspace())
        ):
            user_end += 1
        if scheme is not None and user_end < end and text[user_end] == ":":
            if next_at <= user_end:
                next_at = text.find("@", user_end + 1)
                if next_at < 0:
                    break  # no "@" left: no URL with a password either
            if next_space <= user_end:
                found = _SPACE.search(text, user_end + 1)
                next_space = end if found is None else found.start()
            if next_at < next_space:
                pieces += (text[done : user_end + 1], "***@")
                done = next_at + 1
                marker = text.find("://", done)
                continue
        marker = text.find("://", marker + 1)
    pieces.append(text[done:])
    return "".join(pieces)


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` without credentials: a URL's password becomes ``***`` (its
    place tells nothing), then a text still holding a given secret is
    withheld whole (``_secrets.hide``).

    A secret spelt with ``@`` or a blank ends a URL's password early (the
    password of ``pg://u:p@ss@h`` reads ``p``): a text holding it so is
    withheld whole first, or its end would show (``p%40ss`` is hidden as
    a URL's password, as any other)."""
    if any(cuts_a_url(text, secret) for secret in secrets):
        return WITHHELD
    return hide(_without_url_passwords(text), secrets)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message so no password reaches a handler."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(
                logging.Formatter().formatException(record.exc_info), self.secrets
            )
            record.exc_info = None
        return True


def run_log_name(
    sqldb_id: object, workspace_id: object | None, started: datetime
) -> str:
    """The seed's file name: ``db_elements_{ws_<id>|no_workspace}_db_{id}_{stamp}.log``
    (a second run of the database in the same second adds ``_2``, ...).

    Ids are written as text (``_name_part``), with the few characters that
    would make a path outside the directory (``/``, ``\\``, NUL) or a name
    the listing misreads (``_`` in a workspace, control characters)
    %-escaped, and ``%`` itself, and cut, with a digest of the whole id,
    where they would pass the file system's 255 bytes a name; every other
    id is written as before.
    """
    workspace = (
        f"ws_{_name_part(workspace_id, _WORKSPACE_UNSAFE)}"
        if workspace_id is not None
        else "no_workspace"
    )
    key = _name_part(sqldb_id, _KEY_UNSAFE)
    return f"db_elements_{workspace}_db_{key}_{started:%Y%m%d_%H%M%S}.log"


#: Characters %-escaped in a key, and in a workspace, in a run log's name
#: (with every control character).
_KEY_UNSAFE = frozenset("%/\\")
_WORKSPACE_UNSAFE = _KEY_UNSAFE | {"_"}

#: The most bytes an id takes in a name (two ids, the stamp, a number and
#: the fixed parts stay under 255).
_ID_BYTES = 100


def _name_part(value: object, unsafe: frozenset[str]) -> str:
    """``value`` as text, each control character and each character of
    ``unsafe`` written as ``%XX``; longer than ``_ID_BYTES`` bytes, its
    start, ``%~`` (which no written id holds: its ``%`` are escapes) and a
    digest of the whole."""
    written = "".join(
        f"%{ord(c):02X}" if c in unsafe or ord(c) < 32 or ord(c) == 127 else c
        for c in str(value)
    )
    encoded = written.encode()
    if len(encoded) <= _ID_BYTES:
        return written
    digest = hashlib.sha256(str(value).encode()).hexdigest()[:16]
    start = encoded[: _ID_BYTES - len(digest) - 2].decode(errors="ignore")
    return f"{start}%~{digest}"


def _names_another(key: str) -> bool:
    """Whether ``key``, written raw, is how this version writes another key
    (an escape of it, or a long one's cut form)."""
    other = unquote(key)
    cut = len(key.encode()) <= _ID_BYTES and _CUT.search(key) is not None
    return cut or (other != key and _name_part(other, _KEY_UNSAFE) == key)


#: How a cut id ends (``_name_part``).
_CUT = re.compile(r"%~[0-9a-f]{16}\Z")


#: A run log's name: its database's key, start stamp and same-second number.
_RUN_LOG_NAME = re.compile(
    r"^db_elements_(?:ws_[^_/]*|no_workspace)_db_(?P<key>.+?)"
    r"_(?P<stamp>\d{8}_\d{6})(?:_(?P<number>\d+))?\.log$",
    re.DOTALL,  # a name written raw before the escaping may hold a line break
)


def log_label(model: type[models.Model] | models.Model) -> str:
    """The label whose directory holds the run logs of ``model``'s rows
    (``run_log_dir``): its concrete model's, so that a proxy's rows, which
    are the same rows, share their logs."""
    concrete = model._meta.concrete_model or model
    return str(concrete._meta.label_lower)


def _run_logs(directory: Path, keys: set[str]) -> dict[str, list[Path]]:
    """The run logs in ``directory`` of the rows whose keys (as text) are
    in ``keys``, newest first: by when they were last written, then by the
    start stamp and number of their names. One listing for all the keys.

    A name is matched to a key by writing the key as this version does
    (``_name_part``) and, for the names of versions before, which wrote
    keys raw, as it is -- unless that raw form is how this version writes
    another key (``a%2Fb`` is ``a/b`` now): a name is never read as one
    row's that may be another's. Links are left out: the library writes
    none, and one could point anywhere.
    """
    by_name = {key: key for key in keys if not _names_another(key)}
    by_name.update((_name_part(key, _KEY_UNSAFE), key) for key in keys)
    found: dict[str, list[tuple[int, str, int, Path]]] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return {}
    for entry in entries:
        match = _RUN_LOG_NAME.match(entry.name)
        if match is None:
            continue
        key = by_name.get(match["key"])
        if key is None:
            continue
        if entry.is_symlink() or not entry.is_file():
            continue
        try:
            written = entry.stat().st_mtime_ns
        except FileNotFoundError:  # removed meanwhile
            continue
        number = int(match["number"] or 1)
        found.setdefault(key, []).append(
            (written, match["stamp"], number, Path(entry.path))
        )
    return {
        key: [path for *_, path in sorted(files, reverse=True)]
        for key, files in found.items()
    }


def run_log_files(sqldb_id: object, model_label: str | None = None) -> list[Path]:
    """The run logs of row ``sqldb_id`` (``model_label``: see
    ``run_log_dir`` and ``log_label``), newest first (``_run_logs``)."""
    key = str(sqldb_id)
    return _run_logs(run_log_dir(model_label), {key}).get(key, [])


def run_logs_of(
    sqldb_ids: Iterable[object], model_label: str | None = None
) -> dict[str, list[Path]]:
    """The run logs of each of the rows ``sqldb_ids`` (by key as text),
    newest first, with one listing of the directory."""
    return _run_logs(run_log_dir(model_label), {str(key) for key in sqldb_ids})


def remove_paths(paths: Iterable[Path]) -> list[Path]:
    """Remove ``paths``; those that cannot be are logged and left, those
    already gone (another worker pruning too) are no error."""
    removed: list[Path] = []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.warning("Cannot remove run log %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def prune_run_logs(
    sqldb_id: object,
    model_label: str | None = None,
    *,
    keep: int = 0,
    spare: Path | None = None,
) -> list[Path]:
    """Remove the run logs of row ``sqldb_id`` but the ``keep`` newest
    (``run_log_files``), and never ``spare`` (the log of the run that is
    ending); return those removed."""
    files = run_log_files(sqldb_id, model_label)
    if spare in files:
        files.remove(spare)
        keep -= 1  # the spared file is one of those kept
    return remove_paths(files[max(0, keep) :])


def remove_run_logs(
    sqldb_ids: Iterable[object], model_label: str | None = None
) -> list[Path]:
    """Remove every run log of the rows ``sqldb_ids`` (deleted rows), with
    one listing of the directory; return those removed."""
    found = run_logs_of(sqldb_ids, model_label)
    return remove_paths(path for paths in found.values() for path in paths)


def run_logger_name(sqldb_id: object, model_label: str | None = None) -> str:
    """The name of the logger of a run of row ``sqldb_id``:
    ``thoth_db_elements.runs.db_<key>`` for the ``SQLDB_MODEL``'s rows (or
    no label), ``thoth_db_elements.runs.model:<app_label>:<model>.db_<key>``
    for another model's (no key's name starts with ``model:``).

    One logger a row, however many runs: loggers live as long as the
    process. Two runs in one process (``ImmediateRunner``, a threaded
    server) write each to its own file only: row 7 of two models, and key
    ``7`` beside key ``7.b``, whose logger would otherwise be ``7``'s child
    (``%`` and ``.`` in a key are written ``%25`` and ``%2E``).
    """
    key = str(sqldb_id).replace("%", "%25").replace(".", "%2E")
    if model_label is None or model_label.lower() in _default_labels():
        return f"thoth_db_elements.runs.db_{key}"
    model = model_label.lower().replace(".", ":")
    return f"thoth_db_elements.runs.model:{model}.db_{key}"


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: Control characters but the tab and line breaks: C0, DEL and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: The same and line breaks.
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with its control characters (but tabs, and line breaks
    unless ``one_line``) written as ``\\u001b`` and the like: a name
    someone gave a database cannot send a terminal its escape sequences
    (colours, a cleared screen, a changed title), or a carriage return
    over a line's start, through a log or a command's output. The form is
    JSON's: a JSON line in the log reads back as it was."""
    pattern = _CONTROL_OR_BREAK if one_line else _CONTROL
    return pattern.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


class RunLogFormatter(logging.Formatter):
    """``LOG_FORMAT``, each record's lines after its first indented by four
    spaces: a line break in a message (a table's name can hold one, a
    database's error text often does) cannot pass for a record of its own.
    Other control characters are escaped (``printable``)."""

    def format(self, record: logging.LogRecord) -> str:
        # Line breaks only: U+2028 and its kind, which ``str.splitlines``
        # also breaks at, stay in a name or a JSON line as they are.
        text = printable(super().format(record))
        return "\n    ".join(_LINE_BREAK.split(text))


@dataclass
class RunLog:
    """A per-run logger writing to the console and to its own file."""

    logger: logging.Logger
    path: Path
    handlers: list[logging.Handler] = field(default_factory=list)

    def close(self) -> None:
        """Detach and close every handler (no file descriptor is leaked)."""
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        self.handlers.clear()


def _create_private(directory: Path, name: str) -> Path:
    """Create the run's file, owner-readable only, before logging opens it,
    under a name no other run has: ``name``, else with ``_2``, ``_3``...
    before ``.log`` (runs of one database started in the same second).

    The number goes past the highest one there, not into a gap that pruning
    left: the names must keep telling the runs' order (``run_log_files``).
    """
    stem = name.removesuffix(".log")
    taken = re.compile(rf"^{re.escape(stem)}(?:_(\d+))?\.log$")
    numbers = [
        int(match[1] or 1)
        for match in map(taken.match, os.listdir(directory))
        if match is not None
    ]
    for number in range(max(numbers, default=0) + 1, 1000):
        path = directory / (name if number == 1 else f"{stem}_{number}.log")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"Too many run logs named {name} in {directory}")


@contextmanager
def open_run_log(
    sqldb_id: object,
    workspace_id: object | None = None,
    *,
    started: datetime | None = None,
    secrets: tuple[str, ...] = (),
    model_label: str | None = None,
) -> Iterator[RunLog]:
    """A logger for one run, its file under ``LOG_DIR/db_elements`` (see
    ``run_log_dir`` for ``model_label``); closed on exit.

    Records also propagate to the ``thoth_db_elements`` logger, so the host's
    logging configuration sees them; when the host configured no handler, a
    console handler is added for the run, as the seed prints to the console.
    """
    started = started or datetime.now()
    directory = ensure_log_directories()[-1]
    if model_label is not None:
        directory = run_log_dir(model_label)
        directory.mkdir(mode=0o750, exist_ok=True)
    path = _create_private(directory, run_log_name(sqldb_id, workspace_id, started))
    run_logger = logging.getLogger(run_logger_name(sqldb_id, model_label))
    run_logger.setLevel(logging.INFO)
    formatter = RunLogFormatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    redactor = RedactingFilter(secrets)
    run_logger.addFilter(redactor)
    if not logging.getLogger("thoth_db_elements").hasHandlers():
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(formatter)
        run_logger.addHandler(handler)
    run_log = RunLog(logger=run_logger, path=path, handlers=handlers)
    try:
        yield run_log
    finally:
        run_log.close()
        run_logger.removeFilter(redactor)
