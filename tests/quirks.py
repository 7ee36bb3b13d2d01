"""Quirk schemas on real servers: fresh databases with awkward shapes.

``fresh_pg_database()`` / ``fresh_mariadb_database()`` create an empty
database with a random name and return its name and SQLAlchemy URL;
``drop_*`` remove it. ``PG_QUIRKS``, ``MARIADB_QUIRKS`` and
``SQLITE_QUIRKS`` are the DDL the harvest tests read back.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.services import MARIADB_URL, PG_URL

__all__ = ["MARIADB_URL", "PG_URL"]

LONG_PG = "long_" + "x" * 58  # 63 characters, PostgreSQL's limit
LONG_MARIADB = "long_" + "y" * 59  # 64 characters, MariaDB's limit

PG_QUIRKS = f"""
CREATE SCHEMA other;
CREATE TABLE other.archive (id integer PRIMARY KEY);
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE "Users" (id serial PRIMARY KEY, "Full Name" varchar(100) NOT NULL);
CREATE TABLE users (
    id bigint PRIMARY KEY,
    manager_id bigint REFERENCES users (id),
    email text UNIQUE
);
COMMENT ON TABLE users IS 'People who log in';
CREATE TABLE other.audit (user_id bigint REFERENCES public.users (id), note text);
COMMENT ON COLUMN users.email IS 'Login address';
CREATE TABLE "order" (
    id integer NOT NULL,
    region char(2) NOT NULL,
    "select" positive_int,
    total numeric(10, 2),
    placed timestamp(6) with time zone,
    location point,
    doc xml,
    feeling mood,
    tags text[],
    archive_id integer REFERENCES other.archive (id),
    PRIMARY KEY (id, region)
);
CREATE TABLE "group" (
    "order id" integer,
    "order region" char(2),
    note text,
    FOREIGN KEY ("order id", "order region") REFERENCES "order" (id, region)
);
CREATE TABLE "naïve ""quoted"" table" ("ünïcode" varchar(10), "it's" boolean);
CREATE TABLE {LONG_PG} (id integer PRIMARY KEY, "Weight" real, seen time);
CREATE VIEW active_users AS SELECT id, email FROM users;
CREATE TABLE measurements (id integer, taken date NOT NULL, value double precision)
    PARTITION BY RANGE (taken);
CREATE TABLE measurements_2025 PARTITION OF measurements
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measurements_2026 PARTITION OF measurements
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
"""

MARIADB_QUIRKS = [
    """CREATE TABLE customers (
        id int(11) NOT NULL AUTO_INCREMENT PRIMARY KEY,
        active tinyint(1) NOT NULL DEFAULT 1,
        level mediumint,
        score double,
        balance decimal(10,2),
        created datetime,
        bio text,
        kind enum('a','b'),
        tags set('x','y'),
        email varchar(200) COMMENT 'Login address',
        email_lower varchar(200) AS (lower(email)) VIRTUAL,
        referrer_id int(11),
        UNIQUE KEY uq_email (email),
        FOREIGN KEY (referrer_id) REFERENCES customers (id)
    ) COMMENT='People who buy'""",
    """CREATE TABLE `order` (
        id int NOT NULL,
        region char(2) NOT NULL,
        customer_id int(11),
        PRIMARY KEY (id, region),
        FOREIGN KEY (customer_id) REFERENCES customers (id)
    )""",
    """CREATE TABLE `group` (
        `order id` int,
        `order region` char(2),
        FOREIGN KEY (`order id`, `order region`) REFERENCES `order` (id, region)
    )""",
    "CREATE TABLE `select` (`a b` tinyint, `MixedCase` float, `Real` real)",
    'CREATE TABLE `naïve "quoted" table` (`ünïcode` varchar(10), `it\'s` bit(1))',
    f"CREATE TABLE {LONG_MARIADB} (id bigint unsigned PRIMARY KEY, d date, t time, y year)",
    "CREATE VIEW active_customers AS SELECT id, email FROM customers",
]

SQLITE_QUIRKS = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    referrer_id INTEGER REFERENCES customers (id),
    joined DATETIME,
    balance DECIMAL(10, 2),
    visits INTEGER(11),
    flag TINYINT,
    nick NVARCHAR(30),
    ratio DOUBLE,
    score REAL,
    anything
);
CREATE TABLE "order" (
    id INTEGER NOT NULL,
    region CHAR(2) NOT NULL,
    customer_id INTEGER REFERENCES customers (id),
    PRIMARY KEY (id, region)
);
CREATE TABLE "group" (
    "order id" INTEGER,
    "order region" CHAR(2),
    FOREIGN KEY ("order id", "order region") REFERENCES "order" (id, region)
);
CREATE TABLE "select" ("a b" TEXT, "MixedCase" BOOLEAN, "naïve ""q"" col" DATE);
CREATE VIEW big_customers AS SELECT id FROM customers WHERE balance > 100;
"""


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def fresh_pg_database() -> tuple[str, str]:
    """Create an empty PostgreSQL database; return (name, SQLAlchemy URL)."""
    name = f"thoth_src_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine(PG_URL)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    url = make_url(PG_URL).set(database=name)
    return name, url.render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    engine = _admin_engine(PG_URL)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def fresh_mariadb_database() -> tuple[str, str]:
    """Create an empty MariaDB database; return (name, SQLAlchemy URL)."""
    name = f"thoth_src_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine(MARIADB_URL)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine.dispose()
    url = make_url(MARIADB_URL).set(database=name)
    return name, url.render_as_string(hide_password=False)


def drop_mariadb_database(name: str) -> None:
    engine = _admin_engine(MARIADB_URL)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    engine.dispose()


def run_script(url: str, statements: str | list[str]) -> None:
    """Execute DDL on ``url`` (a string script for PostgreSQL, a list otherwise)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        if isinstance(statements, str):
            conn.exec_driver_sql(statements)
        else:
            for statement in statements:
                conn.exec_driver_sql(statement.replace("%", "%%"))
    engine.dispose()


def sqlite_quirks(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_QUIRKS)
    conn.close()
    return path
