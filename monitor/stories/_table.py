"""The articles of the window as columns: one row per article, rows in arrival order.

Why columns: the first version kept a ``_Doc`` object per article holding five small numpy arrays, and
every array costs about 100 bytes of header before its data; with the dicts around them an article cost
~13 KB. Here an article is one row of fixed-width numpy columns (its MinHash signature is a row of a 2-D
array) plus two ranges in flat pools (sentence hashes; feature ids with their weights), about 60 bytes
besides its signature and pooled data.

Rows are only appended; a pruned or forgotten article leaves a dead row (``alive`` False) until
``compact`` drops the dead rows and returns the old-to-new row mapping that every structure holding
row numbers must apply. Order is kept, so a smaller row is always an earlier arrival (the copy check's
tie-break relies on it). A copy shares its original's feature range instead of a copy of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.stories._memory import release

_U32_MAX = (1 << 32) - 1
NO_COPY = np.iinfo(np.int64).min  # copy_of of an original


def ranges(offsets: npt.NDArray[Any], lengths: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Positions of the concatenated ranges [offset, offset + length), in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts = np.asarray(offsets, dtype=np.int64) - np.cumsum(lengths) + lengths
    out: npt.NDArray[np.int64] = np.arange(total, dtype=np.int64) + np.repeat(starts, lengths)
    return out


class Codes:
    """Small tables of repeated values (outlets, time zones) stored in the rows as integer codes."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._code: dict[Any, int] = {}

    def code(self, value: Any) -> int:
        code = self._code.get(value)
        if code is None:
            code = self._code[value] = len(self.values)
            self.values.append(value)
        return code

    def keep_only(self, used: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
        """Drop the values no row uses; returns the old -> new code mapping."""
        mapping = np.full(max(len(self.values), 1), -1, dtype=np.int64)
        kept = np.unique(np.asarray(used, dtype=np.int64))
        mapping[kept] = np.arange(len(kept))
        self.values = [self.values[i] for i in kept.tolist()]
        self._code = {v: i for i, v in enumerate(self.values)}
        return mapping


class Times:
    """Datetimes as (UTC timestamp, zone code): code 0 is naive (read as UTC), others a tzinfo.

    ``datetime.timestamp`` of a microsecond-resolution date is exact to well under half a microsecond
    for any date before 2106, so ``when`` gives back an equal datetime in the same zone.
    """

    def __init__(self) -> None:
        self._zones = Codes()
        self._zones.code(None)

    def split(self, when: datetime) -> tuple[float, int]:
        zone = when.tzinfo
        ts = (when if zone else when.replace(tzinfo=UTC)).timestamp()
        return ts, self._zones.code(zone)

    def when(self, ts: float, zone: int) -> datetime:
        tz: tzinfo | None = self._zones.values[zone]
        if tz is None:
            return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)
        return datetime.fromtimestamp(ts, tz)


class DocTable:
    """Columns of the window's articles; see the module docstring."""

    def __init__(self, *, num_perm: int, capacity: int = 256) -> None:
        self.num_perm = num_perm
        self.n = 0  # rows used, dead ones included
        self.live = 0
        self.sources = Codes()
        self.times = Times()
        self._alloc(capacity)
        self.sents = np.zeros(1024, dtype=np.uint64)
        self.s_used = 0
        self.fids = np.zeros(4096, dtype=np.int32)
        self.fweights = np.zeros(4096, dtype=np.float32)
        self.f_used = 0

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        self.ids = np.empty(cap, dtype=np.int64)
        self.ts = np.empty(cap, dtype=np.float64)
        self.zone = np.empty(cap, dtype=np.uint16)
        self.source = np.empty(cap, dtype=np.uint32)
        self.story = np.empty(cap, dtype=np.int32)  # row of the story table
        self.copy_of = np.empty(cap, dtype=np.int64)
        self.body = np.empty(cap, dtype=np.uint64)
        self.norm = np.empty(cap, dtype=np.float32)
        self.alive = np.zeros(cap, dtype=np.bool_)
        self.s_off = np.empty(cap, dtype=np.uint32)
        self.s_len = np.empty(cap, dtype=np.uint32)
        self.f_off = np.empty(cap, dtype=np.uint32)
        self.f_len = np.empty(cap, dtype=np.uint32)
        self.sig = np.empty((cap, self.num_perm), dtype=np.uint32)

    _COLUMNS: tuple[str, ...] = ("ids", "ts", "zone", "source", "story", "copy_of", "body", "norm", "alive")
    _COLUMNS += ("s_off", "s_len", "f_off", "f_len", "sig")

    def _grow(self, cap: int) -> None:
        old = {name: getattr(self, name) for name in self._COLUMNS}
        self._alloc(cap)
        for name, arr in old.items():
            getattr(self, name)[: self.n] = arr[: self.n]
        del old
        release(self.sig.nbytes)

    @property
    def nbytes(self) -> int:
        cols = sum(getattr(self, name)[: self.n].nbytes for name in self._COLUMNS)
        return int(cols + self.s_used * 8 + self.f_used * 8)

    # -- rows -----------------------------------------------------------------------------------------

    def append(
        self,
        *,
        article_id: int,
        ts: float,
        zone: int,
        source: str,
        story: int,
        copy_of: int | None,
        body_hash: int,
        norm: float,
        sig: npt.NDArray[np.uint32],
        sents: npt.NDArray[np.uint64],
        features: tuple[int, int] | tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]],
    ) -> int:
        """Add a row; ``features`` is (fids, weights), or the (offset, length) of a range to share."""
        if self.n == self.cap:
            self._grow(max(self.cap * 3 // 2, 256))
        row = self.n
        self.ids[row] = article_id
        self.ts[row] = ts
        self.zone[row] = zone
        self.source[row] = self.sources.code(source)
        self.story[row] = story
        self.copy_of[row] = NO_COPY if copy_of is None else copy_of
        self.body[row] = body_hash
        self.norm[row] = norm
        self.alive[row] = True
        self.sig[row] = sig
        self.s_off[row], self.s_len[row] = self._put_sents(sents)
        first, second = features
        if isinstance(first, int) and isinstance(second, int):
            self.f_off[row], self.f_len[row] = first, second
        else:
            self.f_off[row], self.f_len[row] = self._put_features(np.asarray(first), np.asarray(second))
        self.n += 1
        self.live += 1
        return row

    def _put_sents(self, sents: npt.NDArray[np.uint64]) -> tuple[int, int]:
        off, k = self.s_used, len(sents)
        if off + k > len(self.sents):
            self.sents = _grown(self.sents, off + k)
            release(self.sents.nbytes)
        self.sents[off : off + k] = sents
        self.s_used = _checked(off + k)
        return off, k

    def _put_features(self, fids: npt.NDArray[Any], weights: npt.NDArray[Any]) -> tuple[int, int]:
        off, k = self.f_used, len(fids)
        if off + k > len(self.fids):
            self.fids = _grown(self.fids, off + k)
            self.fweights = _grown(self.fweights, off + k)
            release(self.fids.nbytes)
        self.fids[off : off + k] = fids
        self.fweights[off : off + k] = weights
        self.f_used = _checked(off + k)
        return off, k

    def load(
        self,
        columns: dict[str, npt.NDArray[Any]],
        sents: npt.NDArray[Any],
        fids: npt.NDArray[Any],
        weights: npt.NDArray[Any],
    ) -> None:
        """Fill an empty table at once (reading a state file): every column of ``_COLUMNS`` but
        ``alive`` and the pool offsets, which follow from the lengths."""
        n = len(columns["ids"])
        self._alloc(max(256, n * 5 // 4))
        for name, arr in columns.items():
            getattr(self, name)[:n] = arr
        self.alive[:n] = True
        self.s_off[:n] = np.cumsum(columns["s_len"], dtype=np.int64) - columns["s_len"]
        self.f_off[:n] = np.cumsum(columns["f_len"], dtype=np.int64) - columns["f_len"]
        self.sents, self.fids, self.fweights = _fresh(sents), _fresh(fids), _fresh(weights)
        self.s_used, self.f_used = _checked(len(sents)), _checked(len(fids))
        self.n = self.live = n

    def kill(self, row: int) -> None:
        self.alive[row] = False
        self.live -= 1

    def features_of(self, row: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        off = int(self.f_off[row])
        end = off + int(self.f_len[row])
        return self.fids[off:end], self.fweights[off:end]

    def published(self, row: int) -> datetime:
        return self.times.when(float(self.ts[row]), int(self.zone[row]))

    def copy_of_at(self, row: int) -> int | None:
        value = int(self.copy_of[row])
        return None if value == NO_COPY else value

    def live_rows(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.alive[: self.n])

    # -- compaction -----------------------------------------------------------------------------------

    def compact(self) -> npt.NDArray[np.int64]:
        """Drop dead rows and the pooled data only they used; returns the old -> new row mapping."""
        keep = self.live_rows()
        mapping = np.full(max(self.n, 1), -1, dtype=np.int64)
        mapping[keep] = np.arange(len(keep))
        old = {name: getattr(self, name)[keep] for name in self._COLUMNS}
        old_sents, old_fids, old_weights = self.sents, self.fids, self.fweights
        self._alloc(max(256, len(keep) * 5 // 4))
        for name, arr in old.items():
            getattr(self, name)[: len(keep)] = arr
        self.n = self.live = len(keep)
        # sentence ranges are never shared
        pos = ranges(old["s_off"], old["s_len"])
        self.sents = _fresh(old_sents[pos])
        self.s_used = len(pos)
        self.s_off[: self.n] = np.cumsum(old["s_len"], dtype=np.int64) - old["s_len"]
        # feature ranges are shared between an original and its copies: pack each distinct one once
        key = (old["f_off"].astype(np.uint64) << np.uint64(32)) | old["f_len"].astype(np.uint64)
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        u_off, u_len = old["f_off"][first], old["f_len"][first]
        pos = ranges(u_off, u_len)
        self.fids, self.fweights = _fresh(old_fids[pos]), _fresh(old_weights[pos])
        self.f_used = len(pos)
        new_off = np.cumsum(u_len, dtype=np.int64) - u_len
        self.f_off[: self.n] = new_off[inverse.reshape(-1)]
        keep_codes = self.sources.keep_only(self.source[: self.n])
        self.source[: self.n] = keep_codes[self.source[: self.n]]
        del uniq, old, old_sents, old_fids, old_weights
        release(self.sig.nbytes)
        return mapping

    def remap_features(self, mapping: npt.NDArray[np.int64]) -> None:
        """Renumber the pooled feature ids (the vocabulary was compacted)."""
        used = self.fids[: self.f_used]
        used[:] = mapping[used]


def _grown(arr: npt.NDArray[Any], need: int) -> npt.NDArray[Any]:
    out = np.empty(max(need, len(arr) * 3 // 2), dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _fresh(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    out = np.empty(max(len(arr) * 5 // 4, 1024), dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _checked(used: int) -> int:
    if used > _U32_MAX:
        raise OverflowError("story index pool exceeds 2**32 entries")
    return used
