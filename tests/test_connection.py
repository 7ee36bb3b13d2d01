"""URL building and connection errors, against the real servers here."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from django.test import override_settings
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.services import MARIADB_URL, PG_URL, require_mariadb, require_postgres
from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.connection import build_url, describe, get_url, source_connection
from thoth_db_elements.exceptions import (
    ConfigurationError,
    ConnectionFailedError,
    UnsupportedDatabaseError,
)

pytestmark = pytest.mark.source_only

PASSWORD = "p@ss:w/o%rd"


def row(**fields: Any) -> SimpleNamespace:
    defaults = {
        "db_type": "PostgreSQL",
        "db_host": "db.example",
        "db_port": 5432,
        "db_name": "sales",
        "schema": "",
        "user_name": "reader",
        "password": PASSWORD,
        "db_mode": "dev",
    }
    defaults.update(fields)
    return SimpleNamespace(**defaults)


@pytest.mark.parametrize(
    ("db_type", "driver"),
    [
        ("PostgreSQL", "postgresql+psycopg"),
        ("MariaDB", "mariadb+pymysql"),
        ("MySQL", "mysql+pymysql"),
        ("SQLServer", "mssql+pyodbc"),
        ("Oracle", "oracle+oracledb"),
    ],
)
def test_server_urls_keep_awkward_passwords(db_type: str, driver: str) -> None:
    url = build_url(row(db_type=db_type))
    assert url.drivername == driver
    assert (url.host, url.port, url.database, url.username) == (
        "db.example",
        5432,
        "sales",
        "reader",
    )
    rendered = url.render_as_string(hide_password=False)
    assert make_url(rendered).password == PASSWORD
    assert PASSWORD not in describe(url)
    assert describe(url) == f"{url.get_backend_name()}://db.example:5432/sales"


def test_driver_override() -> None:
    with override_settings(THOTH_DB_ELEMENTS_DRIVERS={"MariaDB": "mariadb+mysqldb"}):
        assert build_url(row(db_type="MariaDB")).drivername == "mariadb+mysqldb"


@pytest.mark.parametrize("db_type", ["Informix", "DB2", "Snowflake"])
def test_unsupported_types_ask_for_a_url_hook(db_type: str) -> None:
    with pytest.raises(UnsupportedDatabaseError, match="configure a URL hook") as info:
        build_url(row(db_type=db_type))
    # The way out for a type SQLAlchemy knows, and the names that work.
    assert "THOTH_DB_ELEMENTS_DRIVERS" in str(info.value)
    assert "mariadb, mssql, mysql, oracle, postgres, postgresql" in str(info.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"db_host": ""}, "no host"),
        ({"db_host": "   "}, "no host"),
        ({"db_port": "abc"}, "not a number"),
        ({"db_port": 70000}, "out of range"),
        ({"db_port": 0}, "out of range"),
        ({"db_name": ""}, "no db_name"),
        ({"db_type": ""}, "no db_type"),
    ],
)
def test_bad_rows_give_clear_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_url(row(**fields))


def test_sqlite_layout_and_absolute_paths(tmp_path: Path) -> None:
    layout = tmp_path / "test_databases" / "shop" / "shop.sqlite"
    layout.parent.mkdir(parents=True)
    sa.create_engine(f"sqlite:///{layout}").connect().close()
    with override_settings(THOTH_DB_ELEMENTS_SQLITE_ROOT=str(tmp_path)):
        url = build_url(row(db_type="SQLite", db_name="shop", db_mode="test"))
    assert url.database == f"file:{layout}?mode=ro"
    assert (
        build_url(row(db_type="SQLite", db_name=str(layout))).database
        == f"file:{layout}?mode=ro"
    )
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(ConnectionFailedError) as caught:
        build_url(row(db_type="SQLite", db_name=str(missing)))
    assert str(caught.value) == f"SQLite file {missing} does not exist."
    assert not missing.exists()
    with pytest.raises(ConnectionFailedError) as caught:
        build_url(row(db_type="SQLite", db_name=str(tmp_path)))
    assert str(caught.value) == (
        f"SQLite file {tmp_path} is a directory, not a database file."
    )


def test_a_missing_sqlite_file_where_the_working_directory_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker left running in a release directory a deploy removed.
    gone = tmp_path / "release"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with (
        override_settings(THOTH_DB_ELEMENTS_SQLITE_ROOT="data"),
        pytest.raises(ConnectionFailedError) as caught,
    ):
        build_url(row(db_type="SQLite", db_name="shop"))
    assert str(caught.value) == (
        "SQLite file data/dev_databases/shop/shop.sqlite does not exist in the "
        "working directory it is relative to, which is gone: give "
        "THOTH_DB_ELEMENTS_SQLITE_ROOT as an absolute path, or db_name as the "
        "file's absolute path."
    )


def test_a_sqlite_root_under_the_home_directory_is_expanded(tmp_path: Path) -> None:
    with override_settings(THOTH_DB_ELEMENTS_SQLITE_ROOT="~/thoth-data"):
        from thoth_db_elements.conf import app_settings

        assert Path.home() / "thoth-data" == app_settings.SQLITE_ROOT


def test_a_missing_sqlite_file_under_a_relative_root_names_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ThothAI's root is relative ("data"): a worker started in another
    # directory than the web process looks for the file there.
    monkeypatch.chdir(tmp_path)
    with (
        override_settings(THOTH_DB_ELEMENTS_SQLITE_ROOT="data"),
        pytest.raises(ConnectionFailedError) as caught,
    ):
        build_url(row(db_type="SQLite", db_name="shop"))
    assert str(caught.value) == (
        "SQLite file data/dev_databases/shop/shop.sqlite does not exist in "
        f"{tmp_path}, the working directory it is relative to: give "
        "THOTH_DB_ELEMENTS_SQLITE_ROOT as an absolute path, or db_name as the "
        "file's absolute path."
    )


def test_sqlite_connection_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite"
    with sa.create_engine(f"sqlite:///{path}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
    with source_connection(row(db_type="SQLite", db_name=str(path))) as conn:
        with pytest.raises(sa.exc.OperationalError):
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")


@pytest.mark.parametrize(
    "name", ["hash#1.sqlite", "q?x=1.sqlite", "pct%41b.sqlite", "sp ace.sqlite"]
)
def test_sqlite_paths_with_uri_characters_open_that_file_read_only(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    with sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(path)
    ).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
    before = sorted(tmp_path.iterdir())
    sql_db = row(db_type="SQLite", db_name=str(path))
    assert describe(build_url(sql_db)) == f"sqlite:{path}"
    with source_connection(sql_db) as conn:
        assert conn.exec_driver_sql("SELECT name FROM sqlite_master").all() == [("t",)]
        with pytest.raises(sa.exc.OperationalError):
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert sorted(tmp_path.iterdir()) == before  # no file made on the way


def test_a_driver_may_carry_url_options() -> None:
    driver = "mssql+pyodbc?driver=ODBC Driver 18 for SQL Server&Encrypt=no"
    with override_settings(THOTH_DB_ELEMENTS_DRIVERS={"SQLServer": driver}):
        url = build_url(row(db_type="SQLServer", db_port=1433))
    assert url.drivername == "mssql+pyodbc"
    assert dict(url.query) == {
        "driver": "ODBC Driver 18 for SQL Server",
        "Encrypt": "no",
    }
    assert (url.host, url.port, url.database) == ("db.example", 1433, "sales")


def test_an_ipv6_host_in_brackets_is_the_address() -> None:
    url = build_url(row(db_host="[::1]"))
    assert url.host == "::1"
    assert describe(url) == "postgresql://::1:5432/sales"


def test_a_mariadb_socket_file_as_host(tmp_path: Path) -> None:
    """``db_host`` naming MariaDB's socket file connects through it."""
    require_mariadb()
    with sa.create_engine(MARIADB_URL, poolclass=NullPool).connect() as conn:
        socket = conn.exec_driver_sql("SELECT @@socket").scalar()
    if not socket or not Path(socket).exists():
        pytest.skip(f"MariaDB's socket {socket!r} is not on this machine")
    sql_db = row(
        db_type="MariaDB",
        db_host=socket,
        db_port=None,
        db_name="mysql",
        user_name="root",
        password="",
    )
    url = build_url(sql_db)
    assert url.query["unix_socket"] == socket
    assert describe(url) == f"mariadb:///mysql via {socket}"
    with source_connection(sql_db) as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(ConnectionFailedError, match="not a database"):
        with source_connection(row(db_type="SQLite", db_name=str(path))):
            pass


def url_hook(sql_db: Any) -> str:
    return "sqlite:///:memory:"


def test_url_hooks() -> None:
    with override_settings(
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_connection.url_hook"
    ):
        assert get_url(row(db_type="Informix")).database == ":memory:"
    with override_settings(THOTH_DB_ELEMENTS_URL_BUILDER="tests.nowhere.hook"):
        with pytest.raises(ConfigurationError, match="cannot be imported"):
            get_url(row())
    model_hook = row(db_type="Informix")
    model_hook.get_sqlalchemy_url = lambda: URL.create("sqlite", database=":memory:")
    assert get_url(model_hook).drivername == "sqlite"
    bad = row()
    bad.get_sqlalchemy_url = lambda: "not a url"
    with pytest.raises(ConfigurationError, match="invalid URL"):
        get_url(bad)


def test_missing_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="No SQLAlchemy driver"):
        with source_connection(row(), URL.create("postgresql+nosuchdriver", host="x")):
            pass


def assert_clean_failure(sql_db: Any, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError, match=match) as info:
        with source_connection(sql_db):
            pass
    assert time.monotonic() - started < 11
    text = str(info.value)
    if sql_db.password:
        assert sql_db.password not in text
    assert info.value.__cause__ is None
    assert PASSWORD not in repr(info.value.__context__)


def pg(**fields: Any) -> SimpleNamespace:
    url = make_url(PG_URL)
    return row(
        **{
            "db_host": url.host,
            "db_port": url.port,
            "user_name": url.username,
            **fields,
        }
    )


def maria(**fields: Any) -> SimpleNamespace:
    url = make_url(MARIADB_URL)
    return row(
        **{
            "db_type": "MariaDB",
            "db_host": url.host,
            "db_port": url.port,
            "user_name": url.username,
            "db_name": url.database,
            **fields,
        }
    )


def test_refused_port() -> None:
    assert_clean_failure(
        pg(db_port=1, db_name="postgres"),
        "Cannot connect to postgresql://127.0.0.1:1/postgres",
    )


def test_a_mariadb_port_where_no_mysql_server_greets() -> None:
    """A server of another kind on the port (PostgreSQL's waits a minute
    for a greeting of its own): PyMySQL's connect time-out covered the TCP
    connection only, and the run waited until that server hung up. The
    silent server here holds the connection for 30 s; the greeting is
    waited for at most CONNECT_TIMEOUT."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def silent() -> None:
        client, _ = listener.accept()
        accepted.append(client)
        done.wait(30)
        client.close()

    thread = threading.Thread(target=silent, daemon=True)
    thread.start()
    try:
        with override_settings(THOTH_DB_ELEMENTS_CONNECT_TIMEOUT=1):
            assert_clean_failure(
                maria(db_host="127.0.0.1", db_port=listener.getsockname()[1]),
                "timed out",
            )
    finally:
        done.set()
        thread.join()
        listener.close()
    assert accepted


def test_a_long_mariadb_query_is_not_cut_by_the_connect_timeout() -> None:
    """The greeting's time-out is lifted once connected."""
    require_mariadb()
    with override_settings(THOTH_DB_ELEMENTS_CONNECT_TIMEOUT=1):
        with source_connection(maria(password="")) as conn:
            assert conn.exec_driver_sql("SELECT SLEEP(1.5)").scalar() == 0


def test_unknown_host() -> None:
    assert_clean_failure(
        pg(db_host="no-such-host.invalid", db_name="postgres"), "Cannot connect"
    )


def test_unknown_database() -> None:
    require_postgres()
    assert_clean_failure(pg(db_name="thoth_no_such_db"), "does not exist")


@pytest.fixture
def maria_user() -> Iterator[str]:
    require_mariadb()
    name = f"thoth_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE USER '{name}'@'%%' IDENTIFIED BY 'right-one'")
    yield name
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP USER '{name}'@'%%'")
    engine.dispose()


def test_wrong_password(maria_user: str) -> None:
    assert_clean_failure(
        maria(user_name=maria_user, password=PASSWORD), "Access denied"
    )


def test_unknown_mariadb_database() -> None:
    require_mariadb()
    assert_clean_failure(
        maria(db_name="thoth_no_such_db", password=""), "Unknown database"
    )


def test_postgres_connection_is_read_only() -> None:
    require_postgres()
    with source_connection(pg(db_name="postgres", password="")) as conn:
        with pytest.raises(sa.exc.InternalError, match="read-only"):
            conn.exec_driver_sql("CREATE TABLE thoth_should_not_exist (id int)")


@pytest.mark.parametrize("field", ["db_name", "db_host", "user_name", "password"])
@pytest.mark.parametrize("db_type", ["PostgreSQL", "SQLite"])
def test_nul_characters_are_refused(db_type: str, field: str) -> None:
    """Found by the fuzz test: libpq cut the value at the NUL and connected
    to another database; SQLite raised ValueError."""
    fields = {"db_name": "postgres", "db_host": "127.0.0.1", "user_name": "postgres"}
    fields[field] = "pass\x00word-secret"
    with pytest.raises(ConfigurationError, match="holds a NUL character") as info:
        with source_connection(row(db_type=db_type, **fields)):
            pass
    assert "word-secret" not in str(info.value)


def test_text_the_mariadb_protocol_cannot_encode() -> None:
    require_mariadb()
    sql_db = maria(user_name="\udcff-surrogate", password="")
    with pytest.raises(ConfigurationError, match="UnicodeEncodeError"):
        with source_connection(sql_db):
            pass


@pytest.mark.parametrize(
    "password",
    ["YES", "USER_NAME", "127.0.0.1", "for", "denied"],
    ids=["yes", "user", "host", "for", "denied"],
)
def test_a_password_equal_to_a_word_of_the_error_is_not_shown_in_place(
    maria_user: str, password: str
) -> None:
    """MariaDB says "Access denied for user 'x'@'host' (using password: YES)":
    a ``***`` where the password stood would tell it."""
    password = maria_user if password == "USER_NAME" else password
    with pytest.raises(ConnectionFailedError) as info:
        with source_connection(maria(user_name=maria_user, password=password)):
            pass
    text = str(info.value)
    assert text.endswith(f": {WITHHELD}"), text
    assert "***" not in text
    assert text.startswith("Cannot connect to mariadb://127.0.0.1:3306/")


def test_a_password_the_driver_cannot_encode_is_not_shown_in_part() -> None:
    """PyMySQL names the character and its position in the password."""
    require_mariadb()
    with pytest.raises(ConfigurationError) as info:
        with source_connection(maria(password="pässwörd€")):
            pass
    text = str(info.value)
    assert "UnicodeEncodeError: a character its encoding does not have" in text
    for shown in ("€", "\\u20ac", "position"):
        assert shown not in text


def test_a_read_timeout_the_url_sets_holds() -> None:
    """Not replaced by the greeting's, nor lifted after it."""
    require_mariadb()
    url = make_url(MARIADB_URL).update_query_dict({"read_timeout": "1"})
    with source_connection(maria(password=""), url) as conn:
        with pytest.raises(sa.exc.OperationalError, match="timed out"):
            conn.exec_driver_sql("SELECT SLEEP(2)").scalar()


@pytest.mark.parametrize("host", ["db..example.com", f"{'a' * 64}.example.com"])
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_host_name_typo_is_told_as_such(backend: str, host: str) -> None:
    """Not as "a character its encoding does not have": the lookup's IDNA
    check refuses an empty or over-long part of the name."""
    row = pg(db_host=host) if backend == "postgresql" else maria(db_host=host)
    with pytest.raises(ConfigurationError) as info:
        with source_connection(row):
            pass
    text = str(info.value)
    assert "the host name cannot be looked up as written" in text, text
    assert "encoding does not have" not in text
