"""Fast paths: a whole schema in a few catalogue queries, per dialect.

SQLAlchemy's Inspector reads SQLite and MySQL/MariaDB one table at a time
and spends most of its time in Python; these paths read the same facts with
a small, constant number of catalogue queries (five or six, whatever the
number of tables) and shape them exactly as the Inspector does, so the
reader builds the same ``SchemaSnapshot`` from either:

* PostgreSQL: ``pg_catalog`` (``fast.postgresql``).
* MariaDB, through the ``mariadb`` or ``mysql`` dialect:
  ``information_schema`` (``fast.mysql``). A MySQL server is read with the
  Inspector: the path reproduces MariaDB's spelling of ``SHOW CREATE
  TABLE``, which MySQL does not share.
* SQLite: ``sqlite_master`` joined to the ``pragma_*`` table functions
  (``fast.sqlite``).

Names are always bound as parameters (SQLite's schema name, which cannot
be, is quoted by SQLAlchemy). No Django here.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from . import mysql, postgresql, sqlite
from .base import FastRead

__all__ = ["FastRead", "read_fast", "supports"]

logger = logging.getLogger(__name__)

#: Dialect names (SQLAlchemy's) with a fast path.
DIALECTS = ("postgresql", "mariadb", "mysql", "sqlite")


def supports(connection: Connection) -> bool:
    """Whether ``connection``'s database has a fast path."""
    dialect = connection.dialect
    if dialect.name in ("mysql", "mariadb"):
        version = dialect.server_version_info or (0,)
        return bool(getattr(dialect, "is_mariadb", False)) and (
            tuple(version) >= mysql.MINIMUM_VERSION
        )
    return dialect.name in DIALECTS


def read_fast(connection: Connection, schema: str, include_views: bool) -> FastRead:
    """Read ``schema`` (which exists) with ``connection``'s fast path.

    Raises ``ValueError`` when the database has none (see ``supports``);
    database errors propagate as SQLAlchemy exceptions.
    """
    if not supports(connection):
        raise ValueError(f"No fast path for {connection.dialect.name}")
    name = connection.dialect.name
    logger.debug("Reading %s schema %r with the fast path", name, schema)
    if name == "postgresql":
        return postgresql.read(connection, schema, include_views)
    if name == "sqlite":
        return sqlite.read(connection, schema, include_views)
    return mysql.read(connection, schema, include_views)
