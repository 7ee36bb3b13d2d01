"""Hiding passwords in text meant for people (errors, logs, reports)."""

from __future__ import annotations

import json
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
    In a line of JSON (a run log's), the secret may be written escaped
    (``"`` and ``\\``, other letters as ``\\uXXXX``) or follow an escape
    (``\\n``): either counts.
    """
    unescaped: str | None = None
    for secret in secrets:
        if not secret:
            continue
        if holds(text, secret):
            return WITHHELD
        if "\\" not in text:
            continue
        forms = {json.dumps(secret, ensure_ascii=e)[1:-1] for e in (False, True)}
        if any(holds(text, form) for form in forms - {secret}):
            return WITHHELD
        if unescaped is None:
            unescaped = _JSON_ESCAPE.sub(" ", text)
        if holds(unescaped, secret):
            return WITHHELD
    return text


#: An escape in a JSON string, which stands where a word may end.
_JSON_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
