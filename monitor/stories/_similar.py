"""Story candidates and the story decision: single link over IDF-weighted features (see _index.py).

Phase 1 finds candidates through the rarest features first (postings lists are scanned from the most
recent end, at most ``max_postings_scanned`` per feature and ``postings_budget`` in all, so a common
feature costs little); phase 2 computes the exact cosine of the best ``rescored_candidates`` of them,
all in one vectorised pass.

Every step keeps the first version's order of operations (features in hash order, the same stable
sorts, the same summation order), so that equal inputs give bit-identical scores and the same ties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.stories._postings import Postings
from monitor.stories._table import DocTable, ranges
from monitor.stories._text import U64
from monitor.stories._types import StoryConfig

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Query:
    feats: U64  # sorted feature hashes
    weights: F32
    fids: I32  # aligned with feats; -1 for a feature the vocabulary does not know
    norm: float
    ts: float


def find_story(
    cfg: StoryConfig,
    query: Query,
    postings: Postings,
    docs: DocTable,
    feature_hash: U64,
    story_ids: npt.NDArray[np.int64],
    entry_ids: Callable[[I64], I64],
    rows_of: Callable[[I64, I64], I64],
    window_s: float,
) -> tuple[int | None, float]:
    """Best story by single link: the most similar article of the window, if similar enough.

    ``entry_ids`` turns postings entries into article ids, ``rows_of`` article ids (with one postings
    entry of each) into live rows (-1 when gone); ``feature_hash`` maps feature ids to hashes and
    ``story_ids`` story rows to ids.
    """
    fids = query.fids.astype(np.int64)
    usable = (query.weights.astype(np.float64) >= cfg.min_idf) & (fids >= 0)
    sel = np.flatnonzero(usable)
    lens = postings.lengths(fids[sel])
    sel, lens = sel[lens > 0], lens[lens > 0]
    if not len(sel):
        return None, 0.0
    order = np.argsort(lens, kind="stable")  # rarest first; ties in feature-hash order
    sel, lens = sel[order], lens[order]
    takes = np.minimum(lens, cfg.max_postings_scanned)
    spent_before = np.cumsum(takes) - takes
    scanned = cfg.postings_budget - spent_before > 0
    sel, takes = sel[scanned], takes[scanned]
    entries = postings.tails(fids[sel], takes)
    ids = entry_ids(entries)
    w = query.weights[sel].astype(np.float64)
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    acc = np.bincount(inverse.reshape(-1), weights=np.repeat(w * w, takes))
    k = cfg.rescored_candidates
    pick = np.argpartition(-acc, k)[:k] if len(uniq) > k else slice(None)
    rows = rows_of(uniq[pick], entries[first[pick]])
    rows = rows[rows >= 0]
    rows = rows[np.abs(docs.ts[rows] - query.ts) <= window_s]
    if not len(rows):
        return None, 0.0
    # All candidates' exact cosines in one pass: their features looked up in ours (sorted).
    f_len = docs.f_len[rows].astype(np.int64)
    pos = ranges(docs.f_off[rows], f_len)
    all_f = feature_hash[docs.fids[pos]]
    all_w = docs.fweights[pos]
    feats, weights = query.feats, query.weights
    idx = np.searchsorted(feats, all_f)
    idx[idx >= len(feats)] = 0
    contrib = np.where(feats[idx] == all_f, weights[idx] * all_w, np.float32(0))
    seg = np.repeat(np.arange(len(rows)), f_len)
    dots = np.bincount(seg, weights=contrib, minlength=len(rows))
    sims = dots / (query.norm * docs.norm[rows].astype(np.float64))
    per_story: dict[int, list[float]] = {}
    for story, sim in zip(story_ids[docs.story[rows]].tolist(), sims.tolist(), strict=True):
        per_story.setdefault(story, []).append(sim)
    best_story: int | None = None
    best = 0.0
    for story, story_sims in per_story.items():
        story_sims.sort(reverse=True)
        second = story_sims[1] if len(story_sims) > 1 else 0.0
        score = story_sims[0] + cfg.second_link_weight * second
        if score > best:
            best, best_story = score, story
    if best >= cfg.story_threshold:
        return best_story, best
    return None, best
