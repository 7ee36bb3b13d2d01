"""End to end in headless Chromium, with a real ``qcluster`` behind the admin.

Logs in, selects two databases, runs the action, sees the success message,
watches both badges reach Completed without reloading, and opens a log.
Screenshots go to a temporary directory, or to ``SCREENSHOT_DIR``
(``make screenshots`` refreshes the ones in ``docs/img/``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from catalog.models import SqlDb
from tests.cluster import Cluster, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_sqlite(path: Path, tables: int) -> Path:
    with sqlite3.connect(path) as conn:
        for n in range(tables):
            ref = f", parent_id INTEGER REFERENCES t{n - 1} (id)" if n else ""
            conn.execute(f"CREATE TABLE t{n} (id INTEGER PRIMARY KEY, label TEXT{ref})")
    conn.close()
    return path


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the test's
    # ORM calls are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield browser
        browser.close()


def test_admin_action_end_to_end(
    live_server: Any, browser: Any, tmp_path: Path
) -> None:
    # ``make screenshots`` sets SCREENSHOT_DIR=docs/img to refresh the docs.
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    logs = tmp_path / "logs"
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    shop = SqlDb.objects.create(
        name="Shop",
        db_type="SQLite",
        db_name=str(make_sqlite(tmp_path / "shop.sqlite", 30)),
    )
    crm = SqlDb.objects.create(
        name="CRM",
        db_type="SQLite",
        db_name=str(make_sqlite(tmp_path / "crm.sqlite", 12)),
    )
    cluster = Cluster(worker_env(logs, heartbeat=0.3), tmp_path / "cluster.log")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(logs)):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/sqldb/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "admin")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            for db in (shop, crm):
                page.check(f"input.action-select[value='{db.pk}']")
            page.select_option("select[name=action]", "create_db_elements_async")
            page.click("button[name=index]")
            message = page.wait_for_selector("ul.messagelist li.success")
            text = message.inner_text()
            assert text.startswith(
                "Started async database elements creation for 2 database(s). Task ID: "
            )
            page.screenshot(path=str(shots / "admin-started.png"))
            url_before = page.url
            # Badges turn Completed by polling, with no reload by the test.
            page.wait_for_function(
                "document.querySelectorAll('.thoth-db-elements-status.status-completed').length === 2",
                timeout=60_000,
            )
            assert page.url == url_before
            assert page.locator("ul.messagelist li.success").count() == 1  # same page
            page.screenshot(path=str(shots / "admin-completed.png"))
            page.goto(
                f"{live_server.url}/admin/catalog/sqldb/{shop.pk}/db-elements/logs/"
            )
            page.wait_for_selector("pre.thoth-db-elements-log")
            log_text = page.inner_text("pre.thoth-db-elements-log")
            assert "Finished with status COMPLETED" in log_text
            assert "Tables: 30 created" in log_text
            page.screenshot(path=str(shots / "admin-log.png"))
            page.goto(f"{live_server.url}/admin/catalog/sqldb/{shop.pk}/change/")
            page.click("text=Database Elements Task Status")
            page.screenshot(path=str(shots / "admin-change-form.png"), full_page=True)
    finally:
        cluster.stop()
    shop.refresh_from_db()
    crm.refresh_from_db()
    assert (shop.db_elements_status, crm.db_elements_status) == (
        "COMPLETED",
        "COMPLETED",
    )
