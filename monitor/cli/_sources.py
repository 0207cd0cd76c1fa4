"""``monitor source``: list (with health), add, show, remove, pause and resume sources.

``check``, ``import-opml`` and ``export-opml`` live in ``_check.py`` and ``_opml.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, ago, emit_json, fail, now, open_store, state, table
from monitor.store import SourceRow, SourceSpec
from monitor.store._health import SourceHealth
from monitor.store._stats import source_health_state

app = typer.Typer(help="Sources: feeds, pages and sitemaps to poll.", no_args_is_help=True)

_KINDS = ("feed", "page", "sitemap")


def _health(src: SourceRow, extra: SourceHealth | None = None) -> str:
    word = source_health_state(
        enabled=src.enabled,
        active=src.active,
        error_count=src.error_count,
        ok_once=src.last_success_at is not None,
        state=extra.health_state if extra else "ok",
    )
    return f"failing x{src.error_count}" if word == "failing" else word


@app.command("ls")
def ls(ctx: typer.Context, json_out: JsonOption = False, config: ConfigOption = None) -> None:
    """List sources with their health: last success, last error, failures, next check, articles in
    the last 24 h and the feed's problem (a feed that parses with errors).

    Example: monitor source ls --json | jq '.[] | select(.error_count > 0) | .name'
    """
    with open_store(ctx, config) as store:
        rows = store.list_sources(now=now())
        extras = store.source_health()
    if json_out:
        emit_json([_row_dict(r, extras.get(r.id)) for r in rows])
        return
    table(
        ("NAME", "KIND", "HEALTH", "LAST OK", "LAST ERROR", "FAILS", "NEXT", "24H", "PROBLEM", "URL"),
        [
            (
                r.name,
                r.kind,
                _health(r, extras.get(r.id)),
                ago(r.last_success_at),
                _short(r.last_error),
                r.error_count,
                ago(r.next_check_at),
                r.articles_24h,
                _short(extras[r.id].last_problem if r.id in extras else None, 40),
                r.url,
            )
            for r in rows
        ],
    )


def _short(text: str | None, limit: int = 60) -> str:
    if not text:
        return "-"
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _row_dict(r: SourceRow, extra: SourceHealth | None = None) -> dict[str, object]:
    return {
        "id": r.id,
        "name": r.name,
        "url": r.url,
        "kind": r.kind,
        "origin": r.origin,
        "enabled": r.enabled,
        "active": r.active,
        "deactivated_reason": r.deactivated_reason,
        "interval_s": r.interval_s,
        "current_interval_s": r.current_interval_s,
        "next_check_at": r.next_check_at,
        "last_checked_at": r.last_checked_at,
        "last_success_at": r.last_success_at,
        "last_error": r.last_error,
        "last_error_at": r.last_error_at,
        "error_count": r.error_count,
        "articles_24h": r.articles_24h,
        "options": r.options,
        "health": _health(r, extra),
        "health_state": extra.health_state if extra else "ok",
        "health_changed_at": extra.health_changed_at if extra else None,
        "last_problem": extra.last_problem if extra else None,
        "last_problem_at": extra.last_problem_at if extra else None,
        "last_new_entry_at": extra.last_new_entry_at if extra else None,
    }


@app.command("show")
def show(ctx: typer.Context, ref: str, json_out: JsonOption = False, config: ConfigOption = None) -> None:
    """Show one source (by name, id or URL) with its health.

    Example: monitor source show harbor-gazette --json
    """
    with open_store(ctx, config) as store:
        row = store.get_source(ref)
        with_24h = {r.id: r for r in store.list_sources(now=now())}.get(row.id, row)
        extra = store.source_health().get(row.id)
    data = _row_dict(with_24h, extra)
    if json_out:
        emit_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key:>20}: {value if value is not None else '-'}")


@app.command("add")
def add(
    ctx: typer.Context,
    url: str,
    name: Annotated[str | None, typer.Option(help="Unique name (default: the URL's host).")] = None,
    kind: Annotated[str, typer.Option(help="feed, page or sitemap.")] = "feed",
    interval: Annotated[float, typer.Option(help="Polling interval in seconds.", min=30)] = 900.0,
    selector: Annotated[str | None, typer.Option(help="CSS selector of article links (kind page).")] = None,
    next_selector: Annotated[str | None, typer.Option(help="CSS selector of the next-page link.")] = None,
    first_poll: Annotated[
        str, typer.Option(help="store, alert or skip: what the first poll does.")
    ] = "store",
    discover: Annotated[
        bool,
        typer.Option("--discover/--no-discover", help="For an HTML page, find its feed (rel=alternate)."),
    ] = True,
    pick: Annotated[int, typer.Option(help="Which discovered feed to add (1 = the first).", min=1)] = 1,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a source; given an HTML page, find and add the feed it advertises.

    Example: monitor source add https://example.com/feed.xml --name example
    """
    if kind not in _KINDS:
        fail(f"--kind must be one of {', '.join(_KINDS)}, not {kind!r}", code=2)
    if first_poll not in ("store", "alert", "skip"):
        fail(f"--first-poll must be store, alert or skip, not {first_poll!r}", code=2)
    if kind == "page" and not selector:
        fail("a source of kind 'page' needs --selector", code=2)
    if "://" not in url:
        if Path(url).exists():
            fail("local files can only be declared in the configuration file, not added from the CLI", code=2)
        fail(f"{url!r} is not an http(s) URL", code=2)
    if not url.startswith(("http://", "https://")):
        fail(f"only http and https URLs can be polled, not {url.split(':', 1)[0]!r}", code=2)
    from urllib.parse import urlsplit

    if kind == "feed" and discover:
        url = _discover(ctx, config, url, pick=pick, quiet=json_out)
    options: dict[str, object] = {}
    if selector:
        options["selector"] = selector
    if next_selector:
        options["next_selector"] = next_selector
    spec = SourceSpec(
        name=name or (urlsplit(url).hostname or url),
        url=url,
        kind=kind,
        interval_s=interval,
        min_interval_s=min(interval, 300.0),
        max_interval_s=max(interval, 86400.0),
        first_poll=first_poll,
        options=options,
    )
    with open_store(ctx, config) as store:
        row = store.add_source(spec, now=now())
    if json_out:
        emit_json(_row_dict(row))
    else:
        typer.echo(f"added source {row.name} ({row.kind}) {row.url}")


@app.command("rm")
def rm(ctx: typer.Context, ref: str, config: ConfigOption = None) -> None:
    """Remove a source (its stored articles stay). Example: monitor source rm example"""
    with open_store(ctx, config) as store:
        name = store.remove_source(ref)
    typer.echo(f"removed source {name}")


@app.command("pause")
def pause(ctx: typer.Context, ref: str, config: ConfigOption = None) -> None:
    """Stop polling a source until resumed. Example: monitor source pause example"""
    with open_store(ctx, config) as store:
        row = store.set_source_enabled(ref, False, now=now())
    typer.echo(f"paused source {row.name}")


@app.command("resume")
def resume(ctx: typer.Context, ref: str, config: ConfigOption = None) -> None:
    """Resume polling a paused source. Example: monitor source resume example"""
    with open_store(ctx, config) as store:
        row = store.set_source_enabled(ref, True, now=now())
    typer.echo(f"resumed source {row.name}")


def _discover(ctx: typer.Context, config: str | None, url: str, *, pick: int, quiet: bool) -> str:
    """If ``url`` is an HTML page, list the feeds it advertises and return the chosen one."""
    import asyncio

    from monitor.fetch import FetchError, HttpFetcher
    from monitor.parse import discover_feeds, sniff_kind
    from monitor.runtime import fetch_policy

    settings = state(ctx, config).settings()

    async def get() -> tuple[bytes, str, dict[str, str]]:
        async with HttpFetcher(policy=fetch_policy(settings)) as fetcher:
            result = await fetcher.fetch(url)
        return result.body, result.final_url, dict(result.headers)

    try:
        body, final_url, headers = asyncio.run(get())
    except FetchError as exc:
        fail(f"cannot fetch {url}: {exc}")
    if sniff_kind(body, headers=headers) != "html":
        return url
    found = discover_feeds(body, url=final_url, headers=headers)
    if not found:
        fail(f"{url} is an HTML page that advertises no feed; add it with --kind page --selector CSS", code=1)
    if not quiet:
        typer.echo(f"{url} is an HTML page; it advertises {len(found)} feed(s):")
        for i, feed in enumerate(found, 1):
            typer.echo(f"  {i}. {feed.url}  ({feed.type}{', ' + feed.title if feed.title else ''})")
    if pick > len(found):
        fail(f"--pick {pick}: only {len(found)} feed(s) found", code=2)
    return found[pick - 1].url
