"""``monitor hits`` and ``monitor alerts``: what matched, and what was delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, table

hits_app = typer.Typer(help="Watchlist hits.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alert outbox.", no_args_is_help=True)


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


@alerts_app.command("ls")
def alerts_ls(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only alerts that failed permanently.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only alerts not delivered yet.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List alerts in the outbox. Example: monitor alerts ls --failed"""
    status = "failed" if failed else "pending" if pending else None
    with open_store(ctx, config) as store:
        rows = store.list_alerts(status=status, limit=limit)
    if json_out:
        emit_json(rows)
        return
    table(
        ("ID", "STATUS", "CHANNEL", "WATCHLIST", "TRIES", "TITLE", "LAST ERROR"),
        [
            (r.id, r.status, r.channel, r.watchlist, r.attempts, r.title[:50], (r.last_error or "-")[:60])
            for r in rows
        ],
    )


@alerts_app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids to re-queue.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Re-queue every failed alert.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-queue failed alerts. Example: monitor alerts retry --all-failed"""
    if not ids and not all_failed:
        fail("give alert ids or --all-failed", code=2)
    with open_store(ctx, config) as store:
        n = store.requeue_failed(ids=None if all_failed else ids, now=now())
    typer.echo(f"re-queued {n} alert(s)")
