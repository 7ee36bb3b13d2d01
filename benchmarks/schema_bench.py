"""Harvest speed, side by side in one run: original approach, floor, ours.

For synthetic schemas of N tables x M columns (each table referencing the
previous one) on PostgreSQL, MariaDB and SQLite, it measures:

* **baseline** -- a faithful re-creation of the original approach: per-table
  reflection through SQLAlchemy's Inspector and per-row ``get_or_create``
  into ThothAI-shaped catalogue models (on one connection, which flatters it:
  the original reconnected for every table);
* **floor** -- what the database catalogue allows: the raw catalogue queries
  alone plus one bulk insert of the same rows;
* **cold** -- ``create_db_elements`` into an empty catalogue;
* **rerun** -- ``create_db_elements`` again with no schema change;
* **read** -- our schema read alone (``read_schema``), beside the raw read;
* **changed** -- ``create_db_elements`` after every column but the keys
  changed type (the row pointed at a second schema of the same tables,
  whose column types are rotated by one), ``--cold-repeat`` times,
  alternating between the two schemas.

The raw read, the read and the re-run take a fraction of a second each:
they run ``--repeat`` times (9), interleaved, and the median run counts.
The cold harvest runs ``--cold-repeat`` times (3), the median counting.
Every database and size, and every cold harvest, starts from an empty
catalogue.

Each with wall time, catalogue (Django) query count and peak Python memory
(tracemalloc). Prints ratios and writes JSON, and a PNG plot with
``--plot``. Not part of the test suite.

    python benchmarks/schema_bench.py --tables 100,300,1000 --columns 20 \\
        --dialects sqlite,postgresql,mariadb --plot docs/img/performance.png
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_SERVER = os.environ.get(
    "BENCH_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/mysql"
)
TYPES = [
    "integer",
    "varchar(40)",
    "numeric(10,2)",
    "date",
    "boolean",
    "text",
    "timestamp",
]


# -- building synthetic schemas ----------------------------------------------
def table_ddl(number: int, columns: int, dialect: str, variant: int = 0) -> str:
    """Table ``number``; ``variant`` rotates its column types."""
    quote = "`" if dialect == "mariadb" else '"'
    cols = [f"{quote}id{quote} integer PRIMARY KEY"]
    for c in range(1, columns - 1):
        kind = TYPES[(number + c + variant) % len(TYPES)]
        if dialect == "mariadb" and kind == "timestamp":
            kind = "datetime"
        cols.append(f"c{c:02d} {kind}")
    if number:
        cols.append(f"prev_id integer REFERENCES t{number - 1:05d} (id)")
    else:
        cols.append("prev_id integer")
    return f"CREATE TABLE t{number:05d} ({', '.join(cols)})"


def build(
    dialect: str, tables: int, columns: int, workdir: Path, variant: int = 0
) -> tuple[str, Callable[[], None]]:
    """Create the schema; return (SQLAlchemy URL, drop function)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    statements = [table_ddl(n, columns, dialect, variant) for n in range(tables)]
    if dialect == "sqlite":
        path = workdir / f"bench_{tables}_{variant}.sqlite"
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as conn:
            conn.executescript(";\n".join(statements) + ";")
        conn.close()
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    server = PG_SERVER if dialect == "postgresql" else MARIADB_SERVER
    name = f"thoth_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool)
    # Batches: thousands of tables in one PostgreSQL transaction exhaust
    # the lock table.
    for start in range(0, len(statements), 200):
        with engine.begin() as conn:
            for statement in statements[start : start + 200]:
                conn.exec_driver_sql(statement)
    engine.dispose()

    def drop() -> None:
        force = " WITH (FORCE)" if dialect == "postgresql" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()

    return url, drop


# -- measuring -----------------------------------------------------------------
@contextmanager
def measured(result: dict[str, Any], key: str) -> Iterator[None]:
    """Wall time and Django (catalogue) statements of a block.

    Statements are counted with an execute wrapper, which costs far less
    than Django's query log. Memory is measured in a separate pass
    (``traced``): tracemalloc slows allocation-heavy code by a good deal.
    """
    from django.db import connection

    count = [0, 0]

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            count[1] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        yield
    result[key] = {
        "seconds": round(time.perf_counter() - started, 4),
        "catalogue_queries": count[0],
        "write_statements": count[1],
    }


def repeated(
    row: dict[str, Any],
    times: int,
    contenders: dict[str, Callable[[], Any]],
    before: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run ``contenders`` in turn ``times`` times; keep each one's median run.

    ``row[key]`` is the median run's measurement with every run's seconds
    under ``runs``; returns each contender's last result. ``before`` runs
    before each run, untimed.
    """
    samples: dict[str, list[dict[str, Any]]] = {key: [] for key in contenders}
    last: dict[str, Any] = {}
    for _ in range(max(1, times)):
        for key, call in contenders.items():
            if before is not None:
                before()
            sample: dict[str, Any] = {}
            with measured(sample, key):
                last[key] = call()
            samples[key].append(sample[key])
    for key, runs in samples.items():
        ordered = sorted(runs, key=lambda run: run["seconds"])
        row[key] = dict(ordered[(len(ordered) - 1) // 2])
        row[key]["runs"] = [run["seconds"] for run in runs]
    return last


@contextmanager
def traced(result: dict[str, Any], key: str) -> Iterator[None]:
    """Peak Python memory of a block (tracemalloc), added to ``result[key]``."""
    tracemalloc.start()
    try:
        yield
        result[key]["peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    finally:
        tracemalloc.stop()


def empty_catalogue() -> None:
    """Empty the catalogue, space included, so that each database and size
    starts from the same empty catalogue: rows (or, on PostgreSQL, dead
    rows) left by the runs before would make the later ones write into
    bigger tables and indexes."""
    from django.db import connection

    from catalog.models import Relationship, SqlColumn, SqlDb, SqlTable

    tables = [
        connection.ops.quote_name(model._meta.db_table)
        for model in (Relationship, SqlColumn, SqlTable, SqlDb)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        elif connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            try:
                for table in tables:
                    cursor.execute(f"TRUNCATE TABLE {table}")
            finally:
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("VACUUM")


def sqldb_row(url: str, dialect: str, label: str) -> Any:
    from sqlalchemy.engine import make_url

    from catalog.models import SqlDb

    parsed = make_url(url)
    db_type = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}[
        dialect
    ]
    return SqlDb.objects.create(
        name=f"{label}-{uuid.uuid4().hex[:6]}",
        db_type=db_type,
        db_host=parsed.host or "",
        db_port=parsed.port,
        db_name=parsed.database or "",
        user_name=parsed.username or "",
        password=parsed.password or "",
    )


def baseline(url: str, dialect: str) -> None:
    """The original: per-table reflection, per-row get_or_create."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from catalog.models import Relationship, SqlColumn, SqlTable

    sql_db = sqldb_row(url, dialect, "baseline")
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        names = inspector.get_table_names()
        for name in names:
            comment = (
                (inspector.get_table_comment(name) or {}).get("text")
                if dialect != "sqlite"
                else None
            )
            table, _ = SqlTable.objects.get_or_create(sql_db=sql_db, name=name)
            table.description = comment or ""
            table.save()
        for name in names:
            table = SqlTable.objects.get(sql_db=sql_db, name=name)
            pk = set(inspector.get_pk_constraint(name).get("constrained_columns") or [])
            for column in inspector.get_columns(name):
                SqlColumn.objects.get_or_create(
                    sql_table=table,
                    original_column_name=column["name"],
                    defaults={
                        "column_name": column["name"],
                        "data_format": "VARCHAR",
                        "pk_field": "PK" if column["name"] in pk else "",
                    },
                )
        for name in names:
            for fk in inspector.get_foreign_keys(name):
                if fk["referred_table"] not in names:
                    continue
                source = SqlTable.objects.get(sql_db=sql_db, name=name)
                target = SqlTable.objects.get(sql_db=sql_db, name=fk["referred_table"])
                for src, dst in zip(
                    fk["constrained_columns"], fk["referred_columns"], strict=False
                ):
                    Relationship.objects.get_or_create(
                        source_table=source,
                        target_table=target,
                        source_column=SqlColumn.objects.get(
                            sql_table=source, original_column_name=src
                        ),
                        target_column=SqlColumn.objects.get(
                            sql_table=target, original_column_name=dst
                        ),
                    )
    engine.dispose()


RAW_QUERIES = {
    "postgresql": (
        """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') AND a.attnum > 0
             AND NOT a.attisdropped ORDER BY c.relname, a.attnum""",
        """SELECT c.relname, a.attname, rc.relname, ra.attname
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_class rc ON rc.oid = k.confrelid
           JOIN LATERAL unnest(k.conkey, k.confkey) AS u(s, t) ON true
           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.s
           JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = u.t
           WHERE k.contype = 'f' AND n.nspname = 'public'""",
    ),
    "mariadb": (
        """SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'NO'
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
           ORDER BY TABLE_NAME, ORDINAL_POSITION""",
        """SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
           FROM information_schema.KEY_COLUMN_USAGE
           WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL""",
    ),
    "sqlite": (
        """SELECT m.name, p.name, p.type, p."notnull" FROM sqlite_schema m
           JOIN pragma_table_info(m.name) p WHERE m.type IN ('table', 'view')
           ORDER BY m.name, p.cid""",
        """SELECT m.name, f."from", f."table", f."to" FROM sqlite_schema m
           JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'""",
    ),
}


def raw_read(url: str, dialect: str) -> tuple[list[Any], list[Any]]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        columns_sql, fks_sql = RAW_QUERIES[dialect]
        # .all(): one fetch, as the fast paths do (row by row costs more).
        columns = list(conn.exec_driver_sql(columns_sql).all())
        fks = list(conn.exec_driver_sql(fks_sql).all())
    engine.dispose()
    return columns, fks


def floor(url: str, dialect: str) -> None:
    """Raw catalogue queries plus one bulk insert of the same rows."""
    from catalog.models import Relationship, SqlColumn, SqlTable

    columns, fks = raw_read(url, dialect)
    sql_db = sqldb_row(url, dialect, "floor")
    names = sorted({row[0] for row in columns})
    tables = SqlTable.objects.bulk_create(
        [SqlTable(sql_db=sql_db, name=n) for n in names], batch_size=1000
    )
    table_ids = {t.name: t.pk for t in tables}
    created = SqlColumn.objects.bulk_create(
        [
            SqlColumn(sql_table_id=table_ids[t], original_column_name=c, column_name=c)
            for t, c, _type, _notnull in columns
        ],
        batch_size=1000,
    )
    by_table = {v: k for k, v in table_ids.items()}
    column_ids = {
        (by_table[c.sql_table_id], c.original_column_name): c.pk for c in created
    }
    Relationship.objects.bulk_create(
        [
            Relationship(
                source_table_id=table_ids[t],
                target_table_id=table_ids[rt],
                source_column_id=column_ids[(t, c)],
                target_column_id=column_ids[(rt, rc)],
            )
            for t, c, rt, rc in fks
            if rt in table_ids
        ],
        batch_size=1000,
    )


def ours(url: str, dialect: str) -> Any:
    from thoth_db_elements.harvest import create_db_elements

    sql_db = sqldb_row(url, dialect, "ours")
    create_db_elements(sql_db)
    return sql_db


def read_only(url: str) -> Any:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from thoth_db_elements.introspection import read_schema

    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        snapshot = read_schema(conn)
    engine.dispose()
    return snapshot


def point_at(sql_db: Any, url: str) -> None:
    """Make ``sql_db`` name the database of ``url`` (same server)."""
    from sqlalchemy.engine import make_url

    sql_db.db_name = make_url(url).database or ""
    type(sql_db).objects.filter(pk=sql_db.pk).update(db_name=sql_db.db_name)


def changed_runs(
    row: dict[str, Any], args: argparse.Namespace, sql_db: Any, url: str, other: str
) -> None:
    """``create_db_elements`` with every column changed, alternating the
    row between the schema of ``url`` and ``other``, untimed."""
    from thoth_db_elements.harvest import create_db_elements

    targets = itertools.cycle([other, url])
    last = repeated(
        row,
        args.cold_repeat,
        {"changed": partial(create_db_elements, sql_db)},
        before=lambda: point_at(sql_db, next(targets)),
    )["changed"]
    row["changed"]["columns_updated"] = last.columns.updated
    point_at(sql_db, url)


def read_inspector(url: str) -> Any:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from thoth_db_elements.introspection import read_schema

    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        try:
            snapshot = read_schema(conn, method="inspector")  # type: ignore[call-arg]
        except TypeError:
            snapshot = read_schema(conn)
    engine.dispose()
    return snapshot


# -- main ------------------------------------------------------------------------
def setup_django(workdir: Path) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'catalogue.sqlite3'}")
    os.environ.setdefault("THOTH_LOG_DIR", str(workdir / "logs"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example.settings"
    # As in production: with DEBUG on, Django logs every statement.
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path[:0] = [str(ROOT / "example_project")]
    import logging

    import django

    django.setup()
    logging.disable(logging.CRITICAL)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="thoth-schema-bench-"))
    setup_django(workdir)
    from django.db import connection

    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "catalogue_database": connection.vendor,
        "columns": args.columns,
        "runs": [],
    }
    for dialect in args.dialects:
        for tables in args.tables:
            url, drop = build(dialect, tables, args.columns, workdir)
            row: dict[str, Any] = {"dialect": dialect, "tables": tables}
            try:
                empty_catalogue()
                from thoth_db_elements.harvest import create_db_elements

                if tables <= args.inspector_max:
                    with measured(row, "read_inspector"):
                        read_inspector(url)
                with measured(row, "floor"):
                    floor(url, dialect)
                # Into an empty catalogue each time; a single run of a
                # fraction of a second is too noisy to divide by.
                sql_db = repeated(
                    row,
                    args.cold_repeat,
                    {"cold": partial(ours, url, dialect)},
                    before=empty_catalogue,
                )["cold"]
                # The quick contenders, interleaved, --repeat times each: one
                # run of a fraction of a second is at the mercy of caches
                # and of whatever else the machine does; the median is not.
                rerun = repeated(
                    row,
                    args.repeat,
                    {
                        "raw_read": partial(raw_read, url, dialect),
                        "read": partial(read_only, url),
                        "rerun": partial(create_db_elements, sql_db),
                    },
                )["rerun"]
                row["rerun"]["rows_written"] = rerun.writes
                if args.changed:
                    other, drop_other = build(
                        dialect, tables, args.columns, workdir, variant=1
                    )
                    try:
                        changed_runs(row, args, sql_db, url, other)
                    finally:
                        drop_other()
                # Second pass, memory only.
                with traced(row, "raw_read"):
                    raw_read(url, dialect)
                with traced(row, "read"):
                    read_only(url)
                with traced(row, "floor"):
                    floor(url, dialect)
                empty_catalogue()
                with traced(row, "cold"):
                    sql_db = ours(url, dialect)
                with traced(row, "rerun"):
                    create_db_elements(sql_db)
                if tables <= args.baseline_max:
                    empty_catalogue()
                    with measured(row, "baseline"):
                        baseline(url, dialect)
            finally:
                drop()
            results["runs"].append(row)
            report(row)
    return results


def ratio(row: dict[str, Any], a: str, b: str) -> str:
    if a not in row or b not in row or not row[b]["seconds"]:
        return "-"
    return f"{row[a]['seconds'] / row[b]['seconds']:.1f}x"


def report(row: dict[str, Any]) -> None:
    parts = [
        f"{k} {v['seconds']:.3f}s/{v['catalogue_queries']}q"
        for k, v in row.items()
        if isinstance(v, dict)
    ]
    print(f"{row['dialect']:>10} {row['tables']:>5} tables: " + ", ".join(parts))
    print(
        f"{'':>17} baseline/cold {ratio(row, 'baseline', 'cold')}, "
        f"read/raw {ratio(row, 'read', 'raw_read')}, cold/floor {ratio(row, 'cold', 'floor')}, "
        f"inspector/read {ratio(row, 'read_inspector', 'read')}, "
        f"changed/cold {ratio(row, 'changed', 'cold')}",
        flush=True,
    )


def markdown(results: dict[str, Any]) -> str:
    """The results as the Markdown table of ``docs/performance.md``."""

    def cell(row: dict[str, Any], key: str) -> str:
        return f"{row[key]['seconds']:.2f}" if key in row else "-"

    lines = [
        "| Database | Tables | Baseline s | Floor s | Cold s | Re-run s | Read s "
        "| Raw read s | Baseline / cold | Read / raw | Cold / floor | Re-run / read "
        "| Peak MiB (cold) | Changed s | Changed / cold |",
        "|---|" + "---:|" * 14,
    ]
    for row in results["runs"]:
        peak = row["cold"].get("peak_mib")
        lines.append(
            f"| {row['dialect']} | {row['tables']:,} | {cell(row, 'baseline')} "
            f"| {cell(row, 'floor')} | {cell(row, 'cold')} | {cell(row, 'rerun')} "
            f"| {cell(row, 'read')} | {cell(row, 'raw_read')} "
            f"| {ratio(row, 'baseline', 'cold')} | {ratio(row, 'read', 'raw_read')} "
            f"| {ratio(row, 'cold', 'floor')} | {ratio(row, 'rerun', 'read')} "
            f"| {'-' if peak is None else f'{peak:.0f}'} "
            f"| {cell(row, 'changed')} | {ratio(row, 'changed', 'cold')} |"
        )
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dialects = sorted({r["dialect"] for r in results["runs"]})
    fig, axes = plt.subplots(
        1, len(dialects), figsize=(5 * len(dialects), 4), squeeze=False
    )
    for ax, dialect in zip(axes[0], dialects, strict=True):
        runs = [r for r in results["runs"] if r["dialect"] == dialect]
        for key, label in (
            ("baseline", "original approach"),
            ("cold", "thoth-db-elements"),
            ("rerun", "re-run, no change"),
            ("floor", "floor (raw read + bulk insert)"),
        ):
            points = [(r["tables"], r[key]["seconds"]) for r in runs if key in r]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{dialect} ({results['columns']} columns per table)")
        ax.set_xlabel("tables")
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", default="100,300,1000")
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--dialects", default="sqlite,postgresql,mariadb")
    parser.add_argument("--baseline-max", type=int, default=1000)
    parser.add_argument("--inspector-max", type=int, default=1000)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json"
    )
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=9,
        help="runs of the raw read, the read and the re-run (median kept)",
    )
    parser.add_argument(
        "--cold-repeat",
        type=int,
        default=3,
        help="cold harvests, each into an empty catalogue, and re-runs with "
        "every column changed (median kept)",
    )
    parser.add_argument(
        "--changed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure re-runs with every column changed",
    )
    args = parser.parse_args()
    args.tables = [int(t) for t in args.tables.split(",")]
    args.dialects = args.dialects.split(",")
    results = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"JSON: {args.json}")
    print(markdown(results))
    if args.plot:
        plot(results, args.plot)
        print(f"Plot: {args.plot}")


if __name__ == "__main__":
    main()
