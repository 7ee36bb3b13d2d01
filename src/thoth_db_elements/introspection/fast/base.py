"""What a fast path hands back to the reader, and helpers the paths share.

A fast path does not build snapshots itself: it returns, for every table
and view, the same dictionaries SQLAlchemy's Inspector would have returned
(``name``, ``nullable``, ``default`` and ``comment`` of each column; the
primary key's ``constrained_columns``; foreign keys with ``name``,
``constrained_columns``, ``referred_schema``, ``referred_table`` and
``referred_columns``; unique constraints with ``name`` and
``column_names``; the table comment as ``{"text": ...}``), so that the
reader turns both into snapshots with one set of rules.

A table a fast path cannot reproduce exactly (a broken view, a shape the
path does not model) is left out of one or more of the dictionaries; the
reader then reads those parts of that table alone with the Inspector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from thoth_db_elements.introspection.raw_types import Catalogue

__all__ = ["FastRead", "Reflected"]

logger = logging.getLogger(__name__)

#: One aspect of every table, by table name, shaped like the Inspector's.
Reflected = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FastRead:
    """One schema as a fast path read it.

    ``tables`` and ``views`` are sorted and follow the reader's rules
    (PostgreSQL partitions left out; ``views`` empty unless asked for).
    ``comments`` is None on a dialect without comments (SQLite).
    """

    tables: tuple[str, ...]
    views: tuple[str, ...]
    catalogue: Catalogue
    columns: Reflected = field(default_factory=dict)
    primary_keys: Reflected = field(default_factory=dict)
    foreign_keys: Reflected = field(default_factory=dict)
    unique_constraints: Reflected = field(default_factory=dict)
    comments: Reflected | None = field(default_factory=dict)
