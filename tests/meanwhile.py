"""Another session acting at a chosen point of this thread's statements."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections


@contextmanager
def meanwhile(
    action: Callable[[], None], *, before: str = "", after: str = ""
) -> Iterator[list[bool]]:
    """Run ``action`` once, in another thread (its own connection, closed
    after), just before the first statement of this thread's default
    connection that starts with ``before`` (or just after one that starts
    with ``after``). The list yielded holds True once it ran."""
    fired: list[bool] = []

    def in_another_thread() -> None:
        def run() -> None:
            try:
                action()
            finally:
                connections.close_all()

        fired.append(True)
        other = threading.Thread(target=run)
        other.start()
        other.join()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statement = sql.lstrip().upper()
        if not fired and before and statement.startswith(before):
            in_another_thread()
        result = execute(sql, params, many, context)
        if not fired and after and statement.startswith(after):
            in_another_thread()
        return result

    with connection.execute_wrapper(wrapper):
        yield fired
