"""Child process of the double-start race (spawned, so it sets Django up)."""

from __future__ import annotations

import os
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any


class CountingRunner:
    """Queues nothing; the race only counts who started."""

    def enqueue(self, job: Any) -> str:
        return "not-queued"

    def is_active(self, backend_id: str) -> bool | None:
        return None

    def cancel(self, backend_id: str) -> bool:
        return False


def start_race(
    db_name: str,
    pk: int,
    rounds: int,
    start: Barrier,
    done: Barrier,
    results: Queue[int],
) -> None:
    """Call ``start_db_elements_creation`` once per round, all released together."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name
    django.setup()
    from django.db import connections

    from thoth_db_elements.tasks import start_db_elements_creation

    runner = CountingRunner()
    try:
        for _ in range(rounds):
            start.wait()
            results.put(len(start_db_elements_creation([pk], runner=runner).started))
            done.wait()
    finally:
        connections.close_all()
