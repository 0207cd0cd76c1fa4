"""The pydantic models of the configuration file.

Every model forbids unknown keys: a typo in a key is an error, never silently ignored. Durations accept
seconds or a suffixed string (``90s``, ``15m``, ``2h``, ``1d``). Secrets accept a literal value, an
environment variable name (``*_env``) or a file path (``*_file``) and are resolved at load time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.settings._channels import ChannelConfig, ConsoleChannel, DeliveryConfig
from monitor.settings._housekeeping import OperationsConfig, RetentionConfig
from monitor.settings._types import Duration, _Strict

SourceKind = Literal["feed", "page", "sitemap"]
FirstPoll = Literal["store", "alert", "skip"]


class SourceConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1)
    kind: SourceKind = "feed"
    interval: Duration = 900.0
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    first_poll: FirstPoll = "store"
    trust_feed_content: bool = False
    selector: str | None = None
    next_selector: str | None = None
    max_pages: int = Field(default=1, ge=1, le=50)
    allow_private_networks: bool | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        if self.kind == "page" and not self.selector:
            raise ValueError("a source of kind 'page' needs a 'selector' for its article links")
        if self.kind != "page" and (self.selector or self.next_selector):
            raise ValueError("'selector' and 'next_selector' apply only to sources of kind 'page'")
        low = self.min_interval if self.min_interval is not None else min(self.interval, 300.0)
        high = self.max_interval if self.max_interval is not None else max(self.interval, 86400.0)
        if not low <= self.interval <= high:
            raise ValueError("interval must lie between min_interval and max_interval")
        return self

    @property
    def min_interval_s(self) -> float:
        return self.min_interval if self.min_interval is not None else min(self.interval, 300.0)

    @property
    def max_interval_s(self) -> float:
        return self.max_interval if self.max_interval is not None else max(self.interval, 86400.0)


def _synonym_group(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split("|")]
        if len(parts) < 2 or not all(parts):
            raise ValueError("a synonym group is two or more words separated by '|', e.g. 'Kyiv|Kiev'")
        return parts
    return value


class WatchlistConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["console"])
    mode: Literal["immediate", "digest"] = "immediate"
    synonyms: list[Annotated[list[str], BeforeValidator(_synonym_group)]] = Field(default_factory=list)
    enabled: bool = True

    @model_validator(mode="after")
    def _query(self) -> WatchlistConfig:
        from monitor.match import QuerySyntaxError, validate_query

        try:
            validate_query(self.query, synonyms=[tuple(g) for g in self.synonyms])
        except QuerySyntaxError as exc:
            raise ValueError(f"invalid query: {exc.render()}") from None
        return self


class StoriesConfig(_Strict):
    """Story grouping (docs/stories.md): one alert per story, later members update it.

    ``window`` bounds how far apart two members of a story may be; ``state_file`` keeps the index across
    restarts (default: ``stories-index.npz`` beside a SQLite database, else ``./data/``).
    """

    enabled: bool = True
    window: Duration = 72 * 3600.0
    state_file: Path | None = None
    save_every: Duration = 600.0
    prune_every: Duration = 300.0


class FetchConfig(_Strict):
    user_agent: str = "monitor/0.1 (+https://github.com/monitor-news/monitor)"
    concurrency: int = Field(default=64, ge=1, le=10_000)
    per_host: int = Field(default=2, ge=1, le=100)
    connect_timeout: Duration = 10.0
    timeout: Duration = 30.0
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_decoded_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    allow_private_networks: bool = False


class JobsConfig(_Strict):
    """The job-queue mode (a PostgreSQL ``database_url``): procrastinate worker heartbeats, after how
    long without one a worker's running jobs are retried elsewhere, how often that recovery, the
    delivery planner and the story stage run. ``stalled_after`` must exceed several heartbeats, or a
    busy but live worker would lose its jobs to another."""

    heartbeat: Duration = 10.0
    stalled_after: Duration = 60.0
    recover_every: Duration = 15.0
    dispatch_every: Duration = 2.0
    stories_every: Duration = 2.0

    @model_validator(mode="after")
    def _check(self) -> JobsConfig:
        if self.stalled_after < 3 * self.heartbeat:
            raise ValueError("jobs.stalled_after must be at least three heartbeats")
        return self


class Settings(BaseSettings):
    """The whole configuration. Environment variables ``MONITOR_<KEY>`` (nested keys joined by ``__``)
    override the file: ``MONITOR_DATABASE_URL``, ``MONITOR_FETCH__USER_AGENT``, ..."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///./data/monitor.db"
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tick: Duration = 30.0
    workers: int = Field(default=16, ge=1, le=1000)
    # processes that parse feeds and extract pages; null: one fewer than the usable cores (at least 1)
    worker_processes: int | None = Field(default=None, ge=1, le=256)
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=9187, ge=0, le=65535)  # null turns the endpoint off
    fetch: FetchConfig = FetchConfig()
    stories: StoriesConfig = StoriesConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    jobs: JobsConfig = JobsConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    watchlists: list[WatchlistConfig] = Field(default_factory=list)
    channels: dict[str, ChannelConfig] = Field(default_factory=lambda: _default_channels())
    retention: RetentionConfig | None = RetentionConfig()  # null keeps articles forever
    operations: OperationsConfig | None = None  # source-health alerts; null = off
    config_dir: Path | None = Field(default=None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        _unique([s.name for s in sources], "source name")
        return sources

    @field_validator("watchlists")
    @classmethod
    def _unique_watchlists(cls, watchlists: list[WatchlistConfig]) -> list[WatchlistConfig]:
        _unique([w.name for w in watchlists], "watchlist name")
        return watchlists

    @model_validator(mode="after")
    def _channels_exist(self) -> Settings:
        for i, wl in enumerate(self.watchlists):
            for name in wl.channels:
                if name not in self.channels:
                    known = ", ".join(sorted(self.channels)) or "none"
                    raise ValueError(
                        f"watchlists[{i}] ({wl.name}): channel {name!r} is not declared under 'channels'"
                        f" (declared: {known})"
                    )
        if self.operations is not None and self.operations.channel not in self.channels:
            known = ", ".join(sorted(self.channels)) or "none"
            raise ValueError(
                f"operations.channel {self.operations.channel!r} is not declared under 'channels'"
                f" (declared: {known})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file: the file's content arrives as init kwargs.
        return (env_settings, init_settings)


def _default_channels() -> dict[str, ChannelConfig]:
    return {"console": ConsoleChannel()}


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)
