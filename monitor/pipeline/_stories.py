"""The story assigner: one ``StoryIndex`` per process, kept in step with the database.

``Store.assign_stories`` (the story stage) calls it inside its transaction (``store/_stories.py`` has the
protocol and the locking): ``begin`` takes this process's lock, ``restore`` replays what other processes
decided since the high-water mark (a decision number, ``articles.story_seq``), ``assign`` decides and
indexes each pending article, and ``committed`` or ``rolled_back`` ends the transaction. A rollback
forgets the articles the transaction added, so the index never holds an article the database does not.

State across restarts: ``save`` writes the index with the high-water mark (uncompressed numpy ``.npz``,
no pickle, written to a temporary file and renamed), ``load`` reads it back; whatever was committed after the
save (by this or another process) comes back through the catch-up read. Without a state file,
``warm`` restores the window from the database.

Articles whose story time is already before the window when they are decided (a back catalogue: a
new source's first poll brings weeks of old items) are decided like any other, so that old copies
arriving together still form one story, and are pruned as soon as the transaction commits rather than
at the next periodic ``prune``. A 10,000-feed first poll brings ~200,000 such items: kept until the
next prune, they held ~3.5 KB of window each (~700 MB) for nothing, since an article can only join
articles within the window of its own time and no current article is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from monitor.log import get_logger
from monitor.store import Store
from monitor.store._stories import StoredMember, StoryDecision, StoryInput
from monitor.stories import ArticleRecord, StoryConfig, StoryIndex, write_state

__all__ = ["StoryService"]

log = get_logger("monitor.stories")
_HWM_KEY = "monitor_high_water"


class StoryService:
    """Implements ``monitor.store._stories.StoryAssigner`` around a :class:`StoryIndex`."""

    def __init__(
        self, *, index: StoryIndex | None = None, config: StoryConfig | None = None, high_water: int = 0
    ) -> None:
        self.index = index if index is not None else StoryIndex(config=config)
        self.high_water = high_water
        self._lock = threading.RLock()
        self._open = False
        self._owner: int | None = None  # the thread whose transaction is open
        self._added: list[int] = []
        self._tx_high = high_water
        self._oldest: datetime | None = None  # the window's start as of the open transaction

    @property
    def window(self) -> timedelta:
        return self.index.config.window

    # -- the transaction protocol ----------------------------------------------------------------------
    def begin(self) -> None:
        self._lock.acquire()
        self._open = True
        self._owner = threading.get_ident()
        self._added = []
        self._tx_high = self.high_water

    def catch_up_from(self, now: datetime) -> tuple[int, datetime]:
        self._oldest = now - self.window
        return self.high_water, self._oldest

    def restore(self, members: Sequence[StoredMember]) -> None:
        """Replay committed decisions (catch-up and warm-up); articles already indexed are skipped."""
        for m in members:
            if m.article_id not in self.index:
                record = ArticleRecord(m.article_id, m.title, m.body, m.when, m.source)
                if m.story_id is None:  # stored before stories were assigned: decide, nothing to keep
                    self.index.add(record)
                else:
                    self.index.restore(record, story_id=m.story_id, copy_of=m.copy_of)
                if self._mine():
                    self._added.append(m.article_id)
            self._tx_high = max(self._tx_high, m.seq)
            if not self._mine():
                self.high_water = max(self.high_water, m.seq)

    def assign(self, item: StoryInput) -> StoryDecision:
        a = self.index.add(ArticleRecord(item.article_id, item.title, item.body, item.when, item.source))
        self._added.append(item.article_id)
        self._tx_high = max(self._tx_high, item.seq)
        return StoryDecision(a.story_id, a.copy_of)

    def _mine(self) -> bool:
        """Whether this thread has a transaction open (a stage run without pending articles began none)."""
        return self._open and self._owner == threading.get_ident()

    def committed(self) -> None:
        if not self._mine():
            return
        self.high_water = max(self.high_water, self._tx_high)
        try:
            if self._oldest is not None:  # what this transaction added before the window leaves now
                self.index.prune(before=self._oldest)
        finally:
            self._end()

    def rolled_back(self) -> None:
        if not self._mine():
            return
        # Catch-up rows were committed by others and stay valid, but are forgotten too: the next
        # transaction reads them again from the unchanged high-water mark.
        try:
            for article_id in reversed(self._added):
                self.index.forget(article_id)
        finally:
            self._end()

    def _end(self) -> None:
        self._open = False
        self._owner = None
        self._added = []
        self._lock.release()

    # -- lifecycle -------------------------------------------------------------------------------------
    def adopt(self, other: StoryService) -> None:
        """Take over a loaded state (the pipeline keeps its reference to this object)."""
        with self._lock:
            self.index = other.index
            self.high_water = other.high_water

    def prune(self, *, now: datetime) -> int:
        """Forget articles that left the window (call every few minutes, not per article)."""
        with self._lock:
            return self.index.prune(before=now - self.window)

    def warm(self, store: Store, *, now: datetime, batch: int = 2000) -> int:
        """Restore what the database committed after the high-water mark inside the window."""
        since = now - self.window
        total = 0
        while True:
            with self._lock:
                rows = store.story_members_after(after_seq=self.high_water, since=since, limit=batch)
                if not rows:
                    return total
                self.restore(rows)
                self.high_water = max(self.high_water, rows[-1].seq)
                self.index.prune(before=since)  # back-catalogue articles, as at a commit
            total += len(rows)

    def snapshot(self) -> dict[str, Any]:
        """The index state and high-water mark, taken between transactions (consistent with the DB)."""
        with self._lock:
            state: dict[str, Any] = dict(self.index.to_state())
            state[_HWM_KEY] = np.array([self.high_water], dtype=np.int64)
            return state

    def save(self, path: Path) -> None:
        state = self.snapshot()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            write_state(fh, state)
        os.replace(tmp, path)
        log.info("stories.saved", path=str(path), articles=len(self.index), high_water=self.high_water)

    @classmethod
    def load(cls, path: Path, *, config: StoryConfig) -> StoryService | None:
        """The saved service, or None when there is no usable file (the caller then warms up).

        A file written with other story settings (window, thresholds) is not used.
        """
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {k: data[k] for k in data.files}
            index = StoryIndex.from_state(state)
            high = int(state[_HWM_KEY][0]) if _HWM_KEY in state else 0
        except Exception as exc:  # a truncated or foreign file must not stop the daemon
            log.warning("stories.load_failed", path=str(path), error=f"{type(exc).__name__}: {exc}")
            return None
        if index.config != config:
            log.info("stories.state_ignored", path=str(path), reason="story settings changed")
            return None
        log.info("stories.loaded", path=str(path), articles=len(index), high_water=high)
        return cls(index=index, high_water=high)
