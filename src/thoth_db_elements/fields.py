"""Model fields for database identifiers."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["IdentifierField"]


class IdentifierField(models.CharField):  # type: ignore[type-arg]
    """A ``CharField`` for table and column names, compared byte for byte.

    PostgreSQL and SQLite compare text case-sensitively by default; MySQL and
    MariaDB do not (``utf8mb4_general_ci``), so ``"Users"`` and ``"users"``
    -- two tables in PostgreSQL -- would collide in a unique constraint.
    On MySQL/MariaDB this field's column gets a binary collation that also
    tells trailing spaces apart (``"a"`` and ``"a "`` are two PostgreSQL
    tables; ``utf8mb4_bin`` pads them equal): ``utf8mb4_nopad_bin`` on
    MariaDB, ``utf8mb4_0900_bin`` on MySQL 8. Elsewhere it is a plain
    ``CharField``; an explicit ``db_collation`` always wins. The collation
    is chosen when the column is created: tables made by earlier versions
    keep ``utf8mb4_bin`` until altered.
    """

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "mysql" and not self.db_collation:
            mariadb = getattr(connection, "mysql_is_mariadb", False)
            params["collation"] = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
        return params
