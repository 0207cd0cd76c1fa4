"""The in-memory story index: copy detection and story grouping over a sliding time window.

``add`` decides, in this order:

1. *copy?* Candidates come from LSH over the body's MinHash signature and from exact (hashed) sentences
   shared with earlier articles. A candidate is a copy when the estimated Jaccard similarity of the word
   shingles is high enough, or when enough exact sentences are shared to cover most of the shorter text
   (a trimmed copy has a low Jaccard but all its sentences in the original). A copy joins its original's
   story and points at the first article of its copy group.
2. *which story?* Otherwise the article's features (named entities, rare title/lede terms, IDF-weighted)
   are compared, by cosine, with the articles of the window that share at least one rare feature; the
   article joins the story of the most similar one if the similarity reaches the threshold (single link),
   else it starts a story of its own.

Stop-listed sentences are left out of both steps. Everything is keyed by article id; nothing is shared
between instances, and an instance is not thread-safe (the daemon owns one).
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from os import PathLike
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from monitor.log import get_logger
from monitor.stories._copies import CopyIndex, copy_scores
from monitor.stories._features import (
    DocumentFrequencies,
    entity_counts,
    entity_feature,
    lede_terms,
    term_feature,
)
from monitor.stories._minhash import U32, MinHasher
from monitor.stories._similar import find_story
from monitor.stories._state import export_state, import_state
from monitor.stories._stoplist import SentenceStoplist
from monitor.stories._text import U64, analyse, sequence_hash, shingle_hashes
from monitor.stories._types import (
    ArticleRecord,
    Assignment,
    Story,
    StoryConfig,
    StoryMember,
)

log = get_logger(__name__)
F32 = npt.NDArray[np.float32]


@dataclass(slots=True)
class _Doc:
    id: int
    ts: float
    published: datetime
    source: str
    story: int
    copy_of: int | None
    sig: U32
    sents: U64  # sorted, non-stop-listed sentence hashes
    indexed: U64  # the ones put in the sentence index (lead + hash-chosen sample)
    body_hash: int
    feats: U64  # sorted feature hashes
    weights: F32  # aligned with feats
    norm: float
    seq: int


@dataclass(slots=True)
class _StoryRec:
    id: int
    first_seen: datetime
    last_seen: datetime
    members: list[int] = field(default_factory=list)


def _ts(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class StoryIndex:
    """Incremental copy detection and story grouping; see the module docstring and docs/stories.md.

    Options are keyword-only; ``window``, ``copy_threshold`` and ``story_threshold`` override the
    matching fields of ``config``.
    """

    def __init__(
        self,
        *,
        config: StoryConfig | None = None,
        window: timedelta | None = None,
        copy_threshold: float | None = None,
        story_threshold: float | None = None,
    ) -> None:
        cfg = config or StoryConfig()
        if window is not None:
            cfg = replace(cfg, window=window)
        if copy_threshold is not None:
            cfg = replace(cfg, copy_threshold=copy_threshold)
        if story_threshold is not None:
            cfg = replace(cfg, story_threshold=story_threshold)
        self.config = cfg
        self._window_s = cfg.window.total_seconds()
        self._hasher = MinHasher(num_perm=cfg.num_perm)
        self._copies = CopyIndex(cfg)
        self._stoplist = SentenceStoplist(
            min_stories=cfg.stoplist_min_stories,
            width_bits=cfg.stoplist_width_bits,
            decay_every=cfg.stoplist_decay_every,
        )
        self._df = DocumentFrequencies(max_features=cfg.df_max_features)
        self._docs: dict[int, _Doc] = {}
        self._stories: dict[int, _StoryRec] = {}
        self._postings: dict[int, array[int]] = {}
        self._heap: list[tuple[float, int]] = []
        self._seq = 0

    # -- public ---------------------------------------------------------------------------------------

    def add(self, article: ArticleRecord) -> Assignment:
        """Decide copy and story for ``article`` and index it. Ids must be unique within the window."""
        return self._add(article, forced=None)

    def restore(self, article: ArticleRecord, *, story_id: int, copy_of: int | None) -> Assignment:
        """Index an article with an assignment decided earlier (rebuilding the window from storage).

        Nothing is decided: the stored ``story_id``/``copy_of`` are kept, so ids stay stable across a
        restart. Feed articles in publication order; document frequencies then cover the window only,
        which is why :meth:`save`/:meth:`load` (full state) is preferred when available.
        """
        return self._add(article, forced=(story_id, copy_of))

    def prune(self, *, before: datetime) -> int:
        """Forget articles published before ``before``; returns how many were dropped."""
        limit = _ts(before)
        dropped: list[_Doc] = []
        while self._heap and self._heap[0][0] < limit:
            ts, article_id = heapq.heappop(self._heap)
            doc = self._docs.get(article_id)
            if doc is not None and doc.ts == ts:  # not a stale entry of a forgotten, re-added id
                del self._docs[article_id]
                dropped.append(doc)
        if not dropped:
            return 0
        touched: set[int] = set()
        for doc in dropped:
            self._unindex(doc)
            if doc.copy_of is None:
                touched.update(doc.feats.tolist())
        # Postings are in arrival order, so the dropped articles are (nearly always) a prefix: trim it.
        # A straggler further in is skipped at query time and trimmed once it reaches the front.
        alive = self._docs
        postings = self._postings
        for feature in touched:
            plist = postings.get(feature)
            if plist is None:
                continue
            start = 0
            while start < len(plist) and plist[start] not in alive:
                start += 1
            if start == len(plist):
                del postings[feature]
            elif start:
                del plist[:start]
        log.debug("stories.pruned", dropped=len(dropped), kept=len(self._docs))
        return len(dropped)

    def forget(self, article_id: int) -> bool:
        """Remove one article as if it had never been added (its ingest transaction rolled back).

        Its story loses the member (and disappears when it was the only one); document frequencies and
        the stop-list keep what they learned from it, which only nudges weights. False if unknown.
        """
        doc = self._docs.pop(article_id, None)
        if doc is None:
            return False
        self._unindex(doc)
        if doc.copy_of is None:
            for feature in doc.feats.tolist():
                plist = self._postings.get(feature)
                if plist is None:
                    continue
                for i in range(len(plist) - 1, -1, -1):
                    if plist[i] == article_id:
                        del plist[i]
                        break
                if not plist:
                    del self._postings[feature]
        return True

    def members(self, story_id: int) -> list[int]:
        """Article ids of the story still in the window, in arrival order ([] for an unknown story)."""
        rec = self._stories.get(story_id)
        return list(rec.members) if rec else []

    def story(self, story_id: int) -> Story | None:
        rec = self._stories.get(story_id)
        if rec is None:
            return None
        members = tuple(
            StoryMember(d.id, d.source, d.published, d.copy_of) for d in (self._docs[a] for a in rec.members)
        )
        return Story(rec.id, rec.id, rec.first_seen, rec.last_seen, members)

    def story_of(self, article_id: int) -> int | None:
        doc = self._docs.get(article_id)
        return doc.story if doc else None

    def to_state(self) -> dict[str, npt.NDArray[Any]]:
        """The whole index as a dict of numpy arrays (see :meth:`save`)."""
        return export_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, npt.NDArray[Any]]) -> StoryIndex:
        return import_state(state)

    def save(self, file: str | PathLike[str] | BinaryIO) -> None:
        """Write the state with ``numpy.savez_compressed`` (no pickle): window, IDF and stop-list."""
        np.savez_compressed(file, **self.to_state())  # type: ignore[arg-type]

    @classmethod
    def load(cls, file: str | PathLike[str] | BinaryIO) -> StoryIndex:
        with np.load(file, allow_pickle=False) as data:
            return import_state({k: data[k] for k in data.files})

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._docs

    @property
    def story_count(self) -> int:
        return len(self._stories)

    # -- deciding -------------------------------------------------------------------------------------

    def _add(self, article: ArticleRecord, *, forced: tuple[int, int | None] | None) -> Assignment:
        if article.id in self._docs:
            raise ValueError(f"article {article.id} is already in the index")
        cfg = self.config
        ts = _ts(article.published)
        text = article.body if article.body.strip() else article.title  # title-only feed items
        view = analyse(text, min_words=cfg.min_sentence_words)
        hashed = view.sent_hash != 0
        keep = np.ones(len(view.sentences), dtype=np.bool_)
        keep[hashed] = ~self._stoplist.stopped(view.sent_hash[hashed])
        if keep.all():
            token_h, tokens, kept_texts = view.token_hashes, view.tokens, view.sentences
        else:
            mask = view.token_mask(keep)
            token_h = view.token_hashes[mask]
            tokens = [t for t, k in zip(view.tokens, mask.tolist(), strict=True) if k]
            kept_texts = [t for t, k in zip(view.sentences, keep.tolist(), strict=True) if k]
        sig = self._hasher.signature(shingle_hashes(token_h, cfg.shingle_size))
        sents = np.unique(view.sent_hash[hashed & keep])
        body_hash = sequence_hash(token_h)
        lsh_keys = self._copies.lsh.keys(sig)

        score = 0.0
        twin: _Doc | None = None
        if forced is not None:
            story_id, copy_of = forced
        else:
            copy_of, twin, score = self._find_copy(ts, sig, sents, body_hash, lsh_keys)
        if twin is not None:  # a copy shares its original's features: no need to extract them again
            feats, weights, norm = twin.feats, twin.weights, twin.norm
        else:
            ent_text = " . ".join(kept_texts)
            ents = entity_counts(ent_text[: cfg.entity_chars] if cfg.entity_chars else ent_text)
            terms = lede_terms(article.title, tokens, lede_words=cfg.lede_words)
            feats, weights = self._features(ents, terms)
            norm = float(np.sqrt(np.dot(weights, weights))) or 1.0
        if forced is None:
            if twin is not None:
                story_id = twin.story
            else:
                best, score = self._find_story(ts, feats, weights, norm)
                story_id = best if best is not None else article.id
        if copy_of is None:
            self._df.add(feats.tolist())
        self._stoplist.observe(view.sent_hash[hashed], story_id)

        self._seq += 1
        doc = _Doc(
            article.id,
            ts,
            article.published,
            article.source,
            story_id,
            copy_of,
            sig,
            sents,
            self._copies.sampled(view.sent_hash[hashed & keep]),
            body_hash,
            feats,
            weights,
            norm,
            self._seq,
        )
        self._docs[article.id] = doc
        heapq.heappush(self._heap, (ts, article.id))
        self._index(doc, lsh_keys)
        is_new = story_id not in self._stories
        if is_new:
            self._stories[story_id] = _StoryRec(story_id, article.published, article.published)
        rec = self._stories[story_id]
        rec.members.append(article.id)
        rec.first_seen = min(rec.first_seen, article.published)
        rec.last_seen = max(rec.last_seen, article.published)
        return Assignment(article.id, copy_of, story_id, is_new, score)

    def _features(self, ents: Counter[str], terms: set[str]) -> tuple[U64, F32]:
        """Feature hashes (sorted) and weights: IDF times the type weight (times 1 + log tf for
        entities when ``entity_tf``). Entities are ranked by count x IDF and the top ones kept."""
        cfg = self.config
        top = ents.most_common(2 * cfg.max_entities)
        ent_f = [entity_feature(e) for e, _ in top]
        term_f = [term_feature(t) for t in terms]
        idf = self._df.idfs(ent_f + term_f)
        counts = np.array([n for _, n in top], dtype=np.float64)
        ent_idf = idf[: len(ent_f)]
        keep = np.argsort(-(counts * ent_idf), kind="stable")[: cfg.max_entities]
        ent_w = ent_idf[keep] * cfg.entity_weight
        if cfg.entity_tf:
            ent_w = ent_w * (1.0 + np.log(counts[keep]))
        feats = np.concatenate([np.array(ent_f, dtype=np.uint64)[keep], np.array(term_f, dtype=np.uint64)])
        weights = np.concatenate([ent_w, idf[len(ent_f) :] * cfg.term_weight]).astype(np.float32)
        order = np.argsort(feats)
        return feats[order], weights[order]

    def _in_window(self, doc: _Doc, ts: float) -> bool:
        return abs(doc.ts - ts) <= self._window_s

    def _find_copy(
        self, ts: float, sig: U32, sents: U64, body_hash: int, lsh_keys: list[int]
    ) -> tuple[int | None, _Doc | None, float]:
        """(copy_of, the matched article, score), or (None, None, best score) when not a copy."""
        same = self._copies.same_body(body_hash)
        if same is not None and self._in_window(self._docs[same], ts):
            twin = self._docs[same]
            return (twin.copy_of if twin.copy_of is not None else twin.id), twin, 1.0
        docs = self._docs
        cands = [
            d
            for d in map(docs.get, self._copies.candidates(lsh_keys, sents))
            if d is not None and self._in_window(d, ts)
        ]
        if not cands:
            return None, None, 0.0
        is_copy, scores = copy_scores(
            self.config, sig, sents, [d.sig for d in cands], [d.sents for d in cands]
        )
        if not is_copy.any():
            return None, None, float(scores.max())
        # The best score wins; on a tie, the earliest article.
        best_score, _, best = max(
            (score, -d.seq, d)
            for d, ok, score in zip(cands, is_copy.tolist(), scores.tolist(), strict=True)
            if ok
        )
        return (best.copy_of if best.copy_of is not None else best.id), best, best_score

    def _find_story(self, ts: float, feats: U64, weights: F32, norm: float) -> tuple[int | None, float]:
        return find_story(self.config, self._docs, self._postings, self._window_s, ts, feats, weights, norm)

    # -- indexing -------------------------------------------------------------------------------------

    def _index(self, doc: _Doc, lsh_keys: list[int]) -> None:
        self._copies.insert(doc.id, lsh_keys, doc.indexed, doc.body_hash)
        if doc.copy_of is not None:
            return  # its original is in the postings already, with the same features
        cap = self.config.max_postings_kept
        postings = self._postings
        for f in doc.feats.tolist():
            plist = postings.get(f)
            if plist is None:
                postings[f] = array("q", (doc.id,))
            else:
                plist.append(doc.id)
                if len(plist) > 2 * cap:
                    del plist[:-cap]

    def _unindex(self, doc: _Doc) -> None:
        self._copies.remove(doc.id, doc.sig, doc.indexed, doc.body_hash)
        rec = self._stories.get(doc.story)
        if rec is not None:
            rec.members.remove(doc.id)
            if not rec.members:
                del self._stories[doc.story]
