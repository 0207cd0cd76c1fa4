"""Scheduling deciders: pure functions from a source's state and last poll to its next check time.

They read no clock and do no I/O (``now`` and ``rng`` are arguments), so the daemon, the tests and a
replay of past polls all get the same answers. The store keeps ``ScheduleState``; the pipeline builds
``PollObservation`` and stores what the ``ScheduleDecision`` says.
"""

from monitor.schedule._deciders import (
    failure_backoff_s,
    next_after_failure,
    next_after_success,
    publishing_interval_s,
)
from monitor.schedule._types import PollObservation, ScheduleDecision, ScheduleState

__all__ = [
    "PollObservation",
    "ScheduleDecision",
    "ScheduleState",
    "failure_backoff_s",
    "next_after_failure",
    "next_after_success",
    "publishing_interval_s",
]
