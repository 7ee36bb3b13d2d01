"""The sync's hold on the catalogue: one transaction, one sync of a
``SqlDb`` at a time, and waits for locks bounded by
``CATALOGUE_LOCK_TIMEOUT`` (then ``CatalogueLockedError``, nothing
changed)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, models, transaction
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL

from ._fields import writes_to
from .conf import app_settings
from .connection import _first_line
from .exceptions import CatalogueChangedError, CatalogueLockedError

__all__ = ["catalogue_transaction", "sync_lock_name"]

logger = logging.getLogger(__name__)


@contextmanager
def catalogue_transaction(
    sql_db: models.Model, written: Callable[[], None] | None = None
) -> Iterator[Callable[[], None]]:
    """A transaction on ``sql_db``'s database that holds the sync lock of
    ``sql_db`` (``_Session.take_lock``) and waits at most
    ``CATALOGUE_LOCK_TIMEOUT`` for rows others locked.

    A lock not had in time raises ``CatalogueLockedError``, the
    transaction rolled back. Inside a caller's transaction it is a savepoint,
    and the caller's session settings are theirs again afterwards.
    ``written`` is called as soon as the transaction has committed (or the
    savepoint is released), before the session is put back: a stop that
    lands there comes after it. It yields what the sync calls just before
    it writes (``_Session.mark_writing``).
    """
    session = _Session(sql_db)
    connection = connections[session.using]
    nested = connection.in_atomic_block
    #: PostgreSQL, a transaction of the sync's own that wrote: its id.
    xid: int | None = None
    try:
        try:
            with transaction.atomic(using=session.using):
                session.set_lock_timeout(nested)
                session.take_lock()
                yield session.mark_writing
                if not nested and connection.vendor == "postgresql":
                    xid = _transaction_id(session.using)
        except BaseException as exc:
            # Raised as the transaction committed (a worker's stop landing
            # then, a connection lost): the COMMIT may have gone through.
            if (
                xid is not None
                and written is not None
                and _committed_after_all(session.using, xid)
            ):
                written()
            stop = _stop_behind(exc)
            if stop is not None:
                # Django's clean-up failed on the connection the stop cut
                # off; the stop is what happened, and the worker must see it.
                raise stop from None
            raise
        try:
            if written is not None:
                written()
        finally:
            session.restore_pg_lock_timeout()
    except DatabaseError as exc:
        if _is_deadlock(exc):
            # MySQL ends the whole transaction on a deadlock, a caller's too.
            lost = (
                " The database rolled back the enclosing transaction too."
                if nested and connection.vendor == "mysql"
                else ""
            )
            raise CatalogueLockedError(
                "Another transaction locked catalogue rows this run needed in "
                "the opposite order (a deadlock, which the database ended by "
                "rolling this run back); nothing was changed. Run again."
                f"{lost}"
            ) from None
        if _is_lock_timeout(exc):
            waited = (
                "as long as the database connection's timeout option"
                if connection.vendor == "sqlite"
                else f"{app_settings.CATALOGUE_LOCK_TIMEOUT} s"
            )
            raise CatalogueLockedError(
                f"The catalogue is locked by another transaction (waited "
                f"{waited}); nothing was changed. Run again when it is free."
            ) from None
        if _is_foreign_key_violation(exc):
            if _row_gone(sql_db, session.using):
                raise CatalogueChangedError(
                    f"The {type(sql_db).__name__} row {sql_db.pk} is not in the "
                    "database (deleted before or while this run wrote its "
                    "catalogue); nothing was changed."
                ) from None
            raise CatalogueChangedError(
                "Another transaction deleted catalogue rows this run referred "
                "to (an admin's delete, say), or added rows referring to ones "
                f"it deleted, while it ran ({_first_line(exc)}); nothing was "
                "changed. Run again."
            ) from None
        raise
    finally:
        session.end()


def _transaction_id(using: str) -> int | None:
    """PostgreSQL: the id of the transaction going on, None while it has
    written nothing (then whether it commits changes nothing)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT txid_current_if_assigned()")
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _committed_after_all(using: str, xid: int) -> bool:
    """PostgreSQL: whether transaction ``xid`` committed, asked after an
    error or a stop raised as it committed. The connection that was cut off
    is closed (its state is unknown); a new one asks the server, waiting
    (at most a few seconds) while the old session finishes. False when it
    cannot tell."""
    connection = connections[using]
    try:
        connection.close()
        deadline = time.monotonic() + _COMMIT_CHECK_SECONDS
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT txid_status(%s)", [xid])
                (status,) = cursor.fetchone()
            if status != "in progress" or time.monotonic() > deadline:
                return bool(status == "committed")
            time.sleep(0.05)
    except Exception:
        logger.warning(
            "Could not ask whether the catalogue's transaction committed",
            exc_info=True,
        )
        return False


def _row_gone(sql_db: models.Model, using: str) -> bool:
    """Whether ``sql_db``'s row is missing (False when that cannot be
    asked: the connection is broken, or a caller's transaction is)."""
    try:
        rows = type(sql_db)._default_manager.using(using).filter(pk=sql_db.pk)
        return not rows.exists()
    except DatabaseError:
        return False


def _stop_behind(exc: BaseException) -> BaseException | None:
    """The stop (a ``BaseException`` that is no ``Exception``: a worker's
    time-out, an interrupt) that ``exc``, an error, was raised while
    handling; None when there is none."""
    if not isinstance(exc, Exception):
        return None
    seen: set[int] = set()
    cause = exc.__context__
    while cause is not None and id(cause) not in seen:
        if not isinstance(cause, Exception):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


#: How long ``_committed_after_all`` waits for an unfinished transaction.
_COMMIT_CHECK_SECONDS = 5.0


class _Session:
    """What a sync changes in its database session, to put back after."""

    def __init__(self, sql_db: models.Model) -> None:
        self.sql_db = sql_db
        self.using = writes_to(sql_db)
        #: MySQL: the session's lock time-out before the sync changed it.
        self._mysql_lock_timeout: Any = None
        #: PostgreSQL inside a caller's transaction: its lock time-out
        #: before the sync changed it (``SET LOCAL`` would outlive the sync).
        self._pg_lock_timeout: str | None = None
        #: MySQL: the name of the session lock this sync holds, if any.
        self._mysql_lock: str | None = None
        #: MySQL: the lock it holds once it writes (``mark_writing``).
        self._mysql_writing: str | None = None

    def restore_pg_lock_timeout(self) -> None:
        """PostgreSQL, nested: the caller's transaction goes on, with its
        own lock time-out again."""
        if self._pg_lock_timeout is not None:
            with connections[self.using].cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    [self._pg_lock_timeout],
                )

    def set_lock_timeout(self, nested: bool) -> None:
        """Wait at most CATALOGUE_LOCK_TIMEOUT for locks held by others.

        On PostgreSQL the setting is local to the transaction; when the
        sync runs inside a caller's (``nested``), the caller's value is
        read in the same statement and put back when the sync ends (a
        rolled-back sync takes the setting back with it).
        """
        connection = connections[self.using]
        seconds = float(app_settings.CATALOGUE_LOCK_TIMEOUT)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # At least 1 ms: PostgreSQL's 0 means waiting for ever.
                milliseconds = f"{max(1, round(seconds * 1000))}ms"
                if nested:
                    cursor.execute(
                        "SELECT current_setting('lock_timeout'), "
                        "set_config('lock_timeout', %s, true)",
                        [milliseconds],
                    )
                    self._pg_lock_timeout = cursor.fetchone()[0]
                else:
                    cursor.execute(f"SET LOCAL lock_timeout = '{milliseconds}'")
            elif connection.vendor == "mysql":
                # Session-wide on MySQL: put back when the sync ends.
                cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout")
                self._mysql_lock_timeout = cursor.fetchone()[0]
                cursor.execute(
                    f"SET SESSION innodb_lock_wait_timeout = {max(1, int(seconds))}"
                )

    def end(self) -> None:
        """MySQL: the session's own lock time-out again (Django's connection
        goes on serving the process), and the sync's lock let go."""
        previous, lock = self._mysql_lock_timeout, self._mysql_lock
        writing = self._mysql_writing
        self._mysql_lock_timeout = self._mysql_lock = self._mysql_writing = None
        if previous is None and lock is None and writing is None:
            return  # nothing to put back (PostgreSQL, SQLite)
        statements = [
            *(("DO RELEASE_LOCK(%s)", [name]) for name in (writing, lock) if name),
        ]
        if previous is not None:
            statements.append(
                (f"SET SESSION innodb_lock_wait_timeout = {int(previous)}", [])
            )
        connection = connections[self.using]
        try:
            with connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
            return
        except transaction.TransactionManagementError:
            # A caller's transaction MySQL rolled back whole (a deadlock):
            # Django takes no statement until its block ends, but the locks
            # are the session's, and would outlive it.
            pass
        except DatabaseError:  # the connection is gone, and the session with it
            logger.warning("Could not restore the MySQL session", exc_info=True)
            return
        try:
            raw = connection.connection.cursor()  # the driver's own, under Django
            try:
                for sql, params in statements:
                    raw.execute(sql, params)
            finally:
                raw.close()
        except Exception:  # the session goes with the connection, at worst
            logger.warning("Could not restore the MySQL session", exc_info=True)

    def take_lock(self) -> None:
        """One sync of this ``SqlDb`` at a time, the other waiting.

        The task layer claims a database before harvesting it, but two
        direct calls of ``create_db_elements`` could otherwise both load an
        empty catalogue and both write it (ThothAI's models, which have no
        unique constraints, would then hold every row twice). The second
        waits here, at most ``CATALOGUE_LOCK_TIMEOUT``, and then finds the
        first one's rows.

        * PostgreSQL: an advisory lock of the transaction (it blocks no
          other statement, and goes with the caller's transaction when the
          sync runs inside one).
        * MySQL/MariaDB: a named lock of the session, let go when the sync
          ends (inside a caller's transaction, before that one commits).
        * SQLite: the database's write lock, taken before reading.
        """
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [sync_lock_name(self.sql_db)],
                )
            self._share_key()
            return
        if connection.vendor == "mysql":
            seconds = float(app_settings.CATALOGUE_LOCK_TIMEOUT)
            name = sync_lock_name(self.sql_db)
            with connection.cursor() as cursor:
                cursor.execute("SELECT GET_LOCK(%s, %s)", [name, seconds])
                (taken,) = cursor.fetchone()
            if taken != 1:
                raise CatalogueLockedError(
                    "Another run is writing this database's catalogue (waited "
                    f"{app_settings.CATALOGUE_LOCK_TIMEOUT} s); nothing was "
                    "changed. Run again when it has finished."
                )
            self._mysql_lock = name
            return
        if connection.vendor == "sqlite":
            self._take_sqlite_write_lock()

    def mark_writing(self) -> None:
        """MySQL/MariaDB, a sync of a run (``writing_for``): from here until
        the sync ends, hold the lock that says this run writes
        (``is_writing``): its inserts are about to hold the ``SqlDb`` row
        until it commits, and a cancel can no longer stop it. Taken at
        once: only the sync holding the catalogue's lock gets here. A
        direct sync, which no cancel stops, takes none."""
        run = _writing_run.get()
        if self._mysql_lock is None or self._mysql_writing is not None or not run:
            return
        name = writing_lock_name(self.sql_db, run)
        with connections[self.using].cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", [name])
            (taken,) = cursor.fetchone()
        if taken == 1:
            self._mysql_writing = name

    def _share_key(self) -> None:
        """PostgreSQL: hold the ``SqlDb`` row's key from the start, as the
        rows the sync creates will at commit (their foreign keys are checked
        then, taking ``FOR KEY SHARE`` on it). An admin save changing the
        row's key (a unique name, say) waits for the sync here, before it
        writes anything the sync would wait for: no deadlock."""
        model = type(self.sql_db)
        opts = model._meta
        connection = connections[self.using]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {quote(opts.db_table)} "
                f"WHERE {quote(str(opts.pk.column))} = %s FOR KEY SHARE",
                [opts.pk.get_db_prep_value(self.sql_db.pk, connection)],
            )

    def _take_sqlite_write_lock(self) -> None:
        """On SQLite in deferred mode, take the write lock before reading.

        A deferred SQLite transaction that reads first and writes later fails
        at once with "database is locked" when another connection (the
        heartbeat, a worker) wrote in between. A first statement that writes
        waits for the lock instead. With ``transaction_mode="IMMEDIATE"``
        (recommended) the lock is already held and nothing is sent.
        """
        connection = connections[self.using]
        if str(
            connection.settings_dict.get("OPTIONS", {}).get("transaction_mode", "")
        ).upper() in (
            "IMMEDIATE",
            "EXCLUSIVE",
        ):
            return
        model = type(self.sql_db)
        # Matches no row, but an UPDATE takes the write lock all the same.
        model._default_manager.using(self.using).filter(
            pk=self.sql_db.pk, db_elements_status__isnull=True
        ).update(db_elements_status=F("db_elements_status"))


def sync_lock_name(sql_db: models.Model) -> str:
    """The name of the lock a sync of ``sql_db`` holds (``_Session.take_lock``;
    64 characters at most, MySQL's limit). On PostgreSQL the advisory lock's
    key is ``hashtextextended(name, 0)``.

    The name holds the Django database's name: MySQL's named locks are the
    whole server's, and two projects (or a project and its tests) on one
    server must not wait for each other's rows of the same key.
    """
    using = writes_to(sql_db)
    database = connections[using].settings_dict.get("NAME")
    # The concrete model's: a proxy's rows are the same rows.
    model = sql_db._meta.concrete_model or type(sql_db)
    label = f"{database}:{model._meta.label_lower}:{sql_db.pk}"
    return "thoth_db_elements:" + hashlib.sha1(label.encode()).hexdigest()


def not_syncing(sql_db: models.Model) -> Q:
    """Rows of ``sql_db``'s model unless a sync of ``sql_db`` is writing
    its catalogue now, on MySQL and MariaDB: there the rows a sync inserts
    lock the ``SqlDb`` row through their foreign key until it commits, and
    the heartbeat's ``UPDATE`` of that row waits, so a long sync's
    heartbeat stands still though its worker lives. It holds the
    catalogue's named lock (``sync_lock_name``) throughout, which the
    server lets go of when its connection ends. ``Q()`` elsewhere (on
    PostgreSQL the heartbeat goes on beating during a sync)."""
    if connections[writes_to(sql_db)].vendor != "mysql":
        return Q()
    free = RawSQL(
        "IS_USED_LOCK(%s) IS NULL",
        [sync_lock_name(sql_db)],
        output_field=BooleanField(),
    )
    return Q(free)


#: The run (task id) whose sync this thread runs, if any (``writing_for``).
_writing_run: ContextVar[str | None] = ContextVar("thoth_writing_run", default=None)


@contextmanager
def writing_for(task_id: str) -> Iterator[None]:
    """Syncs inside are run ``task_id``'s: the lock saying it writes is
    named after it (``writing_lock_name``)."""
    token = _writing_run.set(task_id)
    try:
        yield
    finally:
        _writing_run.reset(token)


def writing_lock_name(sql_db: models.Model, task_id: str) -> str:
    """The name of the lock a MySQL/MariaDB sync of run ``task_id`` of
    ``sql_db`` holds while it writes (``_Session.mark_writing``); 58
    characters, within MySQL's 64."""
    label = f"{sync_lock_name(sql_db)}:writing:{task_id}"
    return "thoth_db_elements:" + hashlib.sha1(label.encode()).hexdigest()


def is_writing(sql_db: models.Model, task_id: str | None) -> bool:
    """Whether the sync of run ``task_id`` of ``sql_db`` is writing its
    catalogue now, its inserts holding the row until it commits (MySQL and
    MariaDB; always False elsewhere, and for no run)."""
    connection = connections[writes_to(sql_db)]
    if connection.vendor != "mysql" or not task_id:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT IS_USED_LOCK(%s)", [writing_lock_name(sql_db, task_id)])
        row = cursor.fetchone()
    return bool(row and row[0] is not None)


def is_syncing(sql_db: models.Model) -> bool:
    """Whether a sync of ``sql_db`` holds its catalogue's lock now (see
    ``not_syncing``; always False but on MySQL and MariaDB)."""
    connection = connections[writes_to(sql_db)]
    if connection.vendor != "mysql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT IS_USED_LOCK(%s)", [sync_lock_name(sql_db)])
        row = cursor.fetchone()
    return bool(row and row[0] is not None)


def _codes(exc: DatabaseError) -> tuple[Any, Any]:
    """The driver error's SQLSTATE (psycopg 3's ``sqlstate``, psycopg2's
    ``pgcode``) and first argument (MySQL's error number)."""
    cause = exc.__cause__
    args: tuple[Any, ...] = getattr(cause, "args", ())
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return sqlstate, args[0] if args else None


def _is_deadlock(exc: DatabaseError) -> bool:
    """PostgreSQL 40P01 (deadlock_detected), MySQL 1213."""
    sqlstate, number = _codes(exc)
    return bool(sqlstate == "40P01" or number == 1213)


def _is_foreign_key_violation(exc: DatabaseError) -> bool:
    """PostgreSQL 23503, MySQL 1451 and 1452, SQLite's "FOREIGN KEY
    constraint failed"."""
    if not isinstance(exc, IntegrityError):
        return False
    sqlstate, number = _codes(exc)
    return bool(
        sqlstate == "23503"
        or number in (1451, 1452)
        or "FOREIGN KEY constraint failed" in str(exc)
    )


def _is_lock_timeout(exc: DatabaseError) -> bool:
    """PostgreSQL 55P03 (lock_not_available), MySQL 1205, SQLite "locked"."""
    sqlstate, number = _codes(exc)
    return bool(
        sqlstate == "55P03" or number == 1205 or "database is locked" in str(exc)
    )
