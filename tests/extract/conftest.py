"""Fixtures for the extract stage tests: a fixed fetch time and the golden-file folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def fetched_at() -> datetime:
    return datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def golden_dir() -> Path:
    return GOLDEN
