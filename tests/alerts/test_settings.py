"""The delivery keys of the configuration: digest schedules, quiet hours, time zones, clear errors."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from monitor.runtime import Dispatcher
from monitor.runtime._digest import policies_from_settings
from monitor.settings import ConfigError, load_settings
from monitor.store import Store


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
delivery:
  timezone: Europe/Paris
  digest: {at: "07:30"}
  lease: 45s
  batch: 25
  max_attempts: 5
  retry_base: 10s
channels:
  team:
    type: console
    digest: hourly
    quiet_hours: {start: 22:00, end: 7:00}      # unquoted: YAML 1.1 reads 7:00 as 420
  weekly:
    type: console
    digest: {at: [09:00, "17:30"], days: [Mon, fri], timezone: America/New_York}
  desk:
    type: email
    host: 127.0.0.1
    sender: monitor@example.org
    recipients: [desk@example.org]
    per: digest
  plain: {type: console}
"""


def test_delivery_keys_become_channel_policies(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    policies, default = policies_from_settings(settings)
    assert (default.tz, default.at) == ("Europe/Paris", (time(7, 30),))
    team = policies["team"]
    assert team.digest is not None and team.digest.every_s == 3600 and team.digest.tz == "Europe/Paris"
    assert team.quiet is not None and (team.quiet.start, team.quiet.end) == (time(22), time(7))
    weekly = policies["weekly"].digest
    assert weekly is not None
    assert (weekly.at, weekly.days, weekly.tz) == (
        (time(9), time(17, 30)),
        frozenset({0, 4}),
        "America/New_York",
    )
    assert policies["desk"].digest_only and policies["desk"].digest is None
    assert policies["plain"] == type(policies["plain"])(default=default)


def test_dispatcher_from_settings_takes_the_delivery_section(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        d = Dispatcher.from_settings(settings, store=store, notifiers={})
        assert (d.lease_s, d.batch, d.retry.max_attempts, d.retry.base_s) == (45.0, 25, 5, 10.0)
        assert d.policy("team").quiet is not None and d.policy("undeclared").digest is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("delivery: {timezone: Europe/Pari}", "delivery.timezone = 'Europe/Pari': unknown time zone"),
        (
            "channels: {c: {type: console, digest: {every: 7h}}}",
            "channels.c.digest: 'every' must divide a day",
        ),
        ("channels: {c: {type: console, digest: {every: 1h, at: '08:00'}}}", "give exactly one of 'every'"),
        ("channels: {c: {type: console, digest: weekly}}", "expected hourly, daily, a time such as 08:00"),
        ("channels: {c: {type: console, digest: {at: '25:00'}}}", "expected a time of day such as 08:00"),
        (
            "channels: {c: {type: console, digest: {at: '08:00', days: [funday]}}}",
            "expected a day of the week",
        ),
        ("channels: {c: {type: console, quiet_hours: {start: '08:00', end: '08:00'}}}", "must differ"),
        ("channels: {c: {type: console, quiet_hours: {start: '22:00'}}}", "channels.c.quiet_hours.end"),
        ("channels: {c: {type: console, digest: {every: 1h, days: [mon]}}}", "'days' goes with 'at'"),
        ("delivery: {retry_base: 1h, retry_max: 10m}", "retry_max must not be shorter"),
        ("delivery: {batch: 0}", "delivery.batch"),
    ],
)
def test_bad_delivery_keys_are_clear_errors(tmp_path: Path, snippet: str, message: str) -> None:
    path = write(tmp_path, snippet + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
