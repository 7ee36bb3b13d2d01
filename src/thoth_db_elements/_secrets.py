"""Hiding passwords in text meant for people (errors, logs, reports)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final
from urllib.parse import quote

__all__ = ["WITHHELD", "cuts_a_url", "hide", "holds"]

#: What stands for a text that held a password.
WITHHELD: Final = "[not shown: it contained a password]"


def holds(text: str, secret: str | None) -> bool:
    """Whether ``secret`` (non-empty) stands in ``text`` as a word of its
    own, as written or as a URL or a JSON text spells it (``p%40ss``,
    ``p@ss\\"w0rd``: a connection string or a settings dump pasted in).

    Inside a longer word it does not count: the password ``postgres`` is not
    in ``postgresql://``.
    """
    if not secret:
        return False
    return any(
        form in text and pattern.search(text) is not None
        for form, pattern in _forms(secret)
    )


def cuts_a_url(text: str, secret: str | None) -> bool:
    """Whether ``secret`` stands in ``text`` (as ``holds`` finds it) in a
    spelling with ``@`` or a blank, which ends a URL's password early: the
    password of ``pg://u:p@ss@h`` reads ``p``, and ``ss`` would show."""
    if not secret:
        return False
    return any(
        ("@" in form or any(c.isspace() for c in form))
        and form in text
        and pattern.search(text) is not None
        for form, pattern in _forms(secret)
    )


@lru_cache(maxsize=64)
def _forms(secret: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """``secret`` and its other spellings, each with its pattern as a word."""
    spellings = dict.fromkeys(
        (
            secret,
            quote(secret, safe=""),
            quote(secret, safe=" +"),  # as SQLAlchemy writes it in a URL
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        )
    )
    return tuple(
        (form, re.compile(rf"(?<![^\W_]){re.escape(form)}(?![^\W_])"))
        for form in spellings
    )


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
