"""The text pass and the stop-list on their own: hashes blind to layout, stories counted not articles."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.stories._stoplist import SentenceStoplist
from monitor.stories._text import analyse
from tests.stories._texts import STRIKE_WIRE

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=4, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
GAP = st.sampled_from([" ", "\n", "  \n\n ", "\t "])


@settings(max_examples=60, deadline=None)
@given(st.lists(SENTENCE, min_size=1, max_size=8), st.lists(GAP, min_size=8, max_size=8))
def test_sentence_hashes_ignore_line_breaks_and_spacing(sentences: list[str], gaps: list[str]) -> None:
    plain = analyse(" ".join(sentences), min_words=4)
    rewrapped = analyse("".join(s + g for s, g in zip(sentences, gaps, strict=False)), min_words=4)
    assert plain.sent_hash.tolist() == rewrapped.sent_hash.tolist()
    assert len(plain.sentences) == len(sentences)


def test_typographic_quotes_and_dashes_do_not_change_hashes() -> None:
    ascii_text = 'He said "no" - twice. It\'s over.'
    fancy_text = "He said \u201cno\u201d \u2014 twice. It\u2019s over."
    plain = analyse(ascii_text, min_words=2).sent_hash.tolist()
    assert plain == analyse(fancy_text, min_words=2).sent_hash.tolist()


def test_abbreviations_do_not_end_sentences() -> None:
    view = analyse("The U.S. Army and Gen. Smith met Mr. Jones. Then they left.", min_words=2)
    assert view.sentences == ["The U.S. Army and Gen. Smith met Mr. Jones.", "Then they left."]


def test_stop_list_counts_distinct_stories_not_articles() -> None:
    stop = SentenceStoplist(min_stories=3, width_bits=16, decay_every=0)
    hashes = analyse(" ".join(STRIKE_WIRE), min_words=4).sent_hash
    for _ in range(10):  # ten copies of one story
        stop.observe(hashes, story_id=1)
    assert not stop.stopped(hashes).any()
    stop.observe(hashes[:2], story_id=2)
    stop.observe(hashes[:1], story_id=3)
    assert stop.stopped(hashes).tolist() == [True] + [False] * (len(hashes) - 1)


def test_stop_list_decays() -> None:
    stop = SentenceStoplist(min_stories=2, width_bits=12, decay_every=4)
    h = np.array([123456789], dtype=np.uint64)
    stop.observe(h, 1)
    stop.observe(h, 2)
    assert stop.stopped(h).all()
    stop.observe(np.zeros(0, dtype=np.uint64), 3)
    stop.observe(np.zeros(0, dtype=np.uint64), 4)  # fourth observation: counts halve
    assert not stop.stopped(h).any()
