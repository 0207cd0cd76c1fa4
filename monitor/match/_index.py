"""The presearcher index: which watchlists are worth evaluating for an article.

Each watchlist is indexed under its two most selective required clauses (disjunctions of keys); it is a
candidate when both clauses have a key in the article. With 100,000 watchlists an article's keys point
at thousands of postings, so the postings are kept as numpy arrays (one CSR layout per clause) and the
work per article is a handful of vectorised calls: gather the postings of the article's keys, mark the
first clause's watchlists, keep the second clause's that are marked. Building Python sets of the same
postings cost ten times more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat

import numpy as np
import numpy.typing as npt

from monitor.match._ast import Key

__all__ = ["PostingIndex"]

_Ints = npt.NDArray[np.int64]


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

    __slots__ = ("_always", "_first", "_ids", "_second", "_size", "keys")

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
        self._first = _Postings(first)
        self._second = _Postings(second)
        self._always = np.asarray(always, dtype=np.int64)
        self._size = size

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
        first = self._first.gather(ids)
        if not len(first) and not len(self._always):
            return []
        second = self._second.gather(ids)
        marked = np.zeros(self._size, dtype=np.bool_)
        marked[first] = True
        found: list[int] = second[marked[second]].tolist()
        if len(self._always):
            found += self._always.tolist()
        # sorted and each once: a set of the hundred or so numbers costs less than ``np.unique``
        return sorted(set(found))
