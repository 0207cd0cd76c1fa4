"""``monitor prune``: delete old articles now, in batches (the daemon does the same on a schedule)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from typing import Annotated

import typer

from monitor.cli._common import (
    EXIT_USAGE,
    ConfigOption,
    JsonOption,
    emit_json,
    fail,
    now,
    open_store,
    parse_duration,
    progress,
    state,
)
from monitor.runtime._housekeeping import format_duration, prune_articles


def _none(n: int) -> None:
    return None


def prune(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option(help="Retention age, e.g. 90d or 36h (default: the configuration's retention.max_age)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    batch: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="Articles per transaction (default: retention.batch)."),
    ] = None,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Delete articles first seen longer ago than the retention age, in short batches; hits and their
    snippets are kept (they no longer link to the article).

    Example: monitor prune --older-than 90d --dry-run
    """
    retention = state(ctx, config).settings().retention
    if older_than is not None:
        max_age_s = parse_duration(older_than, option="--older-than")
    elif retention is not None:
        max_age_s = retention.max_age
    else:
        fail("retention is off in the configuration (retention: null): give --older-than", code=EXIT_USAGE)
    size = batch or (retention.batch if retention is not None else 500)
    at = now()
    with open_store(ctx, config) as store:
        total = None if dry_run else store.count_older_articles(cutoff=at - timedelta(seconds=max_age_s))
        with progress("pruning articles", total=total) if total else nullcontext(_none) as advance:
            report = prune_articles(
                store, max_age_s=max_age_s, batch=size, now=at, dry_run=dry_run, progress=advance
            )
    if json_out:
        emit_json(report)
        return
    age = format_duration(max_age_s)
    if dry_run:
        typer.echo(f"would prune {report.candidates} article(s) first seen more than {age} ago (dry run)")
    else:
        typer.echo(
            f"pruned {report.deleted} article(s) first seen more than {age} ago "
            f"in {report.batches} batch(es); hits and alerts kept"
        )
