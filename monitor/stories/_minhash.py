"""MinHash signatures and a banded LSH table, in numpy.

Written here rather than taken from ``datasketch`` because of cost: datasketch hashes every shingle with
SHA-1 in Python and takes about 2.5 ms for a 1,000-word article, while the vectorised multiply-shift
scheme below takes about 0.15 ms with the same estimator (see docs/stories.md). The estimator is the
classic one: the share of equal signature slots estimates the Jaccard similarity of the shingle sets.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.stories._text import U64

U32 = npt.NDArray[np.uint32]
_SHIFT = np.uint64(32)
_EMPTY = np.uint32(0xFFFFFFFF)
_S29 = np.uint64(29)
_MIX0 = np.uint64(0x9FB21C651E98DF25)
_MIX1 = np.uint64(0xC2B2AE3D27D4EB4F)


class MinHasher:
    """``num_perm`` universal hash functions h(x) = (a*x + b) >> 32 over uint64 shingle hashes."""

    def __init__(self, *, num_perm: int, seed: int = 0x5EED) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self._a = (rng.integers(1, 2**63, num_perm, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
        self._b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)

    def signature(self, shingles: U64) -> U32:
        if len(shingles) == 0:
            return np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        mixed = (np.multiply.outer(self._a, shingles) + self._b[:, None]) >> _SHIFT
        return np.asarray(mixed.min(axis=1), dtype=np.uint32)


def jaccard(a: U32, b: U32) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


Buckets = dict[int, int | list[int]]


def bucket_add(buckets: Buckets, key: int, article_id: int) -> None:
    """Multimap insert; a bucket of one is a bare int (the common case, and much smaller)."""
    cur = buckets.get(key)
    if cur is None:
        buckets[key] = article_id
    elif isinstance(cur, int):
        buckets[key] = [cur, article_id]
    else:
        cur.append(article_id)


def bucket_remove(buckets: Buckets, key: int, article_id: int) -> None:
    cur = buckets.get(key)
    if cur is None:
        return
    if isinstance(cur, int):
        if cur == article_id:
            del buckets[key]
    elif article_id in cur:
        cur.remove(article_id)
        if len(cur) == 1:
            buckets[key] = cur[0]


def bucket_vote(buckets: Buckets, keys: list[int], votes: dict[int, int]) -> None:
    """Add one vote per key to every article in that key's bucket."""
    for key in keys:
        cur = buckets.get(key)
        if cur is None:
            continue
        if isinstance(cur, int):
            votes[cur] = votes.get(cur, 0) + 1
        else:
            for other in cur:
                votes[other] = votes.get(other, 0) + 1


class LshTable:
    """Banded LSH: two signatures that agree on all rows of any band become candidates.

    One dict holds every band (the band number is mixed into the key).
    """

    def __init__(self, *, bands: int, rows: int) -> None:
        self.bands = bands
        self.rows = rows
        self._buckets: Buckets = {}
        self._band_salt = np.arange(bands, dtype=np.uint64) * np.uint64(0xA24BAED4963EE407)

    def keys(self, sig: U32) -> list[int]:
        """One stable key per band: the band's rows mixed together with the band number."""
        rows = sig[: self.bands * self.rows].reshape(self.bands, self.rows).astype(np.uint64)
        acc = rows[:, 0] * _MIX0 + self._band_salt
        for j in range(1, self.rows):
            acc = (acc ^ (acc >> _S29)) * _MIX1 + rows[:, j]
        return [int(k) for k in acc]

    def insert(self, article_id: int, keys: list[int]) -> None:
        for key in keys:
            bucket_add(self._buckets, key, article_id)

    def vote(self, keys: list[int], votes: dict[int, int]) -> None:
        bucket_vote(self._buckets, keys, votes)

    def remove(self, article_id: int, keys: list[int]) -> None:
        for key in keys:
            bucket_remove(self._buckets, key, article_id)

    def __len__(self) -> int:
        return len(self._buckets)
