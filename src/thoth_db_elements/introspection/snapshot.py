"""Plain, immutable data describing a database schema.

This is the only thing that crosses from introspection (SQLAlchemy) to
persistence (Django ORM). Everything is a frozen dataclass of strings, ints,
bools and tuples, so snapshots compare by value and serialise to JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "DATA_FORMATS",
    "ColumnSnapshot",
    "ForeignKeySnapshot",
    "SchemaSnapshot",
    "TableFailure",
    "TableSnapshot",
    "UniqueConstraintSnapshot",
]

#: The normalised type families (ThothAI's ``data_format`` choices).
DATA_FORMATS: tuple[str, ...] = (
    "INT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "VARCHAR",
    "CHAR",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "BOOLEAN",
    "ENUM",
)


@dataclass(frozen=True, slots=True)
class ColumnSnapshot:
    """One column, in table order.

    ``raw_type`` is the type exactly as the database's catalogue spells it
    (PostgreSQL ``format_type``: ``character varying(20)``; MariaDB
    ``COLUMN_TYPE``: ``tinyint(1)``; SQLite: the declared type, possibly
    empty); on other dialects, SQLAlchemy's rendering of the reflected type.
    ``data_format`` is one of ``DATA_FORMATS``. ``primary_key_position`` is
    the 1-based position in the primary key, or None.
    """

    name: str
    raw_type: str
    data_format: str
    nullable: bool
    default: str | None = None
    comment: str | None = None
    primary_key_position: int | None = None
    ordinal_position: int = 0


@dataclass(frozen=True, slots=True)
class ForeignKeySnapshot:
    """A foreign key as ordered column pairs (composite keys keep their order).

    ``referred_schema`` is None when the target is in the harvested schema.
    SQLite's unnamed keys have ``name`` None.
    """

    name: str | None
    columns: tuple[str, ...]
    referred_schema: str | None
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UniqueConstraintSnapshot:
    """A unique constraint (not the primary key)."""

    name: str | None
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableSnapshot:
    """A table or view with its columns and constraints."""

    name: str
    columns: tuple[ColumnSnapshot, ...]
    schema: str | None = None
    is_view: bool = False
    comment: str | None = None
    foreign_keys: tuple[ForeignKeySnapshot, ...] = ()
    unique_constraints: tuple[UniqueConstraintSnapshot, ...] = ()

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Primary-key column names in key order."""
        keyed = [c for c in self.columns if c.primary_key_position is not None]
        keyed.sort(key=lambda c: c.primary_key_position or 0)
        return tuple(c.name for c in keyed)


# -- building snapshots fast ------------------------------------------------------
# The ``__init__`` a frozen dataclass gets sets each field through a call of
# ``object.__setattr__``. A read builds a snapshot per column (tens of
# thousands) and per table and key (thousands), so the reader builds them
# with the ``new_*`` classes below instead: each is laid out exactly as its
# snapshot class (the same slots in the same order, no base but ``object``)
# and keeps ``object``'s own ``__setattr__``, so its ``__init__`` assigns as
# an ordinary class's does, then turns the instance into the snapshot it is
# laid out as. Same signature, same object, same equality and hash, two
# to three and a half times as fast; the snapshot classes have no
# ``__post_init__`` to skip. ``tests/test_introspection.py`` holds the
# signatures and layouts equal. (Setting ``__class__`` raises the
# ``object.__setattr__`` audit event, once per snapshot built.)


class _NewColumn:
    """Builds a ``ColumnSnapshot`` (see above)."""

    __slots__ = ColumnSnapshot.__slots__

    def __init__(
        self,
        name: str,
        raw_type: str,
        data_format: str,
        nullable: bool,
        default: str | None = None,
        comment: str | None = None,
        primary_key_position: int | None = None,
        ordinal_position: int = 0,
    ) -> None:
        self.name = name
        self.raw_type = raw_type
        self.data_format = data_format
        self.nullable = nullable
        self.default = default
        self.comment = comment
        self.primary_key_position = primary_key_position
        self.ordinal_position = ordinal_position
        self.__class__ = ColumnSnapshot  # type: ignore[assignment]


class _NewForeignKey:
    """Builds a ``ForeignKeySnapshot`` (see above)."""

    __slots__ = ForeignKeySnapshot.__slots__

    def __init__(
        self,
        name: str | None,
        columns: tuple[str, ...],
        referred_schema: str | None,
        referred_table: str,
        referred_columns: tuple[str, ...],
    ) -> None:
        self.name = name
        self.columns = columns
        self.referred_schema = referred_schema
        self.referred_table = referred_table
        self.referred_columns = referred_columns
        self.__class__ = ForeignKeySnapshot  # type: ignore[assignment]


class _NewTable:
    """Builds a ``TableSnapshot`` (see above)."""

    __slots__ = TableSnapshot.__slots__

    def __init__(
        self,
        name: str,
        columns: tuple[ColumnSnapshot, ...],
        schema: str | None = None,
        is_view: bool = False,
        comment: str | None = None,
        foreign_keys: tuple[ForeignKeySnapshot, ...] = (),
        unique_constraints: tuple[UniqueConstraintSnapshot, ...] = (),
    ) -> None:
        self.name = name
        self.columns = columns
        self.schema = schema
        self.is_view = is_view
        self.comment = comment
        self.foreign_keys = foreign_keys
        self.unique_constraints = unique_constraints
        self.__class__ = TableSnapshot  # type: ignore[assignment]


#: ``ColumnSnapshot(...)``, fast.
new_column: type[ColumnSnapshot] = _NewColumn  # type: ignore[assignment]
#: ``ForeignKeySnapshot(...)``, fast.
new_foreign_key: type[ForeignKeySnapshot] = _NewForeignKey  # type: ignore[assignment]
#: ``TableSnapshot(...)``, fast.
new_table: type[TableSnapshot] = _NewTable  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class TableFailure:
    """A table that could not be read, and why (no secrets in ``error``)."""

    name: str
    error: str


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """Everything read from one schema of one database.

    ``tables`` is sorted by name. ``failures`` lists tables that could not be
    read; a snapshot with failures, or whose ``listing_complete`` is False,
    is incomplete, so persistence never deletes on its basis.
    """

    dialect: str
    schema: str | None
    tables: tuple[TableSnapshot, ...]
    failures: tuple[TableFailure, ...] = field(default=())
    #: False when the database may hide tables from this user (MariaDB and
    #: MySQL list only the tables a user has a privilege on): what is
    #: missing may be hidden rather than dropped.
    listing_complete: bool = True
    #: Tables the database lists that are left out on purpose, sorted:
    #: SQLite's shadow tables, the storage of virtual tables. A catalogue
    #: row of one (from an older version) is removed without counting as a
    #: deletion.
    left_out: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every table was read, and every table could be seen."""
        return not self.failures and self.listing_complete

    def table(self, name: str) -> TableSnapshot:
        """The table called ``name`` (KeyError if absent)."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the whole snapshot."""
        return asdict(self)
