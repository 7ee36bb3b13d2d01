"""Type normalisation: the families the original got wrong, per dialect."""

from __future__ import annotations

import pytest

from thoth_db_elements.introspection import DATA_FORMATS, normalise_type

CASES = [
    # (raw, dialect, expected)
    ("TEXT", "sqlite", "VARCHAR"),
    ("text", "postgresql", "VARCHAR"),
    ("DATETIME", "sqlite", "TIMESTAMP"),
    ("datetime", "mariadb", "TIMESTAMP"),
    ("datetime2(7)", "mssql", "TIMESTAMP"),
    ("DECIMAL(10,2)", "sqlite", "DECIMAL"),
    ("decimal(10,2)", "mysql", "DECIMAL"),
    ("numeric(10,2)", "postgresql", "DECIMAL"),
    ("money", "postgresql", "DECIMAL"),
    ("INTEGER(11)", "sqlite", "INT"),
    ("int(11)", "mariadb", "INT"),
    ("int(10) unsigned", "mysql", "INT"),
    ("bigint(20) unsigned", "mariadb", "INT"),
    ("TINYINT", "sqlite", "INT"),
    ("tinyint(4)", "mariadb", "INT"),
    ("tinyint(1)", "mariadb", "BOOLEAN"),
    ("tinyint(1)", "mysql", "BOOLEAN"),
    ("tinyint(1) unsigned", "mysql", "BOOLEAN"),
    ("MEDIUMINT", "sqlite", "INT"),
    ("mediumint(9)", "mariadb", "INT"),
    ("smallint", "postgresql", "INT"),
    ("serial", "postgresql", "INT"),
    ("NVARCHAR(30)", "sqlite", "VARCHAR"),
    ("nvarchar(max)", "mssql", "VARCHAR"),
    ("character varying(20)", "postgresql", "VARCHAR"),
    ("DOUBLE", "sqlite", "DOUBLE"),
    ("double", "mariadb", "DOUBLE"),
    ("double precision", "postgresql", "DOUBLE"),
    ("REAL", "sqlite", "DOUBLE"),
    ("real", "postgresql", "FLOAT"),
    ("real", "mariadb", "DOUBLE"),
    ("float", "mariadb", "FLOAT"),
    ("float4", "postgresql", "FLOAT"),
    ("timestamp(6) with time zone", "postgresql", "TIMESTAMP"),
    ("timestamp without time zone", "postgresql", "TIMESTAMP"),
    ("timestamptz", "postgresql", "TIMESTAMP"),
    ("time with time zone", "postgresql", "TIME"),
    ("time(3)", "mariadb", "TIME"),
    ("date", "postgresql", "DATE"),
    ("year(4)", "mariadb", "INT"),
    ("boolean", "postgresql", "BOOLEAN"),
    ("BOOLEAN", "sqlite", "BOOLEAN"),
    ("bit(1)", "mariadb", "BOOLEAN"),
    ("bit(8)", "mariadb", "VARCHAR"),
    ("bit", "mssql", "BOOLEAN"),
    ("character(3)", "postgresql", "CHAR"),
    ("char(2)", "mariadb", "CHAR"),
    ("CHAR(2)", "sqlite", "CHAR"),
    ("nchar(10)", "mssql", "CHAR"),
    ("bpchar", "postgresql", "CHAR"),
    ("enum('a','b')", "mariadb", "ENUM"),
    ("set('x','y')", "mariadb", "VARCHAR"),
    ("integer[]", "postgresql", "VARCHAR"),
    ("text[]", "postgresql", "VARCHAR"),
    ("_int4", "postgresql", "VARCHAR"),
    ("point", "postgresql", "VARCHAR"),
    ("xml", "postgresql", "VARCHAR"),
    ("json", "mariadb", "VARCHAR"),
    ("uuid", "postgresql", "VARCHAR"),
    ("bytea", "postgresql", "VARCHAR"),
    ("interval", "postgresql", "VARCHAR"),
    ("", "sqlite", "VARCHAR"),
    ("BLOB", "sqlite", "VARCHAR"),
    ("CLOB", "sqlite", "VARCHAR"),
    ("MONEYISH", "sqlite", "DECIMAL"),
    ("FLOATING POINT", "sqlite", "FLOAT"),  # a known name before affinity rules
    ("BIGINT UNSIGNED", "sqlite", "INT"),
    # SQL Server and Oracle: unit-tested only (no live server in CI).
    ("datetimeoffset", "mssql", "TIMESTAMP"),
    ("smalldatetime", "mssql", "TIMESTAMP"),
    ("uniqueidentifier", "mssql", "VARCHAR"),
    ("decimal(18,4)", "mssql", "DECIMAL"),
    ("float", "mssql", "FLOAT"),
    ("NUMBER(10,0)", "oracle", "INT"),
    ("NUMBER(1)", "oracle", "BOOLEAN"),
    ("NUMBER(12,2)", "oracle", "DECIMAL"),
    ("NUMBER(38)", "oracle", "DECIMAL"),
    ("NUMBER", "oracle", "DECIMAL"),
    ("BINARY_DOUBLE", "oracle", "DOUBLE"),
    ("BINARY_FLOAT", "oracle", "FLOAT"),
    ("VARCHAR2(100 CHAR)", "oracle", "VARCHAR"),
    ("NVARCHAR2(50)", "oracle", "VARCHAR"),
    ("CLOB", "oracle", "VARCHAR"),
    ("DATE", "oracle", "DATE"),
    ("TIMESTAMP(6) WITH LOCAL TIME ZONE", "oracle", "TIMESTAMP"),
]


@pytest.mark.parametrize(("raw", "dialect", "expected"), CASES)
def test_normalise(raw: str, dialect: str, expected: str) -> None:
    assert normalise_type(raw, dialect) == expected
    assert expected in DATA_FORMATS


def test_postgres_enum_and_domain() -> None:
    assert normalise_type("mood", "postgresql", is_enum=True) == "ENUM"
    assert normalise_type("positive_int", "postgresql", base_type="integer") == "INT"
    assert (
        normalise_type("money_amount", "postgresql", base_type="numeric(12,2)")
        == "DECIMAL"
    )
    assert normalise_type("mood", "postgresql") == "VARCHAR"
