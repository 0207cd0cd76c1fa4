"""Postings lists: for each feature id, the originals that carry it, in arrival order.

The lists behave exactly as the first version's ``array('q')`` per feature (the story decision depends on
their lengths and on their last entries): appended in arrival order, cut to the last
``max_postings_kept`` when they pass twice that, their dead prefix trimmed at each prune, an entry taken
out again when its article is forgotten. Dead entries behind a live one (stragglers) stay, as they did.

Storage: all lists live in one int32 arena, each in a segment [offset, offset + capacity) of which
[start, fill) is the list; a full segment moves to the end of the arena with half again the room it needs,
and the arena is packed when a quarter of it is not list entries. An entry is a row of the article table,
or, once a compaction has dropped that dead row, ``-2 - g`` for ghost g, which remembers the article id
(a straggler still counts, and sorts by its id, in the story decision).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from monitor.stories._memory import release
from monitor.stories._table import ranges

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Alive = Callable[[I64], npt.NDArray[np.bool_]]


class Postings:
    def __init__(self, *, max_kept: int) -> None:
        self.max_kept = max_kept
        self.arena: I32 = np.zeros(4096, dtype=np.int32)
        self.used = 0
        self.ghosts: I64 = np.zeros(0, dtype=np.int64)
        self._size(1024)

    def _size(self, n: int) -> None:
        self.off = np.zeros(n, dtype=np.int64)
        self.cap = np.zeros(n, dtype=np.int32)
        self.start = np.zeros(n, dtype=np.int32)
        self.fill = np.zeros(n, dtype=np.int32)

    def _resize(self, n: int, kept: I64) -> None:
        """New per-feature arrays of length ``n``; feature ``kept[i]`` becomes feature i."""
        off, cap, start, fill = self.off[kept], self.cap[kept], self.start[kept], self.fill[kept]
        self._size(n)
        k = len(kept)
        self.off[:k], self.cap[:k], self.start[:k], self.fill[:k] = off, cap, start, fill

    def reserve(self, n_features: int) -> None:
        if n_features > len(self.off):
            self._resize(max(n_features, len(self.off) * 3 // 2), np.arange(len(self.off)))

    @property
    def nbytes(self) -> int:
        return int(self.used * 4 + len(self.off) * 20 + self.ghosts.nbytes)

    def lengths(self, fids: npt.NDArray[np.integer]) -> I64:
        return np.asarray(self.fill[fids] - self.start[fids], dtype=np.int64)

    def in_use(self, n_features: int) -> npt.NDArray[np.bool_]:
        return np.asarray(self.fill[:n_features] > self.start[:n_features], dtype=np.bool_)

    # -- writing --------------------------------------------------------------------------------------

    def append(self, fids: npt.NDArray[np.integer], row: int) -> None:
        """Append ``row`` to each list. A feature listed twice gets it twice, as before; repeated
        features must be adjacent (an article's features are sorted by hash, so they are)."""
        fids = np.asarray(fids, dtype=np.int64)
        if len(fids) > 1 and (fids[1:] == fids[:-1]).any():
            for f in fids.tolist():
                self.append(np.array([f], dtype=np.int64), row)
            return
        fill = self.fill[fids]
        full = fill >= self.cap[fids]
        while full.any():  # again: a move may pack the arena, which leaves other lists full
            self._move(fids[full], extra=1)
            fill = self.fill[fids]
            full = fill >= self.cap[fids]
        self.arena[self.off[fids] + fill] = row
        fill += 1
        self.fill[fids] = fill
        over = fill - self.start[fids] > 2 * self.max_kept
        if over.any():
            cut = fids[over]
            self.start[cut] = self.fill[cut] - self.max_kept

    def _move(self, fids: I64, *, extra: int) -> None:
        """Give these lists new segments at the arena's end, half as big again as they need."""
        live = (self.fill[fids] - self.start[fids]).astype(np.int64)
        need = live + extra
        new_cap = need + (need >> 1)  # 1 for a new feature (most stay alone), then 3, 4, 6, 9...
        total = int(new_cap.sum())
        self._reserve_arena(total)
        new_off = self.used + np.cumsum(new_cap) - new_cap
        if live.any():  # not only new features: copy the entries over
            src = ranges(self.off[fids] + self.start[fids], live)
            self.arena[ranges(new_off, live)] = self.arena[src]
        self.off[fids] = new_off
        self.cap[fids] = new_cap
        self.fill[fids] = live
        self.start[fids] = 0
        self.used += total

    def _reserve_arena(self, extra: int) -> None:
        """Room for ``extra`` more entries at the end: pack when a quarter of the arena is not list
        entries (moved segments, dead prefixes, spare room), else grow it by a quarter."""
        if self.used + extra <= len(self.arena):
            return
        entries = int((self.fill - self.start).sum())
        if self.used - entries > self.used // 4:
            self.pack()
            if self.used + extra <= len(self.arena):
                return
        arena = np.empty(max(self.used + extra, len(self.arena) * 5 // 4), dtype=np.int32)
        arena[: self.used] = self.arena[: self.used]
        self.arena = arena
        release(arena.nbytes)

    def pack(self) -> None:
        """Rewrite the arena with only the lists' entries (and an eighth more room after each)."""
        n = len(self.off)
        fids = np.arange(n)
        live = (self.fill[:n] - self.start[:n]).astype(np.int64)
        new_cap = live + (live >> 3)
        src = ranges(self.off[:n] + self.start[:n], live)
        total = int(new_cap.sum())
        arena = np.empty(max(total + (total >> 3), 4096), dtype=np.int32)
        new_off = np.cumsum(new_cap) - new_cap
        arena[ranges(new_off, live)] = self.arena[src]
        self.arena = arena
        self.off[fids], self.cap[fids] = new_off, new_cap
        self.start[fids], self.fill[fids] = 0, live
        self.used = total
        release(arena.nbytes)

    def trim(self, fids: npt.NDArray[np.integer], alive: Alive) -> None:
        """Drop each list's dead prefix (after a prune)."""
        active = np.unique(np.asarray(fids, dtype=np.int64))
        while len(active):
            active = active[self.fill[active] > self.start[active]]
            if not len(active):
                break
            head = self.arena[self.off[active] + self.start[active]].astype(np.int64)
            dead = ~alive(head)
            active = active[dead]
            self.start[active] += 1
        emptied = np.asarray(fids, dtype=np.int64)
        emptied = np.unique(emptied[self.fill[emptied] == self.start[emptied]])
        if len(emptied):  # an empty list gives its segment back (the next pack reclaims it)
            self.cap[emptied] = self.start[emptied] = self.fill[emptied] = 0

    def remove_last(self, fids: npt.NDArray[np.integer], row: int) -> None:
        """Take the last occurrence of ``row`` out of each list (its article was forgotten)."""
        for f in np.asarray(fids, dtype=np.int64).tolist():
            base = int(self.off[f])
            lo, hi = base + int(self.start[f]), base + int(self.fill[f])
            hits = np.flatnonzero(self.arena[lo:hi] == row)
            if not len(hits):
                continue
            at = lo + int(hits[-1])
            self.arena[at : hi - 1] = self.arena[at + 1 : hi].copy()
            self.fill[f] -= 1
            if self.fill[f] == self.start[f]:
                self.cap[f] = self.start[f] = self.fill[f] = 0

    def bulk(self, fids: I64, rows: I64) -> None:
        """Build the lists from scratch: (feature, row) pairs in arrival order, as if appended one by
        one (a list that passed twice ``max_kept`` keeps what the cuts would have left)."""
        order = np.argsort(fids, kind="stable")
        fids, rows = fids[order], rows[order]
        uniq, first, count = np.unique(fids, return_index=True, return_counts=True)
        cap = self.max_kept
        kept = np.where(count > 2 * cap, cap + (count - 2 * cap - 1) % (cap + 1), count)
        pos = ranges(first + count - kept, kept)
        self.reserve(int(uniq.max()) + 1 if len(uniq) else 0)
        self.off[:], self.cap[:], self.start[:], self.fill[:] = 0, 0, 0, 0
        self.cap[uniq], self.fill[uniq] = kept, kept
        self.off[uniq] = np.cumsum(kept) - kept
        self.arena = np.empty(max(len(pos) * 5 // 4, 4096), dtype=np.int32)
        self.arena[: len(pos)] = rows[pos]
        self.used = len(pos)

    def keep_features(self, kept: I64, n_features: int) -> None:
        """Apply a vocabulary compaction: feature ``kept[i]`` becomes feature i."""
        self._resize(max(1024, n_features * 5 // 4), kept)

    # -- reading --------------------------------------------------------------------------------------

    def tails(self, fids: I64, takes: I64) -> I64:
        """The last ``takes[i]`` entries of list ``fids[i]``, list after list."""
        ends = self.off[fids] + self.fill[fids]
        return self.arena[ranges(ends - takes, takes)].astype(np.int64)

    # -- row renumbering ------------------------------------------------------------------------------

    def remap_rows(self, mapping: I64, old_ids: I64) -> None:
        """Apply an article-table compaction: rows renumbered, dropped rows turned into ghosts."""
        self.pack()
        pos = ranges(self.off + self.start, self.fill - self.start)
        entries = self.arena[pos].astype(np.int64)
        rows = entries >= 0
        new_rows = np.full(len(entries), -1, dtype=np.int64)
        new_rows[rows] = mapping[entries[rows]]
        ghost = new_rows < 0  # a row dropped now, or a ghost already
        ids = np.zeros(len(entries), dtype=np.int64)
        ids[rows] = old_ids[entries[rows]]
        ids[~rows] = self.ghosts[-2 - entries[~rows]]
        uniq, inverse = np.unique(ids[ghost], return_inverse=True)
        new_rows[ghost] = -2 - inverse.reshape(-1)
        self.arena[pos] = new_rows
        self.ghosts = uniq.astype(np.int64)

    def ghost_ids(self, entries: I64) -> I64:
        """The article id of each ghost entry (entries <= -2)."""
        return self.ghosts[-2 - entries]
