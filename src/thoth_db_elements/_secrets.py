"""Hiding passwords in text meant for people (errors, logs, reports)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["WITHHELD", "hide", "holds"]

#: What stands for a text that held a password.
WITHHELD: Final = "[not shown: it contained the database password]"


def holds(text: str, secret: str | None) -> bool:
    """Whether ``secret`` (non-empty) stands in ``text`` as a word of its own.

    Inside a longer word it does not count: the password ``postgres`` is not
    in ``postgresql://``.
    """
    if not secret or secret not in text:
        return False
    word = rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])"
    return re.search(word, text) is not None


def hide(text: str, secrets: Iterable[str | None]) -> str:
    """``text``, or ``WITHHELD`` when a non-empty secret stands in it as a
    word of its own (``holds``).

    The whole text goes, not the word alone: a driver prints the user, the
    database, the host or plain words ("using password: YES"), and a
    password equal to one of them would show through a ``***`` in its place.
    """
    if any(holds(text, secret) for secret in secrets):
        return WITHHELD
    return text
