"""Child process of the process-race test (spawned, so it sets Django up)."""

from __future__ import annotations

import os
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier


def race(
    db_name: str,
    pk: int,
    rounds: int,
    start: Barrier,
    done: Barrier,
    results: Queue[bool],
) -> None:
    """Claim row ``pk`` once per round, all children released together."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import uuid

    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name
    django.setup()
    from django.db import connections

    from catalog.models import SqlDb
    from thoth_db_elements.validation import claim_sqldb_db_elements_task

    try:
        for _ in range(rounds):
            row = SqlDb(pk=pk)
            row._state.adding = False
            start.wait()
            results.put(claim_sqldb_db_elements_task(row, uuid.uuid4().hex))
            done.wait()
    finally:
        connections.close_all()
