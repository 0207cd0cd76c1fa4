"""ConsoleNotifier: readable, flushed, and immune to terminal control sequences in article text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from monitor.notify import ConsoleNotifier, Digest, Notifier, render_console, render_console_digest

from .conftest import make_message


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_render_console_is_a_few_readable_lines() -> None:
    text = render_console(make_message())
    assert text == (
        "[Acme watch] Acme to buy Beta Industries\n"
        "  Example News · 2024-05-14\n"
        "  https://news.example.com/2024/05/acme-beta?src=rss&utm=1\n"
        "  > «Acme» Corp agreed on Tuesday to buy «Beta Industries» for $2 billion, "
        "its chief executive said.\n"
        "  also reported by: Reuters, BBC News\n"
    )


def test_several_watchlists_are_labelled() -> None:
    text = render_console(make_message(names=("Acme watch", "M&A"), also=()))
    assert text.splitlines()[0] == "[Acme watch, M&A] Acme to buy Beta Industries"
    assert "  > Acme watch: «Acme» Corp" in text and "  > M&A: «Acme» Corp" in text
    assert "also reported by" not in text


def test_terminal_control_sequences_are_removed() -> None:
    msg = make_message(
        title="Fine\x1b[2J\x1b]0;pwned\x07 title\rOVERWRITE",
        snippet="Acme\x1b[31m red\u202e",
        words=("Acme",),
    )
    text = render_console(msg)
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text and "\u202e" not in text
    assert text.splitlines()[0] == "[Acme watch] Fine [2J ]0;pwned title OVERWRITE"
    assert len(text.splitlines()) == 5


def test_long_sentence_is_windowed_around_the_match() -> None:
    snippet = "filler " * 500 + "Acme" + " more" * 500
    line = render_console(make_message(snippet=snippet, words=("Acme",))).splitlines()[3]
    assert "«Acme»" in line and line.startswith("  > …") and line.endswith("…") and len(line) < 300


async def test_send_writes_and_flushes_each_alert() -> None:
    stream = FlushCounter()
    console = ConsoleNotifier(name="demo", stream=stream)
    assert isinstance(console, Notifier)
    assert (await console.send(make_message())).ok
    assert stream.flushes == 1
    assert (await console.send(make_message(key="two", title="Second"))).ok
    assert stream.flushes == 2
    assert stream.getvalue().count("[Acme watch]") == 2 and "Second" in stream.getvalue()
    assert (await console.send_test()).ok
    assert stream.getvalue().endswith("[monitor] test message for channel demo\n")


async def test_closed_stream_is_a_transient_failure() -> None:
    stream = io.StringIO()
    stream.close()
    outcome = await ConsoleNotifier(name="demo", stream=stream).send(make_message())
    assert not outcome.ok and not outcome.permanent


async def test_digest() -> None:
    items = (
        make_message(key="a", story_id=1),
        make_message(key="b", story_id=None, title="Other"),
        make_message(key="c", story_id=1, title="Follow-up"),
    )
    digest = Digest(
        "demo", "d", datetime(2024, 5, 14, 8, tzinfo=UTC), datetime(2024, 5, 15, 8, tzinfo=UTC), items
    )
    text = render_console_digest(digest)
    lines = text.splitlines()
    assert lines[0] == (
        "== monitor digest: 3 alerts in 2 stories, 2024-05-14 08:00 UTC – 2024-05-15 08:00 UTC =="
    )
    assert lines[1] == "* Acme to buy Beta Industries"
    assert lines[2:6] == [
        "  - [Acme watch] Acme to buy Beta Industries (Example News · 2024-05-14)",
        "    https://news.example.com/2024/05/acme-beta?src=rss&utm=1",
        "  - [Acme watch] Follow-up (Example News · 2024-05-14)",
        "    https://news.example.com/2024/05/acme-beta?src=rss&utm=1",
    ]
    assert lines[6] == "* Other"
    stream = io.StringIO()
    assert (await ConsoleNotifier(name="demo", stream=stream).send_digest(digest)).ok
    assert stream.getvalue() == text
