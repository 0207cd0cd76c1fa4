"""The compiled engine must give exactly the reference evaluator's answer, one query or many at once,
through both of ``DocView``'s paths (the one for few stems and pairs, which these small engines take,
and the token table's, which large engines take)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core import WatchlistHit
from monitor.match import Document, Engine, WatchlistSpec, parse_query, reference_match
from monitor.match._fold import OffsetMap, char_tokens, clean, fold, fold_char, replace_non_ascii
from tests.match.strategies import SYNONYMS, documents, near_queries, queries, texts

_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _match(engine: Engine, doc: Document) -> list[WatchlistHit]:
    """The hits through both paths of ``DocView``, which must be the same hits."""
    lookup = engine._lookup
    built = lookup.few
    hits = engine.match(doc)
    lookup.few = not built
    try:
        assert engine.match(doc) == hits
    finally:
        lookup.few = built
    return hits


@_settings
@given(query=queries, doc=documents)
def test_engine_equals_reference_for_one_query(query: str, doc: Document) -> None:
    engine = Engine.build([WatchlistSpec(id=1, name="q", query=query, synonyms=SYNONYMS)])
    got = [h.watchlist_id for h in _match(engine, doc)]
    assert got == ([1] if reference_match(query, doc, synonyms=SYNONYMS) else [])


@_settings
@given(query=near_queries, doc=documents)
def test_engine_equals_reference_for_near(query: str, doc: Document) -> None:
    engine = Engine.build([WatchlistSpec(id=1, name="q", query=query)])
    assert bool(_match(engine, doc)) == reference_match(query, doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(queries, min_size=5, max_size=40), docs=st.lists(documents, min_size=1, max_size=4))
def test_candidate_selection_never_loses_a_match(batch: list[str], docs: list[Document]) -> None:
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=q) for i, q in enumerate(batch)]
    engine = Engine.build(specs)
    for doc in docs:
        expected = [s.id for s in specs if reference_match(s.query, doc)]
        assert [h.watchlist_id for h in _match(engine, doc)] == expected


@_settings
@given(query=queries, doc=documents)
def test_every_span_of_a_hit_is_a_word_of_the_snippet(query: str, doc: Document) -> None:
    engine = Engine.build([WatchlistSpec(id=1, name="q", query=query)])
    for hit in engine.match(doc):
        assert hit.snippet == hit.snippet.strip() or hit.snippet.startswith("…") or hit.snippet.endswith("…")
        for span in hit.spans:
            text = hit.snippet[span.start : span.end]
            assert text and text == text.strip()
            assert clean(fold(text)).split(), f"span {text!r} has no word"
            assert text in doc.title or text in doc.body


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_fast_folding_equals_the_per_character_definition(text: str) -> None:
    assert fold(text) == "".join(fold_char(c) for c in text)
    engine_words = clean(replace_non_ascii(text)).split()
    assert engine_words == [w for w, _s, _e in char_tokens(text)]


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40))
def test_offsets_map_every_word_back_to_its_original_spelling(text: str) -> None:
    folded = fold(text)
    cleaned = clean(folded)
    mapping = OffsetMap(text)
    reference = char_tokens(text)
    starts = [i for i in range(len(cleaned)) if cleaned[i] != " " and (i == 0 or cleaned[i - 1] == " ")]
    assert len(starts) == len(reference)
    for start, (word, o_start, o_end) in zip(starts, reference, strict=True):
        assert cleaned[start : start + len(word)] == word
        assert (mapping.start(start), mapping.end(start + len(word))) == (o_start, o_end)


@settings(max_examples=300, deadline=None)
@given(query=queries)
def test_parsing_is_deterministic_and_validates(query: str) -> None:
    assert parse_query(query, synonyms=SYNONYMS) == parse_query(query, synonyms=SYNONYMS)
