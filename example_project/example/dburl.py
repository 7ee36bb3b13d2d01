"""Turn a ``DATABASE_URL`` into a Django ``DATABASES`` entry.

Supports ``sqlite:///relative/or/absolute.db``, ``postgres://`` /
``postgresql://`` and ``mysql://`` / ``mariadb://`` URLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
}


def parse_database_url(url: str, base_dir: Path) -> dict[str, Any]:
    """The ``DATABASES['default']`` dict for ``url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ENGINES:
        raise ValueError(f"Unsupported DATABASE_URL scheme {parts.scheme!r}")
    config: dict[str, Any] = {"ENGINE": ENGINES[scheme]}
    if scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///name.db is relative to the project, sqlite:////abs.db absolute.
        name = path[1:] if path.startswith("/") else path
        config["NAME"] = name if name.startswith("/") else str(base_dir / name)
        # Workers, heartbeats and the web process write concurrently: take the
        # write lock up front and let readers proceed (WAL).
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        }
        return config
    config.update(
        NAME=unquote(parts.path.lstrip("/")),
        USER=unquote(parts.username or ""),
        PASSWORD=unquote(parts.password or ""),
        HOST=parts.hostname or "",
        PORT=str(parts.port or ""),
        OPTIONS=dict(parse_qsl(parts.query)),
    )
    if scheme in ("mysql", "mariadb"):
        config["OPTIONS"].setdefault("charset", "utf8mb4")
    return config
