"""The pipeline: runs one source through fetch, parse, extract, match and store.

It is the only module that knows the order of the stages; the runtime decides when and how often.

The names below are loaded on first use (PEP 562). Importing any module of the package runs this file
first, and the CPU runner's worker processes import two of them (``_work``, the functions they run, and
``_work_process``, their process class): when this file imported ``Pipeline`` and ``StoryService``,
every worker and the fork server held the store, its ORM, the matcher and the fetcher (issue #3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.lazy import lazy_exports

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

# __getattr__ is hidden from mypy, which would otherwise type any misspelt name as Any.
_getattr, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
if not TYPE_CHECKING:
    __getattr__ = _getattr
