from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh log root for one test."""
    root = tmp_path / "logs"
    with override_settings(THOTH_DB_ELEMENTS_LOG_DIR=str(root)):
        yield root
