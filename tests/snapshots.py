"""Hand-built snapshots for persistence tests (no database to read)."""

from __future__ import annotations

from thoth_db_elements.introspection.snapshot import (
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableFailure,
    TableSnapshot,
)


def col(
    name: str,
    fmt: str = "INT",
    *,
    pk: int | None = None,
    comment: str | None = None,
    raw: str | None = None,
    nullable: bool = True,
    pos: int = 1,
) -> ColumnSnapshot:
    return ColumnSnapshot(
        name=name,
        raw_type=raw or fmt.lower(),
        data_format=fmt,
        nullable=nullable if pk is None else False,
        comment=comment,
        primary_key_position=pk,
        ordinal_position=pos,
    )


def fk(
    columns: tuple[str, ...],
    table: str,
    referred: tuple[str, ...],
    schema: str | None = None,
) -> ForeignKeySnapshot:
    return ForeignKeySnapshot(
        name=None,
        columns=columns,
        referred_schema=schema,
        referred_table=table,
        referred_columns=referred,
    )


def shop(
    *,
    customer_comment: str | None = "People who buy",
    email_comment: str | None = "Contact address",
    drop: tuple[str, ...] = (),
    extra_tables: int = 0,
    failures: tuple[TableFailure, ...] = (),
) -> SchemaSnapshot:
    """customers <- orders <- order_lines (composite FK to orders), + a view."""
    tables = [
        TableSnapshot(
            name="customers",
            comment=customer_comment,
            columns=(
                col("id", pk=1, pos=1),
                col(
                    "email", "VARCHAR", raw="varchar(200)", comment=email_comment, pos=2
                ),
                col("referrer_id", pos=3),
            ),
            foreign_keys=(fk(("referrer_id",), "customers", ("id",)),),
        ),
        TableSnapshot(
            name="orders",
            columns=(
                col("id", pk=1, pos=1),
                col("customer_id", nullable=False, pos=2),
                col("placed_at", "TIMESTAMP", raw="timestamp", pos=3),
            ),
            foreign_keys=(fk(("customer_id",), "customers", ("id",)),),
        ),
        TableSnapshot(
            name="order_lines",
            columns=(
                col("order_id", pk=1, pos=1),
                col("line_no", pk=2, pos=2),
                col("amount", "DECIMAL", raw="decimal(10,2)", pos=3),
            ),
            foreign_keys=(
                fk(("order_id",), "orders", ("id",)),
                fk(("order_id",), "archive", ("id",), schema="other"),
            ),
        ),
        TableSnapshot(
            name="big_spenders",
            is_view=True,
            columns=(col("customer_id", pos=1),),
        ),
    ]
    for number in range(extra_tables):
        tables.append(
            TableSnapshot(
                name=f"extra_{number:04d}",
                columns=(col("id", pk=1, pos=1), col("customer_id", pos=2)),
                foreign_keys=(fk(("customer_id",), "customers", ("id",)),),
            )
        )
    kept = tuple(
        sorted((t for t in tables if t.name not in drop), key=lambda t: t.name)
    )
    return SchemaSnapshot(
        dialect="sqlite", schema="main", tables=kept, failures=failures
    )
