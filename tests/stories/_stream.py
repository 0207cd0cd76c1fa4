"""A deterministic stream of invented articles that exercises every path of the story index.

Built only from the invented test texts (tests/stories/_texts.py, _outlets.py): recombined write-ups,
re-headlined and trimmed copies, exact re-posts, title-only items, articles dated hours earlier than
their arrival (pruned out of order), restores of stored decisions and rolled-back adds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from monitor.stories import ArticleRecord
from tests.stories import _outlets, _texts

_BODIES = [
    (_texts.STRIKE_TITLE, _texts.STRIKE_WIRE),
    (_texts.STRIKE_OTHER_TITLE, _texts.STRIKE_OTHER),
    (_texts.FERRY_TITLE, _texts.FERRY),
    (_texts.STRIKE_ELSEWHERE_TITLE, _texts.STRIKE_ELSEWHERE),
    (_outlets.WIRE_TITLE, _outlets.WIRE),
    (_outlets.OTHER_D_TITLE, _outlets.OTHER_D),
    (_outlets.OTHER_E_TITLE, _outlets.OTHER_E),
    *_texts.UNRELATED,
]


@dataclass(frozen=True)
class Step:
    """One operation: ``add`` or ``restore`` an article, ``forget`` an id, or ``prune`` before a time."""

    op: str
    article: ArticleRecord | None = None
    story_id: int = 0
    copy_of: int | None = None
    article_id: int = 0


def _reword(rng: random.Random, sentence: str, words: list[str]) -> str:
    """About one word in four replaced: the same names, but no exact sentence or shingle run left."""
    toks = sentence.split()
    for _ in range(max(1, len(toks) // 4)):
        toks[rng.randrange(len(toks))] = rng.choice(words)
    return " ".join(toks)


def steps(n: int = 240, *, seed: int = 3) -> Iterator[Step]:
    rng = random.Random(seed)
    sentences = [s for _, body in _BODIES for s in body]
    words = sorted({w for x in sentences for w in x.split() if w.isalpha() and w.islower()})
    made: list[ArticleRecord] = []
    for k in range(n):
        hours = k * 1.5
        kind = rng.random()
        if made and kind < 0.15:  # a copy: re-headlined, trimmed or with a footer
            src = rng.choice(made[-30:])
            parts = src.body.split(". ")
            if rng.random() < 0.5:
                parts = parts[: max(2, len(parts) * 2 // 3)]
            else:
                parts.append(_texts.SIGN_OFF)
            title, body = "Update: " + src.title, ". ".join(parts)
        elif made and kind < 0.2:  # an exact re-post
            src = rng.choice(made[-30:])
            title, body = src.title, src.body
        elif kind < 0.25:  # a title-only item
            title, body = rng.choice(_BODIES)[0], ""
        else:  # a write-up of one event: some of its sentences reworded, others from elsewhere
            base_title, base = rng.choice(_BODIES)
            parts = [_reword(rng, x, words) for x in rng.sample(base, min(len(base), rng.randrange(2, 6)))]
            parts += rng.sample(sentences, rng.randrange(2))
            rng.shuffle(parts)
            title = _reword(rng, base_title, words) if rng.random() < 0.9 else rng.choice(_BODIES)[0]
            body = " ".join(parts)
        if rng.random() < 0.1:
            hours -= rng.uniform(0, 30)  # dated earlier than it arrived
        record = ArticleRecord(k + 1, title, body, _texts.T0 + timedelta(hours=hours), f"outlet-{k % 7}")
        if made and rng.random() < 0.05:
            yield Step("restore", record, story_id=rng.choice(made[-10:]).id)
        else:
            yield Step("add", record)
        made.append(record)
        if rng.random() < 0.04:
            yield Step("forget", article_id=rng.choice(made[-5:]).id)
        if k % 17 == 16:
            yield Step("prune", article=ArticleRecord(0, "", "", _texts.T0 + timedelta(hours=hours - 40), ""))
