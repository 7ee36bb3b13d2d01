"""Harvest the schema of SQL databases into a Django project's catalogue.

Importing this package touches neither Django settings nor the app registry:
the public API lives in the submodules (``models``, ``validation``, ``conf``
and, for the harvest, ``harvest`` and ``tasks``).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
