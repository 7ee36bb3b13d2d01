"""Databases reached through a tunnel (ThothAI's ``ssh_enabled`` rows).

The tunnel here is real TCP: a local port whose connections are piped to
PostgreSQL, as an SSH tunnel's near end pipes them to its far end. The
row's ``db_host`` is a name only the far end knows.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from django.test import override_settings
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.services import PG_URL, require_postgres
from thoth_db_elements._secrets import WITHHELD
from thoth_db_elements.checks import check_hooks
from thoth_db_elements.connection import build_url, secrets_of, wants_tunnel
from thoth_db_elements.exceptions import ConfigurationError, ConnectionFailedError
from thoth_db_elements.harvest import read_snapshot

pytestmark = pytest.mark.source_only

#: The name the far end of the tunnel knows the database by.
BEHIND = "db.behind.bastion"
SSH_SECRET = "tunnel-Secret-42"


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


class Relay:
    """The near end of a tunnel: each connection to its port is piped to
    ``far`` (host, port)."""

    def __init__(self, far: tuple[str, int]) -> None:
        self.far = far
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.server.accept()
            except OSError:
                return  # closed
            self.connections += 1
            try:
                far = socket.create_connection(self.far, timeout=5)
            except OSError:
                near.close()
                continue
            far.settimeout(None)
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.server.close()


#: Every relay the hooks below opened, the latest last.
OPENED: list[Relay] = []


def _far_end() -> tuple[str, int]:
    """Where the far end of the tunnel reaches ``BEHIND``: this PostgreSQL."""
    url = make_url(PG_URL)
    return url.host or "127.0.0.1", url.port or 5432


@contextmanager
def relay_tunnel(sql_db: Any, url: URL) -> Iterator[URL]:
    """A ``TUNNEL`` hook: a tunnel for the rows that want one."""
    if not wants_tunnel(sql_db):
        yield url
        return
    assert url.host == BEHIND
    relay = Relay(_far_end())
    OPENED.append(relay)
    try:
        yield url.set(host="127.0.0.1", port=relay.port)
    finally:
        relay.close()


@contextmanager
def refused_tunnel(sql_db: Any, url: URL) -> Iterator[URL]:
    raise OSError(f"bastion refused the key; password was {sql_db.ssh_password}")
    yield url  # pragma: no cover


@contextmanager
def leaky_tunnel(sql_db: Any, url: URL) -> Iterator[URL]:
    """Opens like ``relay_tunnel``, fails as it closes."""
    with relay_tunnel(sql_db, url) as target:
        yield target
    raise OSError(f"the bastion hung up on {sql_db.ssh_password}")


@contextmanager
def dead_end_tunnel(sql_db: Any, url: URL) -> Iterator[URL]:
    """A tunnel whose far end reaches nothing."""
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    yield url.set(host="127.0.0.1", port=port)


@contextmanager
def garbled_tunnel(sql_db: Any, url: URL) -> Iterator[str]:
    yield "not a url"


NOT_CALLABLE = 42


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database with one table, dropped after."""
    require_postgres()
    name = f"thoth_tunnel_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine = sa.create_engine(make_url(PG_URL).set(database=name), poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE through_the_tunnel (id integer PRIMARY KEY)")
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def tunnelled(database: str, **fields: Any) -> SimpleNamespace:
    """A ThothAI row reached through SSH: ``db_host`` as its far end sees it."""
    url = make_url(PG_URL)
    values = {
        "db_type": "PostgreSQL",
        "db_host": BEHIND,
        "db_port": url.port or 5432,
        "db_name": database,
        "schema": "",
        "user_name": url.username,
        "password": url.password or "",
        "db_mode": "dev",
        "ssh_enabled": True,
        "ssh_host": "bastion.example",
        "ssh_password": SSH_SECRET,
        "ssh_private_key_passphrase": "",
    }
    values.update(fields)
    return SimpleNamespace(**values)


def test_a_tunnelled_row_is_refused_without_a_tunnel_hook() -> None:
    # Its db_host is the far end's name for the database: connecting to it
    # from here could reach, and catalogue, another database.
    with pytest.raises(ConfigurationError) as caught:
        build_url(tunnelled("sales"))
    assert str(caught.value) == (
        "The PostgreSQL database is reached through an SSH tunnel (ssh_enabled), "
        "which this library does not open itself: set THOTH_DB_ELEMENTS_TUNNEL "
        "to a hook that opens it, or clear ssh_enabled if the database can be "
        "reached directly."
    )
    assert build_url(tunnelled("sales", ssh_enabled=False)).host == BEHIND


def url_from_the_row(sql_db: Any) -> str:
    """A URL hook building from the row, as the built-in building does."""
    return f"postgresql+psycopg://{sql_db.user_name}@{sql_db.db_host}/{sql_db.db_name}"


@override_settings(THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tunnel.url_from_the_row")
def test_a_url_hook_does_not_lift_the_refusal() -> None:
    # The hook builds from the same db_host, the far end's address.
    with pytest.raises(ConfigurationError) as caught:
        read_snapshot(tunnelled("sales"))
    assert str(caught.value) == (
        "The PostgreSQL database is reached through an SSH tunnel (ssh_enabled), "
        "which this library does not open itself; the URL "
        "THOTH_DB_ELEMENTS_URL_BUILDER gave is not trusted for it, as it cannot "
        "close a tunnel: open the tunnel in a THOTH_DB_ELEMENTS_TUNNEL hook "
        "instead, or, if the URL already reaches the near end of a tunnel kept "
        "open elsewhere, set one that gives the URL back unchanged (see "
        '"Databases behind SSH" in the migration guide).'
    )


#: A tunnel kept open outside the project (autossh, a sidecar).
KEPT: list[Relay] = []


def url_to_the_kept_tunnel(sql_db: Any) -> URL:
    return make_url(PG_URL).set(
        host="127.0.0.1", port=KEPT[-1].port, database=sql_db.db_name
    )


def tunnel_kept_elsewhere(sql_db: Any, url: URL) -> Any:
    from contextlib import nullcontext

    return nullcontext(url)


@override_settings(
    THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tunnel.url_to_the_kept_tunnel",
    THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.tunnel_kept_elsewhere",
)
def test_a_url_hook_reaching_a_tunnel_kept_elsewhere_passes_with_a_plain_hook(
    database: str,
) -> None:
    KEPT.append(Relay(_far_end()))
    try:
        snapshot = read_snapshot(tunnelled(database))
    finally:
        KEPT[-1].close()
    assert [t.name for t in snapshot.tables] == ["through_the_tunnel"]
    assert KEPT[-1].connections >= 1


def sqlite_url(sql_db: Any) -> str:
    return "sqlite://"


@override_settings(THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_tunnel.sqlite_url")
def test_a_sqlite_database_takes_no_tunnel() -> None:
    assert read_snapshot(tunnelled("sales")).tables == ()


def not_a_context_manager(sql_db: Any, url: URL) -> URL:
    return url


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.not_a_context_manager")
def test_a_tunnel_hook_returning_no_context_manager_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        read_snapshot(tunnelled("sales"))
    assert str(caught.value) == (
        "THOTH_DB_ELEMENTS_TUNNEL returned URL, not a context manager (a "
        "function decorated with contextlib.contextmanager, say)."
    )


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.relay_tunnel")
def test_the_tunnel_hook_carries_the_read_and_is_closed_after(database: str) -> None:
    before = len(OPENED)
    snapshot = read_snapshot(tunnelled(database))
    assert [t.name for t in snapshot.tables] == ["through_the_tunnel"]
    assert len(OPENED) == before + 1
    relay = OPENED[-1]
    assert relay.connections >= 1
    assert relay.closed


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.relay_tunnel")
def test_rows_without_a_tunnel_connect_directly_beside_the_hook(database: str) -> None:
    before = len(OPENED)
    direct = tunnelled(database, ssh_enabled=False, db_host=_far_end()[0])
    assert [t.name for t in read_snapshot(direct).tables] == ["through_the_tunnel"]
    assert len(OPENED) == before


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.refused_tunnel")
@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "bastion refused the key; password was"),
        (SSH_SECRET, WITHHELD),  # the SSH password is a secret of the run
    ],
)
def test_a_tunnel_that_does_not_open_fails_the_run_without_its_secret(
    secret: str, reason: str
) -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        read_snapshot(tunnelled("sales", ssh_password=secret))
    assert str(caught.value) == (
        f"Cannot open the tunnel to postgresql://{BEHIND}:5432/sales: {reason}"
    )


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.leaky_tunnel")
def test_a_tunnel_failing_as_it_closes_spoils_no_read(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="thoth_db_elements.connection"):
        snapshot = read_snapshot(tunnelled(database))
    assert [t.name for t in snapshot.tables] == ["through_the_tunnel"]
    [record] = [r for r in caplog.records if "tunnel" in r.getMessage()]
    text = record.getMessage()
    assert text.startswith(f"Closing the tunnel to postgresql://{BEHIND}:")
    assert SSH_SECRET not in text


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.dead_end_tunnel")
def test_a_connection_failing_through_the_tunnel_names_both_ends() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        read_snapshot(tunnelled("sales"))
    assert str(caught.value).startswith(
        f"Cannot connect to postgresql://{BEHIND}:5432/sales through its tunnel "
        "(postgresql://127.0.0.1:"
    )


@override_settings(THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.garbled_tunnel")
def test_a_tunnel_giving_no_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TUNNEL gave an invalid URL"):
        read_snapshot(tunnelled("sales"))


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (
            "tests.nowhere.tunnel",
            "cannot be imported (No module named 'tests.nowhere')",
        ),
        ("tests.test_tunnel.NOT_CALLABLE", "is not callable"),
    ],
)
def test_a_tunnel_setting_that_names_no_function_fails_check_and_run(
    path: str, problem: str
) -> None:
    with override_settings(THOTH_DB_ELEMENTS_TUNNEL=path):
        [error] = check_hooks()
        assert error.id == "thoth_db_elements.E008"
        assert error.msg == (
            f"THOTH_DB_ELEMENTS_TUNNEL = {path!r} {problem}: every harvest would fail."
        )
        with pytest.raises(ConfigurationError) as caught:
            read_snapshot(tunnelled("sales"))
        assert str(caught.value) == f"THOTH_DB_ELEMENTS_TUNNEL = {path!r} {problem}."
    with override_settings(THOTH_DB_ELEMENTS_URL_BUILDER=path):
        assert [e.id for e in check_hooks()] == ["thoth_db_elements.E008"]
    with override_settings(
        THOTH_DB_ELEMENTS_TUNNEL="tests.test_tunnel.relay_tunnel",
        THOTH_DB_ELEMENTS_URL_BUILDER="tests.test_connection.url_hook",
    ):
        assert check_hooks() == []


def test_the_tunnels_secrets_are_kept_out_of_logs() -> None:
    row = tunnelled("sales", ssh_private_key_passphrase="key-Phrase-7")
    assert set(secrets_of(row)) >= {SSH_SECRET, "key-Phrase-7"}
