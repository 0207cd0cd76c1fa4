"""clean_paragraphs: the text-level cleanup both paths share."""

from __future__ import annotations

import pytest

from monitor.extract import clean_paragraphs


def test_whitespace_is_collapsed_and_invisible_characters_removed() -> None:
    raw = "Russia\u00a0said\tthat\u2009the\u202ftalks\u200b went on\u00ad and on.\u3000 "
    assert clean_paragraphs([raw]) == ("Russia said that the talks went on and on.",)


def test_nfc_not_nfkc() -> None:
    decomposed = "Cafe\u0301 prices rose by 5 m² … “quoted” — really"
    assert clean_paragraphs([decomposed]) == ("Café prices rose by 5 m² … “quoted” — really",)


def test_unambiguous_mojibake_is_repaired() -> None:
    assert clean_paragraphs(["The minister’s â€œplanâ€\x9d was rejected by the cafÃ© owners."]) == (
        "The minister’s “plan” was rejected by the café owners.",
    )


def test_lost_dash_between_words_becomes_em_dash() -> None:
    line = 'Biden said: "I had a very good meeting  total unanimity with all the leaders."'
    assert clean_paragraphs([line]) == (
        'Biden said: "I had a very good meeting — total unanimity with all the leaders."',
    )


def test_lost_dash_repair_can_be_turned_off() -> None:
    line = "A very good meeting  total unanimity with all the European leaders, he said."
    assert clean_paragraphs([line], repair_dashes=False) == (
        "A very good meeting total unanimity with all the European leaders, he said.",
    )


@pytest.mark.parametrize(
    "line",
    [
        "The talks ended.  The ministers left.",  # capital after the gap: a lost sentence break, not a dash
        "Prices rose 5  percent in May, officials said.",  # a number before the gap
        "Indented   text with three spaces between words.",
    ],
)
def test_double_spaces_that_are_not_lost_dashes(line: str) -> None:
    assert "—" not in clean_paragraphs([line])[0]


def test_glued_heading_is_split_from_its_sentence() -> None:
    line = "Divisions in the WestThe United States has promised to provide written answers this week."
    assert clean_paragraphs([line]) == (
        "Divisions in the West",
        "The United States has promised to provide written answers this week.",
    )


def test_glued_sentences_become_paragraphs() -> None:
    line = 'It rejected the plan as a non-starter.The crisis deepened on Monday.Both sides said "no."The end.'
    assert clean_paragraphs([line]) == (
        "It rejected the plan as a non-starter.",
        "The crisis deepened on Monday.",
        'Both sides said "no."',
        "The end.",
    )


@pytest.mark.parametrize(
    "line",
    [
        "Watch the interview on YouTube for the full story of the launch.",
        "The U.S.Army said it had no comment on the report, officials said.",
        "McDonald's and PlayStation reported results on Tuesday, analysts said.",
        "Version 2.0 of the app was released on iOS and macOS this week.",
    ],
)
def test_camel_case_and_abbreviations_are_not_split(line: str) -> None:
    assert clean_paragraphs([line]) == (line,)


@pytest.mark.parametrize(
    "line",
    [
        "!-- Google tag (gtag.js) -->",
        "<script>window.dataLayer = window.dataLayer || [];</script>",
        "Home > News > World",
        "Share this article",
        "Leave a comment",
        "Europe, News, US No Comments on Russia warns US, NATO against deploying troops to Ukraine",
        "Sign up for our newsletter",
        "Enter your email address:",
        "We use cookies to improve your experience. By continuing to browse you accept our cookie policy.",
        "Related Articles",
        "Read more: Ferry timetable changes for the summer",
        "Copyright © 2024 The Harbour Gazette. All rights reserved.",
        "Kremlin spokesman Dmitry Peskov (Photo Credit: Valery Sharifulin/TASS)",
        "Photo: Jonas Berg",
        "By Marta Lindqvist",
        "SOURCE: REUTERS",
        "September 28, 2021",
        "Updated: March 3, 2024 at 10:30 am EST",
        "Advertisement",
        "Back to Top",
    ],
)
def test_furniture_lines_are_removed(line: str) -> None:
    body = "The council approved the budget on Tuesday after a long debate about the harbour."
    assert clean_paragraphs([line, body]) == (body,)


@pytest.mark.parametrize(
    "line",
    [
        "By the end of the year, prices had risen by a fifth across the region.",
        "Sources say the deal is done and will be signed on Friday.",
        "The bakery uses cookies from a local supplier, the owner said.",
        "Get started early: the ferry leaves at six.",
        "Divisions in the West",
    ],
)
def test_prose_that_resembles_furniture_is_kept(line: str) -> None:
    assert clean_paragraphs([line]) == (line,)


def test_repeated_title_is_dropped() -> None:
    title = "Russia warns US, NATO against deploying troops to Ukraine"
    body = "Russia has warned the U.S. and NATO against sending troops to Ukraine."
    assert clean_paragraphs([title, body, f"  {title.upper()} "], title=title) == (body,)


def test_duplicates_and_contained_paragraphs_are_dropped() -> None:
    long = (
        "Archivist Leena Koskinen said the cards tell the story of the region. “Every stain on these cards "
        "is a family dinner that actually happened,” she said."
    )
    pull_quote = "“Every stain on these cards is a family dinner that actually happened.”"
    other = "Volunteers spent eighteen months scanning the cards."
    assert clean_paragraphs([pull_quote, long, other, long, other.upper()]) == (long, other)


def test_short_heading_contained_in_prose_is_kept() -> None:
    heading = "Divisions in the West"
    prose = "The crisis has laid bare divisions in the West, with some members less willing to act."
    assert clean_paragraphs([heading, prose]) == (heading, prose)


def test_trailing_section_is_cut_in_text_mode_only() -> None:
    body = [
        "The first paragraph of the article is long enough to count as real text here.",
        "The second paragraph of the article continues the story with more details.",
    ]
    tail = ["Related Articles", "IRIA is a research institute focusing on critical issues of security."]
    assert clean_paragraphs(body + tail) == tuple(body)
    assert clean_paragraphs(body + tail, cut_trailing_sections=False) == (*body, tail[1])


def test_bullets_are_stripped_and_blank_lines_dropped() -> None:
    assert clean_paragraphs(["- first item of the list", "", "• second item", "\u00a0\u00a0"]) == (
        "first item of the list",
        "second item",
    )


def test_multi_line_input_is_split_into_paragraphs() -> None:
    assert clean_paragraphs(["One paragraph here.\r\nAnother one there.\u2028A third."]) == (
        "One paragraph here.",
        "Another one there.",
        "A third.",
    )
