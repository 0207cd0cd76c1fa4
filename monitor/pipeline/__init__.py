"""The pipeline: runs one source through fetch, parse, extract, match and store.

It is the only module that knows the order of the stages; the runtime decides when and how often.

The names below are loaded on first use (PEP 562). Importing any module of the package runs this file
first, and the CPU runner's worker processes import two of them (``_work``, the functions they run, and
``_work_process``, their process class): when this file imported ``Pipeline`` and ``StoryService``,
every worker and the fork server held the store, its ORM, the matcher and the fetcher (issue #3).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.pipeline._articles import content_hash
    from monitor.pipeline._cpu import CpuRunner, ExecutorRunner, InlineRunner, WorkerDied
    from monitor.pipeline._observe import NullObserver, PollObserver
    from monitor.pipeline._poll import Pipeline, PipelineOptions, PollSummary
    from monitor.pipeline._stories import StoryService

__all__ = [
    "CpuRunner",
    "ExecutorRunner",
    "InlineRunner",
    "NullObserver",
    "Pipeline",
    "PipelineOptions",
    "PollObserver",
    "PollSummary",
    "StoryService",
    "WorkerDied",
    "content_hash",
]

_HOME = {
    "CpuRunner": "_cpu",
    "ExecutorRunner": "_cpu",
    "InlineRunner": "_cpu",
    "NullObserver": "_observe",
    "Pipeline": "_poll",
    "PipelineOptions": "_poll",
    "PollObserver": "_observe",
    "PollSummary": "_poll",
    "StoryService": "_stories",
    "WorkerDied": "_cpu",
    "content_hash": "_articles",
}

if not TYPE_CHECKING:  # hidden from mypy, which would otherwise type any misspelt name as Any

    def __getattr__(name: str) -> Any:
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
