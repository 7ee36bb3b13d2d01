"""App plumbing: import without settings, log directories, example project."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.test import override_settings

from thoth_db_elements.logging import ensure_log_directories, run_log_dir

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=False,
        timeout=300,
    )


def test_import_without_settings() -> None:
    result = run(
        "-c",
        "import thoth_db_elements, thoth_db_elements.exceptions; "
        "print(thoth_db_elements.__version__)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"


def test_ready_creates_log_directories(tmp_path: Path) -> None:
    root = tmp_path / "somewhere" / "logs"
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(root)):
        apps.get_app_config("thoth_db_elements").ready()
        assert run_log_dir() == root / "db_elements"
    assert (root / "db_elements").is_dir()
    assert (root / "db_elements").stat().st_mode & 0o007 == 0


def test_ensure_log_directories_reports_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(blocker / "logs")):
        with pytest.raises(OSError):  # noqa: PT011 - the OS decides which
            ensure_log_directories()
        ensure_log_directories(raise_errors=False)  # logged, not raised


def test_default_log_dir_is_relative_to_the_working_directory() -> None:
    with override_settings():
        from django.conf import settings

        del settings.THOTH_DB_ELEMENTS_LOG_DIR
        assert str(run_log_dir()) == "logs/db_elements"


def test_example_project_check_and_migrations(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "THOTH_LOG_DIR": str(tmp_path / "logs"),
    }
    check = run("example_project/manage.py", "check", "--fail-level", "WARNING", **env)
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues (0 silenced)." in check.stdout
    migrations = run(
        "example_project/manage.py", "makemigrations", "--check", "--dry-run", **env
    )
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
    assert "No changes detected" in migrations.stdout


def test_test_app_migrations_are_current(tmp_path: Path) -> None:
    result = run(
        "-m",
        "django",
        "makemigrations",
        "testapp",
        "--check",
        "--dry-run",
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'example_project'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_has_py_typed_and_no_tests(tmp_path: Path) -> None:
    result = run(
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp_path),
        str(ROOT),
    )
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("thoth_db_elements-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "thoth_db_elements/py.typed" in names
    assert "thoth_db_elements/models.py" in names
    assert not [
        n for n in names if n.startswith(("tests/", "example_project/", "catalog/"))
    ]
