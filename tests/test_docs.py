"""The documentation says what the code does: settings, check ids, public API."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from thoth_db_elements.conf import PREFIX, SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PUBLIC_MODULES = [
    "thoth_db_elements.models",
    "thoth_db_elements.validation",
    "thoth_db_elements.harvest",
    "thoth_db_elements.tasks",
    "thoth_db_elements.admin",
    "thoth_db_elements.connection",
    "thoth_db_elements.introspection.snapshot",
    "thoth_db_elements.introspection.reader",
    "thoth_db_elements.introspection.types",
    "thoth_db_elements.persistence",
    "thoth_db_elements.report",
    "thoth_db_elements.catalogue",
    "thoth_db_elements.runners",
    "thoth_db_elements.runners.base",
    "thoth_db_elements.heartbeat",
    "thoth_db_elements.logging",
    "thoth_db_elements.checks",
    "thoth_db_elements.exceptions",
    "thoth_db_elements.fields",
]


def test_the_readme_links_hold_on_the_package_index() -> None:
    """The README is the package's long description: on the package index
    a link relative to the repository leads nowhere."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", text)
    assert targets
    relative = [t for t in targets if not re.match(r"https?://|#", t)]
    assert relative == []
    # Each names a file of this repository.
    for target in targets:
        path = re.sub(r"^https://[^/]+/[^/]+/[^/]+/(blob/)?main/", "", target)
        assert (ROOT / path).is_file(), target


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    documented = set(re.findall(rf"`{PREFIX}([A-Z_]+)`", text))
    assert documented == set(SETTING_NAMES)


def test_every_check_id_is_documented_and_tested() -> None:
    code = (ROOT / "src" / "thoth_db_elements" / "checks.py").read_text()
    in_code = set(re.findall(r"thoth_db_elements\.([EW]\d{3})", code))
    in_docs = set(
        re.findall(r"thoth_db_elements\.([EW]\d{3})", (DOCS / "checks.md").read_text())
    )
    tests = (ROOT / "tests" / "test_checks.py").read_text()
    in_tests = set(re.findall(r"test_([ew]\d{3})_", tests))
    assert in_code == in_docs
    assert {i.lower() for i in in_code} == in_tests


def test_every_public_module_is_in_the_api_reference() -> None:
    api = (DOCS / "api.md").read_text()
    for module in PUBLIC_MODULES:
        assert f"::: {module}\n" in api, module


def test_docs_build_strict_and_name_every_public_name(tmp_path: Path) -> None:
    mkdocs = shutil.which(
        "mkdocs", path=str(Path(sys.executable).parent)
    ) or shutil.which("mkdocs")
    if mkdocs is None:
        # ``make test`` installs the docs tools and requires this test; the
        # tox environments test the code against each Django without them.
        if os.environ.get("THOTH_REQUIRE_DOCS"):
            pytest.fail("mkdocs is not installed")
        pytest.skip("mkdocs is not installed (requirements/docs.txt)")
    site = tmp_path / "site"
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = "".join(p.read_text(errors="replace") for p in site.rglob("*.html"))
    missing = [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in getattr(importlib.import_module(module), "__all__", [])
        if name not in html
    ]
    assert missing == []
