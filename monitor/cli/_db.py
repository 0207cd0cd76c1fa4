"""``monitor db``: schema upgrade, current revision, drift check."""

from __future__ import annotations

import typer

from monitor.cli._common import ConfigOption, fail, open_store
from monitor.store import head_revision

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Apply every pending migration. Example: monitor db upgrade"""
    with open_store(ctx, config, upgrade=False) as store:
        before = store.current_revision()
        store.upgrade()
        typer.echo(f"database at revision {store.current_revision()} (was {before or 'empty'})")


@app.command("current")
def current(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Print the schema revision of the database. Example: monitor db current"""
    with open_store(ctx, config, upgrade=False) as store:
        rev = store.current_revision()
        head = head_revision()
        typer.echo(f"{rev or 'empty'}{' (head)' if rev == head else f' (head is {head})'}")


@app.command("check")
def check(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Exit 1 unless the schema is at head and matches the models. Example: monitor db check"""
    with open_store(ctx, config, upgrade=False) as store:
        if not store.is_current():
            rev = store.current_revision() or "empty"
            fail(f"database at revision {rev}, head is {head_revision()}: run 'monitor db upgrade'")
        drift = store.schema_drift()
        if drift:
            fail("schema differs from the models:\n" + "\n".join(drift))
        typer.echo("schema is current")
