"""The values that go in and out of the story index.

They are plain frozen dataclasses so that storage and alerting can keep them, compare them and put them
in logs without knowing anything about MinHash or feature weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One article as the story index sees it.

    ``source`` is the outlet (host or name): it is only reported back in :class:`Story`, never used for
    matching, because a wire copy on another outlet is exactly what copy detection must find.
    ``published`` must be timezone-aware or consistently naive across one index.
    """

    id: int
    title: str
    body: str
    published: datetime
    source: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where :meth:`StoryIndex.add` put an article.

    ``copy_of`` is the earliest article of the copy group this one belongs to (a syndicated, re-headlined,
    trimmed or updated copy), ``None`` for an original. A copy always joins the story of its original.
    ``story_id`` is the id of the story's first article and never changes while the story lives.
    """

    article_id: int
    copy_of: int | None
    story_id: int
    is_new_story: bool
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class StoryMember:
    article_id: int
    source: str
    published: datetime
    copy_of: int | None


@dataclass(frozen=True, slots=True)
class Story:
    """A story as far as the window still holds it.

    ``representative_id`` is the first article (it equals ``id``) even after that article left the
    window, so that alerts and the stories table keep one stable key. ``members`` are in arrival order and
    hold only articles still in the window.
    """

    id: int
    representative_id: int
    first_seen: datetime
    last_seen: datetime
    members: tuple[StoryMember, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct outlets, first-seen order: what "also reported by" shows."""
        seen: dict[str, None] = {}
        for member in self.members:
            seen.setdefault(member.source, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class StoryConfig:
    """Every knob of the index, with the values chosen by ``bench/stories.py`` (see docs/stories.md).

    Copies: ``num_perm`` MinHash permutations over ``shingle_size``-word shingles; LSH with ``lsh_bands``
    bands of ``lsh_rows`` rows (``lsh_bands * lsh_rows <= num_perm``) proposes candidates, as do shared
    exact sentences. A candidate is a copy when the estimated Jaccard similarity reaches
    ``copy_threshold``, or when at least ``copy_min_shared_sentences`` sentences are shared and they make
    ``copy_containment`` of the shorter text's sentences.

    Stories: an article joins the story of its most similar earlier article within ``window`` when the
    cosine similarity of their weighted features (named entities, rare title/lede terms; IDF learned
    from the stream) reaches ``story_threshold``.

    Stop-list: a sentence seen in ``stoplist_min_stories`` different stories is ignored everywhere.
    """

    window: timedelta = timedelta(hours=72)
    # copies
    num_perm: int = 128
    shingle_size: int = 4
    lsh_bands: int = 16
    lsh_rows: int = 4
    copy_threshold: float = 0.5
    copy_containment: float = 0.8
    copy_min_shared_sentences: int = 3
    copy_max_candidates: int = 24
    sentence_sample_mod: int = 4
    lead_sentences_indexed: int = 2
    min_sentence_words: int = 4
    # stories
    story_threshold: float = 0.13
    entity_weight: float = 1.0
    term_weight: float = 2.0
    lede_words: int = 120
    entity_chars: int = 5000
    entity_tf: bool = False
    max_entities: int = 30
    min_idf: float = 1.0
    max_postings_scanned: int = 100
    postings_budget: int = 1000
    rescored_candidates: int = 12
    second_link_weight: float = 0.0
    max_postings_kept: int = 2000
    df_max_features: int = 1_000_000
    # stop-list
    stoplist_min_stories: int = 3
    stoplist_width_bits: int = 22
    stoplist_decay_every: int = 200_000

    def __post_init__(self) -> None:
        if self.lsh_bands * self.lsh_rows > self.num_perm:
            raise ValueError("lsh_bands * lsh_rows must not exceed num_perm")
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")
        if not 1 <= self.shingle_size <= 8:
            raise ValueError("shingle_size must be between 1 and 8")
        if self.stoplist_min_stories < 2:
            raise ValueError("stoplist_min_stories must be at least 2")
