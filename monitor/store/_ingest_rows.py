"""Writing one poll's new articles in a batch: one query for the duplicates, one multi-row INSERT.

A cold poll of a feed brings about twenty new articles. Checking and inserting them one by one (a SELECT,
a SAVEPOINT and a flush each) cost ~0.5 ms of ORM work per article in the event loop's process, more
than parsing the feed. Here the keys already stored are read with one query (URL, GUID or content hash
matching, ``IN`` lists on their indexes), and the rest go in as one multi-row ``INSERT ... RETURNING``
(SQLAlchemy's insertmanyvalues) on SQLite and PostgreSQL. Nothing needs the rows as objects
(the caller wants their ids), so the unit of work (identity map, per-object state, flush ordering) is
skipped: it was about half of a cold poll's storage time in the loop process (py-spy, ``bench/poll.py``).

The unique URL constraint stays the last line of defence: when a concurrent writer stored one of the
articles between our query and our insert, the batch's savepoint is rolled back and the articles go in
one at a time, each in its own savepoint, so only the duplicate is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store._types import NewArticle
from monitor.store.models import Article

_CHUNK = 300  # keys per IN list (three lists per query): well under SQLite's 32,766 bound parameters


# Built once: a statement built per call costs SQLAlchemy a fresh cache key each time (about a tenth of
# the writer thread's time, py-spy --gil), a module-level one memoises it; expanding parameters take lists.
_STORED = select(Article.url, Article.guid, Article.content_hash).where(
    or_(
        Article.url.in_(bindparam("urls", expanding=True)),
        Article.content_hash.in_(bindparam("hashes", expanding=True)),
        Article.guid.in_(bindparam("guids", expanding=True)),
    )
)


def stored_keys(session: Session, arts: Sequence[NewArticle]) -> set[str]:
    """The URLs, GUIDs and content hashes of ``arts`` that already belong to a stored article."""
    found: set[str] = set()
    for i in range(0, len(arts), _CHUNK):
        chunk = arts[i : i + _CHUNK]
        params = {
            "urls": [a.url for a in chunk],
            "guids": [a.guid for a in chunk if a.guid],
            "hashes": [a.content_hash for a in chunk],
        }
        for url, guid, digest in session.execute(_STORED, params):
            found.update((url, digest))
            if guid:
                found.add(guid)
    return found


def _keys(art: NewArticle) -> tuple[str, ...]:
    return (art.url, art.content_hash, art.guid) if art.guid else (art.url, art.content_hash)


def _row(source_id: int, art: NewArticle, now: datetime, *, story_pending: bool) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "url": art.url,
        "guid": art.guid,
        "title": art.title,
        "published": art.published,
        "date_source": art.date_source,
        "text": art.text,
        "content_hash": art.content_hash,
        "language": art.language,
        "extractor": art.extractor,
        "first_seen_at": now,
        "story_pending": story_pending,
    }


class NewRows:
    """The new articles of one poll, inserted when first iterated: (article, new row id) pairs in input
    order; ``duplicates`` counts those dropped (already stored, repeated within the poll, or stored by a
    concurrent writer meanwhile) and is final once the iteration ends. ``story_pending`` marks the rows
    for the story stage.
    """

    def __init__(
        self,
        session: Session,
        source_id: int,
        arts: Sequence[NewArticle],
        now: datetime,
        *,
        story_pending: bool = False,
    ) -> None:
        self.session = session
        self.source_id = source_id
        self.now = now
        self.story_pending = story_pending
        taken = stored_keys(session, arts) if arts else set()
        self.fresh: list[NewArticle] = []
        for art in arts:
            keys = _keys(art)
            if any(k in taken for k in keys):
                continue
            taken.update(keys)
            self.fresh.append(art)
        self.duplicates = len(arts) - len(self.fresh)

    def __iter__(self) -> Iterator[tuple[NewArticle, int]]:
        yield from self._insert(self.fresh)

    def _ids(self, arts: Sequence[NewArticle]) -> list[int]:
        """Insert ``arts`` (distinct URLs) with one multi-row ``INSERT ... RETURNING url, id`` per chunk.

        Not the ORM's bulk insert with ``sort_by_parameter_order``: on SQLite that has no sentinel
        column to order the returned ids by, so it ran one ``INSERT`` per row. The URL is unique, so
        the returned pairs say which id is whose, whatever their order."""
        table = cast(Table, Article.__table__)
        rows = [_row(self.source_id, art, self.now, story_pending=self.story_pending) for art in arts]
        with self.session.begin_nested():
            result = self.session.execute(insert(table).returning(table.c.url, table.c.id), rows)
            ids = {url: int(id_) for url, id_ in result}
        return [ids[art.url] for art in arts]

    def _insert(self, arts: Sequence[NewArticle]) -> list[tuple[NewArticle, int]]:
        if not arts:
            return []
        try:
            return list(zip(arts, self._ids(arts), strict=True))
        except IntegrityError:
            pass  # a concurrent writer got there first: the savepoint rolled the whole batch back
        pairs: list[tuple[NewArticle, int]] = []
        for art in arts:
            if stored_keys(self.session, [art]):
                self.duplicates += 1
                continue
            try:
                (article_id,) = self._ids([art])
            except IntegrityError:
                self.duplicates += 1
                continue
            pairs.append((art, article_id))
        return pairs
