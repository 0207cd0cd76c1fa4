"""``monitor normalize`` and ``monitor export``: articles in the reference plain-text format."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, fail, open_store, progress, state
from monitor.cli._hits import parse_since
from monitor.core import NormalizedArticle, url_key

_FORMATS = ("text", "json", "jsonl")


def _fetch(url: str, *, allow_private: bool) -> tuple[bytes, str, str | None]:
    from monitor.fetch import FetchError, FetchPolicy, HttpFetcher

    async def go() -> tuple[bytes, str, str | None]:
        async with HttpFetcher(policy=FetchPolicy(allow_private_networks=allow_private)) as fetcher:
            result = await fetcher.fetch(url)
        return result.body, result.final_url, result.headers.get("content-type")

    try:
        return asyncio.run(go())
    except FetchError as exc:
        fail(str(exc))


def normalize(
    ctx: typer.Context,
    inputs: Annotated[list[str], typer.Argument(help="Files, http(s) URLs, or - for standard input.")],
    url: Annotated[
        str | None, typer.Option("--url", help="The article's URL, for file or stdin input.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or jsonl.")] = "text",
    allow_private: Annotated[
        bool, typer.Option("--allow-private-networks", help="Allow fetching from private addresses.")
    ] = False,
) -> None:
    """Print articles (HTML or text) in the reference format.

    Example: monitor normalize page.html --url https://example.com/news/1 --format json
    """
    from monitor.extract import ExtractionError, normalize_document

    if fmt not in _FORMATS:
        fail(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}", code=2)
    failures = 0
    for item in inputs:
        fetched_at = datetime.now(UTC)
        content_type = None
        path: str | None = None
        try:
            if item == "-":
                data, source_url = sys.stdin.buffer.read(), url
            elif item.startswith(("http://", "https://")):
                data, source_url, content_type = _fetch(item, allow_private=allow_private)
            else:
                data, source_url, path = Path(item).read_bytes(), url, item
        except OSError as exc:
            typer.echo(f"error: cannot read {item}: {exc.strerror}", err=True)
            failures += 1
            continue
        try:
            art = normalize_document(
                data, fetched_at=fetched_at, url=source_url, content_type=content_type, path=path
            )
        except ExtractionError as exc:
            typer.echo(f"error: {item}: {exc}", err=True)
            failures += 1
            continue
        _print(art, item, fmt)
    if failures:
        raise typer.Exit(1)


def _print(art: NormalizedArticle, item: str, fmt: str) -> None:
    if fmt == "text":
        sys.stdout.write(art.to_text())
    elif fmt == "json":
        typer.echo(json.dumps(art.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(json.dumps({"path": item, **art.to_dict()}, ensure_ascii=False))


def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    since: Annotated[str | None, typer.Option(help="Only articles first seen since (date or age).")] = None,
    watchlist: Annotated[str | None, typer.Option(help="Only articles that hit this watchlist.")] = None,
    config: ConfigOption = None,
) -> None:
    """Write stored articles as NNN_<16 hex of SHA-256(url)>.txt files.

    Example: monitor export --out exported/ --since 7d --watchlist ports
    """
    state(ctx, config)
    with open_store(ctx, config) as store:
        rows = store.export_articles(since=parse_since(since), watchlist=watchlist)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {out}: {exc.strerror}")
    width = max(3, len(str(len(rows))))
    with progress("exporting articles", total=len(rows)) as advance:  # a bar only in a terminal
        for i, (url, text) in enumerate(rows):
            (out / f"{i:0{width}d}_{url_key(url)}.txt").write_text(text, encoding="utf-8")
            advance(1)
    typer.echo(f"wrote {len(rows)} article(s) to {out}")
