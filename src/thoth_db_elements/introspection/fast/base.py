"""What a fast path hands back to the reader, and helpers the paths share.

A fast path does not build snapshots itself. Each column comes as a
``ReadColumn``: the facts SQLAlchemy's Inspector would have reported for it
(name, nullable, default, comment) plus the catalogue's spelling of its
type, so the reader builds the ``ColumnSnapshot`` without looking anything
up. The other aspects come shaped as the Inspector's own answers: the
primary key's ``constrained_columns``; foreign keys with ``name``,
``constrained_columns``, ``referred_schema``, ``referred_table`` and
``referred_columns``; unique constraints with ``name`` and
``column_names``; the table comment as ``{"text": ...}``. The reader turns
both paths' answers into snapshots with one set of rules.

A table a fast path cannot reproduce exactly (a broken view, a shape the
path does not model) is left out of one or more of the dictionaries; the
reader then reads those parts of that table alone with the Inspector, and
finds the raw types of its columns in ``FastRead.catalogue``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from thoth_db_elements.introspection.raw_types import Catalogue
from thoth_db_elements.introspection.snapshot import ColumnSnapshot, new_column
from thoth_db_elements.introspection.types import normalise_type

__all__ = [
    "FastRead",
    "ForeignKeyFacts",
    "ReadColumn",
    "Reflected",
    "TypeFamilies",
    "comment_text",
    "key_positions",
    "snapshot_of",
]

logger = logging.getLogger(__name__)

#: One aspect of every table, by table name, shaped like the Inspector's.
Reflected = dict[str, Any]


def comment_text(comment: str | None) -> str | None:
    """A column comment as snapshots keep it: None when empty or blank."""
    return comment if comment and not comment.isspace() else None


#: A PostgreSQL type's facts beyond its spelling: ``(raw_type, base_type,
#: is_enum, user_defined)`` (see ``RawType``).
TypeFacts = tuple[str, str | None, bool, bool]


class TypeFamilies(dict[str | TypeFacts, str]):
    """``normalise_type`` for one read, cached by spelling.

    ``families[raw_type]``, or ``families[raw_type, base_type, is_enum,
    user_defined]`` for a PostgreSQL domain, enum or type of the database's
    own, is the ``data_format``: a plain dict lookup for the thousands of
    columns that repeat a few dozen spellings.
    """

    def __init__(self, dialect: str) -> None:
        super().__init__()
        self.dialect = dialect

    def __missing__(self, key: str | TypeFacts) -> str:
        raw_type, base_type, is_enum, user_defined = (
            key if isinstance(key, tuple) else (key, None, False, False)
        )
        found = self[key] = normalise_type(
            raw_type,
            self.dialect,
            base_type=base_type,
            is_enum=is_enum,
            user_defined=user_defined,
        )
        return found


class ReadColumn(NamedTuple):
    """One column as a fast path read it, in table order.

    ``nullable``, ``default`` and ``comment`` are what SQLAlchemy's
    Inspector reports (its quirks included; on PostgreSQL and MariaDB the
    catalogue's, ``raw_types.ColumnRules``); ``raw_type``, ``base_type``,
    ``is_enum`` and ``user_defined`` are the catalogue's, as in
    ``RawType``. A plain tuple: a schema has tens of thousands of them.
    """

    name: str
    nullable: bool
    default: str | None
    comment: str | None
    raw_type: str
    base_type: str | None = None
    is_enum: bool = False
    user_defined: bool = False


def key_positions(primary_key: Iterable[str]) -> dict[str, int]:
    """Each primary-key column's 1-based position in the key."""
    positions: dict[str, int] = {}
    for number, name in enumerate(primary_key, start=1):
        positions.setdefault(name, number)
    return positions


def snapshot_of(
    column: ReadColumn,
    families: TypeFamilies,
    key_position: int | None,
    ordinal: int,
    loose_key: bool = False,
) -> ColumnSnapshot:
    """The snapshot of a column at ``ordinal`` (1-based) in its table.

    ``key_position`` is its position in the primary key (a key column is
    NOT NULL whatever the catalogue says, unless ``loose_key``: a SQLite
    key that may hold NULL); the comment is kept only when not blank.
    """
    raw_type, base_type, is_enum, user_defined = column[4:]
    return new_column(
        column.name,
        raw_type,
        families[
            (raw_type, base_type, is_enum, user_defined)
            if base_type or is_enum or user_defined
            else raw_type
        ],
        bool(column.nullable) and (key_position is None or loose_key),
        column.default,
        comment_text(column.comment),
        key_position,
        ordinal,
    )


@dataclass(frozen=True, slots=True)
class ForeignKeyFacts:
    """One foreign key as the catalogue records it (PostgreSQL's
    ``pg_constraint``, MariaDB's ``KEY_COLUMN_USAGE``).

    ``inherited`` marks the copies PostgreSQL adds to a table for each
    partition of a partitioned table it references (``conparentid``); they
    are not keys of their own. ``referred_schema`` is None when the target
    is in the harvested schema.
    """

    columns: tuple[str, ...]
    referred_schema: str | None
    referred_table: str
    referred_columns: tuple[str, ...]
    inherited: bool = False

    def reflected(self, name: str) -> dict[str, Any]:
        """The key in the shape of SQLAlchemy's ``get_multi_foreign_keys``."""
        return {
            "name": name,
            "constrained_columns": list(self.columns),
            "referred_schema": self.referred_schema,
            "referred_table": self.referred_table,
            "referred_columns": list(self.referred_columns),
        }


@dataclass(frozen=True, slots=True)
class FastRead:
    """One schema as a fast path read it.

    ``tables`` and ``views`` are sorted and follow the reader's rules
    (PostgreSQL partitions left out; ``views`` empty unless asked for).
    ``columns`` holds ``ReadColumn`` lists or built snapshots by table;
    ``catalogue`` the raw types of the columns of tables missing from
    ``columns`` (on MariaDB, every table's keys and comment). ``comments``
    is None on a dialect without comments (SQLite).
    """

    tables: tuple[str, ...]
    views: tuple[str, ...]
    catalogue: Catalogue
    columns: dict[str, Sequence[ReadColumn] | tuple[ColumnSnapshot, ...]] = field(
        default_factory=dict
    )
    primary_keys: Reflected = field(default_factory=dict)
    foreign_keys: Reflected = field(default_factory=dict)
    unique_constraints: Reflected = field(default_factory=dict)
    comments: Reflected | None = field(default_factory=dict)
