"""The MariaDB fast path's shortcut past column lines, against the parser.

``fast.mysql`` builds a table's columns straight from ``information_schema``
(NOT NULL, default and comment as it has them, as the Inspector path takes
them too) and reads only the key lines with SQLAlchemy's rules. Whatever a
table holds -- line breaks in a column line or in a key name included,
which MariaDB 10.6+ escapes in ``information_schema`` and so no live schema
here can produce -- the columns must be the ones reading the whole text
line by line finds, with the catalogue's facts for those the table has.
"""

from __future__ import annotations

from typing import Any

import pytest

from thoth_db_elements.introspection.fast import mysql
from thoth_db_elements.introspection.fast.base import (
    ReadColumn,
    TypeFamilies,
    snapshot_of,
)

pytestmark = pytest.mark.source_only


def column(name: str, kind: str = "int(11)", **facts: Any) -> tuple[Any, ...]:
    """A ``_COLUMNS`` row of table ``t``."""
    return (
        "t",
        name,
        kind,
        facts.get("nullable", "YES"),
        facts.get("default"),
        facts.get("extra"),
        facts.get("comment"),
        facts.get("expression"),
    )


def whole_text(table: mysql._Table, checks: dict[str, str]) -> mysql._Parsed:
    """The parser's reading of the whole text, line by line; the columns
    the table has with NOT NULL, default and comment from their rows."""
    lines = [mysql._table_column_line(c, checks.get(c[1])) for c in table.columns]
    lines += [mysql._key_line(name, rows) for name, rows in table.keys.items()]
    text = "CREATE TABLE `t` (\n" + ",\n".join(lines) + "\n) ENGINE=InnoDB"
    parsed = mysql._Parsed()
    mysql._parse_lines(text, parsed, table)
    rows = {row[1]: row for row in table.columns}
    parsed.columns = [
        c._replace(
            nullable=rows[c.name][3] != "NO",
            default=None if rows[c.name][4] == "NULL" else rows[c.name][4],
            comment=rows[c.name][6] or None,
        )
        if c.name in rows
        else c
        for c in parsed.columns
    ]
    return parsed


def expected_snapshots(parsed: mysql._Parsed) -> tuple[Any, ...]:
    primary = next((k for k in parsed.keys if k["type"] == "PRIMARY"), None)
    keyed: dict[str, int] = {}
    for number, name in enumerate(primary["columns"] if primary else [], 1):
        keyed.setdefault(name, number)
    families = TypeFamilies("mariadb")
    return tuple(
        snapshot_of(c, families, keyed.get(c.name), n)
        for n, c in enumerate(parsed.columns, 1)
    )


def key(name: str, *columns: str) -> list[tuple[Any, ...]]:
    return [("t", name, c, None, "A", "BTREE", "", "NO") for c in columns]


TABLES: dict[str, tuple[list[tuple[Any, ...]], dict[str, Any], dict[str, str]]] = {
    "plain": (
        [
            column("id", nullable="NO", extra="auto_increment"),
            column("a", "varchar(10)", default="'x'", comment="c"),
            column("b", "varchar(10)", default="'x'", comment="c"),
            column("blank", comment="   "),
        ],
        {"PRIMARY": key("PRIMARY", "id")},
        {},
    ),
    "line break in a check": (
        [column("id", nullable="NO"), column("b")],
        {"PRIMARY": key("PRIMARY", "id")},
        {"b": "`b` <> 'x\ny'"},
    ),
    "line break in a generation expression": (
        [column("a"), column("g", expression="`a` +\n  `a`")],
        {},
        {},
    ),
    "line break in a key name": (
        [column("id", nullable="NO"), column("c")],
        {"PRIMARY": key("PRIMARY", "id"), "u\n  `ph` int": key("u\n  `ph` int", "c")},
        {},
    ),
}


@pytest.mark.parametrize("shape", list(TABLES))
def test_columns_as_the_whole_text_reads_them(shape: str) -> None:
    rows, keys, checks = TABLES[shape]
    table = mysql._Table("t", False, "", columns=list(rows), keys=dict(keys))
    expected = whole_text(table, checks)
    got = mysql._parse_table(table, checks, TypeFamilies("mariadb"))
    columns = got.columns if got.snapshots is None else got.snapshots
    if got.snapshots is None:
        assert all(isinstance(c, ReadColumn) for c in columns)
        assert got.columns == expected.columns
    else:
        assert got.snapshots == expected_snapshots(expected)
    assert got.keys == expected.keys
    assert columns  # something was read


def test_line_breaks_take_the_whole_text_path() -> None:
    rows, keys, checks = TABLES["line break in a check"]
    table = mysql._Table("t", False, "", columns=list(rows), keys=dict(keys))
    parsed = mysql._parse_table(table, checks, TypeFamilies("mariadb"))
    assert parsed.snapshots is None


def test_columns_read_from_the_rest_of_the_text_come_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Key and foreign-key lines quote names with doubled backticks, so no
    # piece of them reads as a column line; should one ever, it is a column
    # of the table after its own, as in the whole text.
    real = mysql._key_line

    def broken(name: str, rows: list[tuple[Any, ...]]) -> str:
        return real(name, rows) + "\n  `ph` int(11) NOT NULL"

    monkeypatch.setattr(mysql, "_key_line", broken)
    rows, keys, checks = TABLES["plain"]
    table = mysql._Table("t", False, "", columns=list(rows), keys=dict(keys))
    parsed = mysql._parse_table(table, checks, TypeFamilies("mariadb"))
    assert parsed.snapshots is not None
    assert parsed.snapshots == expected_snapshots(whole_text(table, checks))
    assert [c.name for c in parsed.snapshots][-1] == "ph"
    assert parsed.snapshots[-1].raw_type == ""  # not a column of the table


# -- one string a table ----------------------------------------------------------
U, R = "\x1f", "\x1e"


def grouped_column(name: str, *values: str) -> str:
    """A column as ``_COLUMNS_BY_TABLE`` writes it: seven values, each
    followed by a unit separator."""
    return "".join(value + U for value in (name, *values))


def test_grouped_columns_split_into_column_rows() -> None:
    text = R.join(
        [
            grouped_column("id", "int(11)", "NO", "", "auto_increment", "", ""),
            grouped_column("a", "varchar(5)", "YES", "=NULL", "", "note", ""),
            grouped_column("g", "int(11)", "YES", "=", "VIRTUAL GENERATED", "", "=a"),
            grouped_column("e", "int(11)", "YES", "", "", "", "="),
        ]
    )
    found = mysql.split_columns(
        [("t", 4, text), ("u", 1, grouped_column("x", "date", "YES", "", "", "", ""))]
    )
    assert found == {
        "t": [
            ("t", "id", "int(11)", "NO", None, "auto_increment", None, None),
            ("t", "a", "varchar(5)", "YES", "NULL", None, "note", None),
            ("t", "g", "int(11)", "YES", "", "VIRTUAL GENERATED", None, "a"),
            ("t", "e", "int(11)", "YES", None, None, None, ""),
        ],
        "u": [("u", "x", "date", "YES", None, None, None, None)],
    }


@pytest.mark.parametrize(
    ("count", "text"),
    [
        # A record separator inside a comment: one record too many.
        (1, grouped_column("a", "int(11)", "YES", "", "", f"x{R}y", "")),
        # A unit separator inside a default: one unit too many.
        (1, grouped_column("a", "int(11)", "YES", f"='{U}'", "", "", "")),
        # Cut short inside the last column, or after a whole column.
        (1, grouped_column("a", "int(11)", "YES", "", "", "", "")[:-1]),
        (2, grouped_column("a", "int(11)", "YES", "", "", "", "")),
        # A column whose values held a NULL drops out of the group.
        (1, None),
    ],
    ids=["record separator", "unit separator", "cut in a column", "cut", "null"],
)
def test_grouped_columns_that_do_not_split_are_declined(
    count: int, text: str | None
) -> None:
    ok = ("t", 1, grouped_column("ok", "int(11)", "YES", "", "", "", ""))
    assert mysql.split_columns([ok, ("u", count, text)]) is None
