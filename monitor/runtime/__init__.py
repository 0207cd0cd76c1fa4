"""The runtime: builds components from the settings, runs the scheduler, workers and outbox dispatcher."""

from monitor.runtime._build import fetch_policy, match_specs, notifiers, source_spec, watchlist_spec
from monitor.runtime._daemon import Daemon
from monitor.runtime._dispatcher import Dispatcher, DispatchReport, backoff_s, build_messages
from monitor.runtime._report import RunReport

__all__ = [
    "Daemon",
    "DispatchReport",
    "Dispatcher",
    "RunReport",
    "backoff_s",
    "build_messages",
    "fetch_policy",
    "match_specs",
    "notifiers",
    "source_spec",
    "watchlist_spec",
]
