"""Type normalisation: every documented raw type lands in its family.

Each case is (raw type, dialect, family), written out by hand from the
databases' documentation; ``docs/types.md`` is the same mapping as a table.
"""

from __future__ import annotations

import re
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thoth_db_elements.introspection import DATA_FORMATS, normalise_type, types
from thoth_db_elements.introspection.types import parse_type

pytestmark = pytest.mark.source_only

INT_CASES = [
    ("INTEGER(11)", "sqlite"),
    ("integer", "postgresql"),
    ("int(11)", "mariadb"),
    ("int(11) unsigned", "mysql"),
    ("int(10) unsigned zerofill", "mariadb"),
    ("bigint", "postgresql"),
    ("bigint(20) unsigned", "mariadb"),
    ("smallint", "postgresql"),
    ("serial", "postgresql"),
    ("bigserial", "postgresql"),
    ("int4", "postgresql"),
    ("int8", "postgresql"),
    ("TINYINT", "sqlite"),
    ("tinyint(4)", "mariadb"),
    ("tinyint", "mssql"),
    ("tinyint(1)", "sqlite"),  # BOOLEAN only on MySQL/MariaDB
    ("tinyint(1)", "postgresql"),
    ("MEDIUMINT", "sqlite"),
    ("mediumint(9)", "mariadb"),
    ("year", "mysql"),
    ("year(4)", "mariadb"),
    ("oid", "postgresql"),
    ("UNSIGNED BIG INT", "sqlite"),  # affinity: contains INT
    ("INT8", "sqlite"),
    ("FLOATING POINT", "sqlite"),  # affinity: "POINT" contains INT
    ("INTERVAL DAY", "sqlite"),  # affinity: contains INT
    ("NUMBER(10,0)", "oracle"),
    ("NUMBER(10, 0)", "oracle"),  # SQLAlchemy's rendering
    ("NUMBER(18)", "oracle"),
    ("NUMBER(1)", "oracle"),  # the rule, not a guess at booleans
    ("NUMBER(9,0)", "snowflake"),
    ("bigint", "mssql"),
    ("INT64", "bigquery"),
    ("HUGEINT", "duckdb"),
]

BOOLEAN_CASES = [
    ("tinyint(1)", "mysql"),
    ("tinyint(1)", "mariadb"),
    ("TINYINT(1)", "mariadb"),
    ("tinyint(1) unsigned", "mysql"),
    ("bool", "postgresql"),
    ("boolean", "postgresql"),
    ("BOOLEAN", "sqlite"),
    ("BOOL", "sqlite"),
    ("bit(1)", "mariadb"),
    ("bit(1)", "postgresql"),
    ("bit", "mssql"),
    ("BIT", "mssql"),
    ("bit", "mysql"),
]

DECIMAL_CASES = [
    ("DECIMAL(10,2)", "sqlite"),
    ("decimal](10, 2", "sqlite"),  # [decimal](10, 2)
    ("my type](2", "sqlite"),  # affinity: NUMERIC
    ("DECIMAL(10, 2)", "sqlite"),
    ("decimal(10,2)", "mariadb"),
    ("decimal(10,2) unsigned", "mysql"),
    ("numeric", "postgresql"),
    ("numeric(10,2)", "postgresql"),
    ("NUMERIC", "sqlite"),
    ("money", "postgresql"),
    ("money", "mssql"),
    ("smallmoney", "mssql"),
    ("decimal(18,4)", "mssql"),
    ("NUMBER", "oracle"),
    ("NUMBER(12,2)", "oracle"),
    ("NUMBER(19)", "oracle"),  # more digits than a 64-bit integer holds
    ("NUMBER(38)", "oracle"),
    ("NUMBER(*,0)", "oracle"),
    ("NUMBER(10,-2)", "oracle"),
    ("MONEYISH", "sqlite"),  # affinity: NUMERIC
    ("STRANGE", "sqlite"),
]

FLOAT_CASES = [
    ("float", "mariadb"),
    ("float", "mysql"),
    ("float(7,4)", "mysql"),  # float(M,D) is single precision
    ("float(24)", "mysql"),
    ("float4", "postgresql"),
    ("real", "postgresql"),
    ("REAL", "postgresql"),
    ("float(24)", "postgresql"),
    ("real", "mssql"),
    ("float(24)", "mssql"),
    ("BINARY_FLOAT", "oracle"),
    ("float", "duckdb"),
]

DOUBLE_CASES = [
    ("DOUBLE", "sqlite"),
    ("double", "mariadb"),
    ("double(10,2)", "mysql"),
    ("double precision", "postgresql"),
    ("DOUBLE PRECISION", "sqlite"),
    ("float8", "postgresql"),
    ("REAL", "sqlite"),  # 8 bytes in SQLite
    ("FLOAT", "sqlite"),
    ("real", "mariadb"),  # 8 bytes in MySQL/MariaDB
    ("real", "mysql"),
    ("float(25)", "mysql"),
    ("float(53)", "postgresql"),
    ("float", "postgresql"),  # PostgreSQL's float is float8
    ("float", "mssql"),  # SQL Server's float is float(53)
    ("FLOAT(53)", "mssql"),
    ("BINARY_DOUBLE", "oracle"),
    ("FLOAT", "oracle"),  # FLOAT(126)
    ("FLOAT(126)", "oracle"),
    ("REAL", "oracle"),  # FLOAT(63)
    ("DOUBLE_ish", "sqlite"),  # affinity: DOUB
    ("FLOA", "sqlite"),
    ("FLOAT64", "bigquery"),
]

DATE_CASES = [
    ("date", "postgresql"),
    ("DATE", "sqlite"),
    ("date", "mariadb"),
    ("date", "mssql"),
]

TIME_CASES = [
    # A bracketed name with a length, [time](7) as SQL Server writes it:
    # SQLite reports it without its first and last characters.
    ("time](7", "sqlite"),
    ("time", "postgresql"),
    ("time without time zone", "postgresql"),
    ("time with time zone", "postgresql"),
    ("time(3) with time zone", "postgresql"),
    ("timetz", "postgresql"),
    ("time(3)", "mariadb"),
    # MariaDB's old temporal format, as views of time functions show it.
    ("time /* mariadb-5.3 */", "mariadb"),
    ("time(3) /* mariadb-5.3 */", "mariadb"),
    ("TIME", "sqlite"),
    ("time(7)", "mssql"),
]

TIMESTAMP_CASES = [
    ("DATETIME", "sqlite"),
    ("TIMESTAMP_NTZ", "sqlite"),  # suffixed, as on other dialects
    ("DATETIME64", "sqlite"),
    ("datetime", "mariadb"),
    ("datetime(6) /* mariadb-5.3 */", "mariadb"),
    ("timestamp /* mariadb-5.3 */", "mariadb"),
    ("datetime(6)", "mysql"),
    ("timestamp", "mariadb"),
    ("TIMESTAMP", "sqlite"),
    ("timestamp(6) with time zone", "postgresql"),
    ("TIMESTAMP(6) WITH TIME ZONE", "postgresql"),
    ("timestamp without time zone", "postgresql"),
    ("timestamptz", "postgresql"),
    ("datetime2", "mssql"),
    ("datetime2(7)", "mssql"),
    ("DATETIME2", "sqlite"),
    ("smalldatetime", "mssql"),
    ("datetimeoffset", "mssql"),
    ("DATETIMEOFFSET(7)", "mssql"),
    ("DATE", "oracle"),  # Oracle's DATE has a time of day
    ("TIMESTAMP(6)", "oracle"),
    ("TIMESTAMP(6) WITH LOCAL TIME ZONE", "oracle"),
    ("TIMESTAMP_NTZ", "snowflake"),
    ("timestamp_ns", "duckdb"),
]

CHAR_CASES = [
    ("char(3)", "postgresql"),
    ("character(3)", "postgresql"),
    ("bpchar", "postgresql"),
    ('"char"', "postgresql"),  # PostgreSQL's one-byte internal type
    ("char(2)", "mariadb"),
    ("CHAR(2)", "sqlite"),
    ("char](10", "sqlite"),  # [char](10)
    ("nchar](5", "sqlite"),
    ("CHARACTER(20)", "sqlite"),
    ("NCHAR(55)", "sqlite"),
    ("nchar", "mssql"),
    ("nchar(10)", "mssql"),
    ("CHAR(1)", "oracle"),
    ("NCHAR(5)", "oracle"),
]

ENUM_CASES = [
    ("enum('a','b')", "mariadb"),
    ("ENUM('a','b')", "mysql"),
    ("enum('it''s','(x)','[y]')", "mariadb"),  # members that look like syntax
    ("enum('/* a */','b')", "mariadb"),  # a member that looks like a comment
]

VARCHAR_CASES = [
    ("TEXT", "sqlite"),
    ("varbinary](50", "sqlite"),  # [varbinary](50)
    ("nvarchar](50", "sqlite"),
    # SpatiaLite's geometry columns: affinity would say INT and DECIMAL.
    ("POINT", "sqlite"),
    ("MULTIPOINT", "sqlite"),
    ("GEOMETRY", "sqlite"),
    ("POLYGON", "sqlite"),
    ("LINESTRING", "sqlite"),
    ("INET", "sqlite"),
    ("CURVEPOLYGON", "sqlite"),  # GeoPackage's
    ("MULTISURFACE", "sqlite"),
    ("GEOMCOLLECTION", "sqlite"),  # MySQL's
    ("geometry(Point, 4326)", "postgresql"),
    ("text", "postgresql"),
    ("text", "mariadb"),
    ("varchar(10) /*M!100301 COMPRESSED*/", "mariadb"),
    ("longtext", "mariadb"),
    ("NVARCHAR", "sqlite"),
    ("NVARCHAR(30)", "sqlite"),
    ("nvarchar(max)", "mssql"),
    ("varchar(255)", "mysql"),
    ("character varying(20)", "postgresql"),
    ("character varying", "postgresql"),
    ("VARYING CHARACTER(255)", "sqlite"),  # affinity: contains CHAR
    ("NATIVE CHARACTER(70)", "sqlite"),
    ("VARCHAR2(100 CHAR)", "oracle"),
    ("varchar2", "oracle"),
    ("NVARCHAR2(50)", "oracle"),
    ("clob", "oracle"),
    ("CLOB", "sqlite"),
    ("NCLOB", "oracle"),
    ("LONG", "oracle"),
    ("json", "postgresql"),
    ("jsonb", "postgresql"),
    ("json", "mariadb"),
    ("JSON", "sqlite"),  # NUMERIC affinity in SQLite, but a known name
    ("uuid", "postgresql"),
    ("UUID", "sqlite"),
    ("uniqueidentifier", "mssql"),
    ("UNIQUEIDENTIFIER", "mssql"),
    ("xml", "postgresql"),
    ("xml", "mssql"),
    ("set('x','y')", "mariadb"),
    ("SET('x','y')", "mysql"),
    ("interval", "postgresql"),
    ("interval year to month", "postgresql"),
    ("INTERVAL DAY(2) TO SECOND(6)", "oracle"),
    ("point", "postgresql"),
    ("polygon", "postgresql"),
    ("geometry", "mariadb"),
    ("bytea", "postgresql"),
    ("blob", "mariadb"),
    ("BLOB", "sqlite"),
    ("", "sqlite"),  # no declared type: BLOB affinity
    ("", "postgresql"),
    ("varbinary(16)", "mssql"),
    ("image", "mssql"),
    ("RAW(16)", "oracle"),
    ("BINARY(16)", "sqlite"),
    ("bit(8)", "mariadb"),  # a bit field, not a flag
    ("bit varying(5)", "postgresql"),
    ("integer[]", "postgresql"),
    ("text[]", "postgresql"),
    ("character varying(20)[]", "postgresql"),
    ("_int4", "postgresql"),
    ("_text", "postgresql"),
    ("INTEGER ARRAY", "postgresql"),
    ("timestamp", "mssql"),  # SQL Server's timestamp is rowversion
    ("rowversion", "mssql"),
    ("tsvector", "postgresql"),
    ("inet", "postgresql"),
    ("STRING", "bigquery"),
    ("STRING", "sqlite"),  # NUMERIC affinity in SQLite, but a known name
    ("sql_variant", "mssql"),
    ("mood", "postgresql"),  # an enum name without is_enum: unknown
]

CASES = [
    *[(raw, dialect, "INT") for raw, dialect in INT_CASES],
    *[(raw, dialect, "BOOLEAN") for raw, dialect in BOOLEAN_CASES],
    *[(raw, dialect, "DECIMAL") for raw, dialect in DECIMAL_CASES],
    *[(raw, dialect, "FLOAT") for raw, dialect in FLOAT_CASES],
    *[(raw, dialect, "DOUBLE") for raw, dialect in DOUBLE_CASES],
    *[(raw, dialect, "DATE") for raw, dialect in DATE_CASES],
    *[(raw, dialect, "TIME") for raw, dialect in TIME_CASES],
    *[(raw, dialect, "TIMESTAMP") for raw, dialect in TIMESTAMP_CASES],
    *[(raw, dialect, "CHAR") for raw, dialect in CHAR_CASES],
    *[(raw, dialect, "ENUM") for raw, dialect in ENUM_CASES],
    *[(raw, dialect, "VARCHAR") for raw, dialect in VARCHAR_CASES],
]


@pytest.mark.parametrize(("raw", "dialect", "expected"), CASES)
def test_normalise(raw: str, dialect: str, expected: str) -> None:
    assert normalise_type(raw, dialect) == expected


@pytest.mark.parametrize(("raw", "dialect", "expected"), CASES)
def test_case_and_padding_do_not_matter(raw: str, dialect: str, expected: str) -> None:
    assert normalise_type(f"  {raw.upper()} ", dialect.upper()) == expected
    assert normalise_type(raw.lower(), dialect) == expected


def test_every_family_is_a_data_format_and_every_format_is_reached() -> None:
    assert {expected for _raw, _dialect, expected in CASES} == set(DATA_FORMATS)


def test_postgres_enums() -> None:
    assert normalise_type("mood", "postgresql", is_enum=True) == "ENUM"
    assert normalise_type('"Mood"', "postgresql", is_enum=True) == "ENUM"
    assert normalise_type("other.mood", "postgresql", is_enum=True) == "ENUM"


def test_postgres_types_of_the_databases_own() -> None:
    # A composite, range or extension type has no family, whatever its name;
    # a domain over one neither. An enum stays one.
    assert normalise_type("public.money", "postgresql") == "DECIMAL"
    assert normalise_type("public.money", "postgresql", user_defined=True) == "VARCHAR"
    assert normalise_type("timestamp_range", "postgresql", user_defined=True) == (
        "VARCHAR"
    )
    assert (
        normalise_type("born_on", "postgresql", base_type='"Date"', user_defined=True)
        == "VARCHAR"
    )
    assert normalise_type("mood", "postgresql", is_enum=True, user_defined=True) == (
        "ENUM"
    )


@pytest.mark.parametrize(
    ("domain", "base", "expected"),
    [
        ("positive_int", "integer", "INT"),
        ("price", "numeric(12,2)", "DECIMAL"),
        ("email_address", "character varying(254)", "VARCHAR"),
        ("code", "character(3)", "CHAR"),
        ("stamp", "timestamp(3) with time zone", "TIMESTAMP"),
        ("flag", "boolean", "BOOLEAN"),
        ("ratio", "real", "FLOAT"),
        ("scores", "integer[]", "VARCHAR"),  # a domain over an array
        ("positive_int", "", "VARCHAR"),  # an empty base is ignored
    ],
)
def test_postgres_domains_take_their_base_family(
    domain: str, base: str, expected: str
) -> None:
    assert normalise_type(domain, "postgresql", base_type=base) == expected


def test_enum_flag_wins_over_base_type() -> None:
    # A domain over an enum: the reader passes both.
    assert (
        normalise_type("mood_domain", "postgresql", base_type="mood", is_enum=True)
        == "ENUM"
    )


@pytest.mark.parametrize(
    ("dialect", "canonical"),
    [
        ("postgres", "postgresql"),
        ("postgresql+psycopg", "postgresql"),
        ("mysql+pymysql", "mysql"),
        ("sqlite3", "sqlite"),
    ],
)
def test_dialect_spellings(dialect: str, canonical: str) -> None:
    for raw in ("real", "tinyint(1)", "float", "FLOATING POINT"):
        assert normalise_type(raw, dialect) == normalise_type(raw, canonical)


def test_unknown_dialect_uses_the_shared_names() -> None:
    assert normalise_type("varchar(10)", "firebird") == "VARCHAR"
    assert normalise_type("integer", "firebird") == "INT"
    assert normalise_type("blob sub_type text", "firebird") == "VARCHAR"
    assert normalise_type("timestamp", "firebird") == "TIMESTAMP"


@pytest.mark.parametrize(
    ("raw", "dialect", "name", "args", "is_array"),
    [
        (
            "timestamp(6) with time zone",
            "postgresql",
            "timestamp with time zone",
            ("6",),
            False,
        ),
        ("int(10) unsigned zerofill", "mysql", "int", ("10",), False),
        ("NUMBER(10, 0)", "oracle", "number", ("10", "0"), False),
        ("enum('a(b)','c')", "mariadb", "enum", ("''", "''"), False),
        ("character varying(20)[]", "postgresql", "character varying", ("20",), True),
        ("_int4", "postgresql", "_int4", (), True),
        ("_int4", "mssql", "_int4", (), False),
        ('"Mood"', "postgresql", "mood", (), False),
        ("other.mood", "postgresql", "mood", (), False),
        ("", "sqlite", "", (), False),
    ],
)
def test_parse_type(
    raw: str, dialect: str, name: str, args: tuple[str, ...], is_array: bool
) -> None:
    parsed = parse_type(raw, dialect)
    assert (parsed.name, parsed.args, parsed.is_array) == (name, args, is_array)


# -- long declared types: SQLite keeps whatever the table's text says ----------
#: The rules the one-pass blanking keeps to, as regular expressions, which
#: take time quadratic in the text (seconds for a type of 60,000
#: characters): a comment, the brackets, and parentheses innermost first
#: until none is left.
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
BRACKETED = re.compile(r"\[[^\]]*\]")
PARENTHESISED = re.compile(r"\([^()]*\)")


def parentheses_by_the_rule(text: str) -> str:
    while PARENTHESISED.search(text):
        text = PARENTHESISED.sub(" ", text)
    return text


@given(st.text(alphabet="()[]/*a ,'", max_size=30))
@settings(max_examples=3000, deadline=None)
def test_blanking_keeps_to_the_rules(text: str) -> None:
    assert types._blank_spans(text, "/*", "*/") == COMMENT.sub(" ", text)
    assert types._blank_spans(text, "[", "]") == BRACKETED.sub(" ", text)
    assert types._blank_parenthesised(text) == parentheses_by_the_rule(text)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("/*a" * 100_000, "/*a" * 100_000),
        ("x" + "(" * 100_000 + ")" * 100_000, "x"),
        ("x" + "[a" * 300_000, "x" + "[a" * 300_000),
        ("y" + "(a" * 100_000, "y" + "(a" * 100_000),
    ],
    ids=["open-comments", "nested", "open-brackets", "open-parentheses"],
)
def test_a_long_type_is_parsed_in_one_pass(raw: str, name: str) -> None:
    previous = signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(30)
    try:
        parsed = parse_type(raw, "sqlite")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert parsed.name == name


def _too_slow(signum: int, frame: object) -> None:
    raise AssertionError("parse_type took more than 30 s")
