"""Slack Block Kit rendering: content, escaping of untrusted text, safe links, and Slack's limits."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitor.core import AlertWatchlist, Span
from monitor.notify import Digest, escape_slack, slack_blocks, slack_digest_blocks
from monitor.notify._slack_render import fallback_text, render_sentence, safe_link_target
from monitor.notify._text import Segment, clean_line

from .conftest import make_message

ZW = "\u200b"
HOSTILE_TITLE = (
    "Breaking <!channel> see <https://evil.example|bank> <script>alert(1)</script> <b>x</b> {{ 7*7 }}"
)
HOSTILE_SNIPPET = (
    "Acme & Co <!here> said <https://evil.example|your bank> {% if %} <b>bold</b> {{ 7*7 }} today."
)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", [])]
    return out


def test_alert_blocks_show_watchlist_title_source_sentence_and_also_reported_by() -> None:
    blocks = slack_blocks(make_message(names=("Acme watch", "M&A")))
    assert [b["type"] for b in blocks] == ["header", "section", "context", "section", "section", "section"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Acme watch, M&A", "emoji": False}
    assert blocks[1]["text"]["text"] == (
        "*<https://news.example.com/2024/05/acme-beta?src=rss&amp;utm=1|Acme to buy Beta Industries>*"
    )
    assert blocks[2]["elements"][0]["text"] == "Example News · 2024-05-14"
    assert blocks[3]["text"]["text"] == (
        "*Acme watch*\n>*Acme* Corp agreed on Tuesday to buy *Beta Industries* for $2 billion, "
        "its chief executive said."
    )
    assert blocks[4]["text"]["text"].startswith("*M&amp;A*\n>*Acme*")
    assert blocks[5]["text"]["text"] == "Also reported by: Reuters, BBC News"
    assert all(b["text"].get("verbatim") is True for b in blocks if b["type"] == "section")


def test_no_also_reported_by_block_when_empty() -> None:
    blocks = slack_blocks(make_message(also=()))
    assert not any("Also reported by" in t for t in texts(blocks))


def test_hostile_article_text_arrives_as_literal_text() -> None:
    msg = make_message(title=HOSTILE_TITLE, snippet=HOSTILE_SNIPPET, words=("Acme",))
    blocks = slack_blocks(msg)
    assert blocks[1]["text"]["text"] == (
        "*<https://news.example.com/2024/05/acme-beta?src=rss&amp;utm=1|Breaking &lt;!channel&gt; see "
        "&lt;https://evil.example|bank&gt; &lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;x&lt;/b&gt; "
        "{{ 7\u22177 }}>*"
    )
    assert blocks[3]["text"]["text"] == (
        "*Acme watch*\n>*Acme* &amp; Co &lt;!here&gt; said &lt;https://evil.example|your bank&gt; "
        "{% if %} &lt;b&gt;bold&lt;/b&gt; {{ 7\u22177 }} today."
    )
    everything = "\n".join(texts(blocks)) + fallback_text(msg)
    # The only "<" left is the one opening our own link to the article.
    assert everything.count("<") == 1
    assert "<!" not in everything and "<https://evil" not in everything


def test_article_formatting_characters_cannot_break_bold_markers() -> None:
    snippet = "Shares *fell* in _Acme_ ~today~ `code` and*Acme*again"
    msg = make_message(snippet=snippet, words=("Acme",), title="t*i_t~l`e")
    section = slack_blocks(msg)[3]["text"]["text"]
    body = section.split("\n>", 1)[1]
    # Only our own markers remain: one bold pair for the match.
    assert body.count("*") == 2
    assert "_" not in body and "~" not in body and "`" not in body
    assert body == (
        "Shares \u2217fell\u2217 in \uff3f*Acme*\uff3f \u223ctoday\u223c \u02cbcode\u02cb "
        "and\u2217Acme\u2217again"
    ).replace("\uff3f*Acme*\uff3f", f"\uff3f{ZW}*Acme*{ZW}\uff3f")
    assert slack_blocks(msg)[1]["text"]["text"].endswith("|t\u2217i\uff3ft\u223cl\u02cbe>*")


def test_match_inside_a_word_is_padded_with_zero_width_spaces() -> None:
    snippet = "the banking sector"
    text = slack_blocks(make_message(snippet=snippet, words=("bank",)))[3]["text"]["text"]
    # Slack only honours "*" at a word boundary: a zero-width space makes one where a letter follows.
    assert text.endswith(f">the *bank*{ZW}ing sector")
    inner = slack_blocks(make_message(snippet="unbanked", words=("bank",)))[3]["text"]["text"]
    assert inner.endswith(f">un{ZW}*bank*{ZW}ed")
    plain = slack_blocks(make_message(snippet=snippet, words=("banking",)))[3]["text"]["text"]
    assert plain.endswith(">the *banking* sector")


def test_link_targets_are_made_safe() -> None:
    assert safe_link_target('https://x.example/a|b>c<d e"f') == "https://x.example/a%7Cb%3Ec%3Cd%20e%22f"
    assert safe_link_target("https://x.example/?a=1&b=2") == "https://x.example/?a=1&amp;b=2"
    assert safe_link_target("https://bücher.example/straße") == "https://b%C3%BCcher.example/stra%C3%9Fe"
    assert safe_link_target("javascript:alert(1)") is None
    assert safe_link_target("https:///nohost") is None
    msg = make_message(url="javascript:alert(1)//<!channel>", title="Click")
    assert slack_blocks(msg)[1]["text"]["text"] == "*Click*"


def test_hundred_watchlists_stay_within_fifty_blocks() -> None:
    names = tuple(f"Watchlist number {i}" for i in range(100))
    blocks = slack_blocks(make_message(names=names))
    assert len(blocks) == 50
    assert len(blocks[0]["text"]["text"]) <= 150 and blocks[0]["text"]["text"].endswith("…")
    assert blocks[-2]["elements"][0]["text"] == "… and 55 more watchlists matched"
    assert blocks[-1]["text"]["text"].startswith("Also reported by:")
    shown = [t for t in texts(blocks) if t.startswith("*Watchlist number")]
    assert len(shown) == 45


def test_ten_thousand_character_sentence_is_cut_with_an_ellipsis() -> None:
    snippet = "word " * 1000 + "Acme" + " tail" * 1000
    blocks = slack_blocks(make_message(snippet=snippet, words=("Acme",)))
    section = blocks[3]["text"]["text"]
    assert len(section) <= 3000
    assert "*Acme*" in section  # the match is kept in view
    assert section.startswith("*Acme watch*\n>…") and section.endswith("…")


def test_escaping_expansion_cannot_push_a_section_over_the_limit() -> None:
    snippet = "&" * 10_000
    msg = make_message(
        snippet=snippet, words=(), title="<" * 5000, also=tuple("&<>" * 50 for _ in range(200))
    )
    msg = replace(
        msg, watchlists=(AlertWatchlist("x", snippet, (Span(0, 3000),)), AlertWatchlist("y", snippet, ()))
    )
    blocks = slack_blocks(msg)
    for text in texts(blocks):
        assert len(text) <= 3000
        # Never cut in the middle of an entity.
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)
    assert texts(blocks)[-1].endswith(" more")


def test_long_url_is_not_linked_rather_than_overflowing() -> None:
    msg = make_message(url="https://x.example/" + "a" * 5000)
    assert len(slack_blocks(msg)[1]["text"]["text"]) <= 3000


def test_render_sentence_budget_is_exact() -> None:
    segs = [Segment("a" * 50), Segment("bold", bold=True), Segment("c" * 50)]
    for budget in range(1, 120):
        out = render_sentence(segs, budget)
        assert len(out) <= budget
        assert out.count("*") in (0, 2)


def test_digest_groups_by_story_and_respects_limits() -> None:
    items = tuple(
        make_message(key=f"k{i}", story_id=i // 3, title=f"Story {i // 3} item {i}") for i in range(300)
    )
    digest = Digest(
        channel="team",
        idempotency_key="digest-1",
        period_start=datetime(2024, 5, 14, 8, tzinfo=UTC),
        period_end=datetime(2024, 5, 15, 8, tzinfo=UTC),
        items=items,
    )
    blocks = slack_digest_blocks(digest)
    assert len(blocks) == 50
    assert blocks[0]["text"]["text"] == "monitor digest: 300 alerts in 100 stories"
    assert blocks[1]["elements"][0]["text"] == "2024-05-14 08:00 UTC – 2024-05-15 08:00 UTC"
    first_story = blocks[2]["text"]["text"]
    assert first_story.count("• ") == 3 and "Story 0 item 2" in first_story
    assert blocks[-1]["elements"][0]["text"] == "… and 53 more stories"
    assert all(len(t) <= 3000 for t in texts(blocks))


def test_digest_section_with_many_alerts_is_cut() -> None:
    items = tuple(make_message(key=f"k{i}", story_id=1, title="T" * 300) for i in range(40))
    digest = Digest("team", "d", datetime(2024, 5, 14, tzinfo=UTC), datetime(2024, 5, 15, tzinfo=UTC), items)
    section = slack_digest_blocks(digest)[2]["text"]["text"]
    assert len(section) <= 3000 and re.search(r"… and \d+ more$", section)


@given(st.text(max_size=300))
def test_escape_slack_output_is_inert(text: str) -> None:
    out = escape_slack(text)
    assert not set(out) & set("<>*_~`")
    assert not re.search(r"&(?!amp;|lt;|gt;)", out)
    assert "\n" not in out and "\r" not in out
    lookalikes = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})
    assert html.unescape(out) == clean_line(text).translate(lookalikes)
