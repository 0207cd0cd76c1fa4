"""The stories of the window as columns: id, first and last seen, number of members still in the window.

A story lives while it has members in the window. Its members are not listed here: an article row
holds its story's row, so ``members`` is one vectorised scan of that column (rows are in arrival order,
which is the order ``members`` promises). Rows are looked up by story id through a :class:`Multimap`;
``compact`` drops closed stories and returns the old -> new row mapping for the article rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.stories._multimap import Multimap


class StoryTable:
    def __init__(self, capacity: int = 256) -> None:
        self.n = 0
        self.live = 0
        self._alloc(capacity)
        self._rows = Multimap(keep=self._alive_rows)

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        self.ids = np.empty(cap, dtype=np.int64)
        self.first_ts = np.empty(cap, dtype=np.float64)
        self.first_zone = np.empty(cap, dtype=np.uint16)
        self.last_ts = np.empty(cap, dtype=np.float64)
        self.last_zone = np.empty(cap, dtype=np.uint16)
        self.count = np.zeros(cap, dtype=np.int32)
        self.alive = np.zeros(cap, dtype=np.bool_)

    _COLUMNS = ("ids", "first_ts", "first_zone", "last_ts", "last_zone", "count", "alive")

    def _alive_rows(self, rows: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        return np.asarray(self.alive[rows], dtype=np.bool_)

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(self, c)[: self.n].nbytes for c in self._COLUMNS) + self._rows.nbytes)

    def find(self, story_id: int) -> int:
        """The live row of ``story_id``, or -1."""
        for row in self._rows.get(story_id & 0xFFFFFFFFFFFFFFFF):
            if self.alive[row]:
                return row
        return -1

    def open(self, story_id: int, ts: float, zone: int) -> int:
        if self.n == self.cap:
            old = {c: getattr(self, c)[: self.n] for c in self._COLUMNS}
            self._alloc(max(self.cap * 3 // 2, 256))
            for c, arr in old.items():
                getattr(self, c)[: self.n] = arr
        row = self.n
        self.ids[row] = story_id
        self.first_ts[row] = self.last_ts[row] = ts
        self.first_zone[row] = self.last_zone[row] = zone
        self.count[row] = 0
        self.alive[row] = True
        self.n += 1
        self.live += 1
        self._rows.add(story_id & 0xFFFFFFFFFFFFFFFF, row)
        return row

    def restore(self, story_id: int, first: tuple[float, int], last: tuple[float, int]) -> int:
        """A story read back from a state file, before its members."""
        row = self.open(story_id, *first)
        self.last_ts[row], self.last_zone[row] = last
        return row

    def join(self, row: int, ts: float, zone: int) -> None:
        """One more member seen at ``ts``: first/last seen move only on a strictly earlier/later time."""
        self.count[row] += 1
        if ts < self.first_ts[row]:
            self.first_ts[row], self.first_zone[row] = ts, zone
        if ts > self.last_ts[row]:
            self.last_ts[row], self.last_zone[row] = ts, zone

    def leave(self, rows: npt.NDArray[np.integer]) -> None:
        """Members left the window (one entry per member); a story with none left is closed."""
        if not len(rows):
            return
        np.subtract.at(self.count, rows, 1)
        touched = np.unique(rows)
        closed = touched[self.count[touched] <= 0]
        self.alive[closed] = False
        self.live -= len(closed)

    def live_rows(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.alive[: self.n])

    def compact(self) -> npt.NDArray[np.int64]:
        """Drop closed stories; returns the old -> new row mapping."""
        keep = self.live_rows()
        mapping = np.full(max(self.n, 1), -1, dtype=np.int64)
        mapping[keep] = np.arange(len(keep))
        old = {c: getattr(self, c)[keep] for c in self._COLUMNS}
        self._alloc(max(256, len(keep) * 5 // 4))
        for c, arr in old.items():
            getattr(self, c)[: len(keep)] = arr
        self.n = self.live = len(keep)
        self._rows.remap(mapping)
        return mapping
