"""Property tests: cleaning is a fixed point and its output is always well-formed.

Inputs mix arbitrary Unicode with the material the cleanup exists for: odd spaces, invisible and control
characters, mojibake, glued sentences and headings, duplicates, furniture lines and lost dashes.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitor.extract import ExtractionError, clean_paragraphs, normalize_text
from monitor.extract._paragraphs import paragraph_key

FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
WORDS = [
    "the",
    "council",
    "voted",
    "on",
    "Tuesday",
    "Russia",
    "NATO",
    "said",
    "café",
    "naïve",
    "über",
    "The",
    "West",
    "In",
    "Moscow",
    "tensions",
    "a",
    "new",
    "plan",
    "2024",
    "5%",
    "U.S.",
    "YouTube",
]
SPICE = [
    "\u00a0",
    "\u2009",
    "\u200b",
    "\u00ad",
    "\t",
    "  ",
    "\x07",
    "\x85",
    "\u2028",
    "\r\n",
    "\ufeff",
    "â€™",
    "Ã©",
    "…",
    "²",
    "“",
    "”",
    "—",
    ".",
    "!",
    "?",
    '."',
    ".The ",
    "WestThe ",
    "\u0301",
    "\n",
]
FURNITURE = [
    "Share this article",
    "Related Articles",
    "Leave a comment",
    "Advertisement",
    "By John Smith",
    "!-- Google tag (gtag.js) -->",
    "Copyright © 2024 Example",
    "September 28, 2021",
    "Back to Top",
]

token = st.one_of(st.sampled_from(WORDS), st.sampled_from(SPICE))
sentence = st.lists(token, min_size=1, max_size=30).map(" ".join)
line = st.one_of(
    sentence, sentence.map(lambda s: s.replace(" ", "")), st.sampled_from(FURNITURE), st.text(max_size=60)
)
paragraph_lists = st.lists(line, max_size=12).flatmap(
    lambda items: st.permutations(items + items[: len(items) // 2])  # duplicates, shuffled
)

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_well_formed(paragraphs: tuple[str, ...]) -> None:
    keys = [paragraph_key(p) or p for p in paragraphs]
    assert len(keys) == len(set(keys)), "repeated paragraph"
    for paragraph in paragraphs:
        assert paragraph, "blank paragraph"
        assert paragraph == paragraph.strip()
        assert "\u00a0" not in paragraph and "  " not in paragraph
        assert not any(unicodedata.category(ch) == "Cc" for ch in paragraph), repr(paragraph)
        assert "\n" not in paragraph and "\u2028" not in paragraph
        assert unicodedata.is_normalized("NFC", paragraph)


@PROPS
@given(paragraph_lists)
def test_clean_is_idempotent_and_well_formed(paragraphs: list[str]) -> None:
    once = clean_paragraphs(paragraphs)
    _assert_well_formed(once)
    assert clean_paragraphs(once) == once


@PROPS
@given(st.lists(st.text(max_size=200), max_size=8))
def test_clean_is_idempotent_on_arbitrary_text(paragraphs: list[str]) -> None:
    once = clean_paragraphs(paragraphs)
    _assert_well_formed(once)
    assert clean_paragraphs(once) == once


@PROPS
@given(paragraph_lists, st.one_of(st.none(), sentence))
def test_normalize_text_is_idempotent(paragraphs: list[str], title: str | None) -> None:
    try:
        first = normalize_text("\n".join(paragraphs), fetched_at=FETCHED, title=title)
    except ExtractionError:
        assume(False)
        return
    text = first.to_text()
    lines = text.split("\n")
    assert text.endswith("\n") and "" not in lines[:-1], "blank line"
    _assert_well_formed(first.paragraphs)
    second = normalize_text(text, fetched_at=FETCHED)
    assert second.to_text() == text


@given(st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_paragraph_key_is_the_casefolded_word_sequence(text: str) -> None:
    # The ASCII fast path must agree with the definition on every input.
    import re

    assert paragraph_key(text) == " ".join(re.findall(r"\w+", text.casefold()))
