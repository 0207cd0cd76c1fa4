"""The fast paths of the engine give what the plain definitions give.

* hits: a watchlist's compiled plan (``compile_plan`` + per-article caches) shows the same snippet and
  spans as walking the query tree (``witness``) and building the snippet from scratch;
* ``key_test``: queries decided by key presence become plain data, the others stay closures;
* ``TokenKeys``: a token numbers its word and every watched stem it starts with;
* ``DocView``: every word (only the watched ones on the path for few keys), the watched stems and pairs,
  and their posting numbers;
* ``PostingIndex``: candidates are exactly the watchlists whose two index clauses both have a key;
* a large engine is frozen out of the garbage collector, which is safe because engines hold no cycles;
"""

from __future__ import annotations

import gc
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.match import Document, Engine, WatchlistSpec, parse_query
from monitor.match._analysis import FieldText
from monitor.match._compile import key_test
from monitor.match._index import PostingIndex
from monitor.match._snippet import build_hit
from monitor.match._view import _FEW_PAIRS, _FEW_STEMS, DocView, TokenKeys, filter_keys
from monitor.match._witness import witness
from tests.match.strategies import SYNONYMS, documents, queries

_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _plain_hit(engine: Engine, query: str, doc: Document, watchlist_id: int) -> tuple[str, tuple[int, ...]]:
    """The hit built the plain way: a fresh view, the tree walk, the snippet from scratch."""
    view = DocView(doc, FieldText(doc.title), FieldText(doc.body), engine._lookup)
    hit = build_hit(watchlist_id, view, witness(parse_query(query, synonyms=SYNONYMS), view))
    return hit.snippet, tuple(x for span in hit.spans for x in (span.start, span.end))


@_settings
@given(batch=st.lists(queries, min_size=1, max_size=12), doc=documents)
def test_planned_hits_equal_the_tree_walk(batch: list[str], doc: Document) -> None:
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=q, synonyms=SYNONYMS) for i, q in enumerate(batch)]
    engine = Engine.build(specs)
    for _ in range(2):  # the second time, plans are compiled and shared caches are warm
        for hit in engine.match(doc):
            got = (hit.snippet, tuple(x for span in hit.spans for x in (span.start, span.end)))
            assert got == _plain_hit(engine, batch[hit.watchlist_id], doc, hit.watchlist_id)


def test_hits_sharing_literals_share_the_sentence_text_but_not_the_spans() -> None:
    doc = Document(title="Summit opens", body="Troops gathered at the border. The summit opened in Riga.")
    specs = [
        WatchlistSpec(id=1, name="a", query="troops border"),
        WatchlistSpec(id=2, name="b", query="border troops"),
        WatchlistSpec(id=3, name="c", query="(nato OR riga) troops"),
        WatchlistSpec(id=4, name="d", query="title:summit riga"),
    ]
    hits = {h.watchlist_id: h for h in Engine.build(specs).match(doc)}
    assert (hits[1].snippet, hits[1].spans) == (hits[2].snippet, hits[2].spans)
    assert hits[3].snippet == "Troops gathered at the border. The summit opened in Riga."
    assert [hits[3].snippet[s.start : s.end] for s in hits[3].spans] == ["Troops", "Riga"]
    assert hits[4].snippet == "Summit opens … The summit opened in Riga."
    assert [hits[4].snippet[s.start : s.end] for s in hits[4].spans] == ["Summit", "Riga"]


def test_key_tests_are_data_for_presence_queries_only() -> None:
    def test_of(query: str) -> object:
        return key_test(parse_query(query))

    assert test_of("nato") == (("nato",), (), ())
    assert test_of('"nato summit" riga NOT (moscow OR minsk) source:example.com') == (
        (("nato", "summit"), "riga", "source:example.com"),
        ("moscow", "minsk"),
        (),
    )
    assert test_of("(a1 OR bee*) AND (c1 OR d1) NOT e1") == ((), ("e1",), (("a1", "bee*"), ("c1", "d1")))
    closures = ("title:nato", "a1 NEAR/3 b1", '"w1 w2 w3"', "cs(US) nato", "a1 NOT (b1 c1)", "(a1 b1) OR c1")
    for closure in closures:
        assert test_of(closure) is None, closure


def test_token_keys_number_the_word_and_every_watched_stem() -> None:
    numbers = {"esc*": 7, "nato": 3, "escalation": 5}  # keys that index watchlists; others have none
    words, stems = frozenset({"escalation", "nato", "riga"}), frozenset({"esc", "escal", "deesc"})
    tokens = TokenKeys(words, stems, lambda key: numbers.get(key, 0) if isinstance(key, str) else 0)
    assert tokens.names == ("", "deesc*", "esc*", "escal*")  # a stem's negative number is its place here
    assert tokens["escalation"] == (5, 7, -2, -3)
    assert tokens["escalate"] == (7, -2, -3)
    assert tokens["nato"] == (3,)
    assert tokens["riga"] == ()  # watched (in a clause not indexed) but numbered nothing
    assert tokens["es"] == ()
    assert tokens["deescalated"] == (-1,)
    assert set(tokens) == {"escalation", "escalate", "nato", "riga", "es", "deescalated"}  # remembered
    assert tokens.keys_of([5, 7, -2, -3, 0, -1]) == ["esc*", "escal*", "deesc*"]


def test_token_keys_start_again_past_their_limit() -> None:
    tokens = TokenKeys(frozenset({"a1"}), frozenset(), lambda key: 1)
    tokens._LIMIT = 3
    for word in ("w1", "w2", "w3", "a1"):
        assert tokens[word] == ((1,) if word == "a1" else ())
    assert len(tokens) == 1


@settings(max_examples=200, deadline=None)
@given(
    clauses=st.lists(
        st.lists(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=3), min_size=0, max_size=2),
        min_size=1,
        max_size=30,
    ),
    present=st.sets(st.sampled_from("abcdefghxyz")),
)
def test_posting_index_candidates_are_exactly_the_watchlists_with_both_clauses(
    clauses: list[list[list[str]]], present: set[str]
) -> None:
    index = PostingIndex([tuple(tuple(c) for c in cs) for cs in clauses], len(clauses))
    expected = [
        n for n, cs in enumerate(clauses) if not cs or all(any(k in present for k in c) for c in cs)
    ]
    assert index.small, "a small index answers with Python sets"
    assert index.candidates(present, len(present)) == expected
    index.small = False  # the numpy path, which large indexes take
    assert index.candidates(present, len(present)) == expected
    assert index.always == sum(1 for cs in clauses if not cs)


def test_an_engine_holds_no_reference_cycles() -> None:
    queries_ = [
        "nato summit", "(kyiv OR kiev) NOT sport", "troops NEAR/3 border", "cs(US) nato",
        "title:(a1 OR b1) c1", '"cease fire" source:example.com', "escal* lang:en",
    ]
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=q) for i, q in enumerate(queries_)]
    doc = Document(title="NATO summit", body="US troops near the border; escalation in Kiev.", language="en")
    gc.collect()
    engine = Engine.build(specs)
    assert engine.match(doc)
    del engine
    assert gc.collect() == 0  # nothing the engine made is left for the cyclic collector


def test_a_large_engine_is_frozen_out_of_the_collector() -> None:
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=f"word{i} common") for i in range(5_000)]
    before = gc.get_freeze_count()
    try:
        engine = Engine.build(specs)
        assert gc.get_freeze_count() > before
        hits = engine.match(Document(title="", body="common word42 word4999"))
        assert [h.watchlist_id for h in hits] == [42, 4999]
    finally:
        gc.unfreeze()


@_settings
@given(batch=st.lists(queries, min_size=1, max_size=12), doc=documents)
def test_the_view_holds_every_word_and_the_watched_stems_and_pairs_with_their_numbers(
    batch: list[str], doc: Document
) -> None:
    """``DocView.any`` against the plain definition: every word of the title and body, each watched
    ``stem*`` a word starts with, each watched pair of adjacent words, the filter keys; ``key_ids`` the
    posting numbers of exactly the keys that have one."""
    engine = Engine.build([WatchlistSpec(id=i, name=f"w{i}", query=q) for i, q in enumerate(batch)])
    lookup = engine._lookup
    for few in (False, False, True):  # the second time, every token is remembered by ``TokenKeys``
        lookup.few = few
        title, body = FieldText(doc.title), FieldText(doc.body)
        view = DocView(doc, title, body, lookup)
        words = {*title.tokens, *body.tokens}
        stems = {w[:n] + "*" for w in words for n in range(1, len(w) + 1) if w[:n] in lookup.tokens.stems}
        if few:  # the path for few keys holds only the watched words
            words &= lookup.vocabulary
        pairs = lookup.pairs & {*pairwise(title.tokens), *pairwise(body.tokens)}
        assert view.any == words | stems | pairs | set(filter_keys(doc))
        assert view.title_pairs == lookup.pairs & set(pairwise(title.tokens))
        numbered = {lookup.numbers[k] for k in view.any if lookup.numbers.get(k)}
        assert set(view.key_ids.tolist()) - {0} == numbered


def test_an_engine_with_few_stems_and_pairs_looks_for_them_and_a_larger_one_uses_the_token_table() -> None:
    few = Engine.build([WatchlistSpec(id=1, name="a", query='escalat* "border troops" nato')])
    assert few._lookup.few
    assert few._lookup.vocabulary == {"nato", "border", "troops"}
    stems = [WatchlistSpec(id=i, name=f"s{i}", query=f"stem{i:03d}x*") for i in range(_FEW_STEMS + 1)]
    assert not Engine.build(stems)._lookup.few
    pairs = [WatchlistSpec(id=i, name=f"p{i}", query=f'"alpha{i} beta"') for i in range(_FEW_PAIRS + 1)]
    assert not Engine.build(pairs)._lookup.few
    doc = Document(title="NATO warns", body="Escalating tension at the border: troops moved. Border troops")
    assert [h.watchlist_id for h in few.match(doc)] == [1]
