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
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from monitor.log import get_logger
from monitor.stories._features import (
    DocumentFrequencies,
    entity_counts,
    entity_feature,
    lede_terms,
    term_feature,
)
from monitor.stories._minhash import U32, LshTable, MinHasher, jaccard
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
    sents: npt.NDArray[np.uint64]  # sorted, non-stop-listed sentence hashes
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
        overrides = {
            k: v
            for k, v in (
                ("window", window),
                ("copy_threshold", copy_threshold),
                ("story_threshold", story_threshold),
            )
            if v is not None
        }
        self.config = cfg = replace(cfg, **overrides) if overrides else cfg
        self._window_s = cfg.window.total_seconds()
        self._hasher = MinHasher(num_perm=cfg.num_perm)
        self._lsh = LshTable(bands=cfg.lsh_bands, rows=cfg.lsh_rows)
        self._stoplist = SentenceStoplist(
            min_stories=cfg.stoplist_min_stories,
            width_bits=cfg.stoplist_width_bits,
            decay_every=cfg.stoplist_decay_every,
        )
        self._df = DocumentFrequencies()
        self._docs: dict[int, _Doc] = {}
        self._stories: dict[int, _StoryRec] = {}
        self._sentence_index: dict[int, int | list[int]] = {}
        self._body_index: dict[int, int] = {}
        self._postings: dict[int, list[int]] = {}
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
            _, article_id = heapq.heappop(self._heap)
            doc = self._docs.pop(article_id, None)
            if doc is not None:
                dropped.append(doc)
        if not dropped:
            return 0
        touched: set[int] = set()
        for doc in dropped:
            self._unindex(doc)
            touched.update(int(f) for f in doc.feats)
        alive = self._docs
        for feature in touched:
            plist = self._postings.get(feature)
            if plist is None:
                continue
            kept = [a for a in plist if a in alive]
            if kept:
                self._postings[feature] = kept
            else:
                del self._postings[feature]
        log.debug("stories.pruned", dropped=len(dropped), kept=len(self._docs))
        return len(dropped)

    def members(self, story_id: int) -> list[int]:
        """Article ids of the story still in the window, in arrival order ([] for an unknown story)."""
        rec = self._stories.get(story_id)
        return list(rec.members) if rec else []

    def story(self, story_id: int) -> Story | None:
        rec = self._stories.get(story_id)
        if rec is None:
            return None
        members = tuple(
            StoryMember(d.id, d.source, d.published, d.copy_of)
            for d in (self._docs[a] for a in rec.members)
        )
        return Story(rec.id, rec.id, rec.first_seen, rec.last_seen, members)

    def story_of(self, article_id: int) -> int | None:
        doc = self._docs.get(article_id)
        return doc.story if doc else None

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
        view = analyse(article.body if article.body.strip() else article.title, min_words=cfg.min_sentence_words)
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
        lsh_keys = self._lsh.keys(sig)

        ent_text = " . ".join(kept_texts)
        ents = entity_counts(ent_text[: cfg.entity_chars] if cfg.entity_chars else ent_text)
        terms = lede_terms(article.title, tokens, lede_words=cfg.lede_words)
        feats, weights = self._features(ents, terms)
        norm = float(np.sqrt(np.dot(weights, weights))) or 1.0

        score = 0.0
        if forced is not None:
            story_id, copy_of = forced
        else:
            copy_of, copy_story, score = self._find_copy(ts, sig, sents, body_hash, lsh_keys)
            if copy_story is not None:
                story_id = copy_story
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
            body_hash,
            feats,
            weights,
            norm,
            self._seq,
        )
        self._docs[article.id] = doc
        heapq.heappush(self._heap, (ts, article.id))
        self._index(doc, lsh_keys, view.sent_hash[hashed & keep])
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
        entities, so that the people a story is about outweigh those it mentions once)."""
        cfg = self.config
        idf = self._df.idf
        weights: dict[int, float] = {}
        cands = [(entity_feature(e), n) for e, n in ents.most_common(3 * cfg.max_entities)]
        scored = sorted(((n * idf(f), f, n) for f, n in cands), reverse=True)[: cfg.max_entities]
        for _, f, n in scored:
            tf = 1.0 + math.log(n) if cfg.entity_tf else 1.0
            weights[f] = idf(f) * cfg.entity_weight * tf
        for t in terms:
            f = term_feature(t)
            weights[f] = max(weights.get(f, 0.0), idf(f) * cfg.term_weight)
        feats = np.fromiter(weights, dtype=np.uint64, count=len(weights))
        order = np.argsort(feats)
        w = np.fromiter(weights.values(), dtype=np.float32, count=len(weights))
        return feats[order], w[order]

    def _in_window(self, doc: _Doc, ts: float) -> bool:
        return abs(doc.ts - ts) <= self._window_s

    def _find_copy(
        self,
        ts: float,
        sig: U32,
        sents: npt.NDArray[np.uint64],
        body_hash: int,
        lsh_keys: list[int],
    ) -> tuple[int | None, int | None, float]:
        """(copy_of, story of the original, score), or (None, None, best score) when not a copy."""
        cfg = self.config
        same = self._body_index.get(body_hash)
        if same is not None and self._in_window(self._docs[same], ts):
            doc = self._docs[same]
            return (doc.copy_of if doc.copy_of is not None else doc.id), doc.story, 1.0
        votes = self._lsh.query(lsh_keys)
        index = self._sentence_index
        for h in sents.tolist():
            cur = index.get(h)
            if cur is None:
                continue
            for other in [cur] if isinstance(cur, int) else cur:
                votes[other] = votes.get(other, 0) + 1
        if not votes:
            return None, None, 0.0
        ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.copy_max_candidates]
        best: _Doc | None = None
        best_score = 0.0
        near_miss = 0.0
        for other, _ in ranked:
            doc = self._docs.get(other)
            if doc is None or not self._in_window(doc, ts):
                continue
            score = jaccard(sig, doc.sig)
            is_copy = score >= cfg.copy_threshold
            if len(sents) and len(doc.sents):
                shared = len(np.intersect1d(sents, doc.sents, assume_unique=True))
                containment = shared / min(len(sents), len(doc.sents))
                if shared >= cfg.copy_min_shared_sentences and containment >= cfg.copy_containment:
                    is_copy = True
                    score = max(score, containment)
            if not is_copy:
                near_miss = max(near_miss, score)
            elif score > best_score or (score == best_score and best is not None and doc.seq < best.seq):
                best, best_score = doc, score
        if best is None:
            return None, None, near_miss
        root = best.copy_of if best.copy_of is not None else best.id
        return root, best.story, best_score

    def _find_story(self, ts: float, feats: U64, weights: F32, norm: float) -> tuple[int | None, float]:
        """Best story by single link: the most similar article of the window, if similar enough.

        Phase 1 finds candidates through the rarest features first (postings lists are scanned from
        the most recent end, at most ``max_postings_scanned`` per feature and ``postings_budget`` in all,
        so a common feature costs little); phase 2 computes the exact cosine for the best of them.
        """
        cfg = self.config
        docs = self._docs
        postings = self._postings
        query = []
        for f, w in zip(feats.tolist(), weights.tolist(), strict=True):
            plist = postings.get(f)
            if plist and w >= cfg.min_idf:
                query.append((len(plist), w, plist))
        query.sort(key=lambda q: q[0])
        acc: dict[int, float] = {}
        budget = cfg.postings_budget
        for _, w, plist in query:
            if budget <= 0:
                break
            tail = plist[-cfg.max_postings_scanned :]
            budget -= len(tail)
            w2 = w * w
            for other in tail:
                acc[other] = acc.get(other, 0.0) + w2
        if not acc:
            return None, 0.0
        top = sorted(acc.items(), key=lambda kv: -kv[1])[: cfg.rescored_candidates]
        best_story: int | None = None
        best = 0.0
        for other, _ in top:
            doc = docs.get(other)
            if doc is None or not self._in_window(doc, ts):
                continue
            idx = np.searchsorted(doc.feats, feats)
            idx[idx >= len(doc.feats)] = 0
            shared = doc.feats[idx] == feats
            dot = float(np.dot(weights[shared], doc.weights[idx[shared]]))
            sim = dot / (norm * doc.norm)
            if sim > best:
                best, best_story = sim, doc.story
        if best >= cfg.story_threshold:
            return best_story, best
        return None, best

    # -- indexing -------------------------------------------------------------------------------------

    def _sampled(self, ordered: npt.NDArray[np.uint64]) -> list[int]:
        """The sentence hashes put in the sentence index: the lead, and a hash-chosen sample.

        Sampling by hash value is consistent across articles, so a sentence two texts share is sampled
        in both or in neither; a trimmed copy of 20 sentences still shares about 5 sampled ones.
        """
        cfg = self.config
        lead = ordered[: cfg.lead_sentences_indexed]
        sample = ordered[ordered % np.uint64(cfg.sentence_sample_mod) == 0]
        return list(dict.fromkeys([*lead.tolist(), *sample.tolist()]))

    def _index(self, doc: _Doc, lsh_keys: list[int], ordered: npt.NDArray[np.uint64]) -> None:
        self._lsh.insert(doc.id, lsh_keys)
        index = self._sentence_index
        for h in self._sampled(ordered):
            cur = index.get(h)
            if cur is None:
                index[h] = doc.id
            elif isinstance(cur, int):
                index[h] = [cur, doc.id]
            else:
                cur.append(doc.id)
        self._body_index.setdefault(doc.body_hash, doc.id)
        cap = self.config.max_postings_kept
        postings = self._postings
        for f in doc.feats.tolist():
            plist = postings.get(f)
            if plist is None:
                postings[f] = [doc.id]
            else:
                plist.append(doc.id)
                if len(plist) > 2 * cap:
                    del plist[:-cap]

    def _unindex(self, doc: _Doc) -> None:
        self._lsh.remove(doc.id, self._lsh.keys(doc.sig))
        index = self._sentence_index
        for h in doc.sents.tolist():
            cur = index.get(h)
            if cur is None:
                continue
            if isinstance(cur, int):
                if cur == doc.id:
                    del index[h]
            elif doc.id in cur:
                cur.remove(doc.id)
                if len(cur) == 1:
                    index[h] = cur[0]
        if self._body_index.get(doc.body_hash) == doc.id:
            del self._body_index[doc.body_hash]
        rec = self._stories.get(doc.story)
        if rec is not None:
            rec.members.remove(doc.id)
            if not rec.members:
                del self._stories[doc.story]
