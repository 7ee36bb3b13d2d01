"""Real worker processes for tests: ``manage.py qcluster`` and the CLI.

The subprocesses import ``tests.settings`` and are pointed by environment
variables at this test run's database, log directory and broker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_project" / "manage.py"


def worker_env(
    log_dir: Path,
    *,
    redis_url: str | None = None,
    queue: str = "thoth-tests",
    heartbeat: float = 0.5,
    heartbeat_timeout: float = 300,
) -> dict[str, str]:
    """Environment for a subprocess that shares this test run's state."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        TEST_DATABASE_NAME=str(connection.settings_dict["NAME"]),
        THOTH_LOG_DIR=str(log_dir),
        TEST_Q_NAME=queue,
        TEST_HEARTBEAT_INTERVAL=str(heartbeat),
        TEST_HEARTBEAT_TIMEOUT=str(heartbeat_timeout),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Cluster:
    """One ``qcluster`` process group, stopped (or killed) by the test."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(MANAGE), "qcluster"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """Pids of the cluster's processes other than the main one."""
        result = subprocess.run(
            ["pgrep", "-g", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(p) for p in result.stdout.split() if int(p) != self.process.pid]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # leftovers of the group
        self._log.close()


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py create_db_elements ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, str(MANAGE), "create_db_elements", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
