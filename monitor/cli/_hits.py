"""``monitor hits``: what matched, grouped by story (the outbox commands are in ``_alerts``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, table
from monitor.store._story_queries import StoryHitRow

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
    story: Annotated[int | None, typer.Option(help="Only the hits of this story id.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List hits grouped by story, most recent story first. Example: monitor hits ls --since 24h"""
    with open_store(ctx, config) as store:
        rows = store.list_story_hits(watchlist=watchlist, since=parse_since(since), story=story, limit=limit)
    if json_out:
        emit_json(rows)  # flat, newest first; each hit carries its story_id and story_title
        return
    groups: dict[object, list[StoryHitRow]] = {}
    for r in rows:  # newest first, so groups come in order of their newest hit
        groups.setdefault(r.story_id if r.story_id is not None else f"hit{r.id}", []).append(r)
    lines: list[tuple[str, ...]] = []
    for members in groups.values():
        head = members[0]
        if head.story_id is not None:
            outlets = len({m.source for m in members})
            title = (head.story_title or head.title)[:70]
            lines.append(
                (f"story {head.story_id}", "", f"{title} ({len(members)} hits, {outlets} sources)", "")
            )
        for r in members:
            indent = "  " if r.story_id is not None else ""
            lines.append(
                (
                    indent + r.matched_at.strftime("%Y-%m-%d %H:%M"),
                    r.watchlist,
                    indent + f"{r.title[:60]} [{r.source or '-'}]",
                    r.snippet[:80],
                )
            )
    table(("WHEN", "WATCHLIST", "TITLE", "SNIPPET"), lines)
