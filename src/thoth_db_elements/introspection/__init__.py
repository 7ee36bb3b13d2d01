"""Reading a live schema into a ``SchemaSnapshot``: SQLAlchemy only, no Django."""

from __future__ import annotations

from .reader import read_schema
from .snapshot import (
    DATA_FORMATS,
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
    UniqueConstraintSnapshot,
)
from .types import normalise_type

__all__ = [
    "DATA_FORMATS",
    "ColumnSnapshot",
    "ForeignKeySnapshot",
    "SchemaSnapshot",
    "TableFailure",
    "TableSnapshot",
    "UniqueConstraintSnapshot",
    "normalise_type",
    "read_schema",
]
