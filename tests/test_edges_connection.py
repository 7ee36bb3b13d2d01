"""Connections: URL hooks, drivers not installed, values a driver refuses, labels."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from django.test import override_settings
from sqlalchemy.engine import URL, make_url

from tests.services import PG_URL, require_postgres
from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.connection import (
    build_url,
    describe,
    get_url,
    redact,
    secrets_of,
    source_connection,
    sqlite_path,
)
from thoth_db_elements.exceptions import ConfigurationError


def row(**fields: Any) -> SimpleNamespace:
    defaults = {
        "db_type": "SQLServer",
        "db_host": "mssql.example",
        "db_port": None,
        "db_name": "sales",
        "schema": "",
        "user_name": "reader",
        "password": "s3cr3t-pw",
        "db_mode": "dev",
    }
    defaults.update(fields)
    return SimpleNamespace(**defaults)


def sqlite_file(path: Path) -> Path:
    with sa.create_engine(f"sqlite:///{path}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
    return path


@pytest.mark.parametrize(
    ("db_type", "label", "package"),
    [
        ("SQLServer", "mssql://mssql.example/sales", "pyodbc"),
        ("Oracle", "oracle://mssql.example/sales", "oracledb"),
    ],
)
def test_server_without_its_driver_package(
    db_type: str, label: str, package: str
) -> None:
    """A configuration error naming the database and the missing package,
    not the password."""
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed")
    with pytest.raises(ConfigurationError, match="is not installed") as info:
        with source_connection(row(db_type=db_type)):
            pass
    message = str(info.value)
    assert label in message
    assert package in message
    assert "s3cr3t-pw" not in message


def test_url_hook_value_the_driver_refuses(tmp_path: Path) -> None:
    """A driver option that is not a number fails before any connection."""
    path = sqlite_file(tmp_path / "s.sqlite")
    sql_db = row(db_type="SQLite")
    sql_db.get_sqlalchemy_url = lambda: f"sqlite:///{path}?timeout=soon"
    with pytest.raises(ConfigurationError) as info:
        with source_connection(sql_db):
            pass
    message = str(info.value)
    assert message.startswith(
        f"Cannot connect to sqlite:{path}: the connection settings hold a value "
        "the driver refuses (ValueError: "
    )
    assert "soon" in message


def test_url_hook_may_return_a_url_object(tmp_path: Path) -> None:
    path = sqlite_file(tmp_path / "hooked.sqlite")
    sql_db = row(db_type="Informix")
    sql_db.get_sqlalchemy_url = lambda: URL.create("sqlite", database=str(path))
    url = get_url(sql_db)
    assert describe(url) == f"sqlite:{path}"
    with source_connection(sql_db) as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


def test_setting_hook_wins_over_the_model_hook() -> None:
    sql_db = row()
    sql_db.get_sqlalchemy_url = lambda: "sqlite:///model.sqlite"
    with override_settings(
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_edges_connection.setting_hook"
    ):
        assert get_url(sql_db).database == "setting.sqlite"
    assert get_url(sql_db).database == "model.sqlite"


def setting_hook(sql_db: Any) -> str:
    return "sqlite:///setting.sqlite"


def test_non_callable_model_attribute_is_not_a_hook() -> None:
    sql_db = row(db_type="PostgreSQL", db_port="5433")
    sql_db.get_sqlalchemy_url = "postgresql://elsewhere/db"
    url = get_url(sql_db)
    assert (url.drivername, url.host, url.port) == (
        "postgresql+psycopg",
        "mssql.example",
        5433,
    )


def test_empty_password_and_user_are_left_out() -> None:
    url = build_url(row(db_type="MariaDB", user_name="  ", password=""))
    assert (url.username, url.password) == (None, None)
    assert (
        url.render_as_string(hide_password=False)
        == "mariadb+pymysql://mssql.example/sales"
    )


def test_sqlite_layout_defaults_to_dev_and_thothai_root(tmp_path: Path) -> None:
    with override_settings(DB_ROOT_PATH=str(tmp_path)):
        path = sqlite_path(row(db_type="SQLite", db_name="shop", db_mode=""))
    assert path == tmp_path / "dev_databases" / "shop" / "shop.sqlite"
    with pytest.raises(ConfigurationError, match="The SQLite database has no db_name"):
        sqlite_path(row(db_type="SQLite", db_name="  "))


def test_sqlite_root_from_thothai_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ThothAI reads DB_ROOT_PATH from the environment, not from settings."""
    monkeypatch.setenv("DB_ROOT_PATH", str(tmp_path))
    with override_settings(DB_ROOT_PATH=None):
        path = sqlite_path(row(db_type="SQLite", db_name="shop", db_mode="test"))
    assert path == tmp_path / "test_databases" / "shop" / "shop.sqlite"
    monkeypatch.delenv("DB_ROOT_PATH")
    with override_settings(DB_ROOT_PATH=None):
        path = sqlite_path(row(db_type="SQLite", db_name="shop", db_mode="test"))
    assert path == Path("data") / "test_databases" / "shop" / "shop.sqlite"


def test_sqlite_home_relative_path_is_expanded(tmp_path: Path) -> None:
    home = Path("~").expanduser()
    assert sqlite_path(row(db_name="~/shop.sqlite")) == home / "shop.sqlite"


def test_a_confined_sqlite_path_stays_under_the_root(tmp_path: Path) -> None:
    """With SQLITE_CONFINED a row names only files under SQLITE_ROOT: not
    the host's own database, nor a file reached by ``..`` or a symbolic
    link, and whether such a file exists is not told."""
    root = tmp_path / "root"
    (root / "dev_databases" / "shop").mkdir(parents=True)
    inside = root / "dev_databases" / "shop" / "shop.sqlite"
    inside.touch()
    outside = tmp_path / "secret.sqlite"
    outside.touch()
    (root / "link.sqlite").symlink_to(outside)
    refused = {
        str(outside): outside,
        "/nonexistent/x.sqlite": None,
        "../../../secret": None,  # the layout's {root}/dev_databases/<name>/
        str(root / "link.sqlite"): None,
        str(root / "dev_databases" / ".." / ".." / "secret.sqlite"): None,
    }
    with override_settings(
        THOTH_DB_ELEMENTS_SQLITE_ROOT=str(root), THOTH_DB_ELEMENTS_SQLITE_CONFINED=True
    ):
        assert sqlite_path(row(db_name="shop", db_mode="")) == inside
        assert sqlite_path(row(db_name=str(inside))) == inside
        for name in refused:
            with pytest.raises(ConfigurationError) as info:
                build_url(row(db_type="SQLite", db_name=name))
            assert str(info.value) == (
                f"The SQLite db_name {name!r} names a file outside "
                f"THOTH_DB_ELEMENTS_SQLITE_ROOT ({root}), and "
                "THOTH_DB_ELEMENTS_SQLITE_CONFINED allows only files under it."
            )
    with override_settings(THOTH_DB_ELEMENTS_SQLITE_ROOT=str(root)):
        assert sqlite_path(row(db_name=str(outside))) == outside  # the default


def test_sqlite_path_in_the_home_of_nobody() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"^The SQLite db_name '~no-such-user-0/shop.sqlite' starts with a "
        r"home directory this machine cannot find\.$",
    ):
        sqlite_path(row(db_name="~no-such-user-0/shop.sqlite"))


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("postgresql+psycopg://u:pw@db.example/sales", "postgresql://db.example/sales"),
        ("mysql+pymysql://u:pw@db.example:3307/sales", "mysql://db.example:3307/sales"),
        ("sqlite:///relative.sqlite", "sqlite:relative.sqlite"),
        ("sqlite://", "sqlite:"),
        ("oracle+oracledb://u:pw@/", "oracle:///"),
    ],
)
def test_describe_never_shows_credentials(url: str, label: str) -> None:
    assert describe(make_url(url)) == label


def test_redact_skips_empty_secrets() -> None:
    assert redact("user reader pw s3cr3t", None, "", "s3cr3t") == WITHHELD
    assert redact("user reader", None, "") == "user reader"


def test_secrets_of_a_run_are_the_row_and_url_passwords_once_each() -> None:
    """What a run keeps out of its log, report and error: the row's password
    and the one a URL hook connected with, each once; no empty ones."""
    hooked = make_url("postgresql://reader:from-vault@db/sales")
    assert secrets_of(row(), hooked) == ("s3cr3t-pw", "from-vault")
    assert secrets_of(row(), make_url("postgresql://reader:s3cr3t-pw@db/s")) == (
        "s3cr3t-pw",
    )
    assert secrets_of(row(password=""), make_url("sqlite:///x.db")) == ()
    assert secrets_of(row(password=None)) == ()
    # A password field that is not text (an encrypted-field wrapper) counts
    # by its text.
    assert secrets_of(row(password=1234)) == ("1234",)


def test_postgres_client_encoding_from_the_url_is_kept() -> None:
    """A URL that names its client encoding is not overridden with UTF-8."""
    require_postgres()
    url = make_url(PG_URL).update_query_dict({"client_encoding": "latin1"})
    with source_connection(row(), url) as connection:
        encoding = connection.exec_driver_sql("SHOW client_encoding").scalar()
    assert encoding == "LATIN1"
    with source_connection(row(), make_url(PG_URL)) as connection:
        encoding = connection.exec_driver_sql("SHOW client_encoding").scalar()
    assert encoding == "UTF8"


def test_redact_withholds_a_text_where_the_secret_stands_alone() -> None:
    """A ``***`` in its place would tell the password wherever it equals a
    word the reader knows: the user, the database, "YES" in "using password:
    YES". The whole text goes."""
    text = 'Cannot connect to postgresql://127.0.0.1:5432/db: no password "postgres"'
    assert redact(text, "postgres") == WITHHELD
    assert redact("Access denied for user 'root' (using password: YES)", "YES") == (
        WITHHELD
    )
    assert redact("pw=a.b*c", "a.b*c") == WITHHELD
    assert redact("s3cr3t_key", "s3cr3t") == WITHHELD  # "_" ends a word
    # Inside a longer word it is not there.
    assert redact("connect to postgresql://h/db", "postgres") == (
        "connect to postgresql://h/db"
    )
    assert redact("a.b*cd", "a.b*c") == "a.b*cd"
    # As a URL or a JSON text spells it.
    assert redact("dsn: password=p%40ss%22w0rd", 'p@ss"w0rd') == WITHHELD
    assert redact("mysql://u:p%40ss word%21@h/db", "p@ss word!") == WITHHELD
    assert redact("dsn: password=p%40ss%20w0rd", "p@ss w0rd") == WITHHELD
    # A "+" is no spelling of a blank: "a+b" is not the password "a b".
    assert redact("Reading column price: a+b", "a b") == "Reading column price: a+b"
    assert redact('{"password": "p@ss\\"w0rd"}', 'p@ss"w0rd') == WITHHELD
    assert redact('{"password": "w\\u00f8rd"}', "wørd") == WITHHELD


def test_a_confined_sqlite_url_from_a_hook_stays_under_the_root(
    tmp_path: Path,
) -> None:
    """A URL hook builds the URL itself: SQLITE_CONFINED held for the
    built-in building only, and the hook's file outside the root was read."""
    from tests import test_edges_connection as here

    root = tmp_path / "root"
    root.mkdir()
    (root / "in.sqlite").touch()
    outside = tmp_path / "out.sqlite"
    outside.touch()
    settings = {
        "THOTH_DB_ELEMENTS_SQLITE_ROOT": str(root),
        "THOTH_DB_ELEMENTS_SQLITE_CONFINED": True,
        "THOTH_DB_ELEMENTS_URL_BUILDER": f"{here.__name__}.url_of_db_name",
    }
    with override_settings(**settings):
        inside = get_url(row(db_type="SQLite", db_name=str(root / "in.sqlite")))
        assert inside.database == str(root / "in.sqlite")
        assert get_url(row(db_type="SQLite", db_name=":memory:")).database == ":memory:"
        for name in (str(outside), f"file:{outside}?mode=ro"):
            with pytest.raises(ConfigurationError, match="outside THOTH_DB_ELEMENTS"):
                get_url(row(db_type="SQLite", db_name=name))


def url_of_db_name(sql_db: Any) -> str:
    """A URL hook: the row's db_name as a SQLite database."""
    return f"sqlite:///{sql_db.db_name}"
