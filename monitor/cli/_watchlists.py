"""``monitor watchlist``: the boolean queries that articles are matched against."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, state, table
from monitor.match import Document, QuerySyntaxError, explain, mark_spans, validate_query
from monitor.store import WatchlistRow, WatchlistSpec

app = typer.Typer(help="Watchlists: boolean queries and the channels they alert.", no_args_is_help=True)

ChannelOpt = Annotated[list[str] | None, typer.Option("--channel", help="Channel to alert (repeatable).")]
SynonymOpt = Annotated[
    list[str] | None, typer.Option("--synonym", help="Synonym group, e.g. 'Kyiv|Kiev' (repeatable).")
]
ModeOpt = Annotated[str, typer.Option(help="immediate or digest.")]


def _groups(synonyms: list[str] | None) -> tuple[tuple[str, ...], ...]:
    groups = []
    for raw in synonyms or []:
        parts = tuple(p.strip() for p in raw.split("|") if p.strip())
        if len(parts) < 2:
            fail(f"a synonym group needs two or more words separated by '|', not {raw!r}", code=2)
        groups.append(parts)
    return tuple(groups)


def _validate(query: str, groups: tuple[tuple[str, ...], ...]) -> None:
    try:
        validate_query(query, synonyms=groups)
    except QuerySyntaxError as exc:
        fail(exc.render(), code=2)


def _row_dict(r: WatchlistRow) -> dict[str, object]:
    return {
        "id": r.id,
        "name": r.name,
        "query": r.query,
        "channels": list(r.channels),
        "mode": r.mode,
        "synonyms": [list(g) for g in r.synonyms],
        "origin": r.origin,
        "enabled": r.enabled,
    }


@app.command("ls")
def ls(ctx: typer.Context, json_out: JsonOption = False, config: ConfigOption = None) -> None:
    """List watchlists. Example: monitor watchlist ls --json"""
    with open_store(ctx, config) as store:
        rows = store.list_watchlists()
    if json_out:
        emit_json([_row_dict(r) for r in rows])
        return
    table(
        ("NAME", "MODE", "CHANNELS", "ORIGIN", "QUERY"),
        [(r.name, r.mode, ",".join(r.channels), r.origin, r.query) for r in rows],
    )


@app.command("show")
def show(ctx: typer.Context, name: str, json_out: JsonOption = False, config: ConfigOption = None) -> None:
    """Show one watchlist. Example: monitor watchlist show port-strike"""
    with open_store(ctx, config) as store:
        rows = [r for r in store.list_watchlists() if r.name == name]
    if not rows:
        fail(f"no watchlist named {name!r}")
    if json_out:
        emit_json(_row_dict(rows[0]))
        return
    for key, value in _row_dict(rows[0]).items():
        typer.echo(f"{key:>9}: {value}")


def _save(ctx: typer.Context, config: str | None, spec: WatchlistSpec, *, replace: bool) -> WatchlistRow:
    settings = state(ctx, config).settings()
    for channel in spec.channels:
        if channel not in settings.channels:
            fail(
                f"channel {channel!r} is not declared in the configuration "
                f"(declared: {', '.join(sorted(settings.channels)) or 'none'})",
                code=2,
            )
    if spec.mode not in ("immediate", "digest"):
        fail(f"--mode must be immediate or digest, not {spec.mode!r}", code=2)
    _validate(spec.query, spec.synonyms)
    with open_store(ctx, config) as store:
        return store.add_watchlist(spec, now=now(), replace=replace)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    query: str,
    channel: ChannelOpt = None,
    mode: ModeOpt = "immediate",
    synonym: SynonymOpt = None,
    backfill: Annotated[
        int | None,
        typer.Option(help="Also match stored articles of the last DAYS (hits recorded, no alerts).", min=1),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add a watchlist.

    Example: monitor watchlist add ports '"port authority" AND strike' --channel console
    """
    spec = WatchlistSpec(
        name=name, query=query, channels=tuple(channel or ["console"]), mode=mode, synonyms=_groups(synonym)
    )
    row = _save(ctx, config, spec, replace=False)
    typer.echo(f"added watchlist {row.name}: {row.query}")
    if backfill:
        from monitor.cli._search import backfill as run_backfill

        n = run_backfill(
            ctx, config, watchlist_id=row.id, query=row.query, synonyms=row.synonyms, days=backfill
        )
        typer.echo(f"backfill: {n} hit(s) in the last {backfill} day(s), recorded without alerts")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str,
    query: Annotated[str | None, typer.Option(help="New query.")] = None,
    channel: ChannelOpt = None,
    mode: Annotated[str | None, typer.Option(help="immediate or digest.")] = None,
    synonym: SynonymOpt = None,
    config: ConfigOption = None,
) -> None:
    """Change a watchlist. Example: monitor watchlist edit ports --query 'strike NEAR/5 port'"""
    with open_store(ctx, config) as store:
        current = [r for r in store.list_watchlists() if r.name == name]
    if not current:
        fail(f"no watchlist named {name!r}")
    cur = current[0]
    spec = WatchlistSpec(
        name=name,
        query=query or cur.query,
        channels=tuple(channel) if channel else cur.channels,
        mode=mode or cur.mode,
        synonyms=_groups(synonym) if synonym else cur.synonyms,
        enabled=cur.enabled,
    )
    row = _save(ctx, config, spec, replace=True)
    typer.echo(f"updated watchlist {row.name}: {row.query}")


@app.command("rm")
def rm(ctx: typer.Context, name: str, config: ConfigOption = None) -> None:
    """Remove a watchlist and its hits. Example: monitor watchlist rm ports"""
    with open_store(ctx, config) as store:
        store.remove_watchlist(name)
    typer.echo(f"removed watchlist {name}")


@app.command("test")
def check_query(
    query: str,
    file: Annotated[Path | None, typer.Option("--file", help="A text or HTML file to test against.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="A text to test against.")] = None,
    title: Annotated[str, typer.Option("--title", help="Title to use with --text.")] = "",
    synonym: SynonymOpt = None,
    config: ConfigOption = None,
) -> None:
    """Test a query like grep: exit 0 on a match, 1 on none, 2 on a syntax error.

    Example: monitor watchlist test 'troops NEAR/5 border' --text 'Troops massed at the border.'
    """
    groups = _groups(synonym)
    _validate(query, groups)
    if (file is None) == (text is None):
        fail("give exactly one of --file or --text", code=2)
    if file is not None:
        from monitor.extract import ExtractionError, normalize_document

        try:
            art = normalize_document(file.read_bytes(), fetched_at=datetime.now(UTC), path=str(file))
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}", code=2)
        except ExtractionError as exc:
            fail(f"{file}: {exc}")
        doc = Document(title=art.title, body=art.body, language=art.language)
    else:
        doc = Document(title=title, body=text or "")
    hit = explain(query, doc, synonyms=groups)
    if hit is None:
        typer.echo("no match")
        raise typer.Exit(1)
    typer.echo("match: " + mark_spans(hit))
