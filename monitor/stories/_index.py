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

Stop-listed sentences are left out of both steps. Nothing is shared between instances, and an instance
is not thread-safe (the daemon owns one).

Storage is columnar (_window.py; docs/stories.md, *Memory*): articles and stories are rows of numpy
columns, features ids of a vocabulary, the lookup tables sorted numpy arrays and the postings one int32
arena, about 2 KB per article instead of the first version's 13 KB. The decisions are those of the
first, object-per-article version, bit for bit (tests/stories/test_columnar.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from os import PathLike
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from monitor.log import get_logger
from monitor.stories._copies import copy_scores
from monitor.stories._features import entity_counts, entity_feature, lede_terms, term_feature
from monitor.stories._minhash import U32, MinHasher
from monitor.stories._similar import Query, find_story
from monitor.stories._state import export_state, import_state, write_state
from monitor.stories._stoplist import SentenceStoplist
from monitor.stories._table import ranges
from monitor.stories._text import U64, analyse, sequence_hash, shingle_hashes
from monitor.stories._types import ArticleRecord, Assignment, Story, StoryConfig, StoryMember
from monitor.stories._window import Window

log = get_logger(__name__)
F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


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
        self._stoplist = SentenceStoplist(
            min_stories=cfg.stoplist_min_stories,
            width_bits=cfg.stoplist_width_bits,
            decay_every=cfg.stoplist_decay_every,
        )
        self._w = Window(cfg)
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
        dropped = self._w.drop_before(_ts(before))
        if dropped:
            log.debug("stories.pruned", dropped=dropped, kept=len(self))
        return dropped

    def forget(self, article_id: int) -> bool:
        """Remove one article as if it had never been added (its ingest transaction rolled back).

        Its story loses the member (and disappears when it was the only one); document frequencies and
        the stop-list keep what they learned from it, which only nudges weights. False if unknown.
        """
        return self._w.drop(article_id)

    def members(self, story_id: int) -> list[int]:
        """Article ids of the story still in the window, in arrival order ([] for an unknown story)."""
        ids: list[int] = self._w.docs.ids[self._w.member_rows(story_id)].tolist()
        return ids

    def story(self, story_id: int) -> Story | None:
        st = self._w.stories
        srow = st.find(story_id)
        if srow < 0:
            return None
        docs = self._w.docs
        members = tuple(
            StoryMember(
                int(docs.ids[r]),
                docs.sources.values[int(docs.source[r])],
                docs.published(r),
                docs.copy_of_at(r),
            )
            for r in self._w.member_rows(story_id).tolist()
        )
        times = docs.times
        first = times.when(float(st.first_ts[srow]), int(st.first_zone[srow]))
        last = times.when(float(st.last_ts[srow]), int(st.last_zone[srow]))
        return Story(story_id, story_id, first, last, members)

    def story_of(self, article_id: int) -> int | None:
        w = self._w
        row = w.row_of(article_id)
        return int(w.stories.ids[w.docs.story[row]]) if row >= 0 else None

    def to_state(self) -> dict[str, npt.NDArray[Any]]:
        """The whole index as a dict of numpy arrays (see :meth:`save`)."""
        return export_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, npt.NDArray[Any]]) -> StoryIndex:
        return import_state(state)

    def save(self, file: str | PathLike[str] | BinaryIO) -> None:
        """Write the state (no pickle; see ``_state.write_state``): window, IDF and stop-list."""
        write_state(file, self.to_state())

    @classmethod
    def load(cls, file: str | PathLike[str] | BinaryIO) -> StoryIndex:
        with np.load(file, allow_pickle=False) as data:
            return import_state({k: data[k] for k in data.files})

    def __len__(self) -> int:
        return self._w.docs.live

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, int | np.integer) and self._w.row_of(int(article_id)) >= 0

    @property
    def story_count(self) -> int:
        return self._w.stories.live

    def memory(self) -> dict[str, int]:
        """Bytes of array data held by each part of the index (the fixed-size stop-list included)."""
        return {**self._w.memory(), "stoplist": self._stoplist.nbytes}

    def compact(self) -> None:
        """Drop dead rows now (``prune`` and ``forget`` do it when a quarter of the rows are dead)."""
        self._w.compact()

    # -- deciding -------------------------------------------------------------------------------------

    def _add(self, article: ArticleRecord, *, forced: tuple[int, int | None] | None) -> Assignment:
        if article.id in self:
            raise ValueError(f"article {article.id} is already in the index")
        cfg = self.config
        w = self._w
        docs = w.docs
        ts, zone = docs.times.split(article.published)
        text = article.body if article.body.strip() else article.title  # title-only feed items
        view = analyse(text, min_words=cfg.min_sentence_words)
        hashed_list = [h for h in view.sent_hashes if h]  # sentences long enough to hash
        hashed = np.array(hashed_list, dtype=np.uint64)
        stopped = self._stoplist.stopped(hashed)
        if not stopped.any():
            token_h, tokens, kept_texts = view.token_hashes, view.tokens, view.sentences
            kept = hashed_list
            body_hash = view.body_hash
        else:
            at = iter(stopped.tolist())
            keep = np.array([not (h and next(at)) for h in view.sent_hashes], dtype=np.bool_)
            mask = view.token_mask(keep)
            token_h = view.token_hashes[mask]
            tokens = [t for t, k in zip(view.tokens, mask.tolist(), strict=True) if k]
            kept_texts = [t for t, k in zip(view.sentences, keep.tolist(), strict=True) if k]
            kept = [h for h, s in zip(hashed_list, stopped.tolist(), strict=True) if not s]
            body_hash = sequence_hash(token_h)
        sig = self._hasher.signature(shingle_hashes(token_h, cfg.shingle_size))
        sents = np.array(sorted(set(kept)), dtype=np.uint64)
        band_keys = w.copies.lsh.keys(sig)
        same_body = w.copies.same_body(body_hash)  # for the copy check and for the body table

        score = 0.0
        twin = -1
        if forced is not None:
            story_id, copy_of = forced
        else:
            copy_of, twin, score = self._find_copy(ts, sig, sents, same_body, band_keys)
        features: tuple[int, int] | tuple[I32, F32]
        if twin >= 0:  # a copy shares its original's features: no need to extract them again
            features = (int(docs.f_off[twin]), int(docs.f_len[twin]))
            norm = float(docs.norm[twin])
        else:
            ent_text = " . ".join(kept_texts)
            ents = entity_counts(ent_text[: cfg.entity_chars] if cfg.entity_chars else ent_text)
            terms = lede_terms(article.title, tokens, lede_words=cfg.lede_words)
            feats, weights, fids = self._features(ents, terms)
            norm = float(np.sqrt(np.dot(weights, weights))) or 1.0
        if forced is None:
            if twin >= 0:
                story_id = int(w.stories.ids[docs.story[twin]])
            else:
                best, score = find_story(
                    cfg,
                    Query(feats, weights, fids, norm, ts),
                    w.postings,
                    docs,
                    w.vocab.keys,
                    w.stories.ids,
                    w.entry_ids,
                    w.rows_for,
                    self._window_s,
                )
                story_id = best if best is not None else article.id
        if twin < 0:
            fids = w.vocab.ensure(feats, fids)
            features = (fids, weights)
            if copy_of is None:
                w.vocab.add_document(fids)
        self._stoplist.observe(hashed, story_id)
        self._seq += 1
        is_new = w.insert(
            article_id=article.id,
            when=(ts, zone),
            source=article.source,
            story_id=story_id,
            copy_of=copy_of,
            body_hash=body_hash,
            body_owned=same_body is not None,
            norm=norm,
            sig=sig,
            sents=sents,
            indexed=w.copies.sampled_of(kept),
            band_keys=band_keys,
            features=features,
        )
        return Assignment(article.id, copy_of, story_id, is_new, score)

    def _features(self, ents: Counter[str], terms: set[str]) -> tuple[U64, F32, I32]:
        """Feature hashes (sorted), weights and vocabulary ids (-1: new): IDF times the type weight
        (times 1 + log tf for entities when ``entity_tf``). Entities are ranked by count x IDF and the
        top ones kept."""
        cfg = self.config
        top = ents.most_common(2 * cfg.max_entities)
        n_ent = len(top)
        names = [e for e, _ in top]
        features = chain(map(entity_feature, names), map(term_feature, terms))
        hashes = np.fromiter(features, dtype=np.uint64, count=n_ent + len(terms))
        ids = self._w.vocab.lookup(hashes)
        idf = self._w.vocab.idfs(ids)
        if n_ent <= cfg.max_entities and not cfg.entity_tf:
            # Every entity is kept, and the features end up in hash order whatever order the ranking
            # gave them (their hashes are distinct): the same arrays without ranking.
            factor = np.full(len(hashes), cfg.term_weight)
            factor[:n_ent] = cfg.entity_weight
            feats, fids, weights = hashes, ids, (idf * factor).astype(np.float32)
        else:
            counts = np.fromiter((n for _, n in top), dtype=np.float64, count=n_ent)
            ent_idf = idf[:n_ent]
            keep = np.argsort(-(counts * ent_idf), kind="stable")[: cfg.max_entities]
            ent_w = ent_idf[keep] * cfg.entity_weight
            if cfg.entity_tf:
                ent_w = ent_w * (1.0 + np.log(counts[keep]))
            feats = np.concatenate([hashes[:n_ent][keep], hashes[n_ent:]])
            fids = np.concatenate([ids[:n_ent][keep], ids[n_ent:]])
            weights = np.concatenate([ent_w, idf[n_ent:] * cfg.term_weight]).astype(np.float32)
        order = np.argsort(feats)
        return feats[order], weights[order], fids[order]

    def _find_copy(
        self, ts: float, sig: U32, sents: U64, same: int | None, band_keys: U64
    ) -> tuple[int | None, int, float]:
        """(copy_of, the matched row, score), or (None, -1, best score) when not a copy. ``same`` is
        the live row with the same body, if any."""
        docs = self._w.docs
        if same is not None and abs(float(docs.ts[same]) - ts) <= self._window_s:
            return self._group_of(same), same, 1.0
        candidates = self._w.copies.candidates(band_keys, sents, docs.ids)
        if not candidates:
            return None, -1, 0.0
        rows = np.array(candidates, dtype=np.int64)
        rows = rows[np.abs(docs.ts[rows] - ts) <= self._window_s]
        if not len(rows):
            return None, -1, 0.0
        lens = docs.s_len[rows].astype(np.int64)
        flat = docs.sents[ranges(docs.s_off[rows], lens)]
        is_copy, scores = copy_scores(self.config, sig, sents, docs.sig[rows], flat, lens)
        if not is_copy.any():
            return None, -1, float(scores.max())
        # The best score wins; on a tie, the earliest article (the lowest row).
        ok = np.flatnonzero(is_copy)
        best_score = scores[ok].max()
        best = int(rows[ok][scores[ok] == best_score].min())
        return self._group_of(best), best, float(best_score)

    def _group_of(self, row: int) -> int:
        """The first article of ``row``'s copy group."""
        copy_of = self._w.docs.copy_of_at(row)
        return copy_of if copy_of is not None else int(self._w.docs.ids[row])
