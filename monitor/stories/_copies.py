"""Copy candidates and the copy decision.

Three ways in, cheapest first: the exact body (hash of the token sequence), exact sentences (a sentence
index holding each article's lead sentences and a hash-chosen sample of the others) and LSH over the
MinHash signature. Candidates are ranked by the number of bands and sentences they share; the best few
are checked with the estimated Jaccard similarity and the exact sentence containment.

The three tables map a hash to article rows (:class:`Multimap`, about 12 bytes an entry instead of a
dict's 100). Deletion is lazy: rows of pruned articles are skipped when read and dropped at the next
merge. The body table holds only the article that owns a body hash (the first one indexed while no
live article owned it), as the first version's ``dict.setdefault`` did.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from monitor.stories._minhash import U32, LshBands
from monitor.stories._multimap import Multimap
from monitor.stories._text import U64
from monitor.stories._types import StoryConfig

I64 = npt.NDArray[np.int64]
Rows = Callable[[], npt.NDArray[np.bool_]]


class CopyIndex:
    def __init__(self, config: StoryConfig, alive: Rows) -> None:
        """``alive()`` returns the article table's current ``alive`` column."""
        self.config = config
        self.lsh = LshBands(bands=config.lsh_bands, rows=config.lsh_rows)
        self._alive = alive

        def keep(rows: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
            return np.asarray(alive()[rows], dtype=np.bool_)

        self._bands = Multimap(keep=keep, pending_limit=1 << 15)
        self._sentences = Multimap(keep=keep, pending_limit=1 << 15)
        self._bodies = Multimap(keep=keep)

    @property
    def nbytes(self) -> int:
        return self._bands.nbytes + self._sentences.nbytes + self._bodies.nbytes

    def sampled(self, ordered: U64) -> U64:
        """The sentence hashes to index: the lead, and those whose hash value picks them.

        Sampling by hash value is consistent across articles, so a sentence two texts share is sampled
        in both or in neither; a trimmed copy of 20 sentences still shares about 5 sampled ones.
        """
        return self.sampled_of(ordered.tolist())

    def sampled_of(self, ordered: list[int]) -> U64:
        """:meth:`sampled` of the hashes as a list (an article's dozen sentences: no numpy calls)."""
        cfg = self.config
        mod = cfg.sentence_sample_mod
        lead = ordered[: cfg.lead_sentences_indexed]
        return np.array(list(dict.fromkeys([*lead, *(h for h in ordered if h % mod == 0)])), dtype=np.uint64)

    def same_body(self, body_hash: int) -> int | None:
        """The row owning this exact body, if it is still alive."""
        alive = self._alive()
        for row in self._bodies.get(body_hash):
            if alive[row]:
                return row
        return None

    def candidates(self, band_keys: U64, sents: U64, ids: I64) -> list[int]:
        """Rows sharing LSH bands or indexed sentences, most shared first, then lowest article id (at
        most ``copy_max_candidates``). Counted in Python: there are rarely more than a few dozen."""
        _, by_band = self._bands.find(band_keys)
        _, by_sentence = self._sentences.find(sents)
        alive = self._alive()
        votes: dict[int, int] = {}
        for row in [*by_band.tolist(), *by_sentence.tolist()]:
            if alive[row]:
                votes[row] = votes.get(row, 0) + 1
        if not votes:
            return []
        rows = list(votes)
        keys = zip((-votes[r] for r in rows), ids[rows].tolist(), rows, strict=True)
        return [row for _, _, row in sorted(keys)[: self.config.copy_max_candidates]]

    def insert(self, row: int, band_keys: U64, indexed: U64, body_hash: int | None) -> None:
        """Index a row; ``body_hash`` None when a live row owns the body already (the caller looked it
        up for the copy check: :meth:`same_body`)."""
        self._bands.add_keys(band_keys.tolist(), row)
        self._sentences.add_keys(indexed.tolist(), row)
        if body_hash is not None:
            self._bodies.add(body_hash, row)

    def bulk(self, band_keys: U64, indexed: U64, indexed_rows: I64, bodies: U64) -> None:
        """Index rows 0..n-1 at once (reading a state file); ``band_keys`` has one row per article.
        The first article of each body hash owns it, as when they are inserted in order."""
        n, bands = band_keys.shape
        self._bands.bulk(band_keys.reshape(-1), np.repeat(np.arange(n), bands))
        self._sentences.bulk(indexed, indexed_rows)
        _, first = np.unique(bodies, return_index=True)
        self._bodies.bulk(bodies[first], first)

    def remap(self, mapping: I64) -> None:
        for table in (self._bands, self._sentences, self._bodies):
            table.remap(mapping)

    def indexed(self, rows: I64) -> tuple[U64, I64]:
        """The indexed sentence hashes of ``rows`` (for the state file): flat, and offsets into it."""
        keys, vals = self._sentences.items()
        where = np.full(int(rows.max()) + 1 if len(rows) else 1, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        at = where[vals] if len(vals) else np.zeros(0, dtype=np.int64)
        mine = at >= 0
        at, keys = at[mine], keys[mine]
        order = np.argsort(at, kind="stable")
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(at, minlength=len(rows)), out=offsets[1:])
        return keys[order], offsets


def copy_scores(
    config: StoryConfig, sig: U32, sents: U64, sigs: U32, flat: U64, lens: I64
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """(is a copy, score) for every candidate in one vectorised pass.

    The score is the Jaccard estimate, or the sentence containment when that decides: the containment
    test catches trimmed copies, whose Jaccard similarity falls with the cut while every remaining
    sentence is still found in the original. ``sigs`` has one candidate per row; ``flat``/``lens`` are
    their sorted, unique sentence hashes, one range after the other.
    """
    n = len(sigs)
    jac = np.count_nonzero(sigs == sig, axis=1) / len(sig)
    is_copy = jac >= config.copy_threshold
    if not len(sents):
        return is_copy, jac
    idx = np.searchsorted(sents, flat)
    idx[idx >= len(sents)] = 0
    found = (sents[idx] == flat).astype(np.float64)  # both sides are sorted and unique
    shared = np.bincount(np.repeat(np.arange(n), lens), weights=found, minlength=n)
    containment = shared / np.maximum(np.minimum(lens, len(sents)), 1)
    contained = (
        (lens > 0) & (shared >= config.copy_min_shared_sentences) & (containment >= config.copy_containment)
    )
    return is_copy | contained, np.where(contained, np.maximum(jac, containment), jac)
