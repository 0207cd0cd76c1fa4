"""Everything the story index keeps about the articles of its window, and how it is kept compact.

One :class:`Window` holds the article rows (:class:`DocTable`), the stories (:class:`StoryTable`), the
feature vocabulary with its document frequencies (:class:`Vocabulary`), the postings lists, the copy
tables and the article id -> row table. The decisions live in _index.py; this module inserts, removes,
looks up and compacts.

Removal is lazy everywhere: a pruned or forgotten article's row is marked dead and skipped by readers.
Once a quarter of the rows (and at least ``COMPACT_MIN_DEAD``) are dead, ``compact`` drops them and
renumbers every row reference; the vocabulary is compacted along when it has doubled since last time.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import numpy.typing as npt

from monitor.stories._copies import CopyIndex
from monitor.stories._growable import chunks
from monitor.stories._multimap import Multimap
from monitor.stories._postings import Postings
from monitor.stories._storytable import StoryTable
from monitor.stories._table import NO_COPY, DocTable, ranges
from monitor.stories._text import U64
from monitor.stories._types import StoryConfig
from monitor.stories._vocab import Vocabulary

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
MASK = 0xFFFFFFFFFFFFFFFF
COMPACT_MIN_DEAD = 4096  # dead rows before a compaction is worth it (and at least a quarter of the rows)
VOCAB_MIN = 1 << 17  # vocabulary ids before a vocabulary compaction is considered


class Window:
    def __init__(self, config: StoryConfig) -> None:
        self.docs = DocTable(num_perm=config.num_perm)
        self.stories = StoryTable()
        self.vocab = Vocabulary(max_features=config.df_max_features)
        self.postings = Postings(max_kept=config.max_postings_kept)
        self.copies = CopyIndex(config, lambda: self.docs.alive)
        self.ids = Multimap(keep=lambda rows: np.asarray(self.docs.alive[rows], dtype=np.bool_))
        self._vocab_kept = VOCAB_MIN
        self.compactions = 0
        # No live article is older than this (a lower bound, -inf when unknown): a prune with an
        # earlier limit has nothing to do and returns without scanning the rows.
        self._oldest = float("-inf")

    def memory(self) -> dict[str, int]:
        return {
            "articles": self.docs.nbytes,
            "stories": self.stories.nbytes,
            "vocabulary": self.vocab.nbytes,
            "postings": self.postings.nbytes,
            "copy_tables": self.copies.nbytes,
            "id_table": self.ids.nbytes,
        }

    # -- inserting ------------------------------------------------------------------------------------

    def insert(
        self,
        *,
        article_id: int,
        when: tuple[float, int],
        source: str,
        story_id: int,
        copy_of: int | None,
        body_hash: int,
        body_owned: bool,
        norm: float,
        sig: npt.NDArray[np.uint32],
        sents: U64,
        indexed: U64,
        band_keys: U64,
        features: tuple[int, int] | tuple[I32, F32],
    ) -> bool:
        """Index one article; True when it starts a story. ``features`` as in :meth:`DocTable.append`;
        ``body_owned``: a live article owns ``body_hash`` already (``CopyIndex.same_body``)."""
        ts, zone = when
        self._oldest = min(self._oldest, ts)
        stories = self.stories
        srow = stories.find(story_id)
        is_new = srow < 0
        if is_new:
            srow = stories.open(story_id, ts, zone)
        stories.join(srow, ts, zone)
        row = self.docs.append(
            article_id=article_id,
            ts=ts,
            zone=zone,
            source=source,
            story=srow,
            copy_of=copy_of,
            body_hash=body_hash,
            norm=norm,
            sig=sig,
            sents=sents,
            features=features,
        )
        self.ids.add(article_id & MASK, row)
        self.copies.insert(row, band_keys, indexed, None if body_owned else body_hash)
        if copy_of is None:  # a copy's original is in the postings already, with the same features
            self.postings.reserve(self.vocab.n)
            self.postings.append(self.docs.features_of(row)[0], row)
        return is_new

    # -- removing -------------------------------------------------------------------------------------

    def drop_before(self, limit: float) -> int:
        """Remove the articles dated before ``limit`` (a timestamp); returns how many."""
        if limit <= self._oldest:
            return 0
        docs = self.docs
        live = docs.alive[: docs.n]
        expired = docs.ts[: docs.n] < limit
        dropped = np.flatnonzero(live & expired)
        kept = live & ~expired
        self._oldest = float(docs.ts[: docs.n][kept].min()) if kept.any() else float("inf")
        if not len(dropped):
            return 0
        docs.alive[dropped] = False
        docs.live -= len(dropped)
        self.stories.leave(docs.story[dropped])
        # Postings are in arrival order, so the dropped articles are (nearly always) a prefix: trim it.
        # A straggler further in is skipped at query time and trimmed once it reaches the front.
        originals = dropped[docs.copy_of[dropped] == NO_COPY]
        touched = docs.fids[ranges(docs.f_off[originals], docs.f_len[originals])]
        self.postings.trim(touched, self.entry_alive)
        self.maybe_compact()
        return len(dropped)

    def drop(self, article_id: int) -> bool:
        """Remove one article as if it had never been added; False if unknown."""
        row = self.row_of(article_id)
        if row < 0:
            return False
        docs = self.docs
        docs.kill(row)
        self.stories.leave(docs.story[row : row + 1])
        if docs.copy_of[row] == NO_COPY:
            self.postings.remove_last(docs.features_of(row)[0], row)
        self.maybe_compact()
        return True

    # -- looking up -----------------------------------------------------------------------------------

    def row_of(self, article_id: int) -> int:
        """The live row of an article id, or -1."""
        alive = self.docs.alive
        for row in self.ids.get(article_id & MASK):
            if alive[row]:
                return row
        return -1

    def rows_of(self, ids: I64) -> I64:
        """The live row of each article id, -1 for one not in the window."""
        out = np.full(len(ids), -1, dtype=np.int64)
        q, rows = self.ids.find(ids.astype(np.uint64))
        live = self.docs.alive[rows]
        out[q[live]] = rows[live]
        return out

    def rows_for(self, ids: I64, entries: I64) -> I64:
        """:meth:`rows_of` for ids read from postings ``entries``: a live row entry is its own answer,
        only the others (dead rows, ghosts) are looked up by id (the id may have been added again)."""
        out = np.where(entries >= 0, entries, -1)
        known = out >= 0
        known[known] = self.docs.alive[out[known]]
        if not known.all():
            out[~known] = self.rows_of(ids[~known])
        return out

    def member_rows(self, story_id: int) -> I64:
        """Rows of the story's members in the window, in arrival order."""
        srow = self.stories.find(story_id)
        if srow < 0:
            return np.zeros(0, dtype=np.int64)
        docs = self.docs
        return np.flatnonzero(docs.alive[: docs.n] & (docs.story[: docs.n] == srow))

    def entry_ids(self, entries: I64) -> I64:
        """Article ids of postings entries (rows, or ghosts of rows dropped by a compaction)."""
        is_row = entries >= 0
        if is_row.all():
            return self.docs.ids[entries]
        out = np.empty(len(entries), dtype=np.int64)
        out[is_row] = self.docs.ids[entries[is_row]]
        out[~is_row] = self.postings.ghost_ids(entries[~is_row])
        return out

    def entry_alive(self, entries: I64) -> npt.NDArray[np.bool_]:
        """Whether each postings entry's article id is in the window (as the first version checked)."""
        out = np.zeros(len(entries), dtype=np.bool_)
        is_row = entries >= 0
        out[is_row] = self.docs.alive[entries[is_row]]
        rest = np.flatnonzero(~out)
        if len(rest):
            out[rest] = self.rows_of(self.entry_ids(entries[rest])) >= 0
        return out

    # -- compaction -----------------------------------------------------------------------------------

    def maybe_compact(self) -> None:
        docs = self.docs
        if docs.n - docs.live >= max(COMPACT_MIN_DEAD, docs.live // 4):
            self.compact()

    def compact(self) -> None:
        """Drop dead rows everywhere and renumber (done when a quarter of the rows are dead)."""
        self.compactions += 1
        docs = self.docs
        old_ids = docs.ids[: docs.n].copy()  # the table compacts in place
        mapping = docs.compact()
        self.ids.remap(mapping)
        self.copies.remap(mapping)
        self.postings.remap_rows(mapping, old_ids)
        stories = self.stories
        if stories.n - stories.live >= max(COMPACT_MIN_DEAD, stories.live // 4):
            story_map = stories.compact()
            docs.story[: docs.n] = story_map[docs.story[: docs.n]]
        vocab = self.vocab
        if vocab.n > 2 * self._vocab_kept:
            used = self.postings.in_use(vocab.n).copy()
            f_len = docs.f_len[: docs.n].astype(np.int64)
            bounds = chunks(f_len)  # a bounded number of positions (8 bytes each) at a time
            for lo, hi in pairwise(bounds):
                used[docs.fids[ranges(docs.f_off[lo:hi], f_len[lo:hi])]] = True
            fid_map = vocab.compact(used)
            docs.remap_features(fid_map)
            self.postings.keep_features(np.flatnonzero(fid_map >= 0), vocab.n)
            self._vocab_kept = max(VOCAB_MIN, vocab.n)
