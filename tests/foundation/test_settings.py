from __future__ import annotations

from pathlib import Path

import pytest

from monitor.settings import ConfigError, SlackChannel, load_settings

GOOD = """
database_url: sqlite:///./x.db
sources:
  - name: a
    url: feeds/a.xml
    interval: 10m
watchlists:
  - name: w
    query: 'alpha AND beta'
    channels: [console]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_resolves_local_paths_and_durations(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, GOOD))
    assert s.sources[0].url == str((tmp_path / "feeds/a.xml").resolve())
    assert s.sources[0].interval == 600.0
    assert s.watchlists[0].channels == ["console"]


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, GOOD.replace("interval: 10m", "intervall: 10m")))
    assert "sources[0].intervall" in str(err.value)
    assert "unknown key" in str(err.value)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"databse_url: unknown key"):
        load_settings(write(tmp_path, "databse_url: sqlite://\n"))


def test_wrong_type_names_key_value_and_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, GOOD.replace("interval: 10m", "interval: soon")))
    text = str(err.value)
    assert "sources[0].interval" in text and "'soon'" in text and "duration" in text


def test_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\]\.kind = 'rss'"):
        load_settings(write(tmp_path, GOOD.replace("interval: 10m", "kind: rss")))


def test_unreadable_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)


def test_bad_yaml_gives_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid YAML .* line \d+, column \d+"):
        load_settings(write(tmp_path, "sources:\n  - name: a\n    url: [x\n  - y: z\n"))


def test_undeclared_channel(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="channel 'slack' is not declared"):
        load_settings(write(tmp_path, GOOD.replace("channels: [console]", "channels: [slack]")))


def test_broken_query_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"watchlists\[0\]\.query|watchlists\[0\]"):
        load_settings(write(tmp_path, GOOD.replace("'alpha AND beta'", "'(alpha AND beta'")))


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///./other.db")
    monkeypatch.setenv("MONITOR_FETCH__PER_HOST", "5")
    s = load_settings(write(tmp_path, GOOD))
    assert s.database_url == "sqlite:///./other.db"
    assert s.fetch.per_host == 5


def test_secrets_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", "https://hooks.slack.com/services/T/B/secretpart")
    (tmp_path / "token").write_text("xoxb-file-token\n")
    text = (
        GOOD
        + f"""
channels:
  console: {{type: console}}
  hook: {{type: slack, webhook_url_env: HOOK}}
  bot: {{type: slack, token_file: {tmp_path / "token"}, channel: C123}}
"""
    )
    s = load_settings(write(tmp_path, text))
    hook, bot = s.channels["hook"], s.channels["bot"]
    assert isinstance(hook, SlackChannel) and isinstance(bot, SlackChannel)
    assert hook.webhook_url is not None and hook.webhook_url.get_secret_value().endswith("secretpart")
    assert bot.token is not None and bot.token.get_secret_value() == "xoxb-file-token"
    assert "secretpart" not in repr(s)


def test_missing_secret_env_is_named(tmp_path: Path) -> None:
    text = (
        GOOD
        + "\nchannels:\n  console: {type: console}\n  hook: {type: slack, webhook_url_env: NOPE_NOT_SET}\n"
    )
    with pytest.raises(ConfigError, match=r"channels\.hook.*NOPE_NOT_SET"):
        load_settings(write(tmp_path, text))


def test_example_config_is_valid() -> None:
    s = load_settings(Path(__file__).parents[2] / "config" / "monitor.yaml")
    assert s.sources and s.watchlists
    assert all(Path(src.url).exists() for src in s.sources)
