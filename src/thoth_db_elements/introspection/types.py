"""Normalising a raw column type to one of ThothAI's ``data_format`` families.

The original sent every type it did not know to VARCHAR; here each dialect's
names are mapped to the right family (see ``docs/types.md``). Pure functions,
no database access.
"""

from __future__ import annotations

import re

__all__ = ["normalise_type"]

_MYSQL = ("mysql", "mariadb")

# Checked in order against the lower-cased base name (no length, no "unsigned").
_EXACT: dict[str, str] = {
    # integers
    "int": "INT",
    "integer": "INT",
    "int2": "INT",
    "int4": "INT",
    "int8": "INT",
    "smallint": "INT",
    "bigint": "INT",
    "tinyint": "INT",
    "mediumint": "INT",
    "serial": "INT",
    "bigserial": "INT",
    "smallserial": "INT",
    "serial4": "INT",
    "serial8": "INT",
    "serial2": "INT",
    "year": "INT",
    "pls_integer": "INT",
    "binary_integer": "INT",
    # exact numbers
    "decimal": "DECIMAL",
    "numeric": "DECIMAL",
    "dec": "DECIMAL",
    "money": "DECIMAL",
    "smallmoney": "DECIMAL",
    "fixed": "DECIMAL",
    # floating point
    "float": "FLOAT",
    "float4": "FLOAT",
    "binary_float": "FLOAT",
    "double": "DOUBLE",
    "double precision": "DOUBLE",
    "float8": "DOUBLE",
    "binary_double": "DOUBLE",
    # booleans
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    # dates and times
    "date": "DATE",
    "time": "TIME",
    "timetz": "TIME",
    "time with time zone": "TIME",
    "time without time zone": "TIME",
    "datetime": "TIMESTAMP",
    "datetime2": "TIMESTAMP",
    "smalldatetime": "TIMESTAMP",
    "datetimeoffset": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with local time zone": "TIMESTAMP",
    # fixed-length text
    "char": "CHAR",
    "character": "CHAR",
    "nchar": "CHAR",
    "bpchar": "CHAR",
    "national char": "CHAR",
    "national character": "CHAR",
    # enumerations
    "enum": "ENUM",
}

_SQLITE_DECLARED = (
    ("DATETIME", "TIMESTAMP"),
    ("TIMESTAMP", "TIMESTAMP"),
    ("DATE", "DATE"),
    ("TIME", "TIME"),
    ("BOOL", "BOOLEAN"),
    ("DECIMAL", "DECIMAL"),
    ("NUMERIC", "DECIMAL"),
    ("DOUBLE", "DOUBLE"),
    ("FLOAT", "FLOAT"),
    ("NCHAR", "CHAR"),
)


def _base(raw: str) -> str:
    """``character varying(20)`` -> ``character varying``; strips modifiers."""
    text = raw.strip().lower()
    text = re.sub(r"\(.*?\)", "", text)  # lengths, precisions, enum members
    text = re.sub(r"\b(unsigned|signed|zerofill)\b", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _sqlite_affinity(raw: str) -> str:
    """SQLite's own type-affinity rules, after the names it lets through as-is."""
    upper = raw.upper()
    head = upper.split("(")[0].strip()
    if head in ("CHAR", "CHARACTER", "NCHAR", "NATIVE CHARACTER"):
        return "CHAR"
    for needle, family in _SQLITE_DECLARED:
        if needle in upper and not ("INT" in upper and needle in ("TIME", "DATE")):
            return family
    if "INT" in upper:
        return "INT"
    if any(n in upper for n in ("CHAR", "CLOB", "TEXT")):
        return "VARCHAR"
    if not upper or "BLOB" in upper:
        return "VARCHAR"
    if any(n in upper for n in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE"
    return "DECIMAL"  # NUMERIC affinity


def _oracle_number(raw: str) -> str:
    match = re.search(r"\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)", raw)
    if match is None:
        return "DECIMAL"
    precision, scale = int(match.group(1)), int(match.group(2) or 0)
    if precision == 1 and scale == 0:
        return "BOOLEAN"
    return "INT" if scale == 0 and precision <= 18 else "DECIMAL"


def normalise_type(
    raw_type: str,
    dialect: str,
    *,
    base_type: str | None = None,
    is_enum: bool = False,
) -> str:
    """The ``data_format`` family of ``raw_type`` as spelt by ``dialect``.

    ``base_type`` is a PostgreSQL domain's underlying type; ``is_enum`` marks
    a PostgreSQL enum type (whose raw name is the enum's own name).
    """
    dialect = dialect.lower()
    if is_enum:
        return "ENUM"
    if base_type:
        return normalise_type(base_type, dialect)
    raw = (raw_type or "").strip()
    lowered = raw.lower()
    if dialect in _MYSQL and re.fullmatch(
        r"tinyint\s*\(\s*1\s*\)(\s+unsigned)?", lowered
    ):
        return "BOOLEAN"
    if dialect == "mssql" and _base(raw) == "bit":
        return "BOOLEAN"
    if lowered.endswith("[]") or (dialect == "postgresql" and lowered.startswith("_")):
        return "VARCHAR"  # arrays: no array family; the raw type keeps the detail
    if dialect == "sqlite":
        return _sqlite_affinity(raw)
    base = _base(raw)
    if dialect == "oracle" and base == "number":
        return _oracle_number(raw)
    if base == "real":
        # float4 on PostgreSQL; MySQL/MariaDB and the rest treat REAL as double.
        return "FLOAT" if dialect in ("postgresql", "mssql", "oracle") else "DOUBLE"
    if base == "bit":
        return (
            "BOOLEAN" if re.fullmatch(r"bit\s*(\(\s*1\s*\))?", lowered) else "VARCHAR"
        )
    family = _EXACT.get(base)
    if family is not None:
        return family
    if base.startswith("interval"):
        return "VARCHAR"
    if base.startswith(("timestamp", "datetime")):
        return "TIMESTAMP"
    if base.startswith("time"):
        return "TIME"
    return "VARCHAR"  # text, varchar, json, uuid, xml, set(...), geometry, blobs...
