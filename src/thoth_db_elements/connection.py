"""From a ``SqlDb`` row to a short-lived, read-only SQLAlchemy connection.

The URL is built with ``sqlalchemy.engine.URL.create`` so passwords with
``@ : / %`` need no quoting. A host can replace URL building with a
``get_sqlalchemy_url()`` method on its model or the
``THOTH_DB_ELEMENTS_URL_BUILDER`` setting, and open a tunnel (SSH) around
each connection with ``THOTH_DB_ELEMENTS_TUNNEL``. Errors come out as
``ConfigurationError`` / ``UnsupportedDatabaseError`` /
``ConnectionFailedError`` with messages free of secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote

import sqlalchemy as sa
from django.utils.module_loading import import_string
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from ._secrets import hide
from .conf import PREFIX, app_settings
from .exceptions import (
    ConfigurationError,
    ConnectionFailedError,
    DbElementsError,
    UnsupportedDatabaseError,
)

__all__ = [
    "DEFAULT_DRIVERS",
    "build_url",
    "comparable_label",
    "describe",
    "get_url",
    "redact",
    "secrets_of",
    "source_connection",
    "wants_tunnel",
]

logger = logging.getLogger(__name__)

#: SQLAlchemy driver per ``db_type`` (lower-cased); override with DRIVERS.
DEFAULT_DRIVERS: dict[str, str] = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mariadb": "mariadb+pymysql",
    "mysql": "mysql+pymysql",
    "sqlite": "sqlite",
    "sqlserver": "mssql+pyodbc",
    "mssql": "mssql+pyodbc",
    "oracle": "oracle+oracledb",
}

_DEFAULT_PORTS = {
    "postgresql": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mssql": 1433,
    "oracle": 1521,
}


#: Fields of ThothAI's ``SqlDb`` holding the secrets of its SSH tunnel.
_TUNNEL_SECRETS = ("ssh_password", "ssh_private_key_passphrase")


def wants_tunnel(sql_db: object) -> bool:
    """Whether ``sql_db`` is reached through an SSH tunnel (ThothAI's
    ``ssh_enabled``)."""
    return bool(getattr(sql_db, "ssh_enabled", False))


def _text(sql_db: object, name: str) -> str:
    value = getattr(sql_db, name, None)
    return "" if value is None else str(value).strip()


def _driver(db_type: str) -> str:
    overrides = {k.lower(): v for k, v in app_settings.DRIVERS.items()}
    key = db_type.lower()
    driver = overrides.get(key) or DEFAULT_DRIVERS.get(key)
    if driver is None:
        raise UnsupportedDatabaseError(
            f"Database type {db_type!r} is not supported out of the box (known: "
            f"{', '.join(sorted(DEFAULT_DRIVERS))}, in any case): map it to a "
            f"SQLAlchemy driver in {PREFIX}DRIVERS, or configure a URL hook "
            f"({PREFIX}URL_BUILDER, or a get_sqlalchemy_url() method on the model) "
            "that returns a SQLAlchemy URL for it."
        )
    return driver


def _port(sql_db: object) -> int | None:
    raw = getattr(sql_db, "db_port", None)
    if raw in (None, ""):
        return None
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"Port {raw!r} is not a number.") from None
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"Port {port} is out of range (1-65535).")
    return port


def sqlite_path(sql_db: object) -> Path:
    """The SQLite file of ``sql_db``: an absolute ``db_name``, or ThothAI's layout.

    ThothAI keeps SQLite files at
    ``{SQLITE_ROOT}/{db_mode}_databases/{db_name}/{db_name}.sqlite``.
    """
    name = _text(sql_db, "db_name")
    if not name:
        raise ConfigurationError("The SQLite database has no db_name.")
    try:
        path = Path(name).expanduser()
    except RuntimeError:  # an unknown ~user, or no home directory at all
        raise ConfigurationError(
            f"The SQLite db_name {name!r} starts with a home directory this "
            "machine cannot find."
        ) from None
    if not path.is_absolute():
        mode = _text(sql_db, "db_mode") or "dev"
        path = app_settings.SQLITE_ROOT / f"{mode}_databases" / name / f"{name}.sqlite"
    if app_settings.SQLITE_CONFINED:
        _confine(path, repr(name))
    return path


def _confine(path: Path, name: str) -> None:
    """Refuse ``path`` unless it is under ``SQLITE_ROOT`` once resolved
    (``..`` and symbolic links followed), before anything is asked of the
    file: whether it exists is not told either."""
    root = app_settings.SQLITE_ROOT
    if not path.resolve().is_relative_to(root.resolve()):
        raise ConfigurationError(
            f"The SQLite db_name {name} names a file outside {PREFIX}SQLITE_ROOT "
            f"({root}), and {PREFIX}SQLITE_CONFINED allows only files under it."
        )


def _refuse_untunnelled(sql_db: object, backend: str, hook: str = "") -> None:
    """Refuse a row reached through an SSH tunnel when no ``TUNNEL`` hook
    opens one: its ``db_host`` is an address as the far end of the tunnel
    sees it, and taken from here it may name another database, which would
    be catalogued in this one's place. A SQLite file takes no tunnel.
    ``hook``: the URL hook that built the URL, if one did."""
    if backend == "sqlite" or not wants_tunnel(sql_db) or app_settings.TUNNEL:
        return
    if hook:
        advice = (
            f"; the URL {hook} gave is not trusted for it, as it cannot close "
            f"a tunnel: open the tunnel in a {PREFIX}TUNNEL hook instead, or, "
            "if the URL already reaches the near end of a tunnel kept open "
            "elsewhere, set one that gives the URL back unchanged (see "
            '"Databases behind SSH" in the migration guide)'
        )
    else:
        advice = (
            f": set {PREFIX}TUNNEL to a hook that opens it, or clear "
            "ssh_enabled if the database can be reached directly"
        )
    raise ConfigurationError(
        f"The {_text(sql_db, 'db_type') or backend} database is reached through "
        "an SSH tunnel (ssh_enabled), which this library does not open itself"
        f"{advice}."
    )


def _no_sqlite_file(path: Path) -> str:
    """The error for a SQLite ``path`` that is not a file: a directory is
    said to be one; a missing relative path names the directory it was
    taken from, which is the process's (a worker started elsewhere than the
    web process looks elsewhere)."""
    if path.is_dir():
        return f"SQLite file {path} is a directory, not a database file."
    if path.is_absolute():
        return f"SQLite file {path} does not exist."
    try:
        where = f"in {Path.cwd()}, the working directory it is relative to"
    except OSError:  # the working directory itself is gone
        where = "in the working directory it is relative to, which is gone"
    return (
        f"SQLite file {path} does not exist {where}: give {PREFIX}SQLITE_ROOT "
        "as an absolute path, or db_name as the file's absolute path."
    )


def build_url(sql_db: object) -> URL:
    """The built-in SQLAlchemy URL for a ThothAI-shaped ``SqlDb`` row."""
    for field in ("db_type", "db_host", "db_name", "user_name", "password"):
        # Drivers pass these on as C strings: a NUL would cut the rest off
        # and connect somewhere else than the row says.
        if "\x00" in str(getattr(sql_db, field, None) or ""):
            raise ConfigurationError(
                f"The {field} of the database holds a NUL character."
            )
    db_type = _text(sql_db, "db_type")
    if not db_type:
        raise ConfigurationError("The database has no db_type.")
    # A driver may carry URL options: "mssql+pyodbc?driver=ODBC Driver 18 ...".
    driver, _, options = _driver(db_type).partition("?")
    backend = driver.split("+", 1)[0]
    if backend == "sqlite":
        path = sqlite_path(sql_db)
        if not path.is_file():
            raise ConnectionFailedError(_no_sqlite_file(path))
        # Read-only: the harvest must never write to (or create) the file.
        # An URI: "#", "?" and "%" in the path are escaped, or SQLite would
        # cut the path there and open (or create, writable) another file.
        return URL.create(
            "sqlite",
            database=f"file:{quote(str(path), safe='/')}?mode=ro",
            query={"uri": "true"},
        )
    _refuse_untunnelled(sql_db, backend)
    host = _text(sql_db, "db_host")
    if not host:
        raise ConfigurationError(
            f"The {db_type} database has no host (db_host is empty)."
        )
    database = _text(sql_db, "db_name")
    if not database:
        raise ConfigurationError(f"The {db_type} database has no db_name.")
    query = dict(parse_qsl(options))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 address written as in a URL
    elif backend in ("mysql", "mariadb") and host.startswith("/"):
        # A socket file (PostgreSQL takes a socket directory as its host).
        host, query["unix_socket"] = "", host
    return URL.create(
        driver,
        username=_text(sql_db, "user_name") or None,
        password=getattr(sql_db, "password", None) or None,
        host=host or None,
        port=_port(sql_db),
        database=database,
        query=query,
    )


def _hook(name: str, path: str) -> Callable[..., Any]:
    """The callable setting ``name`` names by its dotted ``path``."""
    try:
        hook = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(
            f"{PREFIX}{name} = {path!r} cannot be imported ({exc})."
        ) from exc
    if not callable(hook):
        raise ConfigurationError(f"{PREFIX}{name} = {path!r} is not callable.")
    return cast("Callable[..., Any]", hook)


def get_url(sql_db: object) -> URL:
    """The URL to harvest ``sql_db``: setting hook, model hook, or built-in."""
    hook_path = app_settings.URL_BUILDER
    if hook_path:
        url = _hook("URL_BUILDER", hook_path)(sql_db)
        hook = f"{PREFIX}URL_BUILDER"
    elif callable(getattr(sql_db, "get_sqlalchemy_url", None)):
        url = sql_db.get_sqlalchemy_url()  # type: ignore[attr-defined]
        hook = "get_sqlalchemy_url()"
    else:
        return build_url(sql_db)
    try:
        built = url if isinstance(url, URL) else make_url(str(url))
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError("The URL hook returned an invalid URL.") from exc
    # A URL hook builds from the same row: its host is the far end's too.
    _refuse_untunnelled(sql_db, built.get_backend_name(), hook)
    if app_settings.SQLITE_CONFINED and built.get_backend_name() == "sqlite":
        name = _sqlite_file(built)
        if name not in ("", ":memory:"):  # a file, not a database in memory
            _confine(Path(name), f"{name} (from {hook})")
    return built


def _sqlite_file(url: URL) -> str:
    """The file a SQLite URL opens, as written."""
    database = url.database or ""
    if database.startswith("file:"):  # an URI: escaped, options after "?"
        return unquote(database.removeprefix("file:").split("?")[0])
    return database


def describe(url: URL) -> str:
    """A human label for ``url`` without credentials: ``postgresql://host:5432/db``."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{_sqlite_file(url)}"
    port = f":{url.port}" if url.port else ""
    label = f"{url.get_backend_name()}://{url.host or ''}{port}/{url.database or ''}"
    socket = url.query.get("unix_socket")
    return f"{label} via {socket}" if isinstance(socket, str) else label


def comparable_label(label: str) -> str:
    """``label`` (``describe``'s) without its backend's default port: the
    same database, whether its row names the port or not."""
    backend, separator, rest = label.partition("://")
    port = _DEFAULT_PORTS.get(backend)
    host, slash, tail = rest.partition("/")
    if not separator or port is None or not host.endswith(f":{port}"):
        return label
    return f"{backend}://{host.removesuffix(f':{port}')}{slash}{tail}"


def secrets_of(sql_db: object, url: URL | None = None) -> tuple[str, ...]:
    """The passwords a run of ``sql_db`` must keep out of what it writes:
    the row's own, its SSH tunnel's (ThothAI's ``ssh_password`` and
    ``ssh_private_key_passphrase``) and, when a ``URL_BUILDER`` hook built
    ``url`` with another one (decrypted, from a vault), that one too."""
    found: list[str] = []
    candidates = (
        getattr(sql_db, "password", None),
        *(getattr(sql_db, name, None) for name in _TUNNEL_SECRETS),
        url and url.password,
    )
    for secret in candidates:
        text = str(secret) if secret else ""
        if text and text not in found:
            found.append(text)
    return tuple(found)


def redact(text: str, *secrets: str | None) -> str:
    """``text``, or ``_secrets.WITHHELD`` when a non-empty secret stands in
    it as a word of its own (see ``_secrets.hide``)."""
    return hide(text, secrets)


#: PostgreSQL drivers built on libpq, which take its ``client_encoding``.
_LIBPQ_DRIVERS = ("psycopg", "psycopg2")


def _connect_args(url: URL, timeout: float) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "postgresql":
        args: dict[str, Any] = {"connect_timeout": max(1, int(timeout))}
        if (
            url.get_driver_name() in _LIBPQ_DRIVERS
            and "client_encoding" not in url.query
        ):
            # A SQL_ASCII database would otherwise send bytes that psycopg
            # hands over undecoded (SQLAlchemy then fails to connect); asked
            # for UTF-8, the server converts, or refuses text that is not.
            args["client_encoding"] = "utf8"
        return args
    if backend in ("mysql", "mariadb"):
        args = {"connect_timeout": max(1, int(timeout))}
        if _greeting_timed(url):
            args["read_timeout"] = timeout
        return args
    if backend == "sqlite":
        return {"timeout": timeout}
    if backend == "mssql":
        return {"timeout": max(1, int(timeout))}
    return {}


def _greeting_timed(url: URL) -> bool:
    """Whether the server's greeting is read under the connect time-out.

    PyMySQL's connect time-out covers the TCP connection only: a server of
    another kind on the port (PostgreSQL's) would keep it waiting for a
    greeting until that server hangs up. So the greeting is read under a
    read time-out of that length, lifted once connected
    (``_lift_read_timeout``): a long catalogue query is no hang. A read
    time-out the URL sets holds throughout.
    """
    return (
        url.get_backend_name() in ("mysql", "mariadb")
        and url.get_driver_name() == "pymysql"
        and "read_timeout" not in url.query
    )


def _lift_read_timeout(connection: Connection, url: URL) -> None:
    """No read time-out once connected, where the greeting had one."""
    raw: Any = connection.connection.dbapi_connection
    if _greeting_timed(url) and hasattr(raw, "_read_timeout"):
        raw._read_timeout = None


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def _unicode_reason(exc: UnicodeError) -> str:
    """What a driver's ``UnicodeError`` says, told without the value: it
    names the character and its position in it, which may be the password's.

    Looking the host name up raises one too (its IDNA encoding), mostly
    for a typo: an empty part between dots, or one over 63 characters.
    """
    text = str(exc)
    if getattr(exc, "encoding", None) == "idna" or "label empty" in text:
        return (
            "the host name cannot be looked up as written: an empty part "
            "between dots, one longer than 63 characters, or a character "
            "host names cannot have"
        )
    return "a character its encoding does not have"


def _probe_sqlite(connection: Connection) -> None:
    try:
        connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    except sa.exc.DBAPIError:
        connection.close()
        raise


def _make_read_only(connection: Connection) -> None:
    """Read only, and, where the database can, in one snapshot of the schema.

    The read takes several catalogue statements: without one snapshot, a
    table dropped in between would be read half (listed, but without its
    columns or keys). PostgreSQL's REPEATABLE READ and one SQLite read
    transaction give one; MariaDB's information_schema has none (its fast
    path checks the table list instead).
    """
    backend = connection.dialect.name
    if backend == "postgresql":
        connection.exec_driver_sql(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        )
    elif backend in ("mysql", "mariadb"):
        connection.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
    elif backend == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = 1")
        connection.exec_driver_sql("BEGIN")


def _close(connection: Connection, label: str, passwords: list[str]) -> None:
    """Close ``connection``; a failure is logged, not raised.

    The connection only read, so rolling its transaction back loses
    nothing: a server that went away after the last answer must neither
    spoil a complete read nor hide the error of an incomplete one.
    """
    try:
        connection.close()
    except sa.exc.DBAPIError as exc:
        logger.warning(
            "Closing the connection to %s failed (%s); it had only read",
            label,
            redact(_first_line(exc), *passwords),
        )


@contextmanager
def source_connection(sql_db: object, url: URL | None = None) -> Iterator[Connection]:
    """One read-only connection to the harvested database, closed and disposed after.

    Raises ``ConnectionFailedError`` with a message naming the database (never
    the password) when it cannot connect within ``CONNECT_TIMEOUT`` seconds.
    With a ``TUNNEL`` hook, the connection goes through the tunnel it opens,
    which is closed after the connection.
    """
    url = get_url(sql_db) if url is None else url
    with _tunnel(sql_db, url) as target, _connected(url, target) as connection:
        yield connection


@contextmanager
def _tunnel(sql_db: object, url: URL) -> Iterator[URL]:
    """The URL to connect to for ``url``: the ``TUNNEL`` hook's, open while
    the context lasts, or ``url`` itself without one.

    The hook's failure to open is a ``ConnectionFailedError`` (a library
    error of its own goes as it is); its failure to close is logged: the
    connection had only read.
    """
    path = app_settings.TUNNEL
    if not path:
        yield url
        return
    hook = _hook("TUNNEL", path)
    secrets = secrets_of(sql_db, url)
    try:
        manager: AbstractContextManager[Any] = hook(sql_db, url)
        if not (hasattr(manager, "__enter__") and hasattr(manager, "__exit__")):
            raise ConfigurationError(
                f"{PREFIX}TUNNEL returned {type(manager).__name__}, not a context "
                "manager (a function decorated with contextlib.contextmanager, "
                "say)."
            )
        opened = manager.__enter__()
    except DbElementsError:
        raise
    except Exception as exc:
        reason = redact(_first_line(exc), *secrets)
        raise ConnectionFailedError(
            f"Cannot open the tunnel to {describe(url)}: {reason}"
        ) from None
    try:
        try:
            target = opened if isinstance(opened, URL) else make_url(str(opened))
        except sa.exc.ArgumentError:
            raise ConfigurationError(
                f"{PREFIX}TUNNEL gave an invalid URL for {describe(url)}."
            ) from None
        secrets += (target.password,) if isinstance(target.password, str) else ()
        yield target
    finally:
        try:
            manager.__exit__(None, None, None)
        except Exception as exc:
            logger.warning(
                "Closing the tunnel to %s failed (%s); the connection had only read",
                describe(url),
                redact(_first_line(exc), *secrets),
            )


@contextmanager
def _connected(url: URL, target: URL) -> Iterator[Connection]:
    """A read-only connection to ``target``, the database ``url`` names
    (itself, or the near end of its tunnel)."""
    label = describe(url)
    if target is not url:
        label = f"{label} through its tunnel ({describe(target)})"
    passwords = [p for p in (url.password, target.password) if isinstance(p, str)]
    url = target
    engine: Engine | None = None
    try:
        engine = sa.create_engine(
            url,
            poolclass=NullPool,
            connect_args=_connect_args(url, float(app_settings.CONNECT_TIMEOUT)),
        )
        connection = engine.connect()
        _lift_read_timeout(connection, url)
        if url.get_backend_name() == "sqlite":
            # SQLite opens anything lazily: make a non-database fail here.
            _probe_sqlite(connection)
    except sa.exc.NoSuchModuleError as exc:
        raise ConfigurationError(
            f"No SQLAlchemy driver for {url.drivername!r}: install it "
            "(see the package extras) or set a driver in "
            f"{PREFIX}DRIVERS."
        ) from exc
    except ImportError as exc:
        # A known dialect whose driver package is missing (pyodbc, oracledb).
        if engine is not None:
            engine.dispose()
        raise ConfigurationError(
            f"Cannot connect to {label}: the driver of "
            f"{url.drivername!r} is not installed ({_first_line(exc)}); install "
            f"it or set another driver in {PREFIX}DRIVERS."
        ) from None
    except (sa.exc.DBAPIError, OSError) as exc:
        if engine is not None:
            engine.dispose()
        reason = redact(_first_line(exc), *passwords)
        raise ConnectionFailedError(f"Cannot connect to {label}: {reason}") from None
    except (UnicodeError, ValueError, TypeError) as exc:
        # Drivers refuse some values before any network traffic: a NUL byte,
        # text their protocol cannot encode, a home directory that does not
        # exist in a SQLite path. That is a matter of the settings.
        if engine is not None:
            engine.dispose()
        reason = (
            _unicode_reason(exc)
            if isinstance(exc, UnicodeError)
            else redact(_first_line(exc), *passwords)
        )
        raise ConfigurationError(
            f"Cannot connect to {label}: the connection settings hold "
            f"a value the driver refuses ({type(exc).__name__}: {reason})"
        ) from None
    try:
        _make_read_only(connection)
        yield connection
    finally:
        _close(connection, label, passwords)
        engine.dispose()
