"""``monitor alerts``: the outbox (ls, retry), a channel check (test), and a dispatcher run (dispatch).

Everything printed goes through the log module's redaction with the configured channels' secrets
registered first, so a webhook URL, token or password that ended up in an error text is masked in the
table and in ``--json`` alike.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr

from monitor.cli._common import ConfigOption, JsonOption, ago, emit_json, fail, now, open_store, state, table
from monitor.log import get_logger, redact_text, register_secret
from monitor.settings import Settings

if TYPE_CHECKING:
    from monitor.runtime import DispatchReport

app = typer.Typer(help="The alert outbox: list, retry, test a channel.", no_args_is_help=True)

_SECRET_FIELDS = ("webhook_url", "token", "password", "url", "secret")


def register_channel_secrets(settings: Settings) -> None:
    """Every channel secret (and the parts of a secret URL that identify it) is masked from now on."""
    for cfg in settings.channels.values():
        for name in _SECRET_FIELDS:
            value = getattr(cfg, name, None)
            if not isinstance(value, SecretStr):
                continue
            raw = value.get_secret_value()
            register_secret(raw)
            if "://" in raw:
                try:
                    parts = urlsplit(raw)
                    register_secret(parts.password)
                except ValueError:
                    continue
                tail = parts.path + (f"?{parts.query}" if parts.query else "")
                if len(tail) >= 16:  # error pages like to echo the path without the host
                    register_secret(tail)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


@app.command("ls")
def alerts_ls(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only alerts that failed permanently.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only alerts not delivered yet.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List alerts in the outbox, newest first. Example: monitor alerts ls --failed"""
    from monitor.runtime import Dispatcher

    if failed and pending:
        fail("give --failed or --pending, not both", code=2)
    status = "failed" if failed else "pending" if pending else None
    settings = state(ctx, config).settings()
    register_channel_secrets(settings)
    with open_store(ctx, config) as store:
        rows = Dispatcher(store=store, notifiers={}).outbox.listing(status=status, limit=limit)
    if json_out:
        emit_json([_redacted(asdict(r)) for r in rows])
        return
    table(
        ("ID", "STATUS", "MODE", "CHANNEL", "WATCHLIST", "TRIES", "NEXT", "TITLE", "LAST ERROR"),
        [
            (
                r.id,
                r.status,
                r.mode if r.digest_id is None else f"digest#{r.digest_id}",
                r.channel,
                r.watchlist,
                r.attempts,
                ago(r.next_attempt_at) if r.status == "pending" else "-",
                redact_text(r.title[:50]),
                redact_text((r.last_error or "-")[:70]),
            )
            for r in rows
        ],
    )


@app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids to re-queue.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Re-queue every failed alert.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-queue failed alerts; a failed digest goes again as a whole.

    Example: monitor alerts retry --all-failed
    """
    if not ids and not all_failed:
        fail("give alert ids or --all-failed", code=2)
    with open_store(ctx, config) as store:
        n = store.requeue_failed(ids=None if all_failed else ids, now=now())
    typer.echo(f"re-queued {n} alert(s)")


@app.command("test")
def alerts_test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A channel declared under 'channels'.")],
    config: ConfigOption = None,
) -> None:
    """Send a test message through a channel and report its answer. Example: monitor alerts test team-slack"""
    from monitor.runtime import notifiers

    settings = state(ctx, config).settings()
    register_channel_secrets(settings)
    if channel not in settings.channels:
        known = ", ".join(sorted(settings.channels)) or "none"
        fail(f"unknown channel {channel!r} (declared: {known})", code=2)
    built = notifiers(settings, console_stream=sys.stdout)

    async def send() -> tuple[bool, str]:
        try:
            notifier = built[channel]
            outcome = await notifier.send_test()
            if outcome.ok:
                return True, f"{notifier.kind} accepted" + (
                    f" (id {outcome.external_id})" if outcome.external_id else ""
                )
            kind = "permanent" if outcome.permanent else "transient"
            return False, f"{kind} failure: {outcome.error or 'no reason given'}"
        finally:
            for n in built.values():
                await n.aclose()

    ok, detail = asyncio.run(send())
    if not ok:
        fail(f"test message to {channel} failed: {detail}")
    typer.echo(f"ok: test message sent to {channel}: {redact_text(detail)}")


@app.command("dispatch", hidden=True)
def alerts_dispatch(
    ctx: typer.Context,
    wait: Annotated[
        bool, typer.Option("--wait", help="Keep going until the outbox is empty (or --timeout).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after this many seconds.")] = 60.0,
    lease: Annotated[
        float | None, typer.Option(help="Claim lease in seconds (default: delivery.lease).")
    ] = None,
    batch: Annotated[
        int | None, typer.Option(min=1, help="Rows per claim (default: delivery.batch).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Deliver the outbox without polling sources (what `run` does after polling). For tests and ops:
    exit 0 when nothing is left to do, 1 when --wait timed out with rows still pending."""
    from monitor.runtime import Dispatcher, DispatchReport, notifiers
    from monitor.store import Store

    settings = state(ctx, config).settings()
    register_channel_secrets(settings)
    log = get_logger("monitor.cli")
    options: dict[str, Any] = {}
    if lease is not None:
        options["lease_s"] = lease
    if batch is not None:
        options["batch"] = batch

    async def main() -> DispatchReport:
        store = Store(settings.database_url)
        built = notifiers(settings, console_stream=sys.stdout)
        try:
            await asyncio.to_thread(store.upgrade)
            dispatcher = Dispatcher.from_settings(settings, store=store, notifiers=built, **options)
            deadline = time.monotonic() + timeout
            total = DispatchReport()
            while True:
                report = await dispatcher.drain()
                total += report
                left = report.leased + report.waiting_retry + report.waiting_digest
                if not wait or left == 0 or time.monotonic() >= deadline:
                    return _left(total, report)
                await asyncio.sleep(0.1)
        finally:
            for n in built.values():
                await n.aclose()
            store.close()

    report = asyncio.run(main())
    left = report.leased + report.waiting_retry + report.waiting_digest
    log.info(
        "dispatch.done",
        sent=report.sent,
        retried=report.retried,
        failed=report.failed,
        digests_sent=report.digests_sent,
        leased_elsewhere=report.leased,
        waiting_retry=report.waiting_retry,
        waiting_digest=report.waiting_digest,
    )
    raise typer.Exit(1 if wait and left else 0)


def _left(total: DispatchReport, last: DispatchReport) -> DispatchReport:
    """The totals of the whole run with what the last round left in the outbox."""
    return replace(
        total,
        leased=last.leased,
        waiting_retry=last.waiting_retry,
        next_retry_at=last.next_retry_at,
        waiting_digest=last.waiting_digest,
        next_digest_at=last.next_digest_at,
    )
