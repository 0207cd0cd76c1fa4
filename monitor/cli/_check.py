"""``monitor source check NAME|URL``: fetch a source now and show what a poll would ingest, storing nothing.

The check goes through the same stages as a poll (the fetcher with the source's fetch policy, the
parser for its kind, the article maker that fetches pages, extracts and matches) but never calls
``Store.apply_poll``: the only database access is reading the source, the watchlists and which
entries are already stored. The fetch ignores the stored validators (ETag, Last-Modified, body hash),
so a check always sees the whole document.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, state, table
from monitor.core import Entry, canonical_url
from monitor.fetch import FetchError, HttpFetcher
from monitor.match import EngineHolder
from monitor.pipeline import InlineRunner
from monitor.pipeline._articles import ArticleMaker
from monitor.pipeline._entries import read_entries
from monitor.runtime import fetch_policy, match_specs
from monitor.settings import Settings
from monitor.store import SourceRow, Store, StoreError


@dataclass(frozen=True, slots=True)
class CheckItem:
    url: str
    title: str | None
    published: datetime | None
    status: str  # new | stored | duplicate | unusable | not-checked
    watchlists: tuple[str, ...] = ()
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class CheckReport:
    source: str
    url: str
    final_url: str
    http_status: int
    kind: str
    entries: int
    new: int
    stored: int
    problem: str | None
    items: tuple[CheckItem, ...] = field(default_factory=tuple)


def _adhoc(url: str, kind: str) -> SourceRow:
    """A source that is not in the database (``check URL``): defaults, nothing stored about it."""
    t = datetime.now(UTC)
    return SourceRow(
        id=0,
        name=urlsplit(url).hostname or url,
        url=url,
        kind=kind,
        origin="cli",
        options={},
        enabled=True,
        active=True,
        deactivated_reason=None,
        first_poll="store",
        interval_s=900.0,
        min_interval_s=300.0,
        max_interval_s=86400.0,
        current_interval_s=900.0,
        allow_private_networks=None,
        etag=None,
        last_modified=None,
        body_hash=None,
        next_check_at=t,
        last_checked_at=None,
        last_success_at=None,
        last_error=None,
        last_error_at=None,
        error_count=0,
        polls=0,
        recent_entry_times=(),
    )


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out: list[Entry] = []
    for e in entries:
        url = canonical_url(e.url)
        if url not in seen:
            seen.add(url)
            out.append(replace(e, url=url))
    return out


async def preview(store: Store, settings: Settings, src: SourceRow, *, limit: int) -> CheckReport:
    """What one poll of ``src`` would ingest now; reads the store, writes nothing."""
    base = fetch_policy(settings)
    policy = replace(
        base,
        allow_private_networks=(
            src.allow_private_networks
            if src.allow_private_networks is not None
            else base.allow_private_networks
        ),
        allow_local_files=src.origin == "config",
    )
    cpu = InlineRunner()
    watchlists = await asyncio.to_thread(store.list_watchlists)
    names = {w.id: w.name for w in watchlists}
    engine = EngineHolder(match_specs(watchlists))
    async with HttpFetcher(policy=policy) as fetcher:
        result = await fetcher.fetch(src.url, policy=policy)
        read = await read_entries(src, result, fetcher=fetcher, policy=policy, cpu=cpu)
        fresh = _unique(read.entries)
        known = await asyncio.to_thread(
            store.known, urls=[e.url for e in fresh], guids=[e.guid for e in fresh if e.guid]
        )
        maker = ArticleMaker(
            source=src.name,
            fetcher=fetcher,
            cpu=cpu,
            engine=engine,
            policy=policy,
            clock=now,
            trust_feed_content=bool(src.options.get("trust_feed_content")),
        )
        items: list[CheckItem] = []
        made = 0
        for e in fresh:
            if e.url in known.urls or (e.guid and e.guid in known.guids):
                items.append(CheckItem(e.url, e.title, e.published, "stored"))
                continue
            if made >= limit:
                items.append(CheckItem(e.url, e.title, e.published, "not-checked"))
                continue
            made += 1
            art = await maker.make(e)
            if art is None:
                items.append(CheckItem(e.url, e.title, e.published, "unusable"))
                continue
            dup = await asyncio.to_thread(store.known, urls=[art.url], hashes=[art.content_hash])
            status = "duplicate" if (dup.urls or dup.hashes) else "new"
            items.append(
                CheckItem(
                    art.url,
                    art.title,
                    e.published,
                    status,
                    tuple(names.get(h.watchlist_id, str(h.watchlist_id)) for h in art.hits),
                    art.hits[0].snippet if art.hits else None,
                )
            )
    return CheckReport(
        source=src.name,
        url=src.url,
        final_url=result.final_url,
        http_status=result.status,
        kind=src.kind,
        entries=len(fresh),
        new=sum(1 for i in items if i.status in ("new", "not-checked")),
        stored=sum(1 for i in items if i.status == "stored"),
        problem=read.problem,
        items=tuple(items),
    )


def check(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A source's name or id, or any http(s) URL.")],
    kind: Annotated[str, typer.Option(help="For a URL that is not a source: feed, page, sitemap.")] = "feed",
    limit: Annotated[int, typer.Option(min=1, help="Fetch and extract at most this many new entries.")] = 50,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Fetch a source now and show what would be ingested (new vs already stored); stores nothing.

    Example: monitor source check harbor-gazette --json
    """
    if kind not in ("feed", "page", "sitemap"):
        fail(f"--kind must be feed, page or sitemap, not {kind!r}", code=2)
    settings = state(ctx, config).settings()
    with open_store(ctx, config) as store:
        try:
            src = store.get_source(ref)
        except StoreError:
            if not ref.startswith(("http://", "https://")):
                fail(f"no source named {ref!r} (give a source's name or id, or an http(s) URL)")
            src = _adhoc(ref, kind)
        try:
            report = asyncio.run(preview(store, settings, src, limit=limit))
        except FetchError as exc:
            fail(f"cannot fetch {src.url}: {exc}")
        except Exception as exc:  # a parser's error on hostile input: report it like a poll would
            fail(f"cannot read {src.url}: {type(exc).__name__}: {exc}")
    if json_out:
        emit_json(report)
        return
    typer.echo(
        f"{report.source}: HTTP {report.http_status}, {report.entries} entries, "
        f"{report.new} new, {report.stored} already stored (nothing was stored)"
    )
    if report.problem:
        typer.echo(f"feed problem: {report.problem}")
    table(
        ("STATUS", "TITLE", "WATCHLISTS", "URL"),
        [(i.status, (i.title or "")[:60], ", ".join(i.watchlists) or "-", i.url) for i in report.items],
    )
