"""Story candidates and the story decision: single link over IDF-weighted features (see _index.py).

Phase 1 finds candidates through the rarest features first (postings lists are scanned from the most
recent end, at most ``max_postings_scanned`` per feature and ``postings_budget`` in all, so a common
feature costs little); phase 2 computes the exact cosine of the best ``rescored_candidates`` of them,
all in one vectorised pass.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.stories._text import U64
from monitor.stories._types import StoryConfig

F32 = npt.NDArray[np.float32]


def find_story(
    cfg: StoryConfig,
    docs: Mapping[int, Any],
    postings: Mapping[int, array[int]],
    window_s: float,
    ts: float,
    feats: U64,
    weights: F32,
    norm: float,
) -> tuple[int | None, float]:
    """Best story by single link: the most similar article of the window, if similar enough.

    Phase 1 finds candidates through the rarest features first (postings lists are scanned from
    the most recent end, at most ``max_postings_scanned`` per feature and ``postings_budget`` in all,
    so a common feature costs little); phase 2 computes the exact cosine for the best of them.
    """
    query = []
    min_idf = cfg.min_idf
    for f, w in zip(feats.tolist(), weights.tolist(), strict=True):
        if w >= min_idf:
            plist = postings.get(f)
            if plist:
                query.append((len(plist), w, plist))
    query.sort(key=lambda q: q[0])
    tails: list[npt.NDArray[np.int64]] = []
    w2s: list[float] = []
    budget = cfg.postings_budget
    for _, w, plist in query:
        if budget <= 0:
            break
        tail = np.frombuffer(plist, dtype=np.int64)[-cfg.max_postings_scanned :]
        budget -= len(tail)
        tails.append(tail)
        w2s.append(w * w)
    if not tails:
        return None, 0.0
    counts = np.fromiter(map(len, tails), dtype=np.int64, count=len(tails))
    ids = np.concatenate(tails)
    uniq, inverse = np.unique(ids, return_inverse=True)
    acc = np.bincount(inverse, weights=np.repeat(np.array(w2s), counts))
    k = cfg.rescored_candidates
    top = uniq[np.argpartition(-acc, k)[:k]] if len(uniq) > k else uniq
    cands = [d for d in map(docs.get, top.tolist()) if d is not None and abs(d.ts - ts) <= window_s]
    if not cands:
        return None, 0.0
    # All candidates' exact cosines in one pass: their features looked up in ours (sorted).
    all_f = np.concatenate([d.feats for d in cands])
    all_w = np.concatenate([d.weights for d in cands])
    idx = np.searchsorted(feats, all_f)
    idx[idx >= len(feats)] = 0
    contrib = np.where(feats[idx] == all_f, weights[idx] * all_w, np.float32(0))
    seg = np.repeat(np.arange(len(cands)), [len(d.feats) for d in cands])
    dots = np.bincount(seg, weights=contrib, minlength=len(cands))
    sims = dots / (norm * np.array([d.norm for d in cands]))
    per_story: dict[int, list[float]] = {}
    for doc, sim in zip(cands, sims.tolist(), strict=True):
        per_story.setdefault(doc.story, []).append(sim)
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
