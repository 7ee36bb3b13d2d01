"""The sync against people writing the catalogue at the same time.

Runs on PostgreSQL and MariaDB as Django's database (the tox environments
``*-postgres`` and ``*-mariadb``); SQLite's sync holds the write lock from
its first read, so nobody writes in between there.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.http import HttpRequest
from django.test import RequestFactory

from catalog import models as thoth
from tests.snapshots import shop
from thoth_db_elements.admin import DbElementsModelAdmin
from thoth_db_elements.catalogue import catalogue_for
from thoth_db_elements.exceptions import CatalogueChangedError, CatalogueLockedError
from thoth_db_elements.persistence import sync_lock_name, sync_snapshot
from thoth_db_elements.report import HarvestReport

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor not in ("postgresql", "mysql"),
        reason="needs PostgreSQL or MariaDB as Django's database (see tox.ini)",
    ),
]


def _admin(user: User) -> tuple[DbElementsModelAdmin, HttpRequest]:
    """The ready-made admin of the example's ``SqlDb``, and a request of
    ``user``'s to it."""
    request = RequestFactory().post("/")
    request.user = user
    return DbElementsModelAdmin(thoth.SqlDb, admin.site), request


def _resync(sql_db: Any, checkpoint: Any) -> HarvestReport:
    """Sync ``sql_db`` again with one table gone and one new: the new row's
    key to the ``SqlDb`` row is checked at commit."""
    return sync_snapshot(
        sql_db,
        shop(drop=("order_lines",), extra_tables=1),
        catalogue_for(sql_db),
        HarvestReport(sqldb_id=sql_db.pk),
        checkpoint=checkpoint,
        force=True,
    )


def _wait_until_released(name: str) -> None:
    """Until the server has let go of named lock ``name`` (a connection's
    end reaches it a little after the client closed it)."""
    for _ in range(100):
        with connection.cursor() as cursor:
            cursor.execute("SELECT IS_USED_LOCK(%s)", [name])
            if cursor.fetchone()[0] is None:
                return
        threading.Event().wait(0.05)
    raise AssertionError(f"the lock {name} is still held")


def _write_by_hand(table_pk: Any, column_pk: Any, hold: float) -> threading.Thread:
    """Another session writes both descriptions and commits after ``hold``
    seconds, keeping the rows locked until then."""
    started = threading.Event()

    def write() -> None:
        try:
            with transaction.atomic():
                thoth.SqlTable.objects.filter(pk=table_pk).update(
                    description="Customers, by hand"
                )
                thoth.SqlColumn.objects.filter(pk=column_pk).update(
                    column_description="Verified e-mail, by hand"
                )
                started.set()
                threading.Event().wait(hold)
        finally:
            started.set()
            connections.close_all()

    thread = threading.Thread(target=write)
    thread.start()
    started.wait(10)
    return thread


@pytest.mark.parametrize("hold", [0.0, 0.5], ids=["committed", "still-locked"])
def test_a_description_written_during_the_run_is_not_filled_over(hold: float) -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    catalogue = catalogue_for(sql_db)
    # First run: no comments, so the descriptions stay empty.
    quiet = shop(customer_comment=None, email_comment=None)
    sync_snapshot(sql_db, quiet, catalogue, HarvestReport(sqldb_id=sql_db.pk))
    table = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    column = thoth.SqlColumn.objects.get(sql_table=table, original_column_name="email")
    threads: list[threading.Thread] = []
    calls: list[int] = []

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # inside the transaction, rows loaded, no write yet
            threads.append(_write_by_hand(table.pk, column.pk, hold))

    # The comments have appeared: they would fill the empty descriptions.
    report = sync_snapshot(
        sql_db,
        shop(),
        catalogue,
        HarvestReport(sqldb_id=sql_db.pk),
        checkpoint=checkpoint,
    )
    for thread in threads:
        thread.join(30)
    assert threads, "the checkpoint inside the transaction was not called"
    table.refresh_from_db()
    column.refresh_from_db()
    assert table.description == "Customers, by hand"
    assert column.column_description == "Verified e-mail, by hand"
    # The fill was the only change, and it did not happen: nothing counts
    # as updated.
    assert (report.tables.updated, report.tables.unchanged) == (0, 4)
    assert (report.columns.updated, report.columns.unchanged) == (0, 10)
    assert report.columns.created == 0


def test_a_description_committed_as_its_row_goes_is_reported() -> None:
    # Someone's edit of a table and a column about to be deleted is
    # uncommitted as the sync reaches them: the sync waits for it, and the
    # texts go into the report and the run log, not silently away.
    sql_db = thoth.SqlDb.objects.create(name="shop")
    catalogue = catalogue_for(sql_db)
    sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
    table = thoth.SqlTable.objects.get(sql_db=sql_db, name="order_lines")
    column = thoth.SqlColumn.objects.filter(sql_table=table).order_by("pk").first()
    assert column is not None
    threads: list[threading.Thread] = []
    calls: list[int] = []

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # inside the transaction, rows loaded, no write yet
            threads.append(_write_by_hand(table.pk, column.pk, 1.0))

    report = _resync(sql_db, checkpoint)
    for thread in threads:
        thread.join(30)
    assert threads, "the checkpoint inside the transaction was not called"
    assert "order_lines" in report.annotated_deleted
    assert f"order_lines.{column.original_column_name}" in report.annotated_deleted
    assert not thoth.SqlTable.objects.filter(pk=table.pk).exists()


def test_a_table_deleted_by_hand_as_the_run_deletes_it_is_no_deadlock() -> None:
    # Deleting a table (its admin, a cascade) deletes its columns, then the
    # table; the run locks the rows it deletes in that order too. Slow
    # post_delete receivers widen the gap between the two.
    from django.db.models.signals import post_delete

    sql_db = thoth.SqlDb.objects.create(name="shop")
    catalogue = catalogue_for(sql_db)
    sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
    view = thoth.SqlTable.objects.get(sql_db=sql_db, name="big_spenders")
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []
    calls: list[int] = []

    def slowly(**kwargs: Any) -> None:
        threading.Event().wait(0.5)

    def delete_by_hand() -> None:
        try:
            with transaction.atomic():
                thoth.SqlTable.objects.get(pk=view.pk).delete()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # inside the transaction, rows loaded, no write yet
            thread = threading.Thread(target=delete_by_hand)
            thread.start()
            threads.append(thread)
            threading.Event().wait(0.2)  # its columns are deleted by now

    post_delete.connect(slowly, sender=thoth.SqlColumn)
    try:
        report = sync_snapshot(
            sql_db,
            shop(drop=("big_spenders",)),
            catalogue,
            HarvestReport(sqldb_id=sql_db.pk),
            checkpoint=checkpoint,
        )
        for thread in threads:
            thread.join(30)
    finally:
        post_delete.disconnect(slowly, sender=thoth.SqlColumn)
    assert threads, "the checkpoint inside the transaction was not called"
    assert errors == []
    assert report.tables.deleted == 1
    assert not thoth.SqlTable.objects.filter(pk=view.pk).exists()


def test_a_fill_that_happens_counts_as_an_update() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    catalogue = catalogue_for(sql_db)
    quiet = shop(customer_comment=None, email_comment=None)
    sync_snapshot(sql_db, quiet, catalogue, HarvestReport(sqldb_id=sql_db.pk))
    report = sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
    assert (report.tables.updated, report.tables.unchanged) == (1, 3)
    assert (report.columns.updated, report.columns.unchanged) == (1, 9)
    table = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    assert table.description == "People who buy"


def test_two_syncs_of_one_database_take_turns() -> None:
    """The second waits for the first to commit, then finds its rows: no
    row twice (ThothAI's models have no unique constraint to refuse one)."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    inside = threading.Event()
    reports: list[HarvestReport] = []
    errors: list[BaseException] = []

    def first_checkpoint(done: int, total: int) -> None:
        if done == 0 and not inside.is_set() and connection_in_atomic():
            inside.set()  # the first holds the lock: let the second start
            threading.Event().wait(1.0)

    def run(checkpoint: Any = None) -> None:
        try:
            reports.append(
                sync_snapshot(
                    thoth.SqlDb.objects.get(pk=sql_db.pk),
                    shop(),
                    catalogue_for(sql_db),
                    HarvestReport(sqldb_id=sql_db.pk),
                    checkpoint=checkpoint,
                )
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=(first_checkpoint,))
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=run)
    second.start()
    first.join(60)
    second.join(60)
    assert errors == []
    assert thoth.SqlTable.objects.filter(sql_db=sql_db).count() == 4
    assert thoth.SqlColumn.objects.filter(sql_table__sql_db=sql_db).count() == 10
    assert sorted(r.tables.created for r in reports) == [0, 4]


def connection_in_atomic() -> bool:
    """Whether this thread's sync is inside its transaction."""
    return connection.in_atomic_block


def test_a_sync_waiting_too_long_for_another_fails_with_nothing_changed(
    settings: Any,
) -> None:
    settings.THOTH_DB_ELEMENTS_CATALOGUE_LOCK_TIMEOUT = 0.5
    sql_db = thoth.SqlDb.objects.create(name="shop")
    name = sync_lock_name(sql_db)
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT pg_advisory_lock(hashtextextended(%s, 0))", [name]
                )
            else:
                cursor.execute("SELECT GET_LOCK(%s, 1)", [name])
        with pytest.raises(CatalogueLockedError, match="nothing was changed"):
            sync_snapshot(
                sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=1)
            )
        assert not thoth.SqlTable.objects.filter(sql_db=sql_db).exists()
    finally:
        holder.close()
    # Let go, the next run goes through.
    report = sync_snapshot(
        sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=1)
    )
    assert report.tables.created == 4


def _deadlock(sql_db: Any, other_writes: int) -> CatalogueLockedError:
    """A run locking tables a, then b (committed before), against another
    transaction locking b, then a, after writing ``other_writes`` rows; the
    run's error (the database must choose to end the run)."""
    from thoth_db_elements._catalogue_lock import catalogue_transaction, writing_for

    first, second = (
        thoth.SqlTable.objects.get(sql_db=sql_db, name=name) for name in "ab"
    )
    holding = threading.Event()

    def other() -> None:
        try:
            with transaction.atomic():
                for n in range(other_writes):
                    thoth.SqlTable.objects.create(sql_db=sql_db, name=f"x{n}")
                thoth.SqlTable.objects.select_for_update().get(pk=second.pk)
                holding.set()
                threading.Event().wait(0.3)  # the run waits for b by now
                thoth.SqlTable.objects.select_for_update().get(pk=first.pk)
        except Exception:
            pass  # the side the database ended, should it be this one
        finally:
            holding.set()
            connections.close_all()

    thread = threading.Thread(target=other)
    try:
        with writing_for("run-1"), catalogue_transaction(sql_db) as writing:
            writing()  # as a run's sync, before its first write
            thoth.SqlTable.objects.select_for_update().get(pk=first.pk)
            thread.start()
            holding.wait(10)
            thoth.SqlTable.objects.select_for_update().get(pk=second.pk)
    except CatalogueLockedError as exc:
        return exc
    finally:
        thread.join(30)
    raise AssertionError("the database ended the other transaction")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL ends the transaction that waited first; InnoDB chooses",
)
def test_a_deadlock_the_database_breaks_is_a_catalogue_locked_error() -> None:
    sql_db = thoth.SqlDb.objects.create(name="shop")
    for name in "ab":
        thoth.SqlTable.objects.create(sql_db=sql_db, name=name)
    error = _deadlock(sql_db, other_writes=0)
    assert str(error) == (
        "Another transaction locked catalogue rows this run needed in the "
        "opposite order (a deadlock, which the database ended by rolling this "
        "run back); nothing was changed. Run again."
    )


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's deadlocks")
def test_a_deadlock_on_mysql_says_the_callers_transaction_went_too() -> None:
    # InnoDB ends the whole transaction on a deadlock, the caller's work
    # with it; it ends the one that wrote fewer rows: the run's, here.
    sql_db = thoth.SqlDb.objects.create(name="shop")
    for name in "ab":
        thoth.SqlTable.objects.create(sql_db=sql_db, name=name)
    with pytest.raises(CatalogueLockedError) as caught, transaction.atomic():
        thoth.SqlDb.objects.create(name="the caller's")
        raise _deadlock(sql_db, other_writes=200)
    assert str(caught.value).endswith(
        "nothing was changed. Run again. The database rolled back the "
        "enclosing transaction too."
    )
    assert not thoth.SqlDb.objects.filter(name="the caller's").exists()
    # The sync's session locks went with it (kept, every later cancel of
    # this database was "too late" and every other sync of it waited).
    from thoth_db_elements._catalogue_lock import writing_lock_name

    with connection.cursor() as cursor:
        for name in (sync_lock_name(sql_db), writing_lock_name(sql_db, "run-1")):
            cursor.execute("SELECT IS_USED_LOCK(%s)", [name])
            assert cursor.fetchone()[0] is None
        cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout")
        assert cursor.fetchone()[0] == 50


def test_the_lock_belongs_to_one_django_database() -> None:
    """MySQL's named locks are the server's: a project's lock on its row 1
    must not hold up another project's row 1 on the same server."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    ours = sync_lock_name(sql_db)
    settings_dict = connection.settings_dict
    name = settings_dict["NAME"]
    try:
        settings_dict["NAME"] = f"{name}_other"
        theirs = sync_lock_name(sql_db)
    finally:
        settings_dict["NAME"] = name
    assert ours != theirs
    assert ours == sync_lock_name(thoth.SqlDb.objects.get(pk=sql_db.pk))
    assert len(ours) <= 64


def test_an_admin_save_during_a_sync_neither_deadlocks_nor_stops_it() -> None:
    """The admin's save locks the SqlDb row; a sync committing rows that
    point at it must not wait for that lock (PostgreSQL checks foreign keys
    at commit, taking a key-share lock on the row), or the admin request,
    writing a table row the sync holds, and the sync wait for each other."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync_snapshot(
        sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=sql_db.pk)
    )
    doomed = thoth.SqlTable.objects.get(sql_db=sql_db, name="order_lines").pk
    user = User.objects.create_superuser("admin", password="pw")
    saved = threading.Event()
    outcome: list[str] = []

    def admin_request() -> None:
        try:
            with transaction.atomic():  # as the change view's
                row = thoth.SqlDb.objects.get(pk=sql_db.pk)
                row.db_host = "edited"
                model_admin, request = _admin(user)
                model_admin.save_model(request, row, None, change=True)
                saved.set()
                threading.Event().wait(0.5)  # the sync commits meanwhile
                # An inline of the table the sync is deleting.
                thoth.SqlTable.objects.filter(pk=doomed).update(description="x")
            outcome.append("admin committed")
        except Exception as exc:  # pragma: no cover - reported below
            outcome.append(f"admin failed: {exc}")
        finally:
            saved.set()
            connections.close_all()

    threads: list[threading.Thread] = []

    def checkpoint(done: int, total: int) -> None:
        if done == total and not threads:  # written, not yet committed
            threads.append(threading.Thread(target=admin_request))
            threads[0].start()
            # MariaDB: the admin's lock waits for the sync's own (InnoDB's
            # key check holds the SqlDb row from the first insert on).
            saved.wait(10 if connection.vendor == "postgresql" else 1)

    report = _resync(sql_db, checkpoint)
    threads[0].join(30)
    assert outcome == ["admin committed"]
    assert (report.tables.deleted, report.tables.created) == (1, 1)
    assert thoth.SqlDb.objects.get(pk=sql_db.pk).db_host == "edited"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's row-level lock modes"
)
def test_the_sync_holds_the_key_of_its_sqldb_row_from_the_start() -> None:
    """Others may update the row (heartbeat, admin) but not change its key
    while the sync runs: such a change would wait for the sync anyway, at
    its commit, after perhaps taking locks the sync needs."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    table = connection.ops.quote_name(thoth.SqlDb._meta.db_table)
    seen: list[str] = []
    calls: list[int] = []

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) != 2:  # the second: inside the transaction, no write yet
            return
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                for mode in ("NO KEY UPDATE", "UPDATE"):
                    try:
                        cursor.execute(
                            f"SELECT 1 FROM {table} WHERE id = %s FOR {mode} NOWAIT",
                            [sql_db.pk],
                        )
                        seen.append(f"{mode}: free")
                    except Exception:
                        seen.append(f"{mode}: held")
                    other.rollback()
        finally:
            other.close()

    sync_snapshot(
        sql_db,
        shop(),
        catalogue_for(sql_db),
        HarvestReport(sqldb_id=sql_db.pk),
        checkpoint=checkpoint,
    )
    assert seen == ["NO KEY UPDATE: free", "UPDATE: held"]


def test_an_admin_delete_during_a_sync_waits_for_it() -> None:
    """Django deletes the row's tables and columns first, the row last; the
    sync holds the row's key while it writes those very rows. The admin's
    delete locks the row before anything else, so it comes after the sync
    instead of deadlocking with it."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    sync_snapshot(
        sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=sql_db.pk)
    )
    user = User.objects.create_superuser("admin", password="pw")
    outcome: list[str] = []
    threads: list[threading.Thread] = []
    calls: list[int] = []

    def admin_delete() -> None:
        try:
            with transaction.atomic():  # as the delete view's
                row = thoth.SqlDb.objects.get(pk=sql_db.pk)
                model_admin, request = _admin(user)
                model_admin.delete_model(request, row)
            outcome.append("admin deleted")
        except Exception as exc:  # pragma: no cover - reported below
            outcome.append(f"admin failed: {exc}")
        finally:
            connections.close_all()

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # inside the transaction, no write yet
            threads.append(threading.Thread(target=admin_delete))
            threads[0].start()
            threading.Event().wait(0.3)

    try:
        report = _resync(sql_db, checkpoint)
        synced = (report.tables.deleted, report.tables.created)
    except CatalogueChangedError:
        # MariaDB: the sync holds nothing of the row before its first
        # insert, so the delete went first; the sync then fails on its key,
        # and says so.
        synced = None
    threads[0].join(30)
    assert outcome == ["admin deleted"]
    if connection.vendor == "postgresql":
        assert synced == (1, 1)  # the delete waited for the sync
    assert not thoth.SqlDb.objects.filter(pk=sql_db.pk).exists()
    assert not thoth.SqlTable.objects.filter(sql_db_id=sql_db.pk).exists()


def test_deleting_other_rows_does_not_wait_for_a_sync() -> None:
    """ "Delete selected" over a search (a filter not on the key) locks the
    rows it deletes, not every row the database scans: a sync of another
    row, holding that row, must not hold it up."""
    syncing = thoth.SqlDb.objects.create(name="beta")
    for number in range(20):
        thoth.SqlDb.objects.create(name=f"alpha{number}")
    user = User.objects.create_superuser("admin", password="pw")
    finished = threading.Event()
    outcome: list[str] = []

    def admin_delete() -> None:
        try:
            with transaction.atomic():
                model_admin, request = _admin(user)
                model_admin.delete_queryset(
                    request, thoth.SqlDb.objects.filter(name="alpha7")
                )
            outcome.append("deleted")
        except Exception as exc:  # pragma: no cover - reported below
            outcome.append(f"failed: {exc}")
        finally:
            finished.set()
            connections.close_all()

    def checkpoint(done: int, total: int) -> None:
        if done and not outcome and not finished.is_set():
            # Tables written: the sync holds its row until it commits.
            threading.Thread(target=admin_delete).start()
            finished.wait(10)
            outcome.append("while the sync ran" if outcome else "after")

    sync_snapshot(
        syncing,
        shop(),
        catalogue_for(syncing),
        HarvestReport(sqldb_id=syncing.pk),
        checkpoint=checkpoint,
    )
    finished.wait(30)
    assert outcome[:2] == ["deleted", "while the sync ran"]
    assert not thoth.SqlDb.objects.filter(name="alpha7").exists()
    assert thoth.SqlDb.objects.filter(name__startswith="alpha").count() == 19


def test_a_sync_locks_no_row_of_another_databases_catalogue(settings: Any) -> None:
    # Django's collector deleted a column's relationships with one
    # "source_column_id IN (...) OR target_column_id IN (...)", which MySQL
    # and MariaDB answer with a scan of the whole table, as they do a
    # small table's UPDATE joined to its new values the wrong way round:
    # it waited for a row of another database's catalogue that someone
    # held, and two runs of different databases deadlocked.
    settings.THOTH_DB_ELEMENTS_CATALOGUE_LOCK_TIMEOUT = 1
    ours, theirs = (thoth.SqlDb.objects.create(name=n) for n in ("ours", "theirs"))
    for sql_db in (ours, theirs):
        sync_snapshot(sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=1))
    held = {
        model: list(
            model.objects.filter(**{lookup: theirs}).values_list("pk", flat=True)
        )
        for model, lookup in (
            (thoth.Relationship, "source_table__sql_db"),
            (thoth.SqlColumn, "sql_table__sql_db"),
            (thoth.SqlTable, "sql_db"),
        )
    }
    assert all(held.values())
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            for model, keys in held.items():
                table = connection.ops.quote_name(model._meta.db_table)
                for pk in keys:  # by key each: no scan that would lock others
                    cursor.execute(
                        f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [pk]
                    )
        # Every table but the first gone (their columns and keys too), and
        # the first one's columns changed.
        first = shop().tables[0]
        first = dataclasses.replace(
            first,
            columns=tuple(
                dataclasses.replace(c, data_format="TEXT") for c in first.columns
            ),
        )
        smaller = dataclasses.replace(shop(), tables=(first,))
        report = sync_snapshot(
            ours, smaller, catalogue_for(ours), HarvestReport(sqldb_id=1), force=True
        )
    finally:
        holder.rollback()
        holder.close()
    assert report.tables.deleted == len(shop().tables) - 1
    assert report.relationships.deleted
    assert report.columns.updated == len(first.columns)
    assert thoth.Relationship.objects.filter(
        source_table__sql_db=theirs
    ).count() == len(held[thoth.Relationship])


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's named locks")
def test_a_run_whose_sync_holds_the_catalogue_lock_is_alive(settings: Any) -> None:
    # On MySQL/MariaDB the rows a sync inserts lock the SqlDb row through
    # their foreign key: the heartbeat's UPDATE waits until the sync
    # commits, and a long sync looked dead. A second start then marked it
    # FAILED and ran again beside it.
    from django.utils import timezone

    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.validation import (
        claim_sqldb_db_elements_task,
        is_stale,
        validate_and_cleanup_running_sqldb_db_elements_task,
    )

    settings.THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS = 1
    now = timezone.now()
    sql_db = thoth.SqlDb.objects.create(
        name="shop",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=now,
        db_elements_heartbeat=now - timezone.timedelta(minutes=10),
    )
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:  # as the first run's sync does
            cursor.execute("SELECT GET_LOCK(%s, 1)", [sync_lock_name(sql_db)])
        assert not is_stale(sql_db)
        assert validate_and_cleanup_running_sqldb_db_elements_task(sql_db)
        assert not claim_sqldb_db_elements_task(sql_db, "second")
        row = thoth.SqlDb.objects.get(pk=sql_db.pk)
        assert (row.db_elements_status, row.db_elements_task_id) == (
            TaskStatus.RUNNING,
            "first",
        )
    finally:
        holder.close()  # the worker gone: the server lets go of its lock
    _wait_until_released(sync_lock_name(sql_db))
    assert is_stale(sql_db)
    assert claim_sqldb_db_elements_task(sql_db, "second")


def test_a_table_deleted_while_a_sync_runs_is_told_as_such() -> None:
    # A new column of "customers", whose row another transaction deletes
    # after the sync loaded it: the column's key to it fails. It was the
    # driver's raw IntegrityError, "unexpected", with a traceback.
    sql_db = thoth.SqlDb.objects.create(name="shop")
    catalogue = catalogue_for(sql_db)
    sync_snapshot(sql_db, shop(), catalogue, HarvestReport(sqldb_id=sql_db.pk))
    customers = thoth.SqlTable.objects.get(sql_db=sql_db, name="customers")
    grown = shop()
    table = grown.table("customers")
    extra = dataclasses.replace(table.columns[-1], name="nickname", ordinal_position=9)
    table = dataclasses.replace(table, columns=(*table.columns, extra))
    grown = dataclasses.replace(
        grown, tables=tuple(table if t.name == "customers" else t for t in grown.tables)
    )
    calls: list[int] = []

    def delete_customers() -> None:
        try:
            thoth.SqlTable.objects.filter(pk=customers.pk).delete()
        finally:
            connections.close_all()

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # inside the transaction, rows loaded, no write yet
            thread = threading.Thread(target=delete_customers)
            thread.start()
            thread.join(30)

    with pytest.raises(CatalogueChangedError, match="nothing was changed"):
        sync_snapshot(
            sql_db,
            grown,
            catalogue,
            HarvestReport(sqldb_id=sql_db.pk),
            checkpoint=checkpoint,
        )
    assert len(calls) >= 2
    assert not thoth.SqlTable.objects.filter(pk=customers.pk).exists()
    # Run again: the table comes back, with its new column.
    sync_snapshot(sql_db, grown, catalogue, HarvestReport(sqldb_id=sql_db.pk))
    assert thoth.SqlColumn.objects.filter(
        sql_table__sql_db=sql_db, original_column_name="nickname"
    ).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL: a sync holds only the row's key (MariaDB's inserts "
    "hold a shared lock on the whole row, which any update waits for)",
)
def test_a_force_reset_does_not_wait_for_a_sync() -> None:
    """The reset is written while the sync holds its lock, so that the run
    hears of it before it writes (it waited for the sync's commit)."""
    from thoth_db_elements.validation import force_reset_sqldb_db_elements_task_status

    sql_db = thoth.SqlDb.objects.create(name="shop", db_elements_status="RUNNING")
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def holding(done: int, total: int) -> None:
        if done == 0 and not inside.is_set() and connection_in_atomic():
            inside.set()
            release.wait(10)  # no longer than that, whatever the reset does
            order.append("sync went on")

    def run() -> None:
        try:
            _resync(thoth.SqlDb.objects.get(pk=sql_db.pk), holding)
        finally:
            connections.close_all()

    sync(sql_db)
    worker = threading.Thread(target=run)
    worker.start()
    assert inside.wait(30)
    assert force_reset_sqldb_db_elements_task_status(sql_db, reason="stuck")
    order.append("reset")
    release.set()
    worker.join(60)
    assert order == ["reset", "sync went on"]
    sql_db.refresh_from_db()
    assert sql_db.db_elements_status == "IDLE"


def sync(sql_db: Any) -> None:
    sync_snapshot(
        sql_db, shop(), catalogue_for(sql_db), HarvestReport(sqldb_id=sql_db.pk)
    )


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's named locks")
def test_a_cancel_while_the_sync_writes_on_mysql_does_not_wait(
    django_user_model: Any,
) -> None:
    """On MariaDB the sync's inserts hold the SqlDb row until it commits:
    a cancel's UPDATE waited the server's lock time-out (50 s) and failed,
    the admin's action with a server error. The run can no longer stop
    then: the cancel says so at once. While the sync loads and plans, a
    cancel is still set (the run reads it before writing)."""
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from thoth_db_elements._catalogue_lock import writing_for
    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.tasks import request_cancel_sqldb_db_elements_task

    sql_db = thoth.SqlDb.objects.create(
        name="shop",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=timezone.now(),
        db_elements_heartbeat=timezone.now(),  # a worker's run
    )
    boss = django_user_model.objects.create_superuser("boss", password="pw")
    outcome: list[Any] = []

    def cancel() -> None:  # another session: an admin's
        try:
            with connection.cursor() as cursor:  # fails in 2 s, not 50 s
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
            row = thoth.SqlDb.objects.get(pk=sql_db.pk)
            with CaptureQueriesContext(connection) as queries:
                outcome.append(request_cancel_sqldb_db_elements_task(row))
            # Refused at once: no update sent to wait for the row.
            updates = [q for q in queries if q["sql"].startswith("UPDATE")]
            outcome.append(len(updates))
            if outcome[-2]:  # the run would hear it: taken back for the test
                thoth.SqlDb.objects.filter(pk=sql_db.pk).update(
                    db_elements_cancel_requested=False
                )
                return
            model_admin, request = _admin(boss)
            request.session = {}  # type: ignore[attr-defined]
            request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
            model_admin.cancel_db_elements(
                request, thoth.SqlDb.objects.filter(pk=sql_db.pk)
            )
            outcome.append([str(m) for m in get_messages(request)])
        except Exception as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    calls: list[int] = []

    def checkpoint(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) in (2, 3):  # loading, then writing (tables written)
            thread = threading.Thread(target=cancel)
            thread.start()
            thread.join(30)

    with writing_for("first"):  # as run "first" of the task layer syncs
        _resync(sql_db, checkpoint)
    assert outcome == [
        True,
        1,
        False,
        0,
        [
            "The database shop is writing its catalogue: too late to cancel, "
            "its run goes on to its end."
        ],
    ]


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's row locks")
def test_a_cancel_waits_for_a_row_held_by_something_else_than_a_sync() -> None:
    """A row an admin's save holds, while a sync of it loads (its lock
    taken, the row not yet written): the cancel waits for the save, and is
    set (the run still hears it before writing). An earlier version gave
    up after a second and said "too late to cancel"."""
    from django.utils import timezone

    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.tasks import request_cancel_sqldb_db_elements_task

    sql_db = thoth.SqlDb.objects.create(
        name="shop",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=timezone.now(),
    )
    held = threading.Event()

    def save() -> None:  # an admin's save: the row locked for 2.5 s
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Beside a sync that loads: its lock held, the row not yet.
                cursor.execute("SELECT GET_LOCK(%s, 1)", [sync_lock_name(sql_db)])
                thoth.SqlDb.objects.select_for_update().get(pk=sql_db.pk)
                held.set()
                threading.Event().wait(2.5)
        finally:
            held.set()
            connections.close_all()

    saving = threading.Thread(target=save)
    saving.start()
    try:
        held.wait(10)
        assert request_cancel_sqldb_db_elements_task(sql_db) is True
    finally:
        saving.join(30)
    assert thoth.SqlDb.objects.get(pk=sql_db.pk).db_elements_cancel_requested


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's named locks")
def test_a_run_without_a_heartbeat_whose_sync_holds_the_lock_is_not_stale() -> None:
    """A row of the seed's four fields only, started longer ago than
    STALE_TIMEOUT_HOURS, while its sync holds the catalogue's lock: the
    clean-up rightly left it, and then said it had cleaned it up."""
    from django.utils import timezone

    from tests.testapp.models import SeedOnlySqlDb
    from thoth_db_elements.models import TaskStatus
    from thoth_db_elements.validation import (
        MESSAGE_RUNNING,
        check_sqldb_db_elements_can_start,
        is_stale,
    )

    row = SeedOnlySqlDb.objects.create(
        name="old",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=timezone.now() - timezone.timedelta(hours=3),
    )
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:  # as the run's sync does
            cursor.execute("SELECT GET_LOCK(%s, 1)", [sync_lock_name(row)])
        assert not is_stale(row)
        assert check_sqldb_db_elements_can_start(row) == (False, MESSAGE_RUNNING)
    finally:
        holder.close()
    _wait_until_released(sync_lock_name(row))
    assert SeedOnlySqlDb.objects.get(pk=row.pk).db_elements_status == TaskStatus.RUNNING
    assert is_stale(row)


def _cancel_in_the_admin(
    boss: Any, sql_db: Any, *, started: list[threading.Thread] | None = None
) -> list[str]:
    """The admin's cancel action on ``sql_db`` from another session (its
    lock waits 2 s at most), and the messages it gave; with ``started``,
    not waited for (the thread is added there)."""
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage

    said: list[str] = []

    def cancel() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
            model_admin, request = _admin(boss)
            request.session = {}  # type: ignore[attr-defined]
            request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
            model_admin.cancel_db_elements(
                request, thoth.SqlDb.objects.filter(pk=sql_db.pk)
            )
            said.extend(str(m) for m in get_messages(request))
        except Exception as exc:
            said.append(repr(exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=cancel)
    thread.start()
    if started is not None:
        started.append(thread)
        return said
    thread.join(30)
    return said


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's named locks")
def test_a_cancel_of_a_row_not_running_during_a_direct_sync_says_so(
    django_user_model: Any,
) -> None:
    """A direct sync (``create_db_elements``, the command) of a row that
    is not running: the admin's cancel said it "is writing its catalogue:
    too late to cancel"."""
    sql_db = thoth.SqlDb.objects.create(name="shop")
    boss = django_user_model.objects.create_superuser("boss", password="pw")
    said: list[str] = []

    def checkpoint(done: int, total: int) -> None:
        if done and not said:  # writing
            said.extend(_cancel_in_the_admin(boss, sql_db))

    _resync(sql_db, checkpoint)
    assert said == ["None of the selected databases is running."]


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's row locks")
def test_a_cancel_after_a_sync_in_a_callers_open_transaction_is_no_error(
    django_user_model: Any,
) -> None:
    """A sync inside a caller's transaction: its inserts hold the row until
    the caller commits, after the sync (and its locks) ended. The cancel's
    update waited the server's time-out and the admin's action failed with
    a server error; it says the row is locked."""
    from django.utils import timezone

    from thoth_db_elements.models import TaskStatus

    sql_db = thoth.SqlDb.objects.create(
        name="shop",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="first",
        db_elements_start_time=timezone.now(),
    )
    boss = django_user_model.objects.create_superuser("boss", password="pw")
    with transaction.atomic():
        _resync(sql_db, None)
        said = _cancel_in_the_admin(boss, sql_db)
    assert said == [
        "The database shop is locked by another transaction: its cancel was "
        "not recorded. Try again."
    ]


@pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's named locks")
@pytest.mark.parametrize("taken", [False, True], ids=["queued", "taken"])
def test_a_run_is_cancelled_though_a_direct_sync_writes(
    django_user_model: Any, taken: bool
) -> None:
    """A run still in the queue, or taken by a worker but not yet at its
    sync, while a direct sync of the same database writes: the cancel was
    refused as "too late" (the writing is not that run's), and the run
    later ran in full."""
    from django.utils import timezone

    from thoth_db_elements.models import TaskStatus

    sql_db = thoth.SqlDb.objects.create(
        name="shop",
        db_elements_status=TaskStatus.RUNNING,
        db_elements_task_id="queued",
        db_elements_start_time=timezone.now(),
        db_elements_heartbeat=timezone.now() if taken else None,
    )
    boss = django_user_model.objects.create_superuser("boss", password="pw")
    started: list[threading.Thread] = []
    said: list[list[str]] = []

    def checkpoint(done: int, total: int) -> None:
        if done and not started:  # writing: the cancel waits for the row
            said.append(_cancel_in_the_admin(boss, sql_db, started=started))
            threading.Event().wait(0.5)

    _resync(sql_db, checkpoint)
    started[0].join(30)
    queued = [
        "The database shop is still queued: it stops when a worker takes "
        "it. If no worker is running, force reset it."
    ]
    assert said == [["Cancel requested for 1 database(s).", *([] if taken else queued)]]
    assert thoth.SqlDb.objects.get(pk=sql_db.pk).db_elements_cancel_requested


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_a_cancel_that_times_out_leaves_the_others_of_its_request(
    django_user_model: Any,
) -> None:
    """Inside the request's transaction (ATOMIC_REQUESTS), a row whose
    cancel timed out on its lock spoilt the transaction: the others'
    cancels, announced, were rolled back with it."""
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.utils import timezone

    from thoth_db_elements.models import TaskStatus

    rows = [
        thoth.SqlDb.objects.create(
            name=name,
            db_elements_status=TaskStatus.RUNNING,
            db_elements_task_id=name,
            db_elements_start_time=timezone.now(),
            db_elements_heartbeat=timezone.now(),  # taken by a worker
        )
        for name in ("a", "b", "c")
    ]
    held, done = threading.Event(), threading.Event()

    def hold_b() -> None:
        try:
            with transaction.atomic():
                thoth.SqlDb.objects.select_for_update().get(name="b")
                held.set()
                done.wait(30)
        finally:
            held.set()
            connections.close_all()

    holder = threading.Thread(target=hold_b)
    holder.start()
    held.wait(10)
    model_admin, request = _admin(
        django_user_model.objects.create_superuser("boss", password="pw")
    )
    request.session = {}  # type: ignore[attr-defined]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    try:
        with transaction.atomic():  # the request's
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            model_admin.cancel_db_elements(
                request, thoth.SqlDb.objects.filter(pk__in=[r.pk for r in rows])
            )
    finally:
        done.set()
        holder.join(30)
    assert [str(m) for m in get_messages(request)] == [
        "Cancel requested for 2 database(s).",
        "The database b is locked by another transaction: its cancel was not "
        "recorded. Try again.",
    ]
    flags = dict(
        thoth.SqlDb.objects.values_list("name", "db_elements_cancel_requested")
    )
    assert flags == {"a": True, "b": False, "c": True}
