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

from monitor.stories._growable import gather_prefix, gather_ranges, new, ranges, resize
from monitor.stories._memory import release

__all__ = ["NO_COPY", "DocTable", "Times", "ranges"]

_U32_MAX = (1 << 32) - 1
NO_COPY = np.iinfo(np.int64).min  # copy_of of an original


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
        self.sents = new(1024, np.uint64)
        self.s_used = 0
        self.fids = new(4096, np.int32)
        self.fweights = new(4096, np.float32)
        self.f_used = 0

    def _alloc(self, cap: int) -> None:
        """Fresh columns (large ones mapped: they grow and shrink in place, see _growable.py)."""
        self.cap = cap
        self.ids = new(cap, np.int64)
        self.ts = new(cap, np.float64)
        self.zone = new(cap, np.uint16)
        self.source = new(cap, np.uint32)
        self.story = new(cap, np.int32)  # row of the story table
        self.copy_of = new(cap, np.int64)
        self.body = new(cap, np.uint64)
        self.norm = new(cap, np.float32)
        self.alive = new(cap, np.bool_)
        self.s_off = new(cap, np.uint32)
        self.s_len = new(cap, np.uint32)
        self.f_off = new(cap, np.uint32)
        self.f_len = new(cap, np.uint32)
        self.sig = new((cap, self.num_perm), np.uint32)

    _COLUMNS: tuple[str, ...] = ("ids", "ts", "zone", "source", "story", "copy_of", "body", "norm", "alive")
    _COLUMNS += ("s_off", "s_len", "f_off", "f_len", "sig")

    def _grow(self, cap: int) -> None:
        """Every column to ``cap`` rows; new rows are zero (``alive`` False)."""
        for name in self._COLUMNS:
            resize(self, name, cap)
        self.cap = cap
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
            resize(self, "sents", max(off + k, len(self.sents) * 3 // 2))
            release(self.sents.nbytes)
        self.sents[off : off + k] = sents
        self.s_used = _checked(off + k)
        return off, k

    def _put_features(self, fids: npt.NDArray[Any], weights: npt.NDArray[Any]) -> tuple[int, int]:
        off, k = self.f_used, len(fids)
        if off + k > len(self.fids):
            size = max(off + k, len(self.fids) * 3 // 2)
            resize(self, "fids", size)
            resize(self, "fweights", size)
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
        """Drop dead rows and the pooled data only they used; returns the old -> new row mapping.

        In place (kept rows and ranges move to the front, a chunk at a time), then every array is cut
        to its new length and a quarter more: no compacted copy beside the original (_growable.py)."""
        keep = self.live_rows()
        n = len(keep)
        mapping = np.full(max(self.n, 1), -1, dtype=np.int64)
        mapping[keep] = np.arange(n)
        for name in self._COLUMNS:
            gather_prefix(getattr(self, name), keep)
        self.n = self.live = n
        self.alive[n:] = False
        # sentence ranges are never shared, and they are in row order
        s_len = self.s_len[:n].astype(np.int64)
        self.s_used = gather_ranges(self.sents, self.s_off[:n], s_len)
        self.s_off[:n] = np.cumsum(s_len) - s_len
        # feature ranges are shared between an original and its copies: pack each distinct one once
        f_off, f_len = self.f_off[:n], self.f_len[:n]
        key = (f_off.astype(np.uint64) << np.uint64(32)) | f_len.astype(np.uint64)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        u_off, u_len = f_off[first].astype(np.int64), f_len[first].astype(np.int64)
        gather_ranges(self.fweights, u_off, u_len)
        self.f_used = gather_ranges(self.fids, u_off, u_len)
        new_off = np.cumsum(u_len) - u_len
        self.f_off[:n] = new_off[inverse.reshape(-1)]
        keep_codes = self.sources.keep_only(self.source[:n])
        self.source[:n] = keep_codes[self.source[:n]]
        self.cap = max(256, n * 5 // 4)
        for name in self._COLUMNS:
            resize(self, name, self.cap)
        resize(self, "sents", max(self.s_used * 5 // 4, 1024))
        resize(self, "fids", max(self.f_used * 5 // 4, 1024))
        resize(self, "fweights", len(self.fids))
        release(self.sig.nbytes)
        return mapping

    def remap_features(self, mapping: npt.NDArray[np.int64]) -> None:
        """Renumber the pooled feature ids (the vocabulary was compacted)."""
        used = self.fids[: self.f_used]
        used[:] = mapping[used]


def _fresh(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    out = new(max(len(arr) * 5 // 4, 1024), arr.dtype)
    out[: len(arr)] = arr
    return out


def _checked(used: int) -> int:
    if used > _U32_MAX:
        raise OverflowError("story index pool exceeds 2**32 entries")
    return used
