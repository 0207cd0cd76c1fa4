"""The hit fast path (``_hits``) on long, many-sentence articles, and the pieces it relies on.

The documents of ``strategies`` are a sentence or two; news articles are thousands of characters, where
sentences are cut at ``_REACH``/``_LONG``, snippets join several sentences and one article has many hits.
"""

from __future__ import annotations

import dataclasses
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core import Span, WatchlistHit
from monitor.match import Document, Engine, WatchlistSpec, parse_query
from monitor.match._analysis import FieldText
from monitor.match._hits import make_hit
from monitor.match._sentences import boundaries, sentence_bounds
from monitor.match._snippet import build_hit
from monitor.match._view import DocView
from monitor.match._witness import witness
from tests.match.strategies import SYNONYMS, long_texts, queries

_ENDINGS = st.sampled_from([". ", ". ", " ", " ", "? ", ".\n", ", Mr. ", "; ", "! ", "… ", " (U.S.) "])
# up to ~5,000 characters: sentences of one to many chunks, some longer than the cut length
long_bodies = st.lists(st.tuples(long_texts, _ENDINGS), min_size=2, max_size=40).map(
    lambda parts: "".join(text + end for text, end in parts)
)
long_documents = st.builds(Document, title=long_texts, body=long_bodies, source=st.just("example.com"))


def _plain(engine: Engine, query: str, doc: Document, watchlist_id: int) -> tuple[str, tuple[Span, ...]]:
    """The hit built the plain way: a fresh view, the tree walk, the snippet from scratch."""
    view = DocView(doc, FieldText(doc.title), FieldText(doc.body), engine._lookup)
    hit = build_hit(watchlist_id, view, witness(parse_query(query, synonyms=SYNONYMS), view))
    return hit.snippet, hit.spans


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(queries, min_size=5, max_size=40), doc=long_documents)
def test_hits_of_long_articles_equal_the_plain_definition(batch: list[str], doc: Document) -> None:
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=q, synonyms=SYNONYMS) for i, q in enumerate(batch)]
    engine = Engine.build(specs)
    for hit in engine.match(doc):
        assert (hit.snippet, hit.spans) == _plain(engine, batch[hit.watchlist_id], doc, hit.watchlist_id)


@settings(max_examples=100, deadline=None)
@given(text=long_bodies, data=st.data())
def test_a_sentence_depends_on_its_range_alone(text: str, data: st.DataObject) -> None:
    """Whatever was located before in the same text (shared checks of the boundaries), a range gets the
    sentence it gets alone."""
    field = FieldText(text)
    words = [m.span() for m in re.finditer(r"\S+", text)]
    if not words:
        return
    picked = data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=30))
    for start, end in picked:
        assert field.sentence(start, end) == sentence_bounds(text, start, end)


def test_a_field_lists_its_sentence_boundaries_once() -> None:
    text = "First one. Second one, by Mr. Smith. Third!\nFourth"
    field = FieldText(text)
    for word in ("one", "Smith", "Third", "Fourth"):
        start = text.rfind(word)
        assert field.sentence(start, start + len(word)) == sentence_bounds(text, start, start + len(word))
    # "!" followed by a line break and a word is no boundary (the run "!\n" is not followed by a blank);
    # the line break is
    assert field._bounds is not None
    assert field._bounds.codes == boundaries(text) == [9 << 32 | 11, 35 << 32 | 37, 43 << 32 | 44]


def test_make_hit_is_the_dataclass() -> None:
    spans = (Span(0, 3), Span(5, 9))
    hit = make_hit(7, "NATO met", spans)
    assert hit == WatchlistHit(7, "NATO met", spans) and hash(hit) == hash(WatchlistHit(7, "NATO met", spans))
    assert [f.name for f in dataclasses.fields(WatchlistHit)] == ["watchlist_id", "snippet", "spans"]
    assert [f.name for f in dataclasses.fields(Span)] == ["start", "end"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(queries, min_size=5, max_size=40), doc=long_documents)
def test_key_numbers_of_a_view_select_the_candidates_its_keys_select(batch: list[str], doc: Document) -> None:
    engine = Engine.build([WatchlistSpec(id=i, name=f"w{i}", query=q) for i, q in enumerate(batch)])
    view = engine.analyse(doc)
    assert engine.candidates(view) == engine._postings.candidates(view.any, len(view.any))
