"""A compact ``uint64 -> int`` multimap: the index's lookup tables (LSH bands, sentences, ids, features).

Why not a dict: a Python dict of ints costs about 100 bytes per entry (a boxed key, a boxed value and
the slot), and at 200,000 articles the index holds several million such entries. Here the bulk lives in
two sorted numpy arrays (12 bytes per entry: the uint64 key and an int32 value) and only the latest
inserts sit in a small dict, merged into the arrays when it fills: one O(n) ``np.insert`` amortised over
thousands of inserts.

Deletion is lazy: a reader filters out the values it knows to be dead, and a merge drops the values a
``keep`` predicate rejects (every few merges, or on ``merge()``). Values are non-negative ints (row numbers).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from monitor.stories import _growable
from monitor.stories._growable import compress_prefix, resize
from monitor.stories._memory import release

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Values = npt.NDArray[np.int32]
Keep = Callable[[Values], npt.NDArray[np.bool_]]
_NONE = np.zeros(0, dtype=np.int64)


class Multimap:
    """Sorted arrays plus a small pending dict; see the module docstring."""

    def __init__(
        self, *, pending_limit: int = 1 << 13, keep: Keep | None = None, purge_every: int = 8
    ) -> None:
        self._keys: U64 = np.zeros(0, dtype=np.uint64)
        self._vals: Values = np.zeros(0, dtype=np.int32)
        self._pending: dict[int, int | list[int]] = {}
        self._n_pending = 0
        self._merges = 0
        self.pending_limit = pending_limit
        self.keep = keep
        self.purge_every = purge_every  # merges between two purges of the sorted arrays

    def __len__(self) -> int:
        return len(self._keys) + self._n_pending

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._vals.nbytes)

    # -- writing --------------------------------------------------------------------------------------

    def add(self, key: int, value: int) -> None:
        cur = self._pending.get(key)
        if cur is None:
            self._pending[key] = value
        elif isinstance(cur, int):
            self._pending[key] = [cur, value]
        else:
            cur.append(value)
        self._n_pending += 1
        if self._n_pending >= self.pending_limit:
            self._merges += 1
            self.merge(purge=self._merges % self.purge_every == 0)

    def add_keys(self, keys: list[int], value: int) -> None:
        """The same value under several keys (the bands or sentences of one article)."""
        pending = self._pending
        for key in keys:
            cur = pending.get(key)
            if cur is None:
                pending[key] = value
            elif isinstance(cur, int):
                pending[key] = [cur, value]
            else:
                cur.append(value)
        self._n_pending += len(keys)
        if self._n_pending >= self.pending_limit:
            self._merges += 1
            self.merge(purge=self._merges % self.purge_every == 0)

    def bulk(self, keys: U64, values: npt.NDArray[np.integer]) -> None:
        """Many entries at once (rebuilding after a load): merged straight into the arrays."""
        self.merge()
        self._merge_arrays(np.asarray(keys, dtype=np.uint64), np.asarray(values, dtype=np.int32), self.keep)

    def merge(self, *, purge: bool = True) -> None:
        """Move the pending entries into the sorted arrays, dead ones left out; with ``purge``, drop
        the dead values of the arrays too (an O(n) pass, which an automatic merge does only now and
        then)."""
        keep = self.keep
        if purge and keep is not None and len(self._vals):
            alive = keep(self._vals)
            if not alive.all():
                self._cut(compress_prefix((self._keys, self._vals), alive))
        self._flush(keep)

    def _cut(self, n: int) -> None:
        resize(self, "_keys", n)
        resize(self, "_vals", n)

    def _flush(self, keep: Keep | None) -> None:
        if not self._pending:
            return
        keys: list[int] = []
        vals: list[int] = []
        for key, cur in self._pending.items():
            if isinstance(cur, int):
                keys.append(key)
                vals.append(cur)
            else:
                keys.extend([key] * len(cur))
                vals.extend(cur)
        self._pending = {}
        self._n_pending = 0
        self._merge_arrays(np.array(keys, dtype=np.uint64), np.array(vals, dtype=np.int32), keep)

    def _merge_arrays(self, keys: U64, vals: Values, keep: Keep | None) -> None:
        if keep is not None and len(vals):
            alive = keep(vals)
            keys, vals = keys[alive], vals[alive]
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        keys, vals = keys[order], vals[order]
        at = np.searchsorted(self._keys, keys, side="right")
        # np.insert(self._keys, at, keys) in place: the arrays grow (mremap, _growable.py), then from the
        # back, one chunk of old entries at a time, the chunk merged with the new keys that fall in it
        # goes to its final place, which is at or after where the chunk was.
        n, k = len(self._keys), len(keys)
        self._cut(n + k)
        hi, k_hi = n, k
        while hi > 0:
            lo = max(0, hi - _growable.CHUNK)
            k_lo = int(np.searchsorted(at, lo, side="left")) if lo else 0
            part = at[k_lo:k_hi] - lo
            self._keys[lo + k_lo : hi + k_hi] = np.insert(self._keys[lo:hi], part, keys[k_lo:k_hi])
            self._vals[lo + k_lo : hi + k_hi] = np.insert(self._vals[lo:hi], part, vals[k_lo:k_hi])
            hi, k_hi = lo, k_lo
        if not n:
            self._keys[:] = keys
            self._vals[:] = vals
        release(self.nbytes)

    def remap(self, mapping: npt.NDArray[np.integer]) -> None:
        """Renumber every value through ``mapping`` (old -> new, negative: drop the entry). The rows
        are renumbered already, so ``keep`` cannot judge the old values: the mapping does."""
        self._flush(None)
        mapping = np.asarray(mapping, dtype=np.int64)
        step = _growable.CHUNK
        for lo in range(0, len(self._vals), step):  # in place: each value is read before it is written
            part = self._vals[lo : lo + step]
            part[:] = mapping[part]
        self._cut(compress_prefix((self._keys, self._vals), self._vals >= 0))
        release(self.nbytes)

    # -- reading --------------------------------------------------------------------------------------

    def get(self, key: int) -> list[int]:
        """Every value stored under ``key`` (dead ones included: the caller filters)."""
        out: list[int] = []
        keys = self._keys
        if len(keys):
            k = np.uint64(key)
            lo = int(np.searchsorted(keys, k, side="left"))
            if lo < len(keys) and keys[lo] == k:
                hi = int(np.searchsorted(keys, k, side="right"))
                out = self._vals[lo:hi].tolist()
        cur = self._pending.get(key)
        if cur is not None:
            if isinstance(cur, int):
                out.append(cur)
            else:
                out.extend(cur)
        return out

    def find(self, keys: U64) -> tuple[I64, I64]:
        """(position in ``keys``, value) of every entry under any of ``keys``; dead ones included."""
        qs: list[I64] = []
        vs: list[I64] = []
        mk = self._keys
        size = len(mk)
        if len(keys) and size:
            lo = np.searchsorted(mk, keys)
            lo_c = np.minimum(lo, size - 1)
            hit = mk[lo_c] == keys
            if hit.any():
                q = np.flatnonzero(hit)
                first = lo_c[q]
                more = mk[np.minimum(first + 1, size - 1)] == keys[q]
                more &= first + 1 < size
                if not more.any():  # the usual case: one entry per key
                    qs.append(q)
                    vs.append(self._vals[first].astype(np.int64))
                else:
                    cnt = np.searchsorted(mk, keys[q], side="right") - first
                    ends = np.cumsum(cnt)
                    pos = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(first - (ends - cnt), cnt)
                    qs.append(np.repeat(q, cnt))
                    vs.append(self._vals[pos].astype(np.int64))
        if self._pending:
            pq: list[int] = []
            pv: list[int] = []
            for i, cur in enumerate(map(self._pending.get, keys.tolist())):
                if cur is None:
                    continue
                if isinstance(cur, int):
                    pq.append(i)
                    pv.append(cur)
                else:
                    pq.extend([i] * len(cur))
                    pv.extend(cur)
            if pq:
                qs.append(np.array(pq, dtype=np.int64))
                vs.append(np.array(pv, dtype=np.int64))
        if not qs:
            return _NONE, _NONE
        if len(qs) == 1:
            return qs[0], vs[0]
        return np.concatenate(qs), np.concatenate(vs)

    def find_unique(self, keys: U64) -> I64:
        """The value under each key, -1 where none, for a table that holds one value per key."""
        out = np.full(len(keys), -1, dtype=np.int64)
        mk = self._keys
        if len(keys) and len(mk):
            lo = np.minimum(np.searchsorted(mk, keys), len(mk) - 1)
            hit = mk[lo] == keys
            out[hit] = self._vals[lo[hit]]
        if self._pending:
            for i, cur in enumerate(map(self._pending.get, keys.tolist())):
                if cur is not None:
                    out[i] = cur
        return out

    def items(self) -> tuple[U64, Values]:
        """All (key, value) entries, sorted by key (after a merge)."""
        self.merge()
        return self._keys, self._vals
