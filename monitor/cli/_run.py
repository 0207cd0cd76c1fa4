"""``monitor run``: the daemon, or one pass with ``--once``.

The database URL picks the mode: SQLite runs everything in this process; PostgreSQL makes this process
one worker of a cluster sharing procrastinate jobs, and ``--role`` lets operators split polling from
delivery (``poller`` / ``notifier`` / ``all``).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, fail, state
from monitor.log import get_logger
from monitor.settings import load_settings


def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, deliver the alerts, exit.")
    ] = False,
    config: ConfigOption = None,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="auto, console or json (default: the config's).")
    ] = None,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="poller (schedule and poll), notifier (deliver alerts and digests) or all.",
        ),
    ] = "all",
) -> None:
    """Run the monitoring daemon (until SIGTERM/SIGINT), or a single pass with --once.

    With a PostgreSQL database several processes share the work as procrastinate jobs; --role splits it.

    Example: monitor run --once --config config/monitor.yaml
    Example: monitor run --role poller --config config/monitor.yaml
    """
    from monitor.runtime import Daemon
    from monitor.runtime._roles import ROLES

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}, not {role!r}", code=2)
    st = state(ctx, config)
    if log_format is not None:
        if log_format not in ("auto", "console", "json"):
            fail(f"--log-format must be auto, console or json, not {log_format!r}", code=2)
        st.log_format = log_format
    settings = st.settings()
    log = get_logger("monitor.cli")

    async def main() -> int:
        # SIGHUP re-reads the same file (or $MONITOR_CONFIG) through this loader.
        daemon = Daemon(settings, console_stream=sys.stdout, reload=lambda: load_settings(st.config))
        try:
            if once:
                report = await daemon.run_once()
                log.info(
                    "run.done",
                    polls=report.polls,
                    failures=report.failures,
                    new_articles=report.new_articles,
                    hits=report.hits,
                    stories_assigned=report.stories.articles,
                    alerts_sent=report.dispatch.sent,
                    alerts_retrying=report.dispatch.retried,
                    alerts_failed=report.dispatch.failed,
                    alerts_waiting_retry=report.dispatch.waiting_retry,
                    alerts_waiting_digest=report.dispatch.waiting_digest,
                )
            else:
                await daemon.run_forever(role=role)
            return 0
        finally:
            await daemon.aclose()

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl-C during shutdown
        code = 0
    except Exception as exc:
        fail(f"{type(exc).__name__}: {exc}")
    raise typer.Exit(code)
