"""Exception types raised by thoth-db-elements for expected failures.

Every message is meant for a person: it says what went wrong and what to do,
and never contains a password or a credentialed URL.
"""

from __future__ import annotations

__all__ = [
    "CatalogueChangedError",
    "CatalogueLockedError",
    "ConfigurationError",
    "ConnectionFailedError",
    "DbElementsError",
    "DeletionThresholdError",
    "HarvestCancelledError",
    "IntrospectionError",
    "SchemaNotFoundError",
    "UnsupportedDatabaseError",
]


class DbElementsError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigurationError(DbElementsError):
    """A setting, a host model or a ``SqlDb`` row is not usable as configured."""


class UnsupportedDatabaseError(ConfigurationError):
    """The ``db_type`` has no built-in URL builder (configure a URL hook)."""


class ConnectionFailedError(DbElementsError):
    """The harvested database could not be reached or refused the login."""


class IntrospectionError(DbElementsError):
    """The schema could not be read."""


class SchemaNotFoundError(IntrospectionError):
    """The configured schema does not exist in the harvested database."""


class DeletionThresholdError(DbElementsError):
    """A sync would delete more of the catalogue than allowed (use ``force``)."""


class HarvestCancelledError(DbElementsError):
    """The run was cancelled; the catalogue was left as it was."""


class CatalogueLockedError(DbElementsError):
    """Catalogue rows stayed locked by another transaction past the time-out."""


class CatalogueChangedError(DbElementsError):
    """Another transaction deleted catalogue rows a sync referred to (or
    added rows referring to ones it deleted) while it ran."""
