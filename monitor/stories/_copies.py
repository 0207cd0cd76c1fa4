"""Copy candidates and the copy decision.

Three ways in, cheapest first: the exact body (hash of the token sequence), exact sentences (a sentence
index holding each article's lead sentences and a hash-chosen sample of the others) and LSH over the
MinHash signature. Candidates are ranked by the number of bands and sentences they share; the best few
are checked with the estimated Jaccard similarity and the exact sentence containment.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.stories._minhash import U32, Buckets, LshTable, bucket_add, bucket_remove, bucket_vote, jaccard
from monitor.stories._text import U64
from monitor.stories._types import StoryConfig


class CopyIndex:
    def __init__(self, config: StoryConfig) -> None:
        self.config = config
        self.lsh = LshTable(bands=config.lsh_bands, rows=config.lsh_rows)
        self._sentences: Buckets = {}
        self._bodies: dict[int, int] = {}

    def sampled(self, ordered: U64) -> U64:
        """The sentence hashes to index: the lead, and those whose hash value picks them.

        Sampling by hash value is consistent across articles, so a sentence two texts share is sampled
        in both or in neither; a trimmed copy of 20 sentences still shares about 5 sampled ones.
        """
        cfg = self.config
        lead = ordered[: cfg.lead_sentences_indexed].tolist()
        sample = ordered[ordered % np.uint64(cfg.sentence_sample_mod) == 0].tolist()
        return np.array(list(dict.fromkeys([*lead, *sample])), dtype=np.uint64)

    def same_body(self, body_hash: int) -> int | None:
        return self._bodies.get(body_hash)

    def candidates(self, lsh_keys: list[int], sents: U64) -> list[int]:
        """Article ids sharing LSH bands or indexed sentences, most shared first (at most
        ``copy_max_candidates``)."""
        votes: dict[int, int] = {}
        self.lsh.vote(lsh_keys, votes)
        bucket_vote(self._sentences, sents.tolist(), votes)
        ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        return [article_id for article_id, _ in ranked[: self.config.copy_max_candidates]]

    def insert(self, article_id: int, lsh_keys: list[int], indexed: U64, body_hash: int) -> None:
        self.lsh.insert(article_id, lsh_keys)
        for h in indexed.tolist():
            bucket_add(self._sentences, h, article_id)
        self._bodies.setdefault(body_hash, article_id)

    def remove(self, article_id: int, sig: U32, indexed: U64, body_hash: int) -> None:
        self.lsh.remove(article_id, self.lsh.keys(sig))
        for h in indexed.tolist():
            bucket_remove(self._sentences, h, article_id)
        if self._bodies.get(body_hash) == article_id:
            del self._bodies[body_hash]


def copy_score(
    config: StoryConfig, sig: U32, sents: U64, other_sig: U32, other_sents: U64
) -> tuple[bool, float]:
    """(is it a copy, score): Jaccard estimate, or sentence containment when that decides.

    The containment test catches trimmed copies, whose Jaccard similarity falls with the cut while
    every remaining sentence is still found in the original.
    """
    score = jaccard(sig, other_sig)
    is_copy = score >= config.copy_threshold
    if len(sents) and len(other_sents):
        shared = len(np.intersect1d(sents, other_sents, assume_unique=True))
        containment = shared / min(len(sents), len(other_sents))
        if shared >= config.copy_min_shared_sentences and containment >= config.copy_containment:
            return True, max(score, containment)
    return is_copy, score


def copy_scores(
    config: StoryConfig, sig: U32, sents: U64, sigs: list[U32], other_sents: list[U64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """:func:`copy_score` for many candidates in one vectorised pass: (is a copy, score) arrays."""
    n = len(sigs)
    jac = np.count_nonzero(np.stack(sigs) == sig, axis=1) / len(sig)
    is_copy = jac >= config.copy_threshold
    if not len(sents):
        return is_copy, jac
    lens = np.fromiter(map(len, other_sents), dtype=np.int64, count=n)
    flat = np.concatenate(other_sents)
    idx = np.searchsorted(sents, flat)
    idx[idx >= len(sents)] = 0
    found = (sents[idx] == flat).astype(np.float64)  # both sides are sorted and unique
    shared = np.bincount(np.repeat(np.arange(n), lens), weights=found, minlength=n)
    containment = shared / np.maximum(np.minimum(lens, len(sents)), 1)
    contained = (
        (lens > 0) & (shared >= config.copy_min_shared_sentences) & (containment >= config.copy_containment)
    )
    return is_copy | contained, np.where(contained, np.maximum(jac, containment), jac)
