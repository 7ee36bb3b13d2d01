"""Reaching this machine's PostgreSQL, MariaDB and Redis from tests.

On a laptop without a service the test skips with the reason; with ``CI`` set
a missing service fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_URL = os.environ.get(
    "TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_URL = os.environ.get(
    "TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(service: str, error: BaseException) -> None:
    """Skip (or, under CI, fail) because ``service`` cannot be reached."""
    message = f"{service} is not reachable: {error}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def probe(service: str, check: Callable[[], object]) -> None:
    try:
        check()
    except Exception as exc:
        unavailable(service, exc)


def connect_once(url: str) -> None:
    """Open and close one connection to ``url`` (raises when unreachable)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        engine.connect().close()
    finally:
        engine.dispose()


def require_postgres() -> None:
    probe("PostgreSQL", lambda: connect_once(PG_URL))


def require_mariadb() -> None:
    probe("MariaDB", lambda: connect_once(MARIADB_URL))


@contextmanager
def private_mariadb(directory: Path, *options: str) -> Iterator[str]:
    """A MariaDB server of this test's own, started with ``options`` (for
    settings fixed at start, such as ``--lower-case-table-names=1``), on a
    free port; its URL (``root``, no password), and stopped after."""
    import shutil
    import socket
    import subprocess
    import time

    install, server = shutil.which("mariadb-install-db"), shutil.which("mariadbd")
    if server is None and os.path.exists("/usr/sbin/mariadbd"):
        server = "/usr/sbin/mariadbd"
    if install is None or server is None:
        unavailable("A MariaDB server to start", FileNotFoundError("mariadbd"))
    assert install is not None
    assert server is not None
    data = directory / "data"
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
            *options,
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={directory / 'mariadb.sock'}",
            "--skip-log-bin",
            f"--log-error={directory / 'error.log'}",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"mariadb+pymysql://root@127.0.0.1:{port}/mysql"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connect_once(url)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
