"""Hiding passwords in text meant for people (errors, logs, reports)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["hide"]


def hide(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each non-empty secret replaced by ``***`` where it
    stands as a word of its own.

    Inside a longer word it is left: the password ``postgres`` must not
    turn ``postgresql://`` into ``***ql://``, which mangles the text and,
    by the letters it leaves, tells the password all the same.
    """
    for secret in secrets:
        if secret and secret in text:
            text = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", "***", text)
    return text
