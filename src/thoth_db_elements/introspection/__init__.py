"""Reading a live schema into a ``SchemaSnapshot``: SQLAlchemy only, no Django."""

from __future__ import annotations

from .snapshot import (
    DATA_FORMATS,
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
    UniqueConstraintSnapshot,
)

__all__ = [
    "DATA_FORMATS",
    "ColumnSnapshot",
    "ForeignKeySnapshot",
    "SchemaSnapshot",
    "TableFailure",
    "TableSnapshot",
    "UniqueConstraintSnapshot",
]
