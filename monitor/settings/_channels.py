"""Channel and delivery configuration: console, Slack, email and webhook channels, digests, quiet hours.

Secrets accept a literal value, an environment variable name (``*_env``) or a file path (``*_file``) and
are resolved at load time.
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
    BeforeValidator,
    Field,
    SecretStr,
    model_validator,
)

from monitor.settings._types import Duration, _Strict

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
    # A later member of an alerted story: listed in the channel's next digest, or not sent at all.
    story_updates: Literal["digest", "silence"] = "digest"

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
