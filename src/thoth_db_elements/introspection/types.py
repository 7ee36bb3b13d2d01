"""Normalising a raw column type to one of ThothAI's ``data_format`` families.

The original system sent every type it did not recognise to ``VARCHAR``.
Here a raw type, as the database's catalogue spells it, is parsed into a
lower-case base name plus its modifiers and mapped through tables:

1. PostgreSQL enums (``is_enum``) are ``ENUM``; PostgreSQL domains take the
   family of their base type (``base_type``).
2. Arrays (``integer[]``, ``_int4``, ``INTEGER ARRAY``) are ``VARCHAR``:
   there is no array family.
3. Rules that depend on the dialect or on the modifiers (MySQL ``tinyint(1)``,
   ``real``, ``float(p)``, SQL Server ``bit`` and ``timestamp``, Oracle
   ``NUMBER(p,s)`` and ``DATE``).
4. The table of known names shared by every dialect.
5. SQLite only: suffixed timestamps (``timestamp_ntz``, ``datetime64``),
   then SQLite's own type-affinity rules, for names not known above.
6. Everything else is ``VARCHAR`` (text, JSON, UUID, geometry, binary...
   are listed in step 4, so that SQLite knows them too).

``docs/types.md`` holds the same mapping as a table. Pure functions, no
database access.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["normalise_type"]

logger = logging.getLogger(__name__)

INT = "INT"
FLOAT = "FLOAT"
DOUBLE = "DOUBLE"
DECIMAL = "DECIMAL"
VARCHAR = "VARCHAR"
CHAR = "CHAR"
DATE = "DATE"
TIME = "TIME"
TIMESTAMP = "TIMESTAMP"
BOOLEAN = "BOOLEAN"
ENUM = "ENUM"

MYSQL = ("mysql", "mariadb")

#: Other spellings of SQLAlchemy's dialect names.
_DIALECT_ALIASES = {
    "postgres": "postgresql",
    "psql": "postgresql",
    "pg": "postgresql",
    "sqlserver": "mssql",
    "sql server": "mssql",
    "tsql": "mssql",
    "sqlite3": "sqlite",
}

#: Words that change nothing about the family (MySQL ``int(10) unsigned``).
_NOISE_WORDS = frozenset({"unsigned", "signed", "zerofill"})


def _names(family: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, family)


#: Base names (lower case, modifiers removed) known on every dialect.
KNOWN_NAMES: dict[str, str] = {
    **_names(
        INT,
        "int",
        "integer",
        "int1",
        "int2",
        "int3",
        "int4",
        "int8",
        "int16",
        "int32",
        "int64",
        "tinyint",
        "smallint",
        "mediumint",
        "middleint",
        "bigint",
        "hugeint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "uhugeint",
        "serial",
        "serial2",
        "serial4",
        "serial8",
        "smallserial",
        "bigserial",
        "year",
        "oid",
        "pls_integer",
        "binary_integer",
    ),
    **_names(
        DECIMAL,
        "decimal",
        "dec",
        "numeric",
        "fixed",
        "money",
        "smallmoney",
        "number",
        "bignumeric",
        "bigdecimal",
    ),
    **_names(FLOAT, "float", "float4", "real", "binary_float", "float32"),
    **_names(
        DOUBLE,
        "double",
        "double precision",
        "float8",
        "float64",
        "binary_double",
    ),
    **_names(BOOLEAN, "bool", "boolean", "bit"),
    **_names(DATE, "date"),
    **_names(
        TIME,
        "time",
        "timetz",
        "time with time zone",
        "time without time zone",
    ),
    **_names(
        TIMESTAMP,
        "timestamp",
        "timestamptz",
        "timestamp with time zone",
        "timestamp without time zone",
        "timestamp with local time zone",
        "datetime",
        "datetime2",
        "smalldatetime",
        "datetimeoffset",
    ),
    **_names(
        CHAR,
        "char",
        "character",
        "nchar",
        "bpchar",
        "national char",
        "national character",
    ),
    **_names(ENUM, "enum"),
    # Listed (not merely defaulted) so SQLite recognises them before applying
    # its affinity rules, which would call JSON or BINARY numeric.
    **_names(
        VARCHAR,
        "varchar",
        "character varying",
        "char varying",
        "nvarchar",
        "national varchar",
        "national character varying",
        "national char varying",
        "nchar varying",
        "varchar2",
        "nvarchar2",
        "string",
        "text",
        "tinytext",
        "mediumtext",
        "longtext",
        "ntext",
        "citext",
        "clob",
        "nclob",
        "long",
        "json",
        "jsonb",
        "xml",
        "xmltype",
        "uuid",
        "uniqueidentifier",
        "set",
        "interval",
        "blob",
        "tinyblob",
        "mediumblob",
        "longblob",
        "binary",
        "varbinary",
        "bytea",
        "image",
        "raw",
        "long raw",
        # Geometric and network types (PostgreSQL's, PostGIS's and
        # SpatiaLite's names): SQLite's affinity would call POINT an INT and
        # GEOMETRY a DECIMAL.
        "point",
        "line",
        "lseg",
        "box",
        "path",
        "polygon",
        "circle",
        "geometry",
        "geography",
        "linestring",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
        "curve",
        "surface",
        "circularstring",
        "compoundcurve",
        "curvepolygon",
        "multicurve",
        "multisurface",
        "polyhedralsurface",
        "triangle",
        "tin",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
    ),
}


@dataclass(frozen=True, slots=True)
class ParsedType:
    """A raw type taken apart: ``numeric(10, 2)`` -> ``numeric``, ``(10, 2)``."""

    #: Lower-case base name without modifiers, quotes or schema qualifier.
    name: str
    #: The arguments of the first parenthesised group, lower case.
    args: tuple[str, ...]
    #: Whether the raw type is an array (``integer[]``, ``_int4``...).
    is_array: bool


_QUOTED_LITERAL = re.compile(r"'(?:[^']|'')*'")
_PARENTHESISED = re.compile(r"\([^()]*\)")
#: A type SQLite reports from a bracketed name with a length, ``[time](7)``:
#: it drops the first and the last character, leaving ``time](7``.
_SQLITE_BRACKETED = re.compile(r"([^\[\]()]+)\]\(([^()]*)")
_INTEGER = re.compile(r"[+-]?\d+")


# A SQLite column's type is whatever its table's text says, of any length:
# the helpers below blank parts of it in one pass (regular expressions for
# the same took seconds on a type of 60,000 characters).
def _blank_spans(text: str, opener: str, closer: str) -> str:
    """``text`` with each span from ``opener`` to the first ``closer`` after
    it (``/* ... */``, ``[ ... ]``) replaced by a blank, left to right."""
    pieces: list[str] = []
    done = 0
    start = text.find(opener)
    while start >= 0:
        close = text.find(closer, start + len(opener))
        if close < 0:
            break  # neither this span nor any after it is closed
        pieces += (text[done:start], " ")
        done = close + len(closer)
        start = text.find(opener, done)
    pieces.append(text[done:])
    return "".join(pieces)


def _blank_parenthesised(text: str) -> str:
    """``text`` with each outermost matched pair of parentheses, and what is
    inside it, replaced by a blank; a parenthesis without its match stays."""
    if "(" not in text:
        return text
    opened: list[int] = []
    pairs: list[tuple[int, int]] = []
    for position, char in enumerate(text):
        if char == "(":
            opened.append(position)
        elif char == ")" and opened:
            pairs.append((opened.pop(), position))
    pieces: list[str] = []
    done = 0
    for start, close in sorted(pairs):
        if start >= done:  # else inside a pair already blanked
            pieces += (text[done:start], " ")
            done = close + 1
    pieces.append(text[done:])
    return "".join(pieces)


def parse_type(raw_type: str, dialect: str = "") -> ParsedType:
    """Take ``raw_type`` apart (see ``ParsedType``)."""
    text = raw_type.strip().lower()
    if dialect == "sqlite" and (bracketed := _SQLITE_BRACKETED.fullmatch(text)):
        text = f"{bracketed.group(1)}({bracketed.group(2)})"
    # Enum members may contain anything, parentheses and brackets included.
    text = _QUOTED_LITERAL.sub("''", text)
    # MariaDB's /* mariadb-5.3 */ (an old temporal format) and executable
    # /*M!100301 COMPRESSED*/ comments are no part of the type's name.
    text = _blank_spans(text, "/*", "*/")
    first = _PARENTHESISED.search(text)
    args = tuple(a.strip() for a in first.group(0)[1:-1].split(",")) if first else ()
    is_array = "[" in text or bool(re.search(r"\barray\b", text))
    text = _blank_parenthesised(text)
    text = _blank_spans(text, "[", "]").replace('"', "").replace("`", "")
    words = [w for w in text.split() if w not in _NOISE_WORDS and w != "array"]
    name = " ".join(words)
    if "." in name and " " not in name:
        name = name.rsplit(".", 1)[1]  # other.mood, SYS.XMLTYPE
    if dialect == "postgresql" and name.startswith("_"):
        is_array = True  # internal array names: _int4, _text
    return ParsedType(name, args, is_array)


def _int_arg(parsed: ParsedType, index: int = 0) -> int | None:
    if len(parsed.args) <= index or not _INTEGER.fullmatch(parsed.args[index]):
        return None
    return int(parsed.args[index])


def _float_by_precision(parsed: ParsedType, bare: str) -> str:
    """``float(p)``: binary precision up to 24 is single, above is double.

    ``bare`` is the family of ``float`` without a precision on the dialect.
    MySQL's deprecated ``float(M,D)`` is always single precision.
    """
    precision = _int_arg(parsed)
    if precision is None or len(parsed.args) > 1:
        return bare
    return FLOAT if precision <= 24 else DOUBLE


def _number(parsed: ParsedType) -> str:
    """Oracle-style ``NUMBER(p,s)``: whole numbers of up to 18 digits are INT."""
    precision = _int_arg(parsed)
    scale = _int_arg(parsed, 1) if len(parsed.args) > 1 else 0
    if precision is not None and scale == 0 and precision <= 18:
        return INT
    return DECIMAL


def _bit(parsed: ParsedType) -> str:
    """``bit`` and ``bit(1)`` hold one bit; ``bit(8)`` is a bit string."""
    length = _int_arg(parsed)
    return BOOLEAN if length in (None, 1) else VARCHAR


def _mysql_tinyint(parsed: ParsedType) -> str:
    return BOOLEAN if parsed.args == ("1",) else INT


Rule = Callable[[ParsedType], str]


def _constant(family: str) -> Rule:
    return lambda _parsed: family


#: Rules that need the dialect or the modifiers, keyed by (dialect, name);
#: the dialect ``""`` applies to every dialect without a rule of its own.
_RULES: dict[tuple[str, str], Rule] = {
    ("", "bit"): _bit,
    ("", "number"): _number,
    ("", "float"): lambda p: _float_by_precision(p, FLOAT),
    # MySQL/MariaDB: BOOLEAN is stored as tinyint(1); REAL is a double unless
    # the REAL_AS_FLOAT SQL mode is on.
    ("mysql", "tinyint"): _mysql_tinyint,
    ("mariadb", "tinyint"): _mysql_tinyint,
    ("mysql", "real"): _constant(DOUBLE),
    ("mariadb", "real"): _constant(DOUBLE),
    # PostgreSQL: float without precision is float8.
    ("postgresql", "float"): lambda p: _float_by_precision(p, DOUBLE),
    # SQL Server: float means float(53); timestamp/rowversion are row
    # version counters (binary), not points in time.
    ("mssql", "float"): lambda p: _float_by_precision(p, DOUBLE),
    ("mssql", "timestamp"): _constant(VARCHAR),
    ("mssql", "rowversion"): _constant(VARCHAR),
    # Oracle: DATE carries a time of day; FLOAT means FLOAT(126) and REAL
    # FLOAT(63), both wider than a single.
    ("oracle", "date"): _constant(TIMESTAMP),
    ("oracle", "float"): lambda p: _float_by_precision(p, DOUBLE),
    ("oracle", "real"): _constant(DOUBLE),
}


def _sqlite_affinity(raw_type: str) -> str:
    """SQLite's rules (section 3.1 of its datatype page), in SQLite's order."""
    declared = raw_type.upper()
    if "INT" in declared:
        return INT
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return VARCHAR
    if not declared.strip() or "BLOB" in declared:
        return VARCHAR
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return DOUBLE
    return DECIMAL  # NUMERIC affinity


def _sqlite(parsed: ParsedType, raw_type: str) -> str:
    family = KNOWN_NAMES.get(parsed.name)
    if family is None:
        if parsed.name.startswith(("timestamp", "datetime")):
            return TIMESTAMP  # timestamp_ntz, datetime64, as elsewhere
        return _sqlite_affinity(raw_type)
    if family in (FLOAT, DOUBLE):
        return DOUBLE  # every SQLite floating-point value is 8 bytes
    if parsed.name == "bit":
        return _bit(parsed)
    if parsed.name == "number":
        return _number(parsed)
    return family


def _canonical_dialect(dialect: str) -> str:
    name = dialect.strip().lower().split("+", 1)[0]
    return _DIALECT_ALIASES.get(name, name)


def normalise_type(
    raw_type: str,
    dialect: str,
    *,
    base_type: str | None = None,
    is_enum: bool = False,
    user_defined: bool = False,
) -> str:
    """The ``data_format`` family (one of ``DATA_FORMATS``) of ``raw_type``.

    ``raw_type`` is the type as ``dialect`` (a SQLAlchemy dialect name such
    as ``postgresql``, ``mariadb``, ``sqlite``, ``mssql`` or ``oracle``)
    spells it, in any case, with or without length, precision or modifiers.
    ``base_type`` is the underlying type of a PostgreSQL domain and decides
    the family; ``is_enum`` marks a PostgreSQL enum type, whose raw name is
    the enum's own name. ``user_defined`` marks a PostgreSQL type of the
    database's own that is not a domain or an enum (a composite or range
    type, an extension's type), or a domain over one: ``VARCHAR`` whatever
    its name (a composite may be called ``money`` or ``"Date"``). Unknown
    types are ``VARCHAR``.

    Pure: the answers are cached, as a schema repeats a few dozen spellings
    over thousands of columns.
    """
    if user_defined and not is_enum:
        return VARCHAR
    return _normalise(raw_type or "", dialect, base_type, is_enum)


@functools.lru_cache(maxsize=4096)
def _normalise(
    raw_type: str, dialect: str, base_type: str | None, is_enum: bool
) -> str:
    dialect = _canonical_dialect(dialect)
    if is_enum:
        return ENUM
    if base_type and base_type.strip():
        return _normalise(base_type, dialect, None, False)
    raw = raw_type
    parsed = parse_type(raw, dialect)
    if parsed.is_array:
        return VARCHAR
    if dialect == "sqlite":
        return _sqlite(parsed, raw)
    rule = _RULES.get((dialect, parsed.name)) or _RULES.get(("", parsed.name))
    if rule is not None:
        return rule(parsed)
    family = KNOWN_NAMES.get(parsed.name)
    if family is not None:
        return family
    # Families spelt with suffixes: timestamp_ntz, timestamp_ns, datetime64.
    if parsed.name.startswith(("timestamp", "datetime")):
        return TIMESTAMP
    if parsed.name:
        logger.debug("Unknown %s type %r normalised to VARCHAR", dialect, raw)
    return VARCHAR
