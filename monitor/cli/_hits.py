"""``monitor hits``: what matched (the outbox commands are in ``_alerts``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, table

hits_app = typer.Typer(help="Watchlist hits.", no_args_is_help=True)


def parse_since(value: str | None) -> datetime | None:
    """An ISO date/datetime, or a relative age such as 24h, 7d, 30m."""
    if value is None:
        return None
    units = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
    if value[:-1].isdigit() and value[-1] in units:
        return now() - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since takes a date (2026-11-20), a datetime or an age (24h, 7d), not {value!r}", code=2)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@hits_app.command("ls")
def hits_ls(
    ctx: typer.Context,
    watchlist: Annotated[str | None, typer.Option(help="Only this watchlist.")] = None,
    since: Annotated[str | None, typer.Option(help="Date or age, e.g. 2026-11-20 or 24h.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List hits, newest first. Example: monitor hits ls --watchlist ports --since 24h"""
    with open_store(ctx, config) as store:
        rows = store.list_hits(watchlist=watchlist, since=parse_since(since), limit=limit)
    if json_out:
        emit_json(rows)
        return
    table(
        ("WHEN", "WATCHLIST", "TITLE", "SNIPPET"),
        [(r.matched_at.strftime("%Y-%m-%d %H:%M"), r.watchlist, r.title[:60], r.snippet[:80]) for r in rows],
    )
