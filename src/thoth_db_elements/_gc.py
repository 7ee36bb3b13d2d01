"""Pausing Python's cyclic garbage collector around bulk work.

A schema read or a sync allocates hundreds of thousands of small objects,
nearly none of them in reference cycles. Each allocation burst triggers
collections, and the older generations grow with every live object, so
the collector's share of the time grows with the size of the schema (about
a third of a 5,000-table read). Reference counting still frees everything
that is not in a cycle; the collector runs again when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block (nesting is fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
