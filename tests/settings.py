"""Test settings: the example project plus a test app of fresh-host models.

Worker subprocesses (``qcluster``) started by tests import these settings
too; the environment tells them which test database, log directory, broker
and heartbeat timing to use.
"""

from __future__ import annotations

import os
import tempfile

from example.settings import *  # noqa: F403
from example.settings import DATABASES, INSTALLED_APPS, Q_CLUSTER

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

THOTH_DB_ELEMENTS_LOG_DIR = os.environ.get("THOTH_LOG_DIR") or os.path.join(
    tempfile.gettempdir(), "thoth-db-elements-test-logs"
)
THOTH_DB_ELEMENTS_HEARTBEAT_INTERVAL_SECONDS = float(
    os.environ.get("TEST_HEARTBEAT_INTERVAL", "5")
)
THOTH_DB_ELEMENTS_HEARTBEAT_TIMEOUT_SECONDS = float(
    os.environ.get("TEST_HEARTBEAT_TIMEOUT", "300")
)

# SQLite test databases must be files so worker processes can share them.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"thoth-test-{os.getpid()}.sqlite3")
    }
# A worker subprocess connects to the test database of the test run.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TEST_DATABASE_NAME"]

# A read replica: the same database, as Django's tests mirror it. Only the
# router tests (tests/test_router.py) send anything there.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

Q_CLUSTER = {**Q_CLUSTER, "name": os.environ.get("TEST_Q_NAME", "thoth-tests")}

LOGGING = {"version": 1, "disable_existing_loggers": False}
