"""The per-article fast paths give exactly what the vectorised (or regex) forms they replace give.

Each test pins one shortcut against the straightforward form, written out here as the reference: the
decisions digest (test_columnar.py) would catch a difference only if the short test stream happened
to hit it.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.stories import ArticleRecord, StoryConfig, StoryIndex
from monitor.stories._text import _MIX, _S29, _ensure_powers, analyse, sequence_hash, token_hashes, words
from monitor.stories._vocab import Vocabulary

_WORD = re.compile(r"\w+")
TEXT = st.lists(
    st.sampled_from([*"aZ9_ .,!?'\"-\n\t\x00", "Mr. ", "U.S. ", "é", "ß", "Σ", "\u2019", "\xa0", "Ab"]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_words_are_the_regex_tokens(text: str) -> None:
    assert words(text) == _WORD.findall(text.lower())


def _finish(h: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    h = h + lengths.astype(np.uint64) * _MIX[2]
    h = (h ^ (h >> _S29)) * _MIX[3]
    return np.asarray(h >> np.uint64(1), dtype=np.uint64)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=5))
def test_sentence_and_body_hashes_are_the_vectorised_ones(text: str, min_words: int) -> None:
    view = analyse(text, min_words=min_words)
    per_sentence = [_WORD.findall(s) for s in "\x00".join(view.sentences).lower().split("\x00")]
    assert [len(p) for p in per_sentence] == view.lengths.tolist()
    assert [t for p in per_sentence for t in p] == view.tokens
    th = token_hashes(view.tokens)
    n = len(th)
    _ensure_powers(n + 1)
    from monitor.stories import _text

    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(th * _text._powers[:n], out=prefix[1:])
    lengths = view.lengths
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    seg = (prefix[starts + lengths] - prefix[starts]) * _text._inv_powers[starts]
    expected = np.where(lengths >= min_words, _finish(seg, lengths), np.uint64(0))
    assert view.sent_hash.tolist() == expected.tolist() == view.sent_hashes
    assert view.starts.tolist() == starts.tolist()
    assert view.body_hash == sequence_hash(th)


def test_prune_after_an_earlier_article_arrived_late() -> None:
    """A prune that finds nothing to drop remembers the oldest article; one added later but dated
    earlier must lower that bound, or the next prune would skip it."""
    t0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
    index = StoryIndex(config=StoryConfig(stoplist_width_bits=10))

    def add(article_id: int, when: datetime) -> None:
        index.add(
            ArticleRecord(article_id, f"Title {article_id}", f"Body number {article_id} here.", when, "x")
        )

    add(1, t0)
    add(2, t0 + timedelta(hours=10))
    assert index.prune(before=t0 - timedelta(hours=1)) == 0
    assert index.prune(before=t0 + timedelta(hours=1)) == 1
    assert index.prune(before=t0 + timedelta(hours=5)) == 0
    add(3, t0 - timedelta(hours=5))
    assert index.prune(before=t0) == 1
    assert 3 not in index and 2 in index
    assert index.prune(before=t0 + timedelta(hours=11)) == 1
    assert len(index) == 0
    assert index.prune(before=t0 + timedelta(hours=12)) == 0


def test_unknown_features_read_a_zero_count_at_every_size() -> None:
    """``idfs`` reads id -1 from the slot past the last id: it must exist, and hold 0, whatever the
    vocabulary's fill (here across growths and a compaction)."""
    vocab = Vocabulary()
    for step in range(2100):
        hashes = np.array([step * 2 + 1, step * 2 + 2], dtype=np.uint64)
        ids = vocab.ensure(hashes, vocab.lookup(hashes))
        vocab.add_document(ids)
        vocab.add_document(ids[:1])
        assert len(vocab.df) > vocab.n
        assert vocab.idfs(np.array([-1, int(ids[0])], dtype=np.int32)).tolist() == [
            math.log((vocab.n_docs + 10) / 1.0),
            math.log((vocab.n_docs + 10) / 3.0),
        ]
        if step == 1500:
            vocab.compact(np.zeros(vocab.n, dtype=np.bool_))
