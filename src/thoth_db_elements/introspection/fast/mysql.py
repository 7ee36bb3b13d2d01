"""MariaDB: a whole schema in six ``information_schema`` queries.

SQLAlchemy reads a MySQL/MariaDB table from its ``SHOW CREATE TABLE`` text
(one statement per table; ``DESCRIBE`` for a view) with regular
expressions. This path reads ``TABLES``, ``COLUMNS`` (one string a
table), column-level ``CHECK_CONSTRAINTS``, the unique keys of
``STATISTICS`` and the foreign keys of ``KEY_COLUMN_USAGE`` for the whole
schema. Columns are built straight from ``COLUMNS``: NOT NULL, default and
comment as MariaDB has them, which the Inspector path takes too
(``raw_types.mariadb_column_rules``), because SQLAlchemy's parser loses
the default and the comment after ``INVISIBLE``, an expression or bit
default, ``COMPRESSED`` or ``DEFAULT NULL ON UPDATE``, reads row-start and
row-end columns and every view column as nullable and quotes view
defaults again. Keys and table comments are written as the lines MariaDB's
``SHOW CREATE TABLE`` would print and read back with the same rules as
SQLAlchemy's parser, its quirks included (an ``IGNORED`` unique key is not
reported); foreign keys are taken from ``KEY_COLUMN_USAGE`` as they are
(``foreign_key_facts``, which the Inspector path uses too). A table with a
line break in a column line (in a default, a generation expression or a
CHECK) is read line by line as the parser reads it, which may find columns
in the pieces.

Only MariaDB 10.6 and later (``STATISTICS.IGNORED``, ``CHECK_CONSTRAINTS.
LEVEL``); MySQL spells ``SHOW CREATE TABLE`` differently and is read with
the Inspector. A table the path does not model -- no columns in
``information_schema`` (a broken view or table) or a column name with a
backtick or a line break, which SQLAlchemy mangles -- is left to the
Inspector.

``information_schema`` has no snapshot: a table dropped, created or
altered by another session between two of the queries would be read in
part. The table list (with each table's creation time, which ``ALTER
TABLE`` renews) is read again after the other queries; when it changed,
the whole schema is read again, a few times at most.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from thoth_db_elements.exceptions import IntrospectionError
from thoth_db_elements.introspection.raw_types import (
    MARIADB_UNPARSED,
    Catalogue,
    ColumnRules,
    RawType,
    listed_table,
    mariadb_column_rules,
)
from thoth_db_elements.introspection.snapshot import ColumnSnapshot, new_column

from .base import (
    FastRead,
    ForeignKeyFacts,
    ReadColumn,
    TypeFamilies,
    comment_text,
    key_positions,
    snapshot_of,
)

__all__ = ["ATTEMPTS", "MINIMUM_VERSION", "foreign_key_facts", "read"]

logger = logging.getLogger(__name__)

#: Oldest MariaDB with every column the queries read.
MINIMUM_VERSION: Final = (10, 6)

# information_schema compares names case-insensitively on some servers; the
# binary collation keeps database ``Shop`` apart from ``shop``.
_IN_SCHEMA: Final = ":schema COLLATE utf8mb4_bin"

#: Reads of a schema that keeps changing before giving up.
ATTEMPTS: Final = 3

# Read twice (see ``read``): the time as text and an empty comment as NULL
# spare PyMySQL a datetime and a string per table.
_TABLES = sa.text(
    f"""
    SELECT TABLE_NAME, TABLE_TYPE, NULLIF(TABLE_COMMENT, ''),
           CAST(CREATE_TIME AS CHAR)
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    """
)

# Eight values a column, empty ones as NULL; ``DATA_TYPE`` is the start of
# ``COLUMN_TYPE``. Read only when ``_COLUMNS_BY_TABLE`` cannot be split.
_COLUMNS = sa.text(
    f"""
    SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
           NULLIF(EXTRA, ''), NULLIF(COLUMN_COMMENT, ''),
           CASE WHEN IS_GENERATED = 'ALWAYS'
                THEN COALESCE(GENERATION_EXPRESSION, '') END
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    ORDER BY TABLE_NAME, ORDINAL_POSITION
    """
)

# The columns again, one row a table: PyMySQL's cost is per row and per
# value, a table's columns come as one string. A column is its seven values
# each followed by a unit separator (a default and a generation expression
# marked with "=" when present), columns are joined by record separators in
# position order. A separator inside a value, or a cut string, changes the
# count of records or units, and ``_split_columns`` then declines. Grouped by
# the name's bytes: ``Shop`` and ``shop`` are two tables.
_UNIT: Final = "\x1f"
_RECORD: Final = "\x1e"
_COLUMNS_BY_TABLE = sa.text(
    f"""
    SET STATEMENT group_concat_max_len = 4294967295 FOR
    SELECT MIN(TABLE_NAME), COUNT(*), GROUP_CONCAT(CONCAT(
               COLUMN_NAME, '{_UNIT}', COLUMN_TYPE, '{_UNIT}',
               IS_NULLABLE, '{_UNIT}',
               IFNULL(CONCAT('=', COLUMN_DEFAULT), ''), '{_UNIT}',
               EXTRA, '{_UNIT}', COLUMN_COMMENT, '{_UNIT}',
               CASE WHEN IS_GENERATED = 'ALWAYS'
                    THEN CONCAT('=', COALESCE(GENERATION_EXPRESSION, ''))
                    ELSE '' END, '{_UNIT}')
           ORDER BY ORDINAL_POSITION SEPARATOR '{_RECORD}')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA}
    GROUP BY CAST(TABLE_NAME AS BINARY)
    """
)

# A column-level CHECK is printed inside the column's line, and the parser's
# reading of a generated column depends on everything after it. Read only
# when a table's column lines are read one by one (``_lined``): MariaDB
# prints a CHECK clause again from its parsed form, with string literals
# escaped, and the only names it may hold are its table's columns (stored
# functions are refused there), so a clause holds a line break only when a
# column name does, and such a table is left to the Inspector.
_CHECKS = sa.text(
    f"""
    SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
    FROM information_schema.CHECK_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = {_IN_SCHEMA} AND LEVEL = 'Column'
    """
)

_UNIQUE_KEYS = sa.text(
    f"""
    SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, COLLATION,
           INDEX_TYPE, INDEX_COMMENT, IGNORED
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = {_IN_SCHEMA} AND NON_UNIQUE = 0
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
    """
)

_FOREIGN_KEYS = sa.text(
    f"""
    SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA,
           REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
    FROM information_schema.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA = {_IN_SCHEMA} AND REFERENCED_TABLE_NAME IS NOT NULL
    ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
    """
)

#: ``TABLE_TYPE`` values ``SHOW FULL TABLES`` calls ``BASE TABLE`` / a view.
_TABLE_TYPES: Final = frozenset({"BASE TABLE", "SYSTEM VERSIONED"})
_VIEW_TYPES: Final = frozenset({"VIEW", "SYSTEM VIEW"})


# -- SQLAlchemy's reading of SHOW CREATE TABLE, rule for rule -----------------
_COLUMN_LINE = re.compile(
    r"  `(?P<name>(?:``|[^`])+)` +"
    r"(?P<coltype>\w+)"
    r"(?:\((?P<arg>(?:\d+|\d+,\d+|(?:'(?:''|[^'])*',?)+))\))?"
    r"(?: +(?P<unsigned>UNSIGNED))?"
    r"(?: +(?P<zerofill>ZEROFILL))?"
    r"(?: +CHARACTER SET +(?P<charset>[\w_]+))?"
    r"(?: +COLLATE +(?P<collate>[\w_]+))?"
    r"(?: +(?P<notnull>(?:NOT )?NULL))?"
    r"(?: +DEFAULT +(?P<default>"
    r"(?:NULL|'(?:''|[^'])*'|\(.+?\)|[\-\w\.\(\)]+"
    r"(?: +ON UPDATE [\-\w\.\(\)]+)?)"
    r"))?"
    r"(?: +(?:GENERATED ALWAYS)? ?AS +(?P<generated>\("
    r".*\))? ?(?P<persistence>VIRTUAL|STORED)?"
    r"(?: +(?P<notnull_generated>(?:NOT )?NULL))?"
    r")?"
    r"(?: +(?P<autoincr>AUTO_INCREMENT))?"
    r"(?: +COMMENT +'(?P<comment>(?:''|[^'])*)')?"
    r"(?: +COLUMN_FORMAT +(?P<colfmt>\w+))?"
    r"(?: +STORAGE +(?P<storage>\w+))?"
    r"(?: +(?P<extra>.*))?"
    r",?$",
    re.I | re.UNICODE,
)

#: What SQLAlchemy falls back to when the full column pattern fails: the
#: name and the type, nothing else (nullable, no default, no comment).
_LOOSE_COLUMN_LINE = re.compile(
    r"  `(?P<name>(?:``|[^`])+)` +"
    r"(?P<coltype>\w+)"
    r"(?:\((?P<arg>(?:\d+|\d+,\d+|'(?:''|[^'])+'))\))?",
    re.I | re.UNICODE,
)

_KEY_LINE = re.compile(
    r"  "
    r"(?:(?P<type>\S+) )?KEY"
    r"(?: +`(?P<name>(?:``|[^`])+)`)?"
    r"(?: +USING +(?P<using_pre>\S+))?"
    r" +\((?P<columns>.+?)\)"
    r"(?: +USING +(?P<using_post>\S+))?"
    r"(?: +KEY_BLOCK_SIZE *[ =]? *(?P<keyblock>\S+))?"
    r"(?: +WITH PARSER +(?P<parser>\S+))?"
    r"(?: +COMMENT +(?P<comment>'(?:''|[^'])*'))?"
    r"(?: +/\*(?P<version_sql>.+)\*/ *)?"
    r",?$",
    re.I | re.UNICODE,
)

_KEY_COLUMNS = re.compile(
    r"(?:(?:`((?:``|[^`])+)`)(?:\((\d+)\))?(?: +(ASC|DESC))?(?=\,|$))+",
    re.I | re.UNICODE,
)

_TABLE_COMMENT = re.compile(
    r"(?P<directive>COMMENT)(?:\s*(?:=\s*)|\s+)'(?P<val>(?:[^']|'')*?)'(?!')",
    re.I | re.UNICODE,
)

_UNESCAPES: Final = {
    "\\\\": "\\",
    "\\0": "\0",
    "\\a": "\a",
    "\\b": "\b",
    "\\t": "\t",
    "\\n": "\n",
    "\\v": "\v",
    "\\f": "\f",
    "\\r": "\r",
}
_UNESCAPE = re.compile("|".join(re.escape(code) for code in _UNESCAPES))


def _quoted(text: str) -> str:
    """``text`` as MariaDB prints a string in ``SHOW CREATE TABLE``."""
    out = ["'"]
    for char in text:
        if char == "\0":
            out.append("\\0")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("''")
        else:
            out.append(char)
    out.append("'")
    return "".join(out)


def _cleaned(text: str) -> str:
    """SQLAlchemy's clean-up of a comment it parsed."""
    if "\\" in text:
        text = _UNESCAPE.sub(lambda m: _UNESCAPES[m.group(0)], text)
    return text.replace("''", "'")


def _identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# -- the facts --------------------------------------------------------------
@dataclass(slots=True)
class _Table:
    """Everything ``information_schema`` says about one table or view."""

    name: str
    is_view: bool
    comment: str
    #: ``_COLUMNS`` rows: table, column, column type, nullable, default,
    #: extra, comment (None when empty), generation expression (None unless
    #: generated).
    columns: list[tuple[Any, ...]] = field(default_factory=list)
    keys: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _extra_words(extra: str | None) -> dict[str, str]:
    """``EXTRA`` (``auto_increment, INVISIBLE``...) by what each part says."""
    found: dict[str, str] = {}
    for part in (extra or "").split(", "):
        lowered = part.lower()
        if lowered.startswith("on update "):
            found["on update"] = part[len("on update ") :]
        elif lowered:
            found[lowered] = part
    return found


def _table_column_line(column: Sequence[Any], check: str | None) -> str:
    """The line of ``SHOW CREATE TABLE`` for one column of a table."""
    _table, name, column_type, nullable, default, extra, comment, expression = column
    words = _extra_words(extra)
    parts = [f"  {_identifier(name)} {column_type}"]
    is_generated = expression is not None
    if is_generated:
        kind = "STORED" if "stored generated" in words else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({expression}) {kind}")
    elif nullable == "NO":
        parts.append("NOT NULL")
    if "invisible" in words:
        parts.append("INVISIBLE")
    if not is_generated and default is not None:
        parts.append(f"DEFAULT {default}")
        if "on update" in words:
            parts.append(f"ON UPDATE {words['on update']}")
    if "auto_increment" in words:
        parts.append("AUTO_INCREMENT")
    if comment:
        parts.append(f"COMMENT {_quoted(comment)}")
    if check is not None:
        parts.append(f"CHECK ({check})")
    return " ".join(parts)


def _key_line(name: str, rows: list[tuple[Any, ...]]) -> str:
    """The line of ``SHOW CREATE TABLE`` for a primary or unique key."""
    columns = []
    for _table, _index, column, sub_part, collation, *_rest in rows:
        text = _identifier(column)
        if sub_part is not None:
            text += f"({sub_part})"
        if collation == "D":
            text += " DESC"
        columns.append(text)
    _table, _index, _column, _sub, _coll, index_type, comment, ignored = rows[0]
    head = "  PRIMARY KEY" if name == "PRIMARY" else f"  UNIQUE KEY {_identifier(name)}"
    line = f"{head} ({','.join(columns)})"
    if index_type == "HASH":
        line += " USING HASH"
    if comment:
        line += f" COMMENT {_quoted(comment)}"
    if ignored == "YES":
        line += " IGNORED"
    return line


# -- reading the lines back ---------------------------------------------------
@dataclass(slots=True)
class _Parsed:
    """What SQLAlchemy's parser would make of one table's text."""

    columns: list[ReadColumn] = field(default_factory=list)
    #: A table's columns, built (see ``_parse_table``); else ``columns``.
    snapshots: tuple[ColumnSnapshot, ...] | None = None
    keys: list[dict[str, Any]] = field(default_factory=list)
    comment: str | None = None


def _column_facts(line: str) -> tuple[str, bool, str | None, str | None] | None:
    """Name, nullable, default and comment of a column line, or None."""
    match = _COLUMN_LINE.match(line)
    if match is None:
        loose = _LOOSE_COLUMN_LINE.match(line)
        if loose is None:
            return None
        return loose["name"], True, None, None
    nullable = match["notnull"] != "NOT NULL" and match["notnull_generated"] != (
        "NOT NULL"
    )
    default = match["default"]
    comment = match["comment"]
    return (
        match["name"],
        nullable,
        None if default == "NULL" else default,
        None if comment is None else _cleaned(comment),
    )


def _type_of(table: _Table, name: str) -> str:
    """The raw type of ``table``'s column ``name`` ("" if it has none)."""
    for column in table.columns:
        if column[1] == name:
            return str(column[2])
    return ""


def _parse_column(line: str, parsed: _Parsed, table: _Table) -> None:
    facts = _column_facts(line)
    if facts is not None:
        parsed.columns.append(ReadColumn(*facts, _type_of(table, facts[0])))


def _parse_constraint(line: str, parsed: _Parsed) -> None:
    key = _KEY_LINE.match(line)
    if key is not None:
        names = [found[0] for found in _KEY_COLUMNS.findall(key["columns"])]
        parsed.keys.append({"type": key["type"], "name": key["name"], "columns": names})


def _parse_lines(text: str, parsed: _Parsed, table: _Table) -> None:
    """Read (part of) a ``SHOW CREATE TABLE`` text as SQLAlchemy's parser does."""
    for line in re.split(r"\r?\n", text):
        if line.startswith("  `"):
            _parse_column(line, parsed, table)
        elif line.startswith(") "):
            comment = _TABLE_COMMENT.search(line)
            if comment is not None:
                parsed.comment = _cleaned(comment["val"])
        elif line == ")" or line.startswith("CREATE ") or not line:
            continue
        elif "PARTITION" in line:
            continue  # taken for partitioning options
        else:
            _parse_constraint(line, parsed)


def _line_breaks(table: _Table, checks: Mapping[str, str]) -> bool:
    """Whether a column line of ``table`` would hold a line break (in a
    default, a generation expression or a CHECK): SQLAlchemy's parser then
    reads its pieces as lines of their own, and may find columns or keys in
    them that the table does not have."""
    for column in table.columns:
        for text in (column[4], column[7], checks.get(column[1])):
            if text is not None and "\n" in text:
                return True
    return False


def _lined(objects: Mapping[str, _Table]) -> bool:
    """Whether a table of ``objects`` has a line break in a column's default
    or generation expression (the only places MariaDB leaves one in a
    modelled table's column line; see ``_CHECKS``)."""
    return any(
        not table.is_view and _line_breaks(table, {}) for table in objects.values()
    )


def _with_rules(column: ReadColumn, rules: Mapping[str, ColumnRules]) -> ReadColumn:
    """``column`` with the catalogue's NOT NULL, default and comment, when
    the catalogue has the column (not one the parser made up)."""
    found = rules.get(column.name)
    if found is None:
        return column
    return column._replace(
        nullable=not found.not_null, default=found.default, comment=found.comment
    )


def _table_options(table: _Table) -> str:
    """The last line of ``table``'s ``SHOW CREATE TABLE`` (what the reading
    needs of it: the comment)."""
    if table.comment:
        return f") ENGINE=InnoDB COMMENT={_quoted(table.comment)}"
    return ") ENGINE=InnoDB"


def _parse_table(
    table: _Table,
    checks: dict[str, str],
    families: TypeFamilies,
) -> _Parsed:
    """``table`` (or a view) as the Inspector path reads it: its columns
    with NOT NULL, default and comment from ``information_schema``
    (``raw_types.mariadb_column_rules``, as the Inspector path takes them),
    its primary and unique keys and its comment as SQLAlchemy's parser reads
    its ``SHOW CREATE TABLE`` text (foreign keys: ``foreign_key_facts``).

    A table's columns come as snapshots (``_Parsed.snapshots``): the key
    lines are read first, for the primary key. A table with a line break
    in a column line is read line by line as the parser reads it, into
    ``ReadColumn``s for the reader.
    """
    parsed = _Parsed()
    if table.is_view:
        parsed.snapshots = tuple(_snapshots(table, {}, families))
        return parsed
    lines = [_key_line(name, rows) for name, rows in table.keys.items()]
    tail = ",\n".join(lines) + "\n" + _table_options(table)
    if _line_breaks(table, checks):
        last = len(table.columns) - 1
        for index, column in enumerate(table.columns):
            line = _table_column_line(column, checks.get(column[1]))
            comma = "," if lines or index < last else ""
            _parse_lines(line + comma, parsed, table)
        _parse_lines(tail, parsed, table)
        rules = {column[1]: _rules(column, False) for column in table.columns}
        parsed.columns = [_with_rules(column, rules) for column in parsed.columns]
        return parsed
    # Without line breaks in column lines, the column lines and the rest
    # are read independently; what the rest yields as columns (a line
    # break inside a key line) comes after the table's own.
    _parse_lines(tail, parsed, table)
    primary = next((k for k in parsed.keys if k["type"] == "PRIMARY"), None)
    keyed = key_positions(primary["columns"] if primary else [])
    built = _snapshots(table, keyed, families)
    for extra in parsed.columns:
        built.append(
            snapshot_of(extra, families, keyed.get(extra.name), len(built) + 1)
        )
    parsed.snapshots = tuple(built)
    return parsed


def _rules(column: Sequence[Any], is_view: bool) -> ColumnRules:
    """The rules of a ``_COLUMNS`` row."""
    return mariadb_column_rules(column[3], column[4], column[6], is_view)


def _snapshots(
    table: _Table, keyed: Mapping[str, int], families: TypeFamilies
) -> list[ColumnSnapshot]:
    """``table``'s columns straight from their ``_COLUMNS`` rows (the rules
    of ``raw_types.mariadb_column_rules``, inline)."""
    built: list[ColumnSnapshot] = []
    append = built.append
    is_view = table.is_view
    for (
        _table,
        name,
        raw_type,
        nullable,
        default,
        _extra,
        comment,
        _expr,
    ) in table.columns:
        key_position = keyed.get(name)
        append(
            new_column(
                name,
                raw_type,
                families[raw_type],
                nullable != "NO" and key_position is None,
                None if is_view or default == "NULL" else default,
                comment_text(comment),
                key_position,
                len(built) + 1,
            )
        )
    return built


Listing = list[tuple[Any, ...]]


def _listing(connection: Connection, schema: str) -> Listing:
    """The schema's tables and views with their comments and creation times."""
    rows = connection.execute(_TABLES, {"schema": schema}).all()
    return sorted((tuple(row) for row in rows), key=lambda row: str(row[0]))


def read(connection: Connection, schema: str, include_views: bool) -> FastRead:
    """Read ``schema`` (a MariaDB database that exists) in five queries, one
    more when the columns must be read row by row and one more when a
    column's default or generation expression holds a line break.

    Raises ``IntrospectionError`` when the table list changed during each of
    ``ATTEMPTS`` reads.
    """
    listed = _listing(connection, schema)
    for _attempt in range(ATTEMPTS):
        found = _read_listed(connection, schema, include_views, listed)
        again = _listing(connection, schema)
        if again == listed:
            return found
        logger.warning(
            "The tables of schema %r changed while it was read; reading it again",
            schema,
        )
        listed = again
    raise IntrospectionError(
        f"The tables of schema {schema!r} kept changing while they were read "
        f"({ATTEMPTS} attempts); nothing was changed. Run again when the schema "
        "is stable."
    )


def _list_table(
    found: FastRead,
    table: _Table,
    keys: list[dict[str, Any]],
    comments: dict[str, Any],
) -> None:
    """Hand ``table``, whose column names SQLAlchemy's parser cannot read,
    to the reader as ``raw_types.read_catalogue`` would: its raw types,
    rules and ``ListedTable``; with its foreign keys and comment."""
    name = table.name
    for column in table.columns:
        found.catalogue.raw_types[(name, column[1])] = RawType(str(column[2]))
        found.catalogue.rules[(name, column[1])] = _rules(column, table.is_view)
    key_rows = [row for rows in table.keys.values() for row in rows]
    listed = listed_table(
        (column[1] for column in table.columns),
        key_rows,
        None if table.is_view else table.comment,
    )
    found.catalogue.listed[name] = listed
    comments[name] = {"text": listed.comment}
    if not table.is_view:
        found.foreign_keys[name] = keys


def _key_facts(rows: Sequence[Sequence[Any]], schema: str) -> ForeignKeyFacts:
    """One foreign key from its ``_FOREIGN_KEYS`` rows, in column order
    (``ORDINAL_POSITION``, which orders the referred columns too)."""
    target_schema, target = rows[0][3], rows[0][4]
    return ForeignKeyFacts(
        columns=tuple(row[2] for row in rows),
        referred_schema=None if target_schema == schema else target_schema,
        referred_table=target,
        referred_columns=tuple(row[5] for row in rows),
    )


def foreign_key_facts(
    connection: Connection, schema: str
) -> dict[tuple[str, str], ForeignKeyFacts]:
    """``{(table, constraint name): facts}`` for every foreign key of
    ``schema``, from ``KEY_COLUMN_USAGE`` (one query; both read paths take
    MariaDB's keys from here: SQLAlchemy's parser of ``SHOW CREATE TABLE``
    loses a key to a table whose name holds a backtick, or whose columns'
    names hold a ``)``, and one whose line mentions ``PARTITION``)."""
    grouped: dict[tuple[str, str], list[Sequence[Any]]] = {}
    for row in connection.execute(_FOREIGN_KEYS, {"schema": schema}).all():
        grouped.setdefault((row[0], row[1]), []).append(row)
    return {key: _key_facts(rows, schema) for key, rows in grouped.items()}


def split_columns(
    grouped: Sequence[Sequence[Any]],
) -> dict[str, list[tuple[Any, ...]]] | None:
    """``_COLUMNS`` rows by table from the rows of ``_COLUMNS_BY_TABLE``;
    None when a string does not split into exactly its columns' values (a
    separator inside a value, or a string cut short)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table, count, text in grouped:
        if not isinstance(text, str):
            return None  # NULL (a NULL value, a string over the packet size)
        records = text.split(_RECORD)
        if len(records) != count:
            return None
        rows: list[tuple[Any, ...]] = []
        for record in records:
            values = record.split(_UNIT)
            if len(values) != 8 or values[7]:
                return None
            name, kind, nullable, default, extra, comment, expression, _ = values
            rows.append(
                (
                    table,
                    name,
                    kind,
                    nullable,
                    default[1:] if default else None,
                    extra or None,
                    comment or None,
                    expression[1:] if expression else None,
                )
            )
        found[table] = rows
    return found


def _column_rows(
    connection: Connection, params: dict[str, Any]
) -> dict[str, list[tuple[Any, ...]]]:
    """The ``_COLUMNS`` rows of every table, by table: one string a table
    when the strings split cleanly, else row by row."""
    grouped = None
    try:
        grouped = split_columns(connection.execute(_COLUMNS_BY_TABLE, params).all())
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        logger.debug("Columns read row by row: %s", exc.orig)
    if grouped is not None:
        return grouped
    by_table: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in connection.execute(_COLUMNS, params).all():
        by_table[row[0]].append(tuple(row))
    return by_table


def _read_listed(
    connection: Connection, schema: str, include_views: bool, listed: Listing
) -> FastRead:
    """Read ``schema``, whose tables and views are ``listed``, in three
    queries (see ``read``)."""
    params = {"schema": schema}
    objects: dict[str, _Table] = {}
    for name, table_type, comment, _created in listed:
        is_view = table_type in _VIEW_TYPES
        if table_type in _TABLE_TYPES or (is_view and include_views):
            objects[name] = _Table(name, is_view, comment or "")

    for name, columns in _column_rows(connection, params).items():
        table = objects.get(name)
        if table is not None:
            table.columns = columns

    checks: dict[str, dict[str, str]] = defaultdict(dict)
    if _lined(objects):
        for table_name, column, clause in connection.execute(_CHECKS, params):
            checks[table_name][column] = clause

    for row in connection.execute(_UNIQUE_KEYS, params).all():
        if row[0] in objects:
            objects[row[0]].keys.setdefault(row[1], []).append(tuple(row))

    keys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (table_name, key), facts in foreign_key_facts(connection, schema).items():
        keys[table_name].append(facts.reflected(key))

    comments: dict[str, Any] = {}
    found = FastRead(
        tables=tuple(sorted(n for n, t in objects.items() if not t.is_view)),
        views=tuple(sorted(n for n, t in objects.items() if t.is_view)),
        catalogue=Catalogue(),
        comments=comments,
    )
    families = TypeFamilies(connection.dialect.name)
    for name, table in objects.items():
        if not table.columns:
            continue  # left to the Inspector
        if MARIADB_UNPARSED.search("".join(column[1] for column in table.columns)):
            _list_table(found, table, keys.get(name, []), comments)
            continue
        parsed = _parse_table(table, checks.get(name, {}), families)
        found.columns[name] = (
            parsed.columns if parsed.snapshots is None else parsed.snapshots
        )
        if table.is_view:
            comments[name] = {"text": None}
            continue
        primary = next((k for k in parsed.keys if k["type"] == "PRIMARY"), None)
        found.primary_keys[name] = {
            "constrained_columns": primary["columns"] if primary else [],
            "name": None,
        }
        found.unique_constraints[name] = [
            {"name": key["name"], "column_names": key["columns"]}
            for key in parsed.keys
            if key["type"] == "UNIQUE"
        ]
        found.foreign_keys[name] = keys.get(name, [])
        comments[name] = {"text": parsed.comment}
    return found
