"""Quirk schemas on real SQLite, PostgreSQL and MariaDB, for any test to reuse.

A quirk schema holds the shapes that break naive introspection: composite and
self-referencing foreign keys, a table without a primary key, a view,
reserved words (``order``, ``select``, ``group``), names with spaces, quotes,
Unicode and mixed case, names of the maximum length, comments and exotic
types. ``tests/test_introspection.py`` spells out what reading each one must
return.

Fresh databases (random names, dropped afterwards)::

    url = create_pg_database()          # empty; returns a SQLAlchemy URL
    apply_pg_quirks(url)                # QUIRK_DDL_POSTGRESQL
    ...
    drop_pg_database(url)               # the URL or the bare name

or, as a fixture body, ``with pg_quirk_database() as url: yield url``; the
same for MariaDB (``create_mariadb_database`` ...). SQLite needs only a path:
``create_sqlite_quirk(tmp_path / "quirk.sqlite")`` returns the URL.

Callers check the server first (``tests.services.require_postgres()``), so a
laptop without one skips instead of failing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.services import MARIADB_URL, PG_URL

__all__ = [
    "LONG_MARIADB_COLUMN",
    "LONG_MARIADB_TABLE",
    "LONG_PG_COLUMN",
    "LONG_PG_TABLE",
    "MARIADB_URL",
    "PG_AUDIT_SCHEMA",
    "PG_OTHER_SCHEMA",
    "PG_URL",
    "QUIRK_DDL_MARIADB",
    "QUIRK_DDL_POSTGRESQL",
    "QUIRK_DDL_SQLITE",
    "apply_mariadb_quirks",
    "apply_pg_quirks",
    "create_mariadb_database",
    "create_pg_database",
    "create_sqlite_quirk",
    "database_name",
    "drop_mariadb_database",
    "drop_pg_database",
    "mariadb_database",
    "mariadb_quirk_database",
    "pg_database",
    "pg_quirk_database",
    "run_ddl",
]

logger = logging.getLogger(__name__)

#: PostgreSQL truncates identifiers beyond 63 bytes; these use all 63.
LONG_PG_TABLE = "long_table_" + "t" * 52
LONG_PG_COLUMN = "long_column_" + "c" * 51
#: MariaDB allows 64 characters for table and column names.
LONG_MARIADB_TABLE = "long_table_" + "t" * 53
LONG_MARIADB_COLUMN = "long_column_" + "c" * 52

#: PostgreSQL schemas besides ``public`` (cross-schema foreign keys).
PG_OTHER_SCHEMA = "ledger"
PG_AUDIT_SCHEMA = 'Audit "Trail"'

QUIRK_DDL_POSTGRESQL: tuple[str, ...] = (
    "CREATE SCHEMA ledger",
    'CREATE SCHEMA "Audit ""Trail"""',
    "CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s complicated')",
    "CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0)",
    "CREATE DOMAIN small_positive AS positive_int CHECK (VALUE < 100)",
    "CREATE DOMAIN mood_domain AS mood",
    "CREATE DOMAIN price AS numeric(12, 2)",
    "CREATE TABLE ledger.accounts (id integer PRIMARY KEY, code char(4) UNIQUE)",
    """CREATE TABLE users (
        id bigint PRIMARY KEY,
        manager_id bigint REFERENCES users (id),
        email text NOT NULL UNIQUE,
        account_id integer CONSTRAINT users_account REFERENCES ledger.accounts (id)
    )""",
    "COMMENT ON TABLE users IS 'People who log in'",
    "COMMENT ON COLUMN users.email IS 'Login address'",
    "COMMENT ON COLUMN users.manager_id IS ''",
    'CREATE TABLE "Users" (id serial PRIMARY KEY, "Full Name" varchar(100) NOT NULL)',
    """CREATE TABLE "order" (
        id integer,
        region char(2),
        "select" positive_int,
        quantity small_positive,
        total numeric(10, 2) DEFAULT 0,
        unit_price price,
        placed timestamp(6) with time zone NOT NULL DEFAULT now(),
        location point,
        doc xml,
        feeling mood,
        second_feeling mood_domain,
        tags text[],
        scores integer[],
        starts time with time zone,
        "is paid" boolean,
        ratio real,
        amount double precision,
        span interval,
        token uuid,
        PRIMARY KEY (region, id)
    )""",
    """CREATE TABLE "group" (
        "order region" char(2),
        "order id" integer,
        note text,
        CONSTRAINT group_order FOREIGN KEY ("order region", "order id")
            REFERENCES "order" (region, id)
    )""",
    'CREATE TABLE "naïve ""quoted"" \'table\'" '
    '("ünïcode" varchar(10), "it\'s" boolean, "say ""hi""" text)',
    f"CREATE TABLE {LONG_PG_TABLE} ({LONG_PG_COLUMN} integer PRIMARY KEY)",
    f"COMMENT ON COLUMN {LONG_PG_TABLE}.{LONG_PG_COLUMN} IS 'Longest name allowed'",
    "CREATE VIEW active_users AS SELECT id, email FROM users",
    "COMMENT ON VIEW active_users IS 'Users who can log in'",
    """CREATE TABLE measurements (id integer, taken date NOT NULL, value float8)
        PARTITION BY RANGE (taken)""",
    """CREATE TABLE measurements_2025 PARTITION OF measurements
        FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')""",
    """CREATE TABLE measurements_2026 PARTITION OF measurements
        FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')""",
    """CREATE TABLE ledger.entries (
        id integer PRIMARY KEY,
        user_id bigint CONSTRAINT entries_user REFERENCES public.users (id),
        account_id integer CONSTRAINT entries_account REFERENCES ledger.accounts (id)
    )""",
    'CREATE TABLE "Audit ""Trail""".events ('
    " id integer PRIMARY KEY,"
    " user_id bigint CONSTRAINT events_user REFERENCES public.users (id),"
    " entry_id integer CONSTRAINT events_entry REFERENCES ledger.entries (id))",
)

QUIRK_DDL_MARIADB: tuple[str, ...] = (
    """CREATE TABLE customers (
        id int(11) NOT NULL AUTO_INCREMENT PRIMARY KEY,
        active tinyint(1) NOT NULL DEFAULT 1,
        level mediumint,
        score double,
        balance decimal(10,2) DEFAULT 0.00,
        created datetime,
        bio text,
        kind enum('a','b','it''s'),
        tags set('x','y'),
        email varchar(200) NOT NULL COMMENT 'Login address',
        email_lower varchar(200) AS (lower(email)) VIRTUAL,
        referrer_id int(11),
        UNIQUE KEY uq_email (email),
        CONSTRAINT fk_referrer FOREIGN KEY (referrer_id) REFERENCES customers (id)
    ) COMMENT='People who buy'""",
    """CREATE TABLE `order` (
        id int NOT NULL,
        region char(2) NOT NULL,
        customer_id int(11),
        PRIMARY KEY (region, id),
        CONSTRAINT fk_order_customer FOREIGN KEY (customer_id)
            REFERENCES customers (id)
    )""",
    """CREATE TABLE `group` (
        `order region` char(2),
        `order id` int,
        note varchar(20),
        CONSTRAINT fk_group_order FOREIGN KEY (`order region`, `order id`)
            REFERENCES `order` (region, id)
    )""",
    """CREATE TABLE `select` (
        `a b` tinyint,
        `MixedCase` float,
        `Real` real,
        `when` time(3),
        ts timestamp NULL,
        y year,
        bits bit(8),
        big bigint unsigned,
        doc json
    )""",
    """CREATE TABLE `naïve "quoted" 'table'` (
        `ünïcode` varchar(10),
        `it's` bit(1),
        `say "hi"` text
    )""",
    f"""CREATE TABLE {LONG_MARIADB_TABLE} (
        {LONG_MARIADB_COLUMN} bigint unsigned PRIMARY KEY COMMENT 'Longest name allowed',
        d date
    )""",
    """CREATE VIEW active_customers AS
        SELECT id, email FROM customers WHERE active = 1""",
)

QUIRK_DDL_SQLITE: tuple[str, ...] = (
    """CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        referrer_id INTEGER REFERENCES customers (id),
        joined DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        balance DECIMAL(10, 2) DEFAULT 0,
        visits INTEGER(11),
        flag TINYINT,
        nick NVARCHAR(30) UNIQUE,
        ratio DOUBLE,
        score REAL,
        born DATE,
        wakes TIME,
        active BOOLEAN,
        code CHAR(3),
        photo BLOB,
        odd FLOATING POINT,
        anything
    )""",
    """CREATE TABLE "order" (
        id INTEGER NOT NULL,
        region CHAR(2) NOT NULL,
        customer_id INTEGER,
        PRIMARY KEY (region, id),
        CONSTRAINT order_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
    )""",
    """CREATE TABLE "group" (
        "order region" CHAR(2),
        "order id" INTEGER,
        FOREIGN KEY ("order region", "order id") REFERENCES "order" (region, id)
    )""",
    """CREATE TABLE "select" (
        "a b" TEXT,
        "MixedCase" BOOLEAN,
        "naïve ""q"" 'col'" DATE,
        customer INTEGER CONSTRAINT select_customer REFERENCES customers (id)
    )""",
    """CREATE VIEW big_customers AS
        SELECT id, balance FROM customers WHERE balance > 100""",
)


def database_name(url_or_name: str) -> str:
    """The database named by a SQLAlchemy URL, or ``url_or_name`` itself."""
    if "://" not in url_or_name:
        return url_or_name
    name = make_url(url_or_name).database
    if not name:
        raise ValueError("The URL names no database")
    return name


def _server_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _on_server(url: str, statement: str, name: str) -> None:
    """Run ``statement`` with ``{name}`` replaced by the quoted database name."""
    engine = _server_engine(url)
    try:
        with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote_identifier(name)
            connection.exec_driver_sql(statement.format(name=quoted))
    finally:
        engine.dispose()


def _fresh_name() -> str:
    return f"thoth_quirk_{uuid.uuid4().hex[:12]}"


def _url_for(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def create_pg_database(server_url: str = PG_URL) -> str:
    """Create an empty PostgreSQL database with a fresh name; return its URL."""
    name = _fresh_name()
    _on_server(server_url, "CREATE DATABASE {name}", name)
    logger.debug("Created PostgreSQL database %s", name)
    return _url_for(server_url, name)


def drop_pg_database(url_or_name: str, server_url: str = PG_URL) -> None:
    """Drop a database made by ``create_pg_database`` (closing its sessions)."""
    name = database_name(url_or_name)
    _on_server(server_url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", name)
    logger.debug("Dropped PostgreSQL database %s", name)


def create_mariadb_database(server_url: str = MARIADB_URL) -> str:
    """Create an empty MariaDB database (utf8mb4) with a fresh name; return its URL."""
    name = _fresh_name()
    _on_server(server_url, "CREATE DATABASE {name} CHARACTER SET utf8mb4", name)
    logger.debug("Created MariaDB database %s", name)
    return _url_for(server_url, name)


def drop_mariadb_database(url_or_name: str, server_url: str = MARIADB_URL) -> None:
    """Drop a database made by ``create_mariadb_database``."""
    name = database_name(url_or_name)
    _on_server(server_url, "DROP DATABASE IF EXISTS {name}", name)
    logger.debug("Dropped MariaDB database %s", name)


def run_ddl(url: str, statements: Iterable[str]) -> None:
    """Execute ``statements`` on ``url`` in one transaction, as written.

    Statements are not parameterised, so they may contain ``%`` and
    ``:name`` freely.
    """
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(_escaped(connection, statement))
    finally:
        engine.dispose()


def _escaped(connection: sa.Connection, statement: str) -> str:
    # SQLAlchemy hands format/pyformat drivers (psycopg, PyMySQL) an empty
    # parameter tuple, so they read a literal % as a placeholder.
    if connection.dialect.paramstyle in ("format", "pyformat"):
        return statement.replace("%", "%%")
    return statement


def apply_pg_quirks(url: str) -> None:
    """Create the PostgreSQL quirk schema (``QUIRK_DDL_POSTGRESQL``) in ``url``."""
    run_ddl(url, QUIRK_DDL_POSTGRESQL)


def apply_mariadb_quirks(url: str) -> None:
    """Create the MariaDB quirk schema (``QUIRK_DDL_MARIADB``) in ``url``."""
    run_ddl(url, QUIRK_DDL_MARIADB)


def create_sqlite_quirk(path: Path) -> str:
    """Write the SQLite quirk schema to a new file at ``path``; return its URL."""
    with closing(sqlite3.connect(path)) as connection:
        with connection:
            for statement in QUIRK_DDL_SQLITE:
                connection.execute(statement)
    return f"sqlite:///{path}"


@contextmanager
def pg_database(ddl: Iterable[str] = (), server_url: str = PG_URL) -> Iterator[str]:
    """A fresh PostgreSQL database where ``ddl`` ran; dropped afterwards."""
    url = create_pg_database(server_url)
    try:
        run_ddl(url, ddl)
        yield url
    finally:
        drop_pg_database(url, server_url)


@contextmanager
def mariadb_database(
    ddl: Iterable[str] = (), server_url: str = MARIADB_URL
) -> Iterator[str]:
    """A fresh MariaDB database where ``ddl`` ran; dropped afterwards."""
    url = create_mariadb_database(server_url)
    try:
        run_ddl(url, ddl)
        yield url
    finally:
        drop_mariadb_database(url, server_url)


def pg_quirk_database(server_url: str = PG_URL) -> AbstractContextManager[str]:
    """A fresh PostgreSQL database holding the quirk schema, dropped afterwards."""
    return pg_database(QUIRK_DDL_POSTGRESQL, server_url)


def mariadb_quirk_database(
    server_url: str = MARIADB_URL,
) -> AbstractContextManager[str]:
    """A fresh MariaDB database holding the quirk schema, dropped afterwards."""
    return mariadb_database(QUIRK_DDL_MARIADB, server_url)


def next_second() -> None:
    """Wait for the next second. MariaDB's table times count whole seconds:
    a read beginning in the second a table was created or altered is made
    twice to be sure, so a test counting a read's statements starts after."""
    time.sleep(1 - time.time() % 1 + 0.01)
