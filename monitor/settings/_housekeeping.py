"""Configuration of the daemon's housekeeping: article retention and source-health operations alerts.

Kept apart from ``_model.py`` so that the top-level model only names the sections.
"""

from __future__ import annotations

from pydantic import Field

from monitor.settings._types import Duration, _Strict


class RetentionConfig(_Strict):
    """Articles first seen more than ``max_age`` ago are deleted every ``every``, ``batch`` rows per
    transaction (hits keep their title, URL and snippet). ``retention: null`` keeps articles forever."""

    max_age: Duration = 90 * 86400.0
    every: Duration = 3600.0
    batch: int = Field(default=500, ge=1, le=100_000)


class OperationsConfig(_Strict):
    """Source-health alerts to the channel ``channel``: one when a source has been failing for
    ``failing_after`` (or silent for ``silent_factor`` times its usual gap between new entries, and at
    least ``silent_min``), one more when it recovers. ``every`` is how often the daemon checks."""

    channel: str = Field(min_length=1)
    failing_after: Duration = 6 * 3600.0
    silent_factor: float = Field(default=10.0, gt=1.0, le=1000.0)
    silent_min: Duration = 86400.0
    every: Duration = 60.0
