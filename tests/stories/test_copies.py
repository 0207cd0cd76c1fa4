"""Copies: re-headlined, footer changed, trimmed and updated texts are recognised; others are not."""

from __future__ import annotations

from datetime import timedelta

from monitor.stories import StoryIndex
from tests.stories._texts import (
    FERRY,
    FERRY_TITLE,
    STRIKE_ELSEWHERE,
    STRIKE_ELSEWHERE_TITLE,
    STRIKE_OTHER,
    STRIKE_OTHER_TITLE,
    STRIKE_TITLE,
    STRIKE_WIRE,
    article,
)

FOOTER_A = "Follow the Coastal Herald on social media for live updates from the harbour."
FOOTER_B = "Sign up to the Morning Dispatch newsletter to get this story and others in your inbox."


def fresh() -> StoryIndex:
    index = StoryIndex()
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    return index


def test_reheadlined_wire_copy_is_a_copy_in_the_same_story() -> None:
    index = fresh()
    a = index.add(article(2, "Cranes spark Trellmouth walkout", STRIKE_WIRE, hours=2, source="other.example"))
    assert a.copy_of == 1
    assert a.story_id == 1
    assert not a.is_new_story
    assert a.score >= 0.99


def test_changed_footer_is_a_copy() -> None:
    index = StoryIndex()
    index.add(article(1, STRIKE_TITLE, [*STRIKE_WIRE, FOOTER_A]))
    a = index.add(article(2, STRIKE_TITLE, [*STRIKE_WIRE[:-1], FOOTER_B], hours=1))
    assert a.copy_of == 1


def test_trimmed_copy_is_found_by_shared_sentences() -> None:
    index = fresh()
    a = index.add(article(2, "Dockers strike in Trellmouth", STRIKE_WIRE[:5], hours=3))
    assert a.copy_of == 1
    assert a.story_id == 1


def test_updated_version_with_edits_and_a_new_paragraph_is_a_copy() -> None:
    updated = list(STRIKE_WIRE)
    updated[4] = updated[4].replace("eleven", "fourteen").replace("midday", "the evening")
    updated[7] = updated[7].replace("nine days", "ten days")
    updated.insert(6, "Late on Monday the authority said it had asked a court to declare the strike illegal.")
    index = fresh()
    a = index.add(article(2, STRIKE_TITLE + " (updated)", updated, hours=6))
    assert a.copy_of == 1


def test_copy_of_a_copy_points_to_the_first_article_of_the_group() -> None:
    index = fresh()
    index.add(article(2, "Cranes spark Trellmouth walkout", STRIKE_WIRE, hours=1))
    a = index.add(article(3, "Trellmouth strike", STRIKE_WIRE[:6], hours=2))
    assert a.copy_of == 1


def test_reordered_paragraphs_are_a_copy() -> None:
    index = fresh()
    shuffled = STRIKE_WIRE[5:] + STRIKE_WIRE[:5]
    assert index.add(article(2, STRIKE_TITLE, shuffled, hours=1)).copy_of == 1


def test_independent_write_up_of_the_same_event_is_not_a_copy() -> None:
    index = fresh()
    a = index.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=1))
    assert a.copy_of is None


def test_unrelated_articles_are_not_copies() -> None:
    index = fresh()
    assert index.add(article(2, FERRY_TITLE, FERRY, hours=30)).copy_of is None
    assert index.add(article(3, STRIKE_ELSEWHERE_TITLE, STRIKE_ELSEWHERE, hours=2)).copy_of is None


def test_same_text_ten_days_later_starts_a_new_story_in_a_72_hour_window() -> None:
    index = StoryIndex(window=timedelta(hours=72))
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    later = index.add(article(2, STRIKE_TITLE, STRIKE_WIRE, hours=24 * 10))
    assert later.copy_of is None
    assert later.is_new_story
    assert later.story_id == 2
    # inside the window the very same text is a copy
    inside = index.add(article(3, STRIKE_TITLE, STRIKE_WIRE, hours=24 * 10 + 60))
    assert inside.copy_of == 2


def test_copy_threshold_is_honoured() -> None:
    strict = StoryIndex(copy_threshold=1.01, config=None)
    strict.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    edited = [s.replace("the", "a") for s in STRIKE_WIRE]
    # every sentence changed and the Jaccard bar unreachable: no copy
    assert strict.add(article(2, STRIKE_TITLE, edited, hours=1)).copy_of is None
