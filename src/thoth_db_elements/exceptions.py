"""Exception types raised by thoth-db-elements for expected failures.

Every message is meant for a person: it says what went wrong and what to do,
and never contains a password or a credentialed URL.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DbElementsError",
]


class DbElementsError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigurationError(DbElementsError):
    """A setting or a host model is not usable as configured."""
