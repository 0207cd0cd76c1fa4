"""The presearcher index: which watchlists are worth evaluating for an article.

Each watchlist is indexed under its two most selective required clauses (disjunctions of keys); it is a
candidate when both clauses have a key in the article. With 100,000 watchlists an article's keys point
at thousands of postings, so the postings are kept as numpy arrays (one CSR layout: a key's watchlists
for the first clause, then those for the second shifted past the last watchlist) and the work per
article is a handful of vectorised calls: gather the postings of the article's keys, mark them, keep
the watchlists marked for both clauses. Building Python sets of the same postings cost ten times more,
and gathering the two clauses apart cost a third more at 10,000 watchlists (each numpy call costs a
few microseconds, whatever its size).

A small index (at most ``SMALL`` watchlists: a deployment with tens or hundreds) also keeps each key's
postings as Python tuples and answers with two sets: its articles bring a handful of keys, and the
numpy calls cost more than the postings (13-23 us an article with 8 watchlists, against about 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat

import numpy as np
import numpy.typing as npt

from monitor.match._ast import Key

__all__ = ["PostingIndex"]

_Ints = npt.NDArray[np.int64]
SMALL = 512  # watchlists up to which candidates are found with Python sets


class _Postings:
    """Postings of one clause in CSR form: watchlists of key id ``k`` are ``data[start[k]:end[k]]``."""

    __slots__ = ("data", "end", "start")

    def __init__(self, lists: Sequence[list[int]]) -> None:
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        self.end: _Ints = np.cumsum(lengths)
        self.start: _Ints = self.end - lengths
        data = [n for postings in lists for n in postings]
        self.data: _Ints = np.asarray(data, dtype=np.int64)

    def gather(self, ids: _Ints) -> _Ints:
        """The watchlists posted under the key ids (repeats included), with no Python loop."""
        start = self.start[ids]
        lengths = self.end[ids] - start
        ends = lengths.cumsum()
        total = int(ends[-1]) if len(ends) else 0
        if total == 0:
            return self.data[:0]
        # offsets into data: each key's run start, repeated over its length, plus a running counter
        offsets = np.repeat(start - (ends - lengths), lengths)
        offsets += np.arange(total, dtype=np.int64)
        found: _Ints = self.data[offsets]
        return found


class PostingIndex:
    """Key → watchlists for the first and second index clause, and the watchlists always evaluated."""

    __slots__ = ("_always", "_both", "_ids", "_lists", "_size", "keys", "small")

    def __init__(self, clauses: Iterable[tuple[tuple[Key, ...], ...]], size: int) -> None:
        """``clauses[n]`` are the (one or two) index clauses of watchlist ``n``; none means always."""
        ids: dict[Key, int] = {}
        first: list[list[int]] = [[]]  # key id 0: keys that index nothing
        second: list[list[int]] = [[]]
        always: list[int] = []
        for n, index in enumerate(clauses):
            if not index:
                always.append(n)
                continue
            for lists, clause in ((first, index[0]), (second, index[-1])):
                for key in clause:
                    k = ids.get(key)
                    if k is None:
                        k = ids[key] = len(first)
                        first.append([])
                        second.append([])
                    lists[k].append(n)
        self._ids = ids
        self.keys = frozenset(ids)
        # a key's postings: the first clause's watchlists n, then the second clause's as size + n
        self._both = _Postings([a + [size + n for n in b] for a, b in zip(first, second, strict=True)])
        self._always = np.asarray(always, dtype=np.int64)
        self._size = size
        self.small = size <= SMALL  # tests switch it off to check the numpy path on small indexes
        self._lists = [(tuple(a), tuple(b)) for a, b in zip(first, second, strict=True)] if self.small else []

    @property
    def always(self) -> int:
        return len(self._always)

    @property
    def numbers(self) -> Mapping[Key, int]:
        """Key → its number in the postings (a key that indexes nothing is not in it: 0)."""
        return self._ids

    def key_id(self, key: Key) -> int:
        """The number of ``key`` in the postings (0 for a key that indexes nothing)."""
        return self._ids.get(key, 0)

    def candidates(self, keys: Iterable[Key], count: int) -> list[int]:
        """Sorted internal numbers of the watchlists whose two index clauses both have a key in ``keys``.

        ``count`` is the number of keys (``keys`` may be a set).
        """
        ids = np.fromiter(map(self._ids.get, keys, repeat(0)), dtype=np.int64, count=count)
        return self.candidates_of(ids)

    def candidates_of(self, ids: _Ints) -> list[int]:
        """``candidates`` for key numbers (``key_id``; repeats allowed). A fresh marker array per call
        keeps concurrent callers apart; allocating it zeroed costs less than a few set insertions."""
        if self.small:
            return self._small_candidates(ids.tolist())
        posted = self._both.gather(ids)
        if not len(posted) and not len(self._always):
            return []
        size = self._size
        marked = np.zeros(2 * size, dtype=np.bool_)
        marked[posted] = True
        found: list[int] = np.flatnonzero(marked[:size] & marked[size:]).tolist()  # sorted, each once
        if len(self._always):
            return sorted(set(found).union(self._always.tolist()))
        return found

    def _small_candidates(self, ids: list[int]) -> list[int]:
        firsts: set[int] = set()
        seconds: set[int] = set()
        lists = self._lists
        for k in ids:
            first, second = lists[k]
            firsts.update(first)
            seconds.update(second)
        firsts &= seconds
        if len(self._always):
            firsts.update(self._always.tolist())
        return sorted(firsts)
