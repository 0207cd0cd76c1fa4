"""The pipeline: runs one source through fetch, parse, extract, match and store.

It is the only module that knows the order of the stages; the runtime decides when and how often.
"""

from monitor.pipeline._articles import content_hash
from monitor.pipeline._cpu import CpuRunner, ExecutorRunner, InlineRunner
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
    "content_hash",
]
