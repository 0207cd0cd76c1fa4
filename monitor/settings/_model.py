"""The pydantic models of the configuration file.

Every model forbids unknown keys: a typo in a key is an error, never silently ignored. Durations accept
seconds or a suffixed string (``90s``, ``15m``, ``2h``, ``1d``). Secrets accept a literal value, an
environment variable name (``*_env``) or a file path (``*_file``) and are resolved at load time.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def _parse_duration(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError("expected a duration such as 30, 90s, 15m, 2h or 1d")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than zero")
    return value


Duration = Annotated[float, BeforeValidator(_parse_duration), AfterValidator(_positive)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- delivery: digest schedules, quiet hours, time zones ------------------------------------------------
_TIME = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_time(value: Any) -> Any:
    """``"08:00"``; also YAML 1.1's reading of an unquoted ``17:30`` as the sexagesimal integer 1050."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        raise ValueError("expected a time of day such as 08:00 or 17:30")
    if isinstance(value, str):
        match = _TIME.match(value)
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    raise ValueError("expected a time of day such as 08:00 or 17:30")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Paris, America/New_York or UTC"
        ) from None
    return value


def _weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower()[:3] in _WEEKDAYS:
        return value.strip().lower()[:3]
    raise ValueError("expected a day of the week: mon, tue, wed, thu, fri, sat or sun")


TimeOfDay = Annotated[time, BeforeValidator(_parse_time)]
TimeZone = Annotated[str, AfterValidator(_zone)]
Weekday = Annotated[str, BeforeValidator(_weekday)]


def _schedule_shorthand(value: Any) -> Any:
    """``hourly``, ``daily`` (08:00) or a time of day stand for the equivalent mapping."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "hourly":
            return {"every": "1h"}
        if word == "daily":
            return {"at": ["08:00"]}
        if _TIME.match(word):
            return {"at": [word]}
        raise ValueError("expected hourly, daily, a time such as 08:00, or a mapping with every: or at:")
    return value


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


class DigestSchedule(_Strict):
    """When a channel's digest goes out: ``every`` (a divisor of a day, periods start at local midnight)
    or ``at`` (times of day, optionally only on some ``days``), in ``timezone`` (default
    ``delivery.timezone``)."""

    every: Duration | None = None
    at: Annotated[list[TimeOfDay], BeforeValidator(_listify)] = Field(default_factory=list)
    days: Annotated[list[Weekday], BeforeValidator(_listify)] = Field(default_factory=list)
    timezone: TimeZone | None = None

    @model_validator(mode="after")
    def _check(self) -> DigestSchedule:
        if (self.every is None) == (not self.at):
            raise ValueError("give exactly one of 'every' (e.g. 1h) or 'at' (e.g. 08:00)")
        if self.every is not None:
            if self.every < 1 or self.every != int(self.every) or 86400 % int(self.every):
                raise ValueError(
                    "'every' must divide a day evenly (e.g. 15m, 1h, 6h, 1d); "
                    "for a weekly digest use 'at' with 'days'"
                )
            if self.days:
                raise ValueError("'days' goes with 'at', not with 'every'")
        return self


Schedule = Annotated[DigestSchedule, BeforeValidator(_schedule_shorthand)]


class QuietHours(_Strict):
    """A daily window (may span midnight, e.g. 22:00 to 07:00) during which a channel gets nothing:
    immediate alerts wait for the channel's next digest, or for the end of the window if the channel has
    no ``digest`` of its own."""

    start: TimeOfDay
    end: TimeOfDay
    timezone: TimeZone | None = None

    @model_validator(mode="after")
    def _check(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet_hours 'start' and 'end' must differ")
        return self


class _Channel(_Strict):
    """What every channel type accepts about delivery timing."""

    digest: Schedule | None = None
    quiet_hours: QuietHours | None = None


class DeliveryConfig(_Strict):
    """The outbox dispatcher: defaults for digests, leases, retries."""

    timezone: TimeZone = "UTC"
    digest: Schedule = Field(default_factory=lambda: DigestSchedule(at=[time(8, 0)]))
    lease: Duration = 120.0
    batch: int = Field(default=100, ge=1, le=10_000)
    max_attempts: int = Field(default=12, ge=1, le=1000)
    retry_base: Duration = 30.0
    retry_max: Duration = 6 * 3600.0

    @model_validator(mode="after")
    def _check(self) -> DeliveryConfig:
        if self.retry_max < self.retry_base:
            raise ValueError("retry_max must not be shorter than retry_base")
        return self


def _resolve_secret(
    value: SecretStr | None, env: str | None, file: Path | None, what: str
) -> SecretStr | None:
    """One secret from exactly one of: literal value, environment variable, file."""
    given = [x for x in (value, env, file) if x is not None]
    if len(given) > 1:
        raise ValueError(f"give {what} as one of a value, *_env or *_file, not several")
    if env is not None:
        if env not in os.environ:
            raise ValueError(f"environment variable {env!r} named by {what}_env is not set")
        return SecretStr(os.environ[env])
    if file is not None:
        try:
            return SecretStr(Path(file).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ValueError(f"cannot read {what}_file {str(file)!r}: {exc.strerror}") from exc
    return value


class ConsoleChannel(_Channel):
    type: Literal["console"] = "console"


class SlackChannel(_Channel):
    type: Literal["slack"]
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    webhook_url_file: Path | None = None
    token: SecretStr | None = None
    token_env: str | None = None
    token_file: Path | None = None
    channel: str | None = None
    api_base: str = "https://slack.com/api"
    min_interval: Duration = 1.0

    @model_validator(mode="after")
    def _secrets(self) -> SlackChannel:
        hook = _resolve_secret(self.webhook_url, self.webhook_url_env, self.webhook_url_file, "webhook_url")
        token = _resolve_secret(self.token, self.token_env, self.token_file, "token")
        if (hook is None) == (token is None):
            raise ValueError("a slack channel needs either webhook_url(_env/_file) or token(_env/_file)")
        if token is not None and not self.channel:
            raise ValueError("a slack channel with a bot token needs 'channel'")
        object.__setattr__(self, "webhook_url", hook)
        object.__setattr__(self, "token", token)
        return self


class EmailChannel(_Channel):
    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    verify: bool = True
    cafile: Path | None = None
    # "digest": every alert for this channel waits for its digest, whatever the watchlist's mode.
    per: Literal["alert", "digest"] = "alert"

    @model_validator(mode="after")
    def _secrets(self) -> EmailChannel:
        object.__setattr__(
            self,
            "password",
            _resolve_secret(self.password, self.password_env, self.password_file, "password"),
        )
        return self


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None

    @model_validator(mode="after")
    def _secrets(self) -> WebhookChannel:
        url = _resolve_secret(self.url, self.url_env, self.url_file, "url")
        if url is None:
            raise ValueError("a webhook channel needs url, url_env or url_file")
        object.__setattr__(self, "url", url)
        object.__setattr__(
            self, "secret", _resolve_secret(self.secret, self.secret_env, self.secret_file, "secret")
        )
        return self


ChannelConfig = Annotated[
    ConsoleChannel | SlackChannel | EmailChannel | WebhookChannel, Field(discriminator="type")
]

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


class FetchConfig(_Strict):
    user_agent: str = "monitor/0.1 (+https://github.com/monitor-news/monitor)"
    concurrency: int = Field(default=64, ge=1, le=10_000)
    per_host: int = Field(default=2, ge=1, le=100)
    connect_timeout: Duration = 10.0
    timeout: Duration = 30.0
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_decoded_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    allow_private_networks: bool = False


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
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=9187, ge=0, le=65535)  # null turns the endpoint off
    fetch: FetchConfig = FetchConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    watchlists: list[WatchlistConfig] = Field(default_factory=list)
    channels: dict[str, ChannelConfig] = Field(default_factory=lambda: _default_channels())
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
