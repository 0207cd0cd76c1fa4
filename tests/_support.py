"""Test helpers shared by several test packages: a settable clock and the logging reset for CLI tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import structlog

from monitor import log as logmod


class Clock:
    """A clock the test moves by hand; passed wherever the code takes ``clock: Callable[[], datetime]``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """CLI runs point structlog at the runner's stream, which is closed afterwards: restore stderr.

    Autouse wherever a conftest imports it."""
    yield
    structlog.reset_defaults()
    logmod.configure(fmt="console", level="INFO", stream=sys.stderr)
