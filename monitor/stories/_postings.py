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

The four numbers of a list are one row of an int32 table (``meta``), so that an append reads and writes
all of an article's lists with one gather and one scatter: an article has a few dozen features, and at
that size each numpy call costs more than the Python arithmetic around it. A pack costs O(features), so
a pack leaves room for at least half as many entries as there are features: packs then come at
most every few thousand appends, not at every transaction of a stream that prunes all it adds.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from monitor.stories._growable import chunks, new, ranges, resize
from monitor.stories._memory import release

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Alive = Callable[[I64], npt.NDArray[np.bool_]]
OFF, CAP, START, FILL = 0, 1, 2, 3  # the columns of ``meta``
_I32_MAX = (1 << 31) - 1
_PROBE = 8  # head entries checked per list in a trim's first round (then four times more each round)


class Postings:
    def __init__(self, *, max_kept: int) -> None:
        self.max_kept = max_kept
        self.arena: I32 = new(4096, np.int32)
        self.used = 0
        self.ghosts: I64 = np.zeros(0, dtype=np.int64)
        self.meta: I32 = new((1024, 4), np.int32)

    @property
    def off(self) -> I32:
        return self.meta[:, OFF]

    @property
    def cap(self) -> I32:
        return self.meta[:, CAP]

    @property
    def start(self) -> I32:
        return self.meta[:, START]

    @property
    def fill(self) -> I32:
        return self.meta[:, FILL]

    def _resize(self, n: int, kept: I64) -> None:
        """A new table of ``n`` features; feature ``kept[i]`` becomes feature i."""
        meta = new((n, 4), np.int32)
        meta[: len(kept)] = self.meta[kept]
        self.meta = meta

    def reserve(self, n_features: int) -> None:
        if n_features > len(self.meta):  # in place (_growable.py); new rows are zero
            resize(self, "meta", max(n_features, len(self.meta) * 3 // 2))

    @property
    def nbytes(self) -> int:
        return int(self.used * 4 + self.meta.nbytes + self.ghosts.nbytes)

    def lengths(self, fids: npt.NDArray[np.integer]) -> I64:
        m = self.meta[fids]
        out: I64 = (m[:, FILL] - m[:, START]).astype(np.int64)
        return out

    def in_use(self, n_features: int) -> npt.NDArray[np.bool_]:
        return np.asarray(self.fill[:n_features] > self.start[:n_features], dtype=np.bool_)

    # -- writing --------------------------------------------------------------------------------------

    def append(self, fids: npt.NDArray[np.integer], row: int) -> None:
        """Append ``row`` to each list. A feature listed twice gets it twice, as before; repeated
        features must be adjacent (an article's features are sorted by hash, so they are)."""
        fl: list[int] = np.asarray(fids).tolist()
        if len(set(fl)) != len(fl):
            for f in fl:
                self.append(np.array([f], dtype=np.int64), row)
            return
        if not fl:
            return
        idx = np.asarray(fids).astype(np.intp)  # an int32 index array costs a conversion per use
        rows: list[int] = self.meta[idx].ravel().tolist()
        need = 0
        for cap, start, fill in zip(rows[1::4], rows[2::4], rows[3::4], strict=True):
            if fill >= cap:  # full
                need += (fill - start + 1) * 3 >> 1
        if need and self.used + need > len(self.arena):
            self._reserve_arena(need)  # may pack, which moves (and re-sizes) every list: read again
            rows = self.meta[idx].ravel().tolist()
        arena, used, limit = self.arena, self.used, 2 * self.max_kept
        pos: list[int] = []
        out: list[int] = []
        for off, cap, start, fill in zip(rows[0::4], rows[1::4], rows[2::4], rows[3::4], strict=True):
            if fill >= cap:  # full: a new segment at the arena's end, half again the room it needs
                live = fill - start
                new_cap = (live + 1) * 3 >> 1  # 1 for a new feature, then 3, 4, 6, 9...
                if used + new_cap > len(arena):  # a pack left it short: grow (lists keep their places)
                    self.used = used
                    self._grow_arena(new_cap)
                    arena = self.arena
                if live:
                    arena[used : used + live] = arena[off + start : off + fill]
                off, cap, start, fill = used, new_cap, 0, live
                used += new_cap
            pos.append(off + fill)
            fill += 1
            if fill - start > limit:
                start = fill - self.max_kept
            out += (off, cap, start, fill)
        if used > _I32_MAX:
            raise OverflowError("postings arena exceeds 2**31 entries")
        self.used = used
        arena[pos] = row
        self.meta[idx] = np.array(out, dtype=np.int32).reshape(-1, 4)

    def _reserve_arena(self, extra: int) -> None:
        """Room for ``extra`` more entries at the end: pack when a quarter of the arena is not list
        entries (moved segments, dead prefixes, spare room), else grow it by a quarter."""
        if self.used + extra <= len(self.arena):
            return
        entries = int((self.fill.astype(np.int64) - self.start).sum())
        if self.used - entries > self.used // 4:
            self.pack()
            if self.used + extra <= len(self.arena):
                return
        self._grow_arena(extra)

    def _grow_arena(self, extra: int) -> None:
        resize(self, "arena", max(self.used + extra, len(self.arena) * 5 // 4))  # in place: _growable.py
        release(self.arena.nbytes)

    def pack(self) -> None:
        """Rewrite the arena with only the lists' entries, an eighth more room after each, and room
        at the end for at least half as many entries as there are features (see the module docstring)."""
        meta = self.meta
        live = (meta[:, FILL] - meta[:, START]).astype(np.int64)
        new_cap = live + (live >> 3)
        total = int(new_cap.sum())
        if total > _I32_MAX:
            raise OverflowError("postings arena exceeds 2**31 entries")
        arena = new(total + max(total >> 3, len(meta) // 2, 4096), np.int32)
        new_off = np.cumsum(new_cap) - new_cap
        src_off = meta[:, OFF].astype(np.int64) + meta[:, START]
        bounds = chunks(live)  # a bounded number of entries at a time: positions are 8 bytes each
        for lo, hi in pairwise(bounds):
            arena[ranges(new_off[lo:hi], live[lo:hi])] = self.arena[ranges(src_off[lo:hi], live[lo:hi])]
        self.arena = arena
        meta[:, OFF], meta[:, CAP] = new_off, new_cap
        meta[:, START], meta[:, FILL] = 0, live
        self.used = total
        release(arena.nbytes)

    def trim(self, fids: npt.NDArray[np.integer], alive: Alive) -> None:
        """Drop each list's dead prefix (after a prune). The heads are checked in rounds, a few entries
        of every list at once and four times more for the lists still dead after them, so that a prune
        costs a few vectorised passes however long the dead prefixes are (``alive`` must be pure)."""
        touched = np.unique(np.asarray(fids, dtype=np.int64))
        meta = self.meta
        active = touched
        probe = _PROBE
        while len(active):
            m = meta[active].astype(np.int64)
            live = m[:, FILL] - m[:, START]
            keep = live > 0
            if not keep.all():
                active, m, live = active[keep], m[keep], live[keep]
                if not len(active):
                    break
            take = np.minimum(live, probe)
            first = np.cumsum(take) - take
            ok = alive(self.arena[ranges(m[:, OFF] + m[:, START], take)].astype(np.int64))
            # leading dead entries of each list's probe: the position of its first live one
            local = np.arange(len(ok), dtype=np.int64) - np.repeat(first, take)
            lead = np.minimum(np.minimum.reduceat(np.where(ok, local, probe), first), take)
            meta[active, START] += lead.astype(np.int32)
            more = (lead == take) & (take < live)  # every probed entry dead, and more behind them
            active = active[more]
            probe *= 4
        emptied = touched[meta[touched, FILL] == meta[touched, START]]
        if len(emptied):  # an empty list gives its segment back (the next pack reclaims it)
            meta[emptied, CAP:] = 0

    def remove_last(self, fids: npt.NDArray[np.integer], row: int) -> None:
        """Take the last occurrence of ``row`` out of each list (its article was forgotten)."""
        meta = self.meta
        for f in np.asarray(fids, dtype=np.int64).tolist():
            off, _, start, fill = meta[f].tolist()
            lo, hi = off + start, off + fill
            hits = np.flatnonzero(self.arena[lo:hi] == row)
            if not len(hits):
                continue
            at = lo + int(hits[-1])
            self.arena[at : hi - 1] = self.arena[at + 1 : hi].copy()
            meta[f, FILL] -= 1
            if fill - 1 == start:
                meta[f, CAP] = meta[f, START] = meta[f, FILL] = 0

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
        self.meta[:] = 0
        self.meta[uniq, CAP], self.meta[uniq, FILL] = kept, kept
        self.meta[uniq, OFF] = np.cumsum(kept) - kept
        if len(pos) > _I32_MAX:
            raise OverflowError("postings arena exceeds 2**31 entries")
        self.arena = new(max(len(pos) * 5 // 4, len(pos) + len(self.meta) // 4, 4096), np.int32)
        self.arena[: len(pos)] = rows[pos]
        self.used = len(pos)

    def keep_features(self, kept: I64, n_features: int) -> None:
        """Apply a vocabulary compaction: feature ``kept[i]`` becomes feature i."""
        self._resize(max(1024, n_features * 5 // 4), kept)

    # -- reading --------------------------------------------------------------------------------------

    def tails(self, fids: I64, takes: I64) -> I64:
        """The last ``takes[i]`` entries of list ``fids[i]``, list after list."""
        m = self.meta[fids]
        ends = m[:, OFF].astype(np.int64) + m[:, FILL]
        return self.arena[ranges(ends - takes, takes)].astype(np.int64)

    # -- row renumbering ------------------------------------------------------------------------------

    def remap_rows(self, mapping: I64, old_ids: I64) -> None:
        """Apply an article-table compaction: rows renumbered, dropped rows turned into ghosts.

        A bounded number of lists at a time (each entry needs a few int64 temporaries), ghosts numbered
        at the end in the order of their article ids."""
        self.pack()
        live = (self.fill - self.start).astype(np.int64)
        off = self.off.astype(np.int64) + self.start
        bounds = chunks(live)
        ghost_at: list[I64] = []
        ghost_ids: list[I64] = []
        for lo, hi in pairwise(bounds):
            pos = ranges(off[lo:hi], live[lo:hi])
            entries = self.arena[pos].astype(np.int64)
            rows = entries >= 0
            new_rows = np.full(len(entries), -1, dtype=np.int64)
            new_rows[rows] = mapping[entries[rows]]
            ghost = new_rows < 0  # a row dropped now, or a ghost already
            ids = np.zeros(len(entries), dtype=np.int64)
            ids[rows] = old_ids[entries[rows]]
            ids[~rows] = self.ghosts[-2 - entries[~rows]]
            self.arena[pos[~ghost]] = new_rows[~ghost]
            ghost_at.append(pos[ghost])
            ghost_ids.append(ids[ghost])
        at = np.concatenate(ghost_at) if ghost_at else np.zeros(0, dtype=np.int64)
        ids_all = np.concatenate(ghost_ids) if ghost_ids else np.zeros(0, dtype=np.int64)
        uniq, inverse = np.unique(ids_all, return_inverse=True)
        self.arena[at] = -2 - inverse.reshape(-1)
        self.ghosts = uniq.astype(np.int64)

    def ghost_ids(self, entries: I64) -> I64:
        """The article id of each ghost entry (entries <= -2)."""
        return self.ghosts[-2 - entries]
