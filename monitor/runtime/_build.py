"""Settings in, plain components out. The only place where configuration meets the stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from monitor.fetch import FetchPolicy
from monitor.log import register_secret
from monitor.match import WatchlistSpec as MatchSpec
from monitor.notify import ConsoleNotifier, EmailNotifier, Notifier, SlackNotifier, WebhookNotifier
from monitor.pipeline import PipelineOptions
from monitor.settings import (
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    Settings,
    SlackChannel,
    SourceConfig,
    WatchlistConfig,
    WebhookChannel,
)
from monitor.store import SourceSpec, WatchlistRow, WatchlistSpec


def fetch_policy(settings: Settings) -> FetchPolicy:
    f = settings.fetch
    return FetchPolicy(
        user_agent=f.user_agent,
        connect_timeout_s=f.connect_timeout,
        total_timeout_s=f.timeout,
        max_wire_bytes=f.max_body_bytes,
        max_decoded_bytes=f.max_decoded_bytes,
        allow_private_networks=f.allow_private_networks,
    )


def pipeline_options(settings: Settings) -> PipelineOptions:
    return PipelineOptions(policy=fetch_policy(settings))


def source_spec(cfg: SourceConfig) -> SourceSpec:
    options: dict[str, Any] = {"trust_feed_content": cfg.trust_feed_content, "max_pages": cfg.max_pages}
    if cfg.selector:
        options["selector"] = cfg.selector
    if cfg.next_selector:
        options["next_selector"] = cfg.next_selector
    return SourceSpec(
        name=cfg.name,
        url=cfg.url,
        kind=cfg.kind,
        interval_s=cfg.interval,
        min_interval_s=cfg.min_interval_s,
        max_interval_s=cfg.max_interval_s,
        first_poll=cfg.first_poll,
        allow_private_networks=cfg.allow_private_networks,
        enabled=cfg.enabled,
        options=options,
    )


def watchlist_spec(cfg: WatchlistConfig) -> WatchlistSpec:
    return WatchlistSpec(
        name=cfg.name,
        query=cfg.query,
        channels=tuple(cfg.channels),
        mode=cfg.mode,
        synonyms=tuple(tuple(g) for g in cfg.synonyms),
        enabled=cfg.enabled,
    )


def match_specs(rows: Sequence[WatchlistRow]) -> list[MatchSpec]:
    """Enabled watchlists as the match engine wants them."""
    return [MatchSpec(id=r.id, name=r.name, query=r.query, synonyms=r.synonyms) for r in rows if r.enabled]


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value()
    register_secret(raw)
    return str(raw)


def notifier(name: str, cfg: ChannelConfig, *, console_stream: TextIO | None = None) -> Notifier:
    if isinstance(cfg, ConsoleChannel):
        return ConsoleNotifier(name=name, stream=console_stream)
    if isinstance(cfg, SlackChannel):
        return SlackNotifier(
            name=name,
            webhook_url=_secret(cfg.webhook_url),
            token=_secret(cfg.token),
            channel=cfg.channel,
            api_base=cfg.api_base,
            min_interval_s=cfg.min_interval,
        )
    if isinstance(cfg, EmailChannel):
        return EmailNotifier(
            name=name,
            host=cfg.host,
            port=cfg.port,
            security=cfg.security,
            username=cfg.username,
            password=_secret(cfg.password),
            sender=cfg.sender,
            recipients=list(cfg.recipients),
            verify=cfg.verify,
            cafile=str(cfg.cafile) if cfg.cafile else None,
        )
    if isinstance(cfg, WebhookChannel):
        url = _secret(cfg.url)
        assert url is not None  # validated by the settings model
        return WebhookNotifier(name=name, url=url, secret=_secret(cfg.secret))
    raise TypeError(f"unknown channel type {type(cfg).__name__}")  # pragma: no cover


def notifiers(settings: Settings, *, console_stream: TextIO | None = None) -> Mapping[str, Notifier]:
    return {
        name: notifier(name, cfg, console_stream=console_stream) for name, cfg in settings.channels.items()
    }
