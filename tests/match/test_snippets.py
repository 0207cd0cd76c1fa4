"""Hits carry the matched sentence(s) of the original text, with the matched words marked."""

from __future__ import annotations

from monitor.core import Span, WatchlistHit
from monitor.match import Document, explain, mark_spans
from monitor.match._snippet import sentence_bounds

BODY = (
    "Officials met on Monday. Russia’s troops massed at the U.S.-backed border, Mr. Smith said. "
    "The Straße was closed.\nNATO did not comment."
)


def marked(query: str, body: str = BODY, title: str = "", **kwargs: str) -> str | None:
    hit = explain(query, Document(title=title, body=body, **kwargs))
    return None if hit is None else mark_spans(hit)


def test_the_snippet_is_the_original_sentence_with_the_word_marked() -> None:
    assert marked("russia") == "[Russia]’s troops massed at the U.S.-backed border, Mr. Smith said."
    assert marked("strasse") == "The [Straße] was closed."
    assert marked("nato") == "[NATO] did not comment."


def test_several_literals_in_one_sentence() -> None:
    assert marked("troops border") == "Russia’s [troops] massed at the U.S.-backed [border], Mr. Smith said."
    assert marked('"the U.S."') == "Russia’s troops massed at [the U.S].-backed border, Mr. Smith said."


def test_literals_in_different_sentences_give_several_parts() -> None:
    assert marked("monday nato") == "Officials met on [Monday]. … [NATO] did not comment."
    assert marked("monday troops") == (
        "Officials met on [Monday]. Russia’s [troops] massed at the U.S.-backed border, Mr. Smith said."
    )


def test_title_comes_first() -> None:
    assert marked("summit nato", title="NATO summit") == "[NATO] [summit]"
    assert marked("summit strasse", title=" NATO summit ") == "NATO [summit] … The [Straße] was closed."


def test_near_marks_both_operands_and_phrases_whole() -> None:
    assert marked("troops NEAR/5 border") is None  # troops … border are 7 positions apart
    assert marked("troops NEAR/7 border") == (
        "Russia’s [troops] massed at the U.S.-backed [border], Mr. Smith said."
    )
    assert marked('"did not comment"') == "NATO [did not comment]."
    assert marked("escal* OR massed") == "Russia’s troops [massed] at the U.S.-backed border, Mr. Smith said."


def test_only_the_matching_alternative_is_marked() -> None:
    assert marked("(kyiv OR nato) comment") == "[NATO] did not [comment]."


def test_a_filter_only_match_shows_the_title_or_the_first_sentence() -> None:
    hit = explain("source:example.com", Document(title="Title here", body=BODY, source="example.com"))
    assert hit is not None and (hit.snippet, hit.spans) == ("Title here", ())
    hit = explain("source:example.com", Document(title="", body=BODY, source="example.com"))
    assert hit is not None and hit.snippet == "Officials met on Monday."


def test_long_sentences_are_cut_around_the_match() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    body = f"{words} target {words}."
    hit = explain("target", Document(title="", body=body))
    assert hit is not None
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) < 400
    assert mark_spans(hit).count("[target]") == 1


def test_offsets_survive_folding_that_changes_lengths() -> None:
    body = "ﬁrst Æsir then Cafe\u0301 au lait… and the STRASSE near Straße."
    assert marked("cafe", body) == "ﬁrst Æsir then [Cafe\u0301] au lait… and the STRASSE near Straße."
    assert marked("cs(Straße)", body) == "ﬁrst Æsir then Cafe\u0301 au lait… and the STRASSE near [Straße]."
    expected = "[ﬁrst] [Æsir] then Cafe\u0301 au lait… and the STRASSE near Straße."
    assert marked("aesir NEAR/2 first", body) == expected


def test_sentence_bounds_skip_abbreviations_and_initials() -> None:
    text = "He met Mr. Smith and J. Doe in the U.S. yesterday. Then he left… quietly. Costs rose 3.5 percent."
    for word, sentence in [
        ("Smith", "He met Mr. Smith and J. Doe in the U.S. yesterday."),
        ("quietly", "Then he left… quietly."),
        ("percent", "Costs rose 3.5 percent."),
    ]:
        start = text.index(word)
        begin, end, cut_begin, cut_end = sentence_bounds(text, start, start + len(word))
        assert (text[begin:end], cut_begin, cut_end) == (sentence, False, False)


def test_mark_spans_merges_overlaps_and_takes_custom_marks() -> None:
    hit = WatchlistHit(watchlist_id=1, snippet="abcdef", spans=(Span(3, 5), Span(0, 1), Span(4, 6)))
    assert mark_spans(hit) == "[a]bc[def]"
    assert mark_spans(hit, open="<b>", close="</b>") == "<b>a</b>bc<b>def</b>"
    assert mark_spans(WatchlistHit(watchlist_id=1, snippet="abc")) == "abc"


def test_no_hit_gives_none() -> None:
    assert marked("kyiv") is None
