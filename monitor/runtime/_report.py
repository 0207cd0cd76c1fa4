"""What one ``Daemon.run_once`` pass did: polls, failures, articles, hits, alerts, the story stage and the
delivery that followed (``monitor run --once`` logs it; ``bench/poll.py`` reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.pipeline import PollSummary
from monitor.runtime._dispatcher import DispatchReport
from monitor.runtime._stories import StageTotals

__all__ = ["RunReport"]


@dataclass
class RunReport:
    polls: int = 0
    failures: int = 0
    new_articles: int = 0
    hits: int = 0
    alerts_enqueued: int = 0
    stories: StageTotals = field(default_factory=StageTotals)
    dispatch: DispatchReport = field(default_factory=DispatchReport)

    def add(self, summary: PollSummary) -> None:
        self.polls += 1
        self.failures += 0 if summary.ok else 1
        self.new_articles += summary.new_articles
        self.hits += summary.hits
        self.alerts_enqueued += summary.alerts
