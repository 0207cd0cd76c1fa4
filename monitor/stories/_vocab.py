"""The feature vocabulary: feature hash -> dense feature id, with the online document frequencies.

Articles store their features as int32 ids (half the size of the 64-bit hashes) and the postings lists
are indexed by id, so one lookup per article serves the IDF, the postings and the storage. The
frequencies are those of the first version (``DocumentFrequencies``): IDF = log((N + 10) / (df + 1)),
and when more than ``max_features`` features have a count, those seen only once are forgotten (their
count drops to 0, so they read as unseen). An id outlives its count while an article or a postings
list still uses it; ``compact`` renumbers the ids still in use and returns the mapping.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.stories._growable import new, resize
from monitor.stories._multimap import Multimap

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]


class Vocabulary:
    def __init__(self, *, max_features: int = 1_000_000) -> None:
        self.max_features = max_features
        self.n_docs = 0
        self.n = 0  # ids handed out
        self.counted = 0  # ids with df > 0 (the length of the first version's dict)
        self.keys: U64 = np.zeros(1024, dtype=np.uint64)
        self.df = np.zeros(1024, dtype=np.uint32)
        self._ids = Multimap(pending_limit=1 << 14)

    @property
    def nbytes(self) -> int:
        return int(self.n * 12 + self._ids.nbytes)

    def lookup(self, hashes: U64) -> I32:
        """The id of each hash, -1 for an unknown one."""
        return self._ids.find_unique(hashes).astype(np.int32)

    def ensure(self, hashes: U64, ids: I32) -> I32:
        """``ids`` with the unknown (-1) ones given new ids."""
        missing = np.flatnonzero(ids < 0)
        if not len(missing):
            return ids
        ids = ids.copy()
        wanted = hashes[missing]
        if len(set(wanted.tolist())) == len(wanted):  # the usual case: np.unique costs ten times more
            new_hashes, inverse = wanted, np.arange(len(wanted))
        else:
            new_hashes, inverse = np.unique(wanted, return_inverse=True)
        start = self.n
        self._reserve(start + len(new_hashes))
        self.keys[start : start + len(new_hashes)] = new_hashes
        self.df[start : start + len(new_hashes)] = 0
        self.n += len(new_hashes)
        for offset, h in enumerate(new_hashes.tolist()):
            self._ids.add(h, start + offset)
        ids[missing] = start + inverse.reshape(-1)
        return ids

    def _reserve(self, need: int) -> None:
        if need >= len(self.keys):  # always one slot past the ids: its df of 0 serves id -1 (idfs)
            cap = max(need + 1, len(self.keys) * 3 // 2)
            resize(self, "keys", cap)  # in place, new entries zero (_growable.py)
            resize(self, "df", cap)

    # -- document frequencies -------------------------------------------------------------------------

    def idfs(self, ids: I32) -> npt.NDArray[np.float64]:
        """IDF of each id; an unknown one (-1) reads the last slot, past every id, whose df is 0."""
        return np.log((self.n_docs + 10) / (self.df[ids] + 1.0))

    def add_document(self, ids: I32) -> None:
        self.n_docs += 1
        df = self.df[ids]
        fresh = ids[df == 0].tolist()
        if len(set(ids.tolist())) == len(ids):  # the usual case: np.add.at costs ten times more
            self.df[ids] = df + 1
        else:
            np.add.at(self.df, ids, 1)
        self.counted += len(set(fresh))
        if self.counted > self.max_features:
            # the first version's compaction: features seen only once are forgotten
            head = self.df[: self.n]
            head[head == 1] = 0
            self.counted = int(np.count_nonzero(head))

    def counts(self) -> tuple[U64, npt.NDArray[np.int64]]:
        """(hash, df) of every feature with a count (the state file's ``df_keys``/``df_values``)."""
        live = np.flatnonzero(self.df[: self.n])
        return self.keys[live], self.df[live].astype(np.int64)

    def load_counts(self, n_docs: int, keys: U64, values: npt.NDArray[Any]) -> None:
        ids = self.ensure(keys, self.lookup(keys))
        self.df[ids] = values
        self.n_docs = n_docs
        self.counted = int(np.count_nonzero(self.df[: self.n]))

    # -- compaction -----------------------------------------------------------------------------------

    def compact(self, used: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """Keep the ids with a count or marked ``used``; returns the old -> new id mapping."""
        keep = np.flatnonzero((self.df[: self.n] > 0) | used[: self.n])
        mapping = np.full(max(self.n, 1), -1, dtype=np.int64)
        mapping[keep] = np.arange(len(keep))
        keys, df = self.keys[keep], self.df[keep]
        self.n = 0
        self.keys = new(max(1024, len(keep) * 5 // 4 + 1), np.uint64)
        self.df = new(len(self.keys), np.uint32)
        self.keys[: len(keep)], self.df[: len(keep)] = keys, df
        self.n = len(keep)
        self._ids = Multimap(pending_limit=self._ids.pending_limit)
        self._ids.bulk(keys, np.arange(len(keep), dtype=np.int32))
        return mapping
