"""What every command shares: the loaded settings, the store, output as a table or JSON, exit codes.

Exit codes follow the usual convention: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, NoReturn

import typer

from monitor import log as logmod
from monitor.settings import ConfigError, Settings, load_settings
from monitor.store import Store, StoreError

EXIT_RUNTIME = 1
EXIT_USAGE = 2


@dataclass
class State:
    config: str | None = None
    log_format: str = "auto"
    log_level: str | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                fail(str(exc), code=EXIT_USAGE)
            fmt = self.log_format if self.log_format != "auto" else self._settings.log_format
            logmod.configure(fmt=fmt, level=self.log_level or self._settings.log_level)  # type: ignore[arg-type]
        return self._settings


def state(ctx: typer.Context, config: str | None = None) -> State:
    """The root state; a ``--config`` given after the command name wins over one given before it."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    if config is not None:
        obj.config = config
        obj._settings = None
    return obj


ConfigOption = Annotated[
    str | None,
    typer.Option("--config", "-c", help="Configuration file (default: $MONITOR_CONFIG).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, *, code: int = EXIT_RUNTIME) -> NoReturn:
    typer.echo(f"error: {logmod.redact_text(message)}", err=True)
    raise typer.Exit(code)


def now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_store(ctx: typer.Context, config: str | None = None, *, upgrade: bool = True) -> Iterator[Store]:
    """The configured store, migrated to the current schema; store errors become exit 1 messages."""
    settings = state(ctx, config).settings()
    store = Store(settings.database_url)
    try:
        if upgrade:
            store.upgrade()
        yield store
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.close()


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(_jsonable(value), ensure_ascii=False, indent=None))


def ago(when: datetime | None, ref: datetime | None = None) -> str:
    if when is None:
        return "-"
    delta = ((ref or now()) - when).total_seconds()
    future = delta < 0
    delta = abs(delta)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            text = f"{int(delta // size)}{unit}"
            break
    else:
        text = f"{int(delta)}s"
    return f"in {text}" if future else f"{text} ago"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table: readable in a terminal, greppable in a pipe."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        typer.echo("(none)")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def parse_duration(value: str, *, option: str) -> float:
    """Seconds from ``90``, ``45m``, ``36h``, ``90d`` or ``2w``; a bad value is a usage error (exit 2)."""
    match = _DURATION.match(value)
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds <= 0:
        fail(f"{option} {value!r}: expected a positive duration such as 36h, 90d or 2w", code=EXIT_USAGE)
    return seconds


@contextmanager
def progress(label: str, *, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar while long work runs, only when stdout is a terminal (none when piped, so a
    pipe or a log file gets the result lines and nothing else). Yields ``advance(n)``."""
    if not sys.stdout.isatty():
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
