"""The sentence stop-list, learned online: sentences that turn up in many different stories.

Agency sign-offs ("Reporting by ...; Editing by ..."), copyright lines and newsletter pitches are shared
by unrelated articles and would otherwise glue them together. A sentence is stop-listed once it has been
seen in ``min_stories`` different stories. Counting distinct *stories* (not articles) matters: ten wire
copies of one article share every sentence and must not stop-list each other.

Memory is fixed: a count sketch of ``depth`` rows of ``2**width_bits`` cells. Each cell keeps a saturating
count and the last story that raised it; a sentence's count is the minimum over its cells, so a rare
sentence is only stop-listed by mistake when all its cells collide with busy ones. Counts are halved every
``decay_every`` observed articles so that a sign-off nobody uses any more fades out.

A cell is three bytes: a one-byte count that saturates at 255 and a 16-bit tag of the last story. The
threshold is a handful of stories, so a count past 255 would only change how many halvings a sign-off
survives once nobody uses it: at the default threshold of 3 it fades at the seventh (after 1.4 million
articles at the default ``decay_every``), however often it was seen. A tag only has to differ from the
previous story's at that cell: two stories share one with probability 1/65,535, and then the second is
not counted there. At the default width (2**22 cells, two rows) the sketch holds 24 MB, half of what
16-bit counts and 32-bit tags took.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_DEPTH = 2
_MAX_COUNT = 0xFF
_SALTS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD6E8FEB86659FD93))


class SentenceStoplist:
    def __init__(self, *, min_stories: int, width_bits: int, decay_every: int) -> None:
        self.min_stories = min_stories
        self.width_bits = width_bits
        self.decay_every = decay_every
        size = 1 << width_bits
        self._counts = np.zeros((_DEPTH, size), dtype=np.uint8)
        self._last = np.zeros((_DEPTH, size), dtype=np.uint16)
        self._observed = 0
        self._shift = np.uint64(64 - width_bits)

    @property
    def nbytes(self) -> int:
        return int(self._counts.nbytes + self._last.nbytes)

    def _cells(self, hashes: npt.NDArray[np.uint64]) -> list[npt.NDArray[np.intp]]:
        return [((hashes * salt) >> self._shift).astype(np.intp) for salt in _SALTS]

    def stopped(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """For each sentence hash: is it on the stop-list?"""
        if len(hashes) == 0:
            return np.zeros(0, dtype=np.bool_)
        arr = np.asarray(hashes, dtype=np.uint64)
        cells = self._cells(arr)
        count = np.minimum(self._counts[0, cells[0]], self._counts[1, cells[1]])
        return np.asarray(count >= self.min_stories, dtype=np.bool_)

    def observe(self, hashes: npt.NDArray[np.uint64], story_id: int) -> None:
        """Record that these sentences appeared in an article of ``story_id``."""
        self._observed += 1
        if self.decay_every and self._observed % self.decay_every == 0:
            self._counts >>= 1
        if len(hashes) == 0:
            return
        arr = np.asarray(hashes, dtype=np.uint64)
        if len(set(arr.tolist())) != len(arr):  # a sentence repeated in one article counts once
            arr = np.unique(arr)
        tag = _tag(story_id)
        for row, cells in enumerate(self._cells(arr)):
            fresh = self._last[row, cells] != tag
            cells = cells[fresh]
            counts = self._counts[row]
            counts[cells] = np.minimum(counts[cells].astype(np.uint16) + 1, _MAX_COUNT).astype(np.uint8)
            self._last[row, cells] = tag

    def to_state(self) -> dict[str, Any]:
        return {"counts": self._counts, "last": self._last, "observed": self._observed}

    def load_state(self, state: dict[str, Any]) -> None:
        """Adopt a saved sketch; one saved with wider cells (before 24-MB cells) is narrowed to these."""
        counts, last = np.asarray(state["counts"]), np.asarray(state["last"])
        if counts.shape != self._counts.shape or last.shape != self._last.shape:
            raise ValueError("stop-list state has a different width")
        self._counts = np.minimum(counts, _MAX_COUNT).astype(np.uint8)
        if last.dtype == np.uint16:
            self._last = last.astype(np.uint16)
        else:  # 32-bit tags of the old format: the tag the same story gets now, so nothing counts twice
            self._last = np.where(last == 0, 0, _narrow(last.astype(np.uint64))).astype(np.uint16)
        self._observed = int(state["observed"])


def _narrow(wide: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A 32-bit story hash to a 16-bit tag that is never 0 (0 marks a cell no story has raised)."""
    return wide % np.uint64(0xFFFF) + np.uint64(1)


def _tag(story_id: int) -> np.uint16:
    """The story's tag: :func:`_narrow` of the 32-bit hash the old format stored."""
    return np.uint16(((story_id * 0x9E3779B1 + 1) & 0xFFFFFFFF) % 0xFFFF + 1)
