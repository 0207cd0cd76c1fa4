"""The ``monitor`` command line: the daemon and its administration.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

from typing import Annotated

import typer

from monitor import log as logmod
from monitor.cli import (
    _alerts,
    _check,
    _db,
    _hits,
    _normalize,
    _opml,
    _prune,
    _run,
    _search,
    _sources,
    _stats,
    _stories,
    _watchlists,
)
from monitor.cli._common import State

app = typer.Typer(
    name="monitor",
    help="News and feed monitoring: poll sources, match watchlists, alert once per story.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        str | None, typer.Option("--config", "-c", envvar="MONITOR_CONFIG", help="Configuration file.")
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="auto, console or json.")] = "auto",
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = None,
) -> None:
    if log_format not in ("auto", "console", "json"):
        raise typer.BadParameter("must be auto, console or json", param_hint="--log-format")
    level = log_level.upper() if log_level else None
    if level is not None and level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter("must be DEBUG, INFO, WARNING or ERROR", param_hint="--log-level")
    logmod.configure(fmt=log_format, level=level or "INFO")  # type: ignore[arg-type]
    ctx.obj = State(config=config, log_format=log_format, log_level=level)


app.command("run")(_run.run)
app.command("normalize")(_normalize.normalize)
app.command("export")(_normalize.export)
app.command("search")(_search.search)
app.command("stats")(_stats.stats)
app.command("prune")(_prune.prune)
app.add_typer(_db.app, name="db")
_sources.app.command("check")(_check.check)
_sources.app.command("import-opml")(_opml.import_opml)
_sources.app.command("export-opml")(_opml.export_opml)
app.add_typer(_sources.app, name="source")
app.add_typer(_watchlists.app, name="watchlist")
app.add_typer(_hits.hits_app, name="hits")
app.add_typer(_stories.app, name="stories")
app.add_typer(_alerts.app, name="alerts")


def main() -> None:
    app()
