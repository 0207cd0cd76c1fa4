"""``monitor stats``: articles, hits and alerts per day and per watchlist; sources by health."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, now, open_store, table


def stats(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=3660, help="Days to cover, today included (UTC).")] = 7,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Articles, hits and alerts (sent / failed / pending) per day and per watchlist, and how many
    sources are ok, new, failing, silent, paused or deactivated.

    Example: monitor stats --days 30 --json
    """
    today = now().date()
    since = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=now().tzinfo)
    with open_store(ctx, config) as store:
        report = store.stats(since=since)
    if json_out:
        emit_json(report)
        return
    typer.echo(f"since {since.date().isoformat()} (UTC days)")
    table(
        ("DAY", "ARTICLES", "HITS", "SENT", "FAILED", "PENDING"),
        [(d.day, d.articles, d.hits, d.alerts_sent, d.alerts_failed, d.alerts_pending) for d in report.days],
    )
    typer.echo("")
    table(
        ("WATCHLIST", "HITS", "SENT", "FAILED", "PENDING"),
        [(w.watchlist, w.hits, w.alerts_sent, w.alerts_failed, w.alerts_pending) for w in report.watchlists],
    )
    typer.echo("")
    typer.echo("sources: " + ", ".join(f"{n} {state}" for state, n in report.sources.items()))
