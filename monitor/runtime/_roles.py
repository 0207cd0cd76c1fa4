"""The roles ``monitor run --role`` accepts, and the job queues each works in the job-queue mode.

Kept apart from ``_jobs_queue`` so that naming a role does not import procrastinate (and psycopg):
with SQLite, the embedded mode never loads them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["QUEUES", "ROLES", "Role"]

Role = Literal["poller", "notifier", "all"]
ROLES: tuple[Role, ...] = ("poller", "notifier", "all")
QUEUES: dict[Role, tuple[str, ...]] = {
    "poller": ("schedule", "poll", "maintenance"),
    "notifier": ("deliver", "maintenance"),
    "all": ("schedule", "poll", "deliver", "maintenance"),
}
