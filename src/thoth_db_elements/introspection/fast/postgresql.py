"""PostgreSQL: a whole schema in five ``pg_catalog`` queries.

1. Tables and views (``pg_class``) with their comments.
2. Primary keys and unique constraints with their columns in key order
   (read before the columns: a column's snapshot needs its position in the
   primary key).
3. Every domain and enum type of the database: base type (domains
   followed to their base as ``raw_types`` does) and whether an enum.
4. Every column: raw type (``format_type``), NOT NULL and default as
   declared (``raw_types.postgresql_column_rules``, which the Inspector
   path uses too), comment, and the type's oid when it is a
   domain or an enum. Built straight into ``ColumnSnapshot``s.
5. Foreign keys with their columns in key order and the target's real
   schema (``foreign_key_facts``, which the Inspector path uses too).

The answers are shaped as SQLAlchemy's PostgreSQL dialect shapes its own
``get_multi_*`` answers, except where SQLAlchemy is wrong about the
database, and the Inspector path takes the same facts there:

* A column whose type is a domain is NOT NULL when the domain, or any
  domain it is built on, is (SQLAlchemy sees the column's own domain only,
  and only when its name is not also one of its type names); it takes the
  domain's default when it has none itself.
* A ``nextval(...)`` default stays as the server prints it (SQLAlchemy
  puts the harvested schema in front of a sequence printed without one,
  wherever the sequence lives, and drops what stands before ``nextval``).
* Generated columns have no default.

information_schema is not used: on PostgreSQL it is far slower than
``pg_catalog``.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thoth_db_elements.introspection.raw_types import (
    DOMAINS_CTE,
    POSTGRESQL_COLUMN_JOINS,
    POSTGRESQL_USER_DEFINED,
    Catalogue,
    postgresql_column_rules,
)
from thoth_db_elements.introspection.snapshot import ColumnSnapshot, new_column

from .base import (
    FastRead,
    ForeignKeyFacts,
    TypeFamilies,
    comment_text,
    key_positions,
)

__all__ = ["ForeignKeyFacts", "foreign_key_facts", "read"]

logger = logging.getLogger(__name__)

#: The relations of one schema the reader reads, as a reusable condition.
_OWN_RELATIONS: Final = """
    n.nspname = :schema
    AND c.relkind IN ({kinds})
    AND c.relpersistence <> 't'
    AND NOT c.relispartition
"""


#: The kinds of relation read: tables (``r``), partitioned tables (``p``) and
#: foreign tables (``f``) as tables; views (``v``) and materialized views
#: (``m``) as views. Only ``r`` and ``p`` can hold keys.
_RELATIONS: Final = "'r', 'p', 'f', 'v', 'm'"


def _where(kinds: str) -> str:
    return _OWN_RELATIONS.format(kinds=kinds)


_OBJECTS = sa.text(
    f"""
    SELECT c.oid, c.relname, c.relkind IN ('v', 'm'), d.description
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_description AS d
      ON d.objoid = c.oid
     AND d.objsubid = 0
     AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
    WHERE {_where(_RELATIONS)}
    """
)


def _columns_query(generated: bool) -> sa.TextClause:
    """Every column of the schema's tables and views, by table oid.

    Eight values a column, for the driver's cost is per value: the type's
    oid only for a domain or an enum (``_TYPES`` has their facts), NOT NULL
    and the default as declared (``postgresql_column_rules``, shared with
    the Inspector path).
    Unsorted: the database's sort of the rows spills to disk with the
    default ``work_mem``; Python puts them in table order (``attrelid,
    attnum``, the first two columns) faster.
    """
    return sa.text(
        DOMAINS_CTE
        + f"""
        SELECT a.attrelid,
               a.attnum,
               a.attname,
               pg_catalog.format_type(a.atttypid, a.atttypmod),
               CASE WHEN t.typtype IN ('d', 'e') THEN a.atttypid END,
               {postgresql_column_rules(generated)},
               ds.description,
               {POSTGRESQL_USER_DEFINED}
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_attribute AS a
          ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        {POSTGRESQL_COLUMN_JOINS}
        WHERE {_where(_RELATIONS)}
        """
    )


#: Every domain and enum type of the database: whether an enum (or a domain
#: over one) and the ultimate base type's spelling.
_TYPES = sa.text(
    DOMAINS_CTE
    + """
    SELECT t.oid,
           coalesce(dm.typtype, t.typtype) = 'e',
           pg_catalog.format_type(dm.base_oid, dm.base_typmod)
    FROM pg_catalog.pg_type AS t
    LEFT JOIN domains AS dm ON dm.domain_oid = t.oid
    WHERE t.typtype IN ('d', 'e')
    """
)

#: What ``_TYPES`` says of any other type.
_PLAIN_TYPE: Final = (False, None)


def _keys_query(key_columns: str) -> sa.TextClause:
    """Primary keys and unique constraints: their columns as attribute
    numbers in key order (the column query has the names). The slice
    renumbers the array from 1: cast from ``int2vector`` it starts at 0,
    which PostgreSQL writes ``[0:1]={1,2}``, text not every driver parses
    (pg8000 does not)."""
    return sa.text(
        f"""
        SELECT con.conrelid,
               con.contype,
               con.conname,
               {key_columns},
               (i.indkey::pg_catalog.int2[])[:]
        FROM pg_catalog.pg_constraint AS con
        JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_index AS i ON i.indexrelid = con.conindid
        WHERE {_where("'r', 'p'")}
          AND con.contype IN ('p', 'u')
        """
    )


def _attribute_names(numbers: str, relation: str) -> str:
    """SQL: the names of ``relation``'s attributes ``numbers``, in order."""
    return f"""ARRAY(
        SELECT a.attname::text
        FROM pg_catalog.unnest({numbers}) WITH ORDINALITY AS k (attnum, ord)
        JOIN pg_catalog.pg_attribute AS a
          ON a.attrelid = {relation} AND a.attnum = k.attnum
        ORDER BY k.ord
    )"""


#: The schema's foreign keys (``con``), their tables (``c``) and targets
#: (``r``, in schema ``rn``).
_FOREIGN_KEYS_FROM: Final = f"""
    FROM pg_catalog.pg_constraint AS con
    JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_class AS r ON r.oid = con.confrelid
    JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
    WHERE {_where("'r', 'p'")}
      AND con.contype = 'f'
"""


def _inherited(connection: Connection) -> str:
    """SQL: whether a key is a copy for a partition (PostgreSQL 11+)."""
    version = connection.dialect.server_version_info or (0,)
    return "con.conparentid <> 0" if version >= (11,) else "false"


def _fast_foreign_keys_query(inherited: str) -> sa.TextClause:
    """Every foreign key of the schema's tables, columns as attribute numbers
    in key order; the target's column names only when the target is not
    read with the schema (another schema, a partition, a temporary table)."""
    return sa.text(
        f"""
        SELECT con.conrelid, con.conname, {inherited}, rn.nspname, r.relname,
               con.confrelid, con.conkey, con.confkey,
               CASE WHEN r.relnamespace <> c.relnamespace
                      OR r.relispartition
                      OR r.relpersistence = 't'
                    THEN {_attribute_names("con.confkey", "con.confrelid")}
               END
        {_FOREIGN_KEYS_FROM}
        """
    )


def _foreign_keys_query(inherited: str) -> sa.TextClause:
    """Every foreign key of the schema's tables, columns in key order."""
    return sa.text(
        f"""
        SELECT c.relname, con.conname, {inherited}, rn.nspname, r.relname,
               {_attribute_names("con.conkey", "con.conrelid")},
               {_attribute_names("con.confkey", "con.confrelid")}
        {_FOREIGN_KEYS_FROM}
        """
    )


def foreign_key_facts(
    connection: Connection, schema: str
) -> dict[tuple[str, str], ForeignKeyFacts]:
    """``{(table, constraint name): facts}`` for every foreign key of ``schema``.

    One query; constraint names are unique per table in PostgreSQL.
    """
    found: dict[tuple[str, str], ForeignKeyFacts] = {}
    for table, name, copy, target_schema, target, local, remote in connection.execute(
        _foreign_keys_query(_inherited(connection)), {"schema": schema}
    ).all():
        found[(table, name)] = ForeignKeyFacts(
            columns=tuple(local),
            referred_schema=None if target_schema == schema else target_schema,
            referred_table=target,
            referred_columns=tuple(remote),
            inherited=bool(copy),
        )
    return found


def _column(
    row: Any,
    types: Mapping[Any, tuple[Any, ...]],
    families: TypeFamilies,
    keyed: Mapping[str, int],
    ordinal: int,
) -> ColumnSnapshot:
    """One column from its row of the column query; ``keyed`` gives
    primary-key positions."""
    (
        _relation,
        _number,
        name,
        spelt,
        type_oid,
        not_null,
        default,
        comment,
        user_defined,
    ) = row
    is_enum, base = _PLAIN_TYPE if type_oid is None else types[type_oid]
    key_position = keyed.get(name)
    return new_column(
        name,
        spelt,
        families[
            (spelt, base, bool(is_enum), bool(user_defined))
            if base or is_enum or user_defined
            else spelt
        ],
        not not_null and key_position is None,
        default,
        comment_text(comment),
        key_position,
        ordinal,
    )


#: Table order of the column query's rows: ``attrelid``, ``attnum``.
_TABLE_ORDER: Final = operator.itemgetter(0, 1)


def read(connection: Connection, schema: str, include_views: bool) -> FastRead:
    """Read ``schema`` (it exists) in five queries.

    Keys and foreign keys name their columns by attribute number; the
    column rows give the names. The keys are read before the columns'
    snapshots are built: a snapshot needs its primary-key position.
    """
    version = connection.dialect.server_version_info or (0,)
    params = {"schema": schema}

    tables: list[str] = []
    views: list[str] = []
    comments: dict[str, Any] = {}
    relations: dict[Any, str] = {}
    for oid, name, is_view, comment in connection.execute(_OBJECTS, params).all():
        if is_view and not include_views:
            continue
        (views if is_view else tables).append(name)
        comments[name] = {"text": comment}
        relations[oid] = name

    types = {oid: tuple(facts) for oid, *facts in connection.execute(_TYPES).all()}
    rows = sorted(
        connection.execute(_columns_query(version >= (12,)), params).all(),
        key=_TABLE_ORDER,
    )
    #: Column names by (table oid, attribute number), for keys.
    attname = {(row[0], row[1]): row[2] for row in rows}

    key_width = "i.indnkeyatts" if version >= (11,) else "i.indnatts"
    primary_keys: dict[str, Any] = {
        name: {"constrained_columns": [], "name": None} for name in tables
    }
    uniques: dict[str, Any] = {name: [] for name in tables}
    keyed: dict[str, dict[str, int]] = {}
    for oid, kind, name, width, numbers in connection.execute(
        _keys_query(key_width), params
    ).all():
        table = relations[oid]
        key = [attname[(oid, number)] for number in list(numbers)[:width]]
        if kind == "p":
            primary_keys[table] = {"constrained_columns": key, "name": name}
            keyed[table] = key_positions(key)
        else:
            uniques[table].append({"name": name, "column_names": key})

    families = TypeFamilies(connection.dialect.name)
    columns: dict[str, list[ColumnSnapshot]] = {name: [] for name in comments}
    unkeyed: dict[str, int] = {}
    for row in rows:
        owner = relations.get(row[0])
        if owner is None:
            continue  # a view not asked for
        found = columns[owner]
        found.append(
            _column(
                row,
                types,
                families,
                keyed.get(owner, unkeyed),
                len(found) + 1,
            )
        )

    keys: dict[tuple[str, str], ForeignKeyFacts] = {}
    for (
        oid,
        name,
        copy,
        target_schema,
        target,
        target_oid,
        local,
        remote,
        remote_names,
    ) in connection.execute(
        _fast_foreign_keys_query(_inherited(connection)), params
    ).all():
        keys[(relations[oid], name)] = ForeignKeyFacts(
            columns=tuple(attname[(oid, number)] for number in local),
            referred_schema=None if target_schema == schema else target_schema,
            referred_table=target,
            referred_columns=tuple(
                remote_names
                if remote_names is not None
                else (attname[(target_oid, number)] for number in remote)
            ),
            inherited=bool(copy),
        )
    foreign_keys: dict[str, Any] = {name: [] for name in tables}
    for (table, name), facts in sorted(keys.items()):
        if table in foreign_keys and not facts.inherited:
            foreign_keys[table].append(facts.reflected(name))

    return FastRead(
        tables=tuple(sorted(tables)),
        views=tuple(sorted(views)),
        catalogue=Catalogue(),
        columns={name: tuple(found) for name, found in columns.items()},
        primary_keys=primary_keys,
        foreign_keys=foreign_keys,
        unique_constraints=uniques,
        comments=comments,
    )
