"""Fixtures shared by the alert tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import SQLiteStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A real SQLite store in the test's temporary directory."""
    s = open_store(tmp_path / "watcher.db")
    yield s
    s.close()
