"""``monitor source import-opml FILE`` and ``monitor source export-opml [FILE]``.

OPML files come from feed readers and from strangers, so they are parsed with defusedxml: a DTD or an
entity declaration (billion laughs, external entities) is refused, not expanded; the five predefined
entities and character references (``&amp;``, ``&#39;``) are plain XML and decode as usual.

Folders (outlines without ``xmlUrl``) become a slash-separated category kept in the source's options
(``category``), with the reader's ``htmlUrl``; export writes the same folders back, so an import of an
export gives the same sources, titles, categories and site links.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only builds the export; parsing goes through defusedxml
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from monitor.cli._common import (
    EXIT_USAGE,
    ConfigOption,
    JsonOption,
    emit_json,
    fail,
    now,
    open_store,
    progress,
    table,
)
from monitor.store import SourceSpec, StoreError

_FEED_TYPES = {"rss", "atom", "feed", "json", "jsonfeed", ""}


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    url: str
    category: str | None
    html_url: str | None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ImportLine:
    status: str  # added | exists | duplicate | skipped | would-add
    title: str
    url: str
    category: str | None
    name: str | None = None
    reason: str | None = None


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def parse_opml(data: bytes, *, origin: str) -> tuple[list[OpmlFeed], list[ImportLine]]:
    """Feeds of an OPML document, in document order, and the outlines skipped (with the reason).

    Raises ``ValueError`` naming ``origin`` and the position for XML that is not well formed, and for a
    document that declares a DTD or entities.
    """
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        msg = str(exc).split(":", 1)[0]
        raise ValueError(f"{origin}: not well-formed XML at line {line}, column {col + 1} ({msg})") from None
    except DefusedXmlException as exc:
        raise ValueError(
            f"{origin}: refused: {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from None
    if root.tag != "opml":
        raise ValueError(f"{origin}: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise ValueError(f"{origin}: no <body> element")
    feeds: list[OpmlFeed] = []
    skipped: list[ImportLine] = []

    def walk(node: ET.Element, path: tuple[str, ...]) -> None:
        for outline in node.findall("outline"):
            title = _clean(outline.get("title") or outline.get("text"))
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            if not url:
                walk(outline, (*path, title) if title else path)
                continue
            kind = (outline.get("type") or "").strip().lower()
            category = "/".join(path) or _clean(outline.get("category", "")).split(",")[0].strip("/ ") or None
            if kind not in _FEED_TYPES:
                skipped.append(
                    ImportLine("skipped", title, url, category, reason=f'type="{kind}" is not a feed')
                )
            elif not url.startswith(("http://", "https://")):
                skipped.append(ImportLine("skipped", title, url, category, reason="not an http(s) URL"))
            else:
                html_url = (outline.get("htmlUrl") or "").strip() or None
                feeds.append(OpmlFeed(title or url, url, category, html_url))
            if len(outline):
                walk(outline, (*path, title) if title else path)

    walk(body, ())
    return feeds, skipped


def _unique_name(title: str, url: str, taken: set[str]) -> str:
    base = title[:180] or (urlsplit(url).hostname or url)
    candidates = [base, f"{base} ({urlsplit(url).hostname})"]
    candidates += [f"{base} ({i})" for i in range(2, 1000)]
    for name in candidates:
        if name not in taken:
            taken.add(name)
            return name
    raise StoreError(f"no free name for {url}")


def import_opml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The OPML file (from a feed reader's export).")],
    interval: Annotated[float, typer.Option(help="Polling interval in seconds.", min=30)] = 900.0,
    first_poll: Annotated[
        str, typer.Option(help="store, alert or skip: what the first poll does.")
    ] = "store",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added; add nothing.")
    ] = False,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Add the feeds of an OPML file (folders become categories); existing and repeated feeds are
    reported, not added twice.

    Example: monitor source import-opml subscriptions.opml --dry-run
    """
    if first_poll not in ("store", "alert", "skip"):
        fail(f"--first-poll must be store, alert or skip, not {first_poll!r}", code=EXIT_USAGE)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=EXIT_USAGE)
    try:
        feeds, lines = parse_opml(data, origin=str(file))
    except ValueError as exc:
        fail(str(exc), code=EXIT_USAGE)
    with open_store(ctx, config) as store:
        existing = store.list_sources(now=now())
        by_url = {s.url: s.name for s in existing}
        taken = {s.name for s in existing}
        seen: set[str] = set()
        with progress("importing feeds", total=len(feeds)) as advance:
            for feed in feeds:
                if feed.url in seen:
                    lines.append(
                        ImportLine("duplicate", feed.title, feed.url, feed.category, reason="repeated")
                    )
                elif feed.url in by_url:
                    lines.append(
                        ImportLine("exists", feed.title, feed.url, feed.category, name=by_url[feed.url])
                    )
                else:
                    name = _unique_name(feed.title, feed.url, taken)
                    if not dry_run:
                        store.add_source(_spec(feed, name, interval, first_poll), now=now())
                    lines.append(
                        ImportLine(
                            "would-add" if dry_run else "added", feed.title, feed.url, feed.category, name
                        )
                    )
                seen.add(feed.url)
                advance(1)
    if json_out:
        emit_json({"file": str(file), "dry_run": dry_run, "results": lines})
        return
    counts = {
        k: sum(1 for x in lines if x.status == k)
        for k in ("added", "would-add", "exists", "duplicate", "skipped")
    }
    table(
        ("STATUS", "NAME", "CATEGORY", "URL", "NOTE"),
        [(x.status, x.name or x.title, x.category, x.url, x.reason) for x in lines],
    )
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to import")


def _spec(feed: OpmlFeed, name: str, interval: float, first_poll: str) -> SourceSpec:
    options: dict[str, object] = {"title": feed.title}
    if feed.category:
        options["category"] = feed.category
    if feed.html_url:
        options["html_url"] = feed.html_url
    return SourceSpec(
        name=name,
        url=feed.url,
        kind="feed",
        interval_s=interval,
        min_interval_s=min(interval, 300.0),
        max_interval_s=max(interval, 86400.0),
        first_poll=first_poll,
        options=options,
    )


def build_opml(feeds: Iterator[tuple[str, str, str | None, str | None]], *, title: str) -> bytes:
    """OPML 2.0 for (title, xmlUrl, category path, htmlUrl) tuples, folders nested by category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now())
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for name, url, category, html_url in feeds:
        path = tuple(p for p in (category or "").split("/") if p)
        for i in range(1, len(path) + 1):
            if path[:i] not in folders:
                folders[path[:i]] = ET.SubElement(folders[path[: i - 1]], "outline", text=path[i - 1])
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": url}
        if html_url:
            attrs["htmlUrl"] = html_url
        ET.SubElement(folders[path], "outline", attrs)
    ET.indent(root)
    text: str = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


def _no_progress(n: int) -> None:
    return None


def export_opml(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Where to write (default: standard output).")] = None,
    config: ConfigOption = None,
) -> None:
    """Write the feed sources as OPML 2.0 (categories as folders), to FILE or to standard output.

    Example: monitor source export-opml subscriptions.opml
    """
    with open_store(ctx, config) as store:
        sources = [s for s in store.list_sources(now=now()) if s.kind == "feed"]
    rows = []
    # A bar only when writing to a file: on standard output the OPML itself is the output.
    with progress("exporting feeds", total=len(sources)) if file else nullcontext(_no_progress) as advance:
        for s in sources:
            title = str(s.options.get("title") or s.name)
            category = s.options.get("category")
            html_url = s.options.get("html_url")
            rows.append(
                (title, s.url, str(category) if category else None, str(html_url) if html_url else None)
            )
            advance(1)
    data = build_opml(iter(rows), title="monitor sources")
    if file is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    try:
        file.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    typer.echo(f"wrote {len(rows)} feed(s) to {file}")
