"""Test settings: the example project plus a test app of fresh-host models."""

from __future__ import annotations

import tempfile

from example.settings import *  # noqa: F403
from example.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

THOTH_DB_ELEMENTS_LOG_DIR = tempfile.mkdtemp(prefix="thoth-db-elements-logs-")

LOGGING = {"version": 1, "disable_existing_loggers": False}
