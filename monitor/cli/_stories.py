"""``monitor stories``: the stories the daemon grouped articles into (issue 7)."""

from __future__ import annotations

from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, open_store, table
from monitor.cli._hits import parse_since

app = typer.Typer(help="Stories: articles of several outlets about one event.", no_args_is_help=True)


@app.command("ls")
def stories_ls(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="Active since a date or age, e.g. 24h.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List stories, most recently active first. Example: monitor stories ls --since 24h"""
    with open_store(ctx, config) as store:
        rows = store.list_stories(since=parse_since(since), limit=limit)
    if json_out:
        emit_json(rows)
        return
    table(
        ("ID", "LAST SEEN", "ARTICLES", "SOURCES", "TITLE"),
        [
            (r.id, r.last_seen_at.strftime("%Y-%m-%d %H:%M"), r.member_count, r.source_count, r.title[:70])
            for r in rows
        ],
    )


@app.command("show")
def stories_show(
    ctx: typer.Context,
    story_id: Annotated[int, typer.Argument(metavar="ID", help="Story id (from 'monitor stories ls').")],
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """One story with its members: source, date, copy flag, title, URL. Example: monitor stories show 42"""
    with open_store(ctx, config) as store:
        detail = store.get_story(story_id)
    if detail is None:
        fail(f"no story with id {story_id}", code=1)
    if json_out:
        emit_json(
            {
                **_as_dict(detail.story),
                "sources": list(detail.sources),
                "members": [
                    {**_as_dict(m), "copy": m.is_copy, "representative": m.article_id == detail.story.id}
                    for m in detail.members
                ],
            }
        )
        return
    s = detail.story
    typer.echo(f"story {s.id}: {s.title}")
    typer.echo(
        f"first seen {s.first_seen_at:%Y-%m-%d %H:%M}, last {s.last_seen_at:%Y-%m-%d %H:%M}; "
        f"{s.member_count} articles from {s.source_count} sources"
    )
    table(
        ("ARTICLE", "SOURCE", "DATE", "COPY", "TITLE", "URL"),
        [
            (
                m.article_id,
                m.source or "-",
                m.published.isoformat(),
                f"of {m.copy_of}" if m.copy_of is not None else "",
                m.title[:60],
                m.url,
            )
            for m in detail.members
        ],
    )


def _as_dict(value: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    assert is_dataclass(value) and not isinstance(value, type)
    return asdict(value)
