"""Faults on the harvested side: the server going away, the schema changing, rights, text.

Every fault meets the real worker entry (``start_db_elements_creation`` with
the immediate runner) on this machine's PostgreSQL, MariaDB and SQLite. Faults
in the middle of the read are injected between two of the harvest's catalogue
statements by a SQLAlchemy ``after_cursor_execute`` listener, which tells the
harvest's engine from the tests' own by its URL.

After a faulty run the row is FAILED with a message saying what happened, the
catalogue (annotations included) is exactly as before and a later run
succeeds; where the honest outcome is a COMPLETED run, the test says so and
asserts that outcome exactly. The database's password, distinctive per test,
must show up nowhere: not in the row's error or report, the run's log file,
driver errors or log records.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from catalog.models import Relationship, SqlColumn, SqlDb, SqlTable
from tests import schemas
from tests.services import MARIADB_URL, PG_URL, require_mariadb, require_postgres
from thoth_db_elements.models import TaskStatus
from thoth_db_elements.runners.immediate import ImmediateRunner
from thoth_db_elements.tasks import start_db_elements_creation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(
        bool(os.environ.get("THOTH_SKIP_HEAVY")),
        reason="fault injection: run in one Python of the matrix (see tox.ini)",
    ),
]

#: Every scenario's shop: ``orders`` refers to ``customers``; people annotate
#: ``customers``, and the schema-change scenarios drop ``orders``.
SHOP_DDL: tuple[str, ...] = (
    "CREATE TABLE customers (id integer PRIMARY KEY, email varchar(200) NOT NULL)",
    "CREATE TABLE orders (id integer PRIMARY KEY,"
    " customer_id integer REFERENCES customers (id), total numeric(10, 2))",
    "CREATE TABLE notes (id integer PRIMARY KEY, body text)",
)
TABLE_NOTE = "People who buy (written by a person)"
COLUMN_NOTE = "Where invoices go (written by a person)"

Rows = list[list[dict[str, Any]]]


# -- the catalogue ---------------------------------------------------------------


def catalogue(db: SqlDb) -> Rows:
    """Every catalogue row of ``db``: tables, columns, relationships, by key."""
    return [
        list(SqlTable.objects.filter(sql_db=db).order_by("pk").values()),
        list(SqlColumn.objects.filter(sql_table__sql_db=db).order_by("pk").values()),
        list(
            Relationship.objects.filter(source_table__sql_db=db).order_by("pk").values()
        ),
    ]


def table_names(db: SqlDb) -> list[str]:
    """The catalogued tables of ``db``, sorted."""
    return sorted(SqlTable.objects.filter(sql_db=db).values_list("name", flat=True))


def annotate(db: SqlDb) -> None:
    """Write what a person would: a table's and a column's description."""
    customers = SqlTable.objects.filter(sql_db=db, name="customers")
    assert customers.update(description=TABLE_NOTE) == 1
    email = SqlColumn.objects.filter(
        sql_table__in=customers, original_column_name="email"
    )
    assert email.update(column_description=COLUMN_NOTE) == 1


def assert_annotations_kept(db: SqlDb) -> None:
    """The descriptions ``annotate`` wrote are still there."""
    customers = SqlTable.objects.get(sql_db=db, name="customers")
    assert customers.description == TABLE_NOTE
    email = SqlColumn.objects.get(sql_table=customers, original_column_name="email")
    assert email.column_description == COLUMN_NOTE


def harvest(db: SqlDb) -> SqlDb:
    """One run of the worker entry, synchronously; the row as the run left it."""
    result = start_db_elements_creation([db], runner=ImmediateRunner())
    assert [s.sqldb_id for s in result.started] == [db.pk], result.skipped
    db.refresh_from_db()
    return db


def assert_completed(db: SqlDb) -> dict[str, Any]:
    """The run completed; its report."""
    assert db.db_elements_status == TaskStatus.COMPLETED, db.db_elements_error
    assert db.db_elements_error == ""
    report: dict[str, Any] = db.db_elements_report
    assert report["status"] == "completed"
    return report


def harvest_annotated(db: SqlDb) -> Rows:
    """A first, successful run, then the annotations; the catalogue after both."""
    assert_completed(harvest(db))
    annotate(db)
    return catalogue(db)


def assert_unchanged(db: SqlDb, before: Rows) -> None:
    """The catalogue of ``db``, annotations included, is exactly ``before``."""
    assert catalogue(db) == before
    assert_annotations_kept(db)


def assert_failed(db: SqlDb, before: Rows, message: str) -> None:
    """FAILED with an error matching ``message`` (whole), catalogue untouched."""
    assert db.db_elements_status == TaskStatus.FAILED
    assert re.fullmatch(message, db.db_elements_error), db.db_elements_error
    assert db.db_elements_report["status"] == "failed"
    assert db.db_elements_report["error"] == db.db_elements_error
    assert_unchanged(db, before)


def assert_recovers(db: SqlDb, before: Rows) -> None:
    """With the fault gone, a run completes and leaves the catalogue as it was."""
    report = assert_completed(harvest(db))
    assert report["failed_tables"] == []
    assert_unchanged(db, before)


def run_log(db: SqlDb, log_dir: Path) -> str:
    """The text of the last run's own log file."""
    path = log_dir / "db_elements" / db.db_elements_log_file
    return path.read_text(encoding="utf-8")


# -- secrets -----------------------------------------------------------------------


@pytest.fixture
def secret() -> str:
    """This test's password for the harvested database, easy to search for."""
    return f"pw-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Sightings:
    """Text produced outside the row: driver errors and log records."""

    errors: list[str]
    caplog: pytest.LogCaptureFixture

    def texts(self) -> dict[str, str]:
        """Each place, by name."""
        return {
            "driver errors": "\n".join(self.errors),
            "log records": self.caplog.text,
        }


@pytest.fixture
def sightings(caplog: pytest.LogCaptureFixture) -> Iterator[Sightings]:
    """Every SQLAlchemy error's text and every library log record of one test."""
    errors: list[str] = []

    def record(context: sa.engine.ExceptionContext) -> None:
        errors.append(f"{context.sqlalchemy_exception!r} {context.original_exception}")

    event.listen(Engine, "handle_error", record)
    caplog.set_level(logging.DEBUG, logger="thoth_db_elements")
    try:
        yield Sightings(errors, caplog)
    finally:
        event.remove(Engine, "handle_error", record)


def assert_no_secret(
    db: SqlDb, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    """``secret`` is in none of: error, report, run log, driver errors, log records."""
    places = {
        "db_elements_error": db.db_elements_error,
        "db_elements_report": json.dumps(db.db_elements_report),
        "run log": run_log(db, log_dir),
        **sightings.texts(),
    }
    assert "Finished with status" in places["run log"]
    assert [place for place, text in places.items() if secret in text] == []


# -- fault injection ---------------------------------------------------------------


def catalogue_statement(statement: str) -> bool:
    """Whether ``statement`` reads something (not SET, SAVEPOINT, PRAGMA ...);
    MariaDB's ``SET STATEMENT var = value FOR SELECT ...`` reads."""
    per_statement = re.match(
        r"\s*SET\s+STATEMENT\s.*?\sFOR\s(.*)", statement, re.S | re.I
    )
    if per_statement is not None:
        statement = per_statement[1]
    return statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH")


@contextmanager
def after_statements(
    harvest_url: Callable[[URL], bool],
    fire: Callable[[int, str], bool],
    action: Callable[[Connection], None],
) -> Iterator[list[str]]:
    """Run ``action`` after each catalogue statement of the harvest that ``fire``s.

    ``fire`` gets the statement's number (from 1) and text; ``harvest_url``
    tells the harvest's engine from the tests' own by its URL. Yields the
    harvest's catalogue statements seen, to check that the fault was met.
    """
    seen: list[str] = []

    def listener(
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if not harvest_url(conn.engine.url) or not catalogue_statement(statement):
            return
        seen.append(statement)
        if fire(len(seen), statement):
            action(conn)

    event.listen(Engine, "after_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(Engine, "after_cursor_execute", listener)


def number(wanted: int) -> Callable[[int, str], bool]:
    """Fires after the ``wanted``-th catalogue statement only."""
    return lambda n, statement: n == wanted


def carries(secret: str) -> Callable[[URL], bool]:
    """The harvest's URL carries ``secret`` (the tests' own URLs do not)."""
    return lambda url: url.password == secret


def reads_file(path: Path) -> Callable[[URL], bool]:
    """The harvest's read-only URL of the SQLite file at ``path``."""
    return lambda url: url.database == f"file:{path}?mode=ro"


def admin(url: str) -> Engine:
    """An autocommit engine for the tests' own statements beside the harvest."""
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def terminate_pg_backend(conn: Connection) -> None:
    """End ``conn``'s PostgreSQL backend from another session; wait till it is gone."""
    pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    engine = admin(PG_URL)
    try:
        with engine.connect() as other:
            ended = other.execute(
                sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}
            ).scalar()
    finally:
        engine.dispose()
    assert ended is True


def kill_maria_thread(conn: Connection) -> None:
    """``KILL`` ``conn``'s MariaDB thread from another session; wait till it is gone."""
    thread = int(conn.connection.dbapi_connection.thread_id())  # type: ignore[union-attr]
    engine = admin(MARIADB_URL)
    alive = sa.text(
        "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :id"
    )
    try:
        with engine.connect() as other:
            other.exec_driver_sql(f"KILL {thread}")
            for _ in range(200):
                if not other.execute(alive, {"id": thread}).scalar():
                    return
                time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"MariaDB thread {thread} outlived KILL")


def drop_table(url: str, table: str) -> Callable[[Connection], None]:
    """An action dropping ``table`` of ``url``'s database from another session."""

    def drop(conn: Connection) -> None:
        engine = admin(url)
        try:
            with engine.connect() as other:
                if other.dialect.name == "postgresql":
                    other.exec_driver_sql("SET lock_timeout = '5s'")
                else:
                    other.exec_driver_sql("SET SESSION lock_wait_timeout = 5")
                other.exec_driver_sql(f"DROP TABLE {table}")
        finally:
            engine.dispose()

    return drop


# -- sources ---------------------------------------------------------------------


@pytest.fixture
def pg_source() -> Iterator[str]:
    """A fresh PostgreSQL database holding the shop; dropped afterwards."""
    require_postgres()
    with schemas.pg_database(SHOP_DDL) as url:
        yield url


def pg_row(url: str, secret: str, user: str = "postgres") -> SqlDb:
    """The row of a PostgreSQL database (trust authentication takes any password)."""
    parsed = make_url(url)
    return SqlDb.objects.create(
        name="pg",
        db_type="PostgreSQL",
        db_host=parsed.host,
        db_port=parsed.port or 5432,
        db_name=parsed.database,
        user_name=user,
        password=secret,
    )


@dataclass(frozen=True)
class MariaSource:
    """A MariaDB database holding the shop, and a user who may read it."""

    url: str
    user: str

    @property
    def name(self) -> str:
        """The database's name."""
        return schemas.database_name(self.url)


@pytest.fixture
def maria_source(secret: str) -> Iterator[MariaSource]:
    """A fresh MariaDB database with the shop and a reader whose password is ``secret``."""
    require_mariadb()
    with schemas.mariadb_database(SHOP_DDL) as url:
        source = MariaSource(url, f"thoth_src_{uuid.uuid4().hex[:8]}")
        try:
            schemas.run_ddl(
                MARIADB_URL,
                [
                    f"CREATE USER '{source.user}'@'%' IDENTIFIED BY '{secret}'",
                    f"GRANT SELECT, SHOW VIEW ON `{source.name}`.* TO '{source.user}'@'%'",
                ],
            )
            schemas.next_second()  # reads that count their statements
            yield source
        finally:
            schemas.run_ddl(MARIADB_URL, [f"DROP USER IF EXISTS '{source.user}'@'%'"])


def maria_row(source: MariaSource, secret: str) -> SqlDb:
    """The row of a MariaDB database, read as the source's own user."""
    parsed = make_url(source.url)
    return SqlDb.objects.create(
        name="maria",
        db_type="MariaDB",
        db_host=parsed.host,
        db_port=parsed.port or 3306,
        db_name=parsed.database,
        user_name=source.user,
        password=secret,
    )


@pytest.fixture
def sqlite_source(tmp_path: Path) -> Path:
    """A SQLite file holding the shop."""
    path = tmp_path / "shop.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(";".join(SHOP_DDL))
    return path


def sqlite_row(path: Path, secret: str) -> SqlDb:
    """The row of a SQLite file; the password is unused, but must not leak either."""
    return SqlDb.objects.create(
        name="lite", db_type="SQLite", db_name=str(path), password=secret
    )


def on_sqlite(path: Path, *statements: str) -> None:
    """Run ``statements`` on the SQLite file at ``path`` and commit."""
    with closing(sqlite3.connect(path)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


# -- 1. the server stops mid-read ----------------------------------------------------

LOST = "Lost the connection while reading the schema: "


@pytest.mark.parametrize("statement", [1, 2, 3, 4, 5, 6])
def test_pg_backend_terminated_mid_read_fails_cleanly(
    pg_source: str, secret: str, statement: int, log_dir: Path, sightings: Sightings
) -> None:
    # PostgreSQL's read is the connection's current schema, then five
    # catalogue statements in a savepoint; ending the backend after the
    # last still fails the RELEASE of the savepoint.
    db = pg_row(pg_source, secret)
    before = harvest_annotated(db)
    kill = after_statements(carries(secret), number(statement), terminate_pg_backend)
    with kill as seen:
        harvest(db)
    assert len(seen) == statement
    assert sightings.errors
    assert_failed(
        db,
        before,
        re.escape(LOST)
        + "AdminShutdown: terminating connection due to administrator command",
    )
    assert_no_secret(db, secret, log_dir, sightings)
    assert_recovers(db, before)


@pytest.mark.parametrize("statement", [1, 2, 3, 4, 5, 6])
def test_maria_thread_killed_mid_read_fails_cleanly(
    maria_source: MariaSource,
    secret: str,
    statement: int,
    log_dir: Path,
    sightings: Sightings,
) -> None:
    db = maria_row(maria_source, secret)
    before = harvest_annotated(db)
    kill = after_statements(carries(secret), number(statement), kill_maria_thread)
    with kill as seen:
        harvest(db)
    assert len(seen) == statement
    assert sightings.errors
    assert_failed(
        db,
        before,
        re.escape(LOST)
        + r"OperationalError: \((2013, 'Lost connection to MySQL server during "
        r"query'|2006, \"MySQL server has gone away .*\")\)",
    )
    assert_no_secret(db, secret, log_dir, sightings)
    assert_recovers(db, before)


def test_maria_thread_killed_after_the_last_read_completes(
    maria_source: MariaSource, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    # Honest outcome COMPLETED: every answer was in hand; only the closing
    # rollback of the read-only transaction meets the dead connection.
    db = maria_row(maria_source, secret)
    before = harvest_annotated(db)
    with after_statements(carries(secret), lambda n, s: False, lambda c: None) as seen:
        harvest(db)
    last = len(seen)
    kill = after_statements(carries(secret), number(last), kill_maria_thread)
    with kill as seen:
        harvest(db)
    assert len(seen) == last
    assert "Closing the connection to mariadb://" in sightings.caplog.text
    report = assert_completed(db)
    assert report["tables"] == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 3,
    }
    assert_unchanged(db, before)
    assert_no_secret(db, secret, log_dir, sightings)
    assert_recovers(db, before)


# -- 2. the schema changes mid-read ----------------------------------------------------


def assert_orders_gone_on_the_next_run(db: SqlDb) -> None:
    """The next run removes ``orders`` (its columns and key) and nothing else."""
    report = assert_completed(harvest(db))
    assert report["tables"]["deleted"] == 1
    assert report["columns"]["deleted"] == 3
    assert report["relationships"]["deleted"] == 1
    assert table_names(db) == ["customers", "notes"]
    assert_annotations_kept(db)


@pytest.mark.parametrize("statement", [1, 2, 3, 4, 5, 6])
def test_pg_table_dropped_mid_read_is_read_as_it_was(
    pg_source: str, secret: str, statement: int, log_dir: Path, sightings: Sightings
) -> None:
    # Honest outcome COMPLETED: the read runs in one REPEATABLE READ
    # snapshot, so it sees the schema as it was when the read began, whole.
    db = pg_row(pg_source, secret)
    before = harvest_annotated(db)
    drop = after_statements(
        carries(secret), number(statement), drop_table(pg_source, "orders")
    )
    with drop as seen:
        harvest(db)
    assert len(seen) == 6
    report = assert_completed(db)
    assert report["failed_tables"] == []
    assert_unchanged(db, before)
    assert_no_secret(db, secret, log_dir, sightings)
    assert_orders_gone_on_the_next_run(db)


# After each statement of the read but the first (the current database)
# and the closing listing of the tables.
@pytest.mark.parametrize("statement", [2, 3, 4, 5])
def test_maria_table_dropped_mid_read_is_read_again(
    maria_source: MariaSource,
    secret: str,
    statement: int,
    log_dir: Path,
    sightings: Sightings,
) -> None:
    # Honest outcome COMPLETED: information_schema has no snapshot, so the
    # read lists the tables again at its end and, seeing the drop, reads the
    # schema anew; the run then finds ``orders`` gone.
    db = maria_row(maria_source, secret)
    harvest_annotated(db)
    drop = after_statements(
        carries(secret), number(statement), drop_table(maria_source.url, "orders")
    )
    with drop as seen:
        harvest(db)
    # the current database, read once, listed again, read once more, then
    # the privilege check
    assert len(seen) == 1 + 2 * 5
    report = assert_completed(db)
    assert report["failed_tables"] == []
    assert (report["tables"]["deleted"], report["columns"]["deleted"]) == (1, 3)
    assert report["relationships"]["deleted"] == 1
    assert table_names(db) == ["customers", "notes"]
    assert_annotations_kept(db)
    assert "changed while it was read" in sightings.caplog.text
    assert_no_secret(db, secret, log_dir, sightings)
    later = assert_completed(harvest(db))
    assert later["tables"] == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2}


def test_maria_schema_that_keeps_changing_fails_cleanly(
    maria_source: MariaSource, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    db = maria_row(maria_source, secret)
    before = harvest_annotated(db)
    created: list[str] = []

    def create_table(conn: Connection) -> None:
        created.append(f"extra_{len(created)}")
        schemas.run_ddl(maria_source.url, [f"CREATE TABLE {created[-1]} (id int)"])

    def each_column_read(n: int, statement: str) -> bool:
        return "information_schema.COLUMNS" in statement

    with after_statements(carries(secret), each_column_read, create_table):
        harvest(db)
    assert created == ["extra_0", "extra_1", "extra_2"]
    assert_failed(
        db,
        before,
        re.escape(
            f"The tables of schema '{maria_source.name}' kept changing while they "
            "were read (3 attempts); nothing was changed. Run again when the schema "
            "is stable."
        ),
    )
    assert_no_secret(db, secret, log_dir, sightings)
    report = assert_completed(harvest(db))
    assert report["tables"] == {
        "created": 3,
        "updated": 0,
        "deleted": 0,
        "unchanged": 3,
    }
    assert_annotations_kept(db)


@pytest.mark.parametrize("statement", [2, 3, 4, 5])
def test_sqlite_drop_waits_for_the_read(
    sqlite_source: Path,
    secret: str,
    statement: int,
    log_dir: Path,
    sightings: Sightings,
) -> None:
    # Honest outcome COMPLETED: the read holds one read transaction, so a
    # writer cannot drop a table until it ends (statement 1 is the probe
    # that opens the file, before the read begins).
    db = sqlite_row(sqlite_source, secret)
    before = harvest_annotated(db)
    refused: list[str] = []

    def try_drop(conn: Connection) -> None:
        with closing(sqlite3.connect(sqlite_source, timeout=0.1)) as other:
            try:
                other.execute("DROP TABLE orders")
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))

    reader = reads_file(sqlite_source)
    with after_statements(reader, number(statement), try_drop) as seen:
        harvest(db)
    assert len(seen) == 5  # no views: their columns are not queried
    assert refused == ["database is locked"]
    report = assert_completed(db)
    assert report["failed_tables"] == []
    assert_unchanged(db, before)
    assert_no_secret(db, secret, log_dir, sightings)
    on_sqlite(sqlite_source, "DROP TABLE orders")
    assert_orders_gone_on_the_next_run(db)


# -- 3. no rights to the catalogue ---------------------------------------------------------


@pytest.fixture
def pg_role(secret: str) -> Iterator[str]:
    """A login role of its own (trust authentication; the password is set anyway)."""
    require_postgres()
    role = f"thoth_reader_{uuid.uuid4().hex[:8]}"
    schemas.run_ddl(PG_URL, [f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'"])
    try:
        yield role
    finally:
        schemas.run_ddl(PG_URL, [f"DROP ROLE IF EXISTS {role}"])


@pytest.mark.parametrize(
    ("revoke", "grant", "message"),
    [
        pytest.param(
            "REVOKE SELECT ON pg_catalog.pg_class FROM PUBLIC",
            "GRANT SELECT ON pg_catalog.pg_class TO PUBLIC",
            re.escape(
                "Cannot read the schema: InsufficientPrivilege: permission denied "
                "for table pg_class"
            ),
            id="no-pg_class",
        ),
        pytest.param(
            "REVOKE CONNECT ON DATABASE {db} FROM PUBLIC",
            "GRANT CONNECT ON DATABASE {db} TO PUBLIC",
            re.escape(
                "Cannot connect to postgresql://127.0.0.1:5432/{db}: connection "
                'failed: connection to server at "127.0.0.1", port 5432 failed: '
                'FATAL:  permission denied for database "{db}"'
            ),
            id="no-connect",
        ),
    ],
)
def test_pg_role_without_rights_fails_cleanly(
    pg_source: str,
    pg_role: str,
    secret: str,
    revoke: str,
    grant: str,
    message: str,
    log_dir: Path,
    sightings: Sightings,
) -> None:
    # pg_class is per database: the REVOKE touches only the throwaway one.
    name = schemas.database_name(pg_source)
    db = pg_row(pg_source, secret, user=pg_role)
    before = harvest_annotated(db)
    schemas.run_ddl(pg_source, [revoke.format(db=name)])
    harvest(db)
    assert_failed(db, before, message.replace(re.escape("{db}"), name))
    assert_no_secret(db, secret, log_dir, sightings)
    schemas.run_ddl(pg_source, [grant.format(db=name)])
    assert_recovers(db, before)


def test_maria_user_without_rights_fails_cleanly(
    maria_source: MariaSource, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    db = maria_row(maria_source, secret)
    before = harvest_annotated(db)
    on = f"`{maria_source.name}`.*"
    user = f"'{maria_source.user}'@'%'"
    schemas.run_ddl(MARIADB_URL, [f"REVOKE ALL PRIVILEGES ON {on} FROM {user}"])
    harvest(db)
    assert_failed(
        db,
        before,
        re.escape(
            f"Cannot connect to mariadb://127.0.0.1:3306/{maria_source.name}: "
            f'(1044, "Access denied for user {user} to database '
            f"'{maria_source.name}'\")"
        ),
    )
    assert_no_secret(db, secret, log_dir, sightings)
    schemas.run_ddl(MARIADB_URL, [f"GRANT SELECT, SHOW VIEW ON {on} TO {user}"])
    assert_recovers(db, before)


def test_maria_user_losing_one_table_keeps_it_in_the_catalogue(
    maria_source: MariaSource, secret: str, log_dir: Path
) -> None:
    db = maria_row(maria_source, secret)
    before = harvest_annotated(db)
    user = f"'{maria_source.user}'@'%'"
    schemas.run_ddl(
        MARIADB_URL,
        [
            f"REVOKE ALL PRIVILEGES ON `{maria_source.name}`.* FROM {user}",
            f"GRANT SELECT ON `{maria_source.name}`.customers TO {user}",
            f"GRANT SELECT ON `{maria_source.name}`.orders TO {user}",
        ],
    )
    harvest(db)
    # The user may no longer see every table: what is missing may be hidden,
    # so nothing is deleted, and the report says so.
    assert catalogue(db) == before
    db.refresh_from_db()
    assert db.db_elements_status == TaskStatus.COMPLETED
    assert db.db_elements_report["deletions_skipped"] is True


# -- 4. text that is not UTF-8, and megabytes of it ------------------------------------------


def pg_libpq_url(database: str) -> str:
    """A libpq URL of ``database`` on the test server, for psycopg itself."""
    url = make_url(PG_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_sql_ascii() -> Iterator[str]:
    """A fresh SQL_ASCII database holding the shop (created with psycopg itself)."""
    require_postgres()
    name = f"thoth_quirk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_libpq_url("postgres"), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' "
            "LC_CTYPE 'C' TEMPLATE template0"
        )
    try:
        on_pg_sql_ascii(name, *SHOP_DDL)
        yield name
    finally:
        schemas.drop_pg_database(name)


def on_pg_sql_ascii(name: str, *statements: str) -> None:
    """Run ``statements`` in database ``name`` with psycopg, autocommitting."""
    with psycopg.connect(pg_libpq_url(name), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode("ascii"))


def test_pg_sql_ascii_bytes_that_are_not_utf8_fail_cleanly(
    pg_sql_ascii: str, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    # An ASCII-only SQL_ASCII database harvests like any other.
    url = make_url(PG_URL).set(database=pg_sql_ascii)
    db = pg_row(url.render_as_string(hide_password=False), secret)
    before = harvest_annotated(db)
    # Bytes 0xe9 and 0xff, valid in SQL_ASCII, are no UTF-8: in a column
    # name and in a comment.
    on_pg_sql_ascii(
        pg_sql_ascii,
        r"COMMENT ON COLUMN notes.body IS E'caf\xe9 \xff'",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE notes ADD COLUMN ' "
        r"|| quote_ident(E'caf\xe9') || ' integer'; END $$",
    )
    harvest(db)
    assert_failed(
        db,
        before,
        # The server names the bytes of whichever value it met first.
        re.escape(
            "Cannot read the schema: CharacterNotInRepertoire: invalid byte "
            'sequence for encoding "UTF8": 0xe9'
        )
        + "( 0x[0-9a-f]{2})*",
    )
    assert_no_secret(db, secret, log_dir, sightings)
    on_pg_sql_ascii(
        pg_sql_ascii,
        "COMMENT ON COLUMN notes.body IS NULL",
        r"DO $$ BEGIN EXECUTE 'ALTER TABLE notes DROP COLUMN ' "
        r"|| quote_ident(E'caf\xe9'); END $$",
    )
    assert_recovers(db, before)


def test_pg_megabyte_comments_are_stored_whole(
    pg_source: str, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    # Honest outcome COMPLETED: a comment fills an empty description,
    # however long, and nothing else changes.
    db = pg_row(pg_source, secret)
    before = harvest_annotated(db)
    table_comment, column_comment = "t" * 1_000_000, "c" * 1_000_000
    schemas.run_ddl(
        pg_source,
        [
            f"COMMENT ON TABLE notes IS '{table_comment}'",
            f"COMMENT ON COLUMN notes.body IS '{column_comment}'",
        ],
    )
    report = assert_completed(harvest(db))
    assert (report["tables"]["updated"], report["columns"]["updated"]) == (1, 1)
    notes = SqlTable.objects.get(sql_db=db, name="notes")
    assert notes.description == table_comment
    body = SqlColumn.objects.get(sql_table=notes, original_column_name="body")
    assert body.column_description == column_comment
    SqlTable.objects.filter(pk=notes.pk).update(description="")
    SqlColumn.objects.filter(pk=body.pk).update(column_description="")
    assert_unchanged(db, before)
    assert_no_secret(db, secret, log_dir, sightings)


def test_sqlite_megabyte_table_name_is_reported_not_truncated(
    sqlite_source: Path, secret: str, log_dir: Path, sightings: Sightings
) -> None:
    # Honest outcome COMPLETED: the catalogue cannot hold the name, so the
    # table is reported among the failures and nothing else changes.
    db = sqlite_row(sqlite_source, secret)
    before = harvest_annotated(db)
    long_name = "n" * 1_000_000
    on_sqlite(sqlite_source, f'CREATE TABLE "{long_name}" (id integer)')
    report = assert_completed(harvest(db))
    assert report["failed_tables"] == [
        {
            "name": "n" * 200,
            "error": "A table or column name is longer than the catalogue can "
            "store (255/255 characters)",
        }
    ]
    assert_unchanged(db, before)
    assert len(run_log(db, log_dir)) < 10_000
    assert_no_secret(db, secret, log_dir, sightings)
    on_sqlite(sqlite_source, f'DROP TABLE "{long_name}"')
    assert_recovers(db, before)
