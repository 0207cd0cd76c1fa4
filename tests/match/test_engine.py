"""Engine building, candidate selection statistics, and hot swapping with EngineHolder."""

from __future__ import annotations

import asyncio
import threading

import pytest

from monitor.core import WatchlistHit
from monitor.match import (
    Document,
    Engine,
    EngineHolder,
    QuerySyntaxError,
    WatchlistSpec,
    explain,
    fingerprint,
    reference_match,
)

SPECS = [
    WatchlistSpec(id=10, name="troops", query="troops NEAR/3 border"),
    WatchlistSpec(id=3, name="nato", query="nato summit"),
    WatchlistSpec(id=5, name="kyiv", query="kyiv shelling", synonyms=(("Kyiv", "Kiev"),)),
    WatchlistSpec(id=7, name="site", query="source:example.com"),
]


def test_hits_are_ordered_by_watchlist_id_and_carry_snippets() -> None:
    engine = Engine.build(SPECS)
    doc = Document(
        title="NATO summit", body="Troops at the border. Shelling in Kiev.", source="news.example.com"
    )
    hits = engine.match(doc)
    assert [h.watchlist_id for h in hits] == [3, 5, 7, 10]
    assert all(isinstance(h, WatchlistHit) and h.snippet for h in hits)
    assert hits[1].snippet == "Shelling in Kiev."


def test_build_error_names_the_watchlist() -> None:
    bad = [*SPECS, WatchlistSpec(id=42, name="broken", query="troops AND (border")]
    with pytest.raises(QuerySyntaxError) as caught:
        Engine.build(bad)
    err = caught.value
    assert (err.watchlist_id, err.watchlist_name, err.position) == (42, "broken", 11)
    assert str(err) == "watchlist 'broken' (id 42): unbalanced parenthesis at 11"
    assert err.render().splitlines()[2] == "             ^"


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate watchlist id 3"):
        Engine.build([*SPECS, WatchlistSpec(id=3, name="again", query="x")])


def test_an_empty_engine_matches_nothing() -> None:
    engine = Engine.build([])
    assert engine.match(Document(title="a", body="b")) == []
    assert len(engine) == 0


def test_candidates_are_selected_by_the_rarest_required_words() -> None:
    specs = [WatchlistSpec(id=i, name=f"w{i}", query=f"common word{i}") for i in range(200)]
    specs.append(WatchlistSpec(id=999, name="filters", query="source:example.com OR lang:de"))
    engine = Engine.build(specs)
    hits = engine.match(Document(title="", body="common word7 and common word8", source="x.org"))
    assert [h.watchlist_id for h in hits] == [7, 8]
    stats = engine.stats
    assert stats.last_candidates == 2  # only word7 and word8: "common" is not an index clause
    assert (stats.documents, stats.hits, stats.watchlists) == (1, 2, 201)
    hits = engine.match(Document(title="", body="common", source="www.example.com"))
    assert [h.watchlist_id for h in hits] == [999]  # filters are index keys too
    assert engine.stats.last_candidates == 1
    assert engine.stats.always_candidates == 0


def test_prefix_only_watchlists_are_found_by_the_automaton() -> None:
    engine = Engine.build([WatchlistSpec(id=1, name="p", query="escalat* OR deescalat*")])
    assert engine.stats.automaton_keys == 2
    assert [h.watchlist_id for h in engine.match(Document(title="", body="It escalated."))] == [1]
    assert engine.match(Document(title="", body="It calmed down.")) == []
    assert engine.stats.last_candidates == 0


def test_rebuild_reuses_compiled_queries_and_stays_correct() -> None:
    first = Engine.build(SPECS)
    changed = [*SPECS[:-1], WatchlistSpec(id=7, name="site", query="source:example.org")]
    second = Engine.build(changed, previous=first)
    doc = Document(title="", body="nato summit", source="example.org")
    assert [h.watchlist_id for h in second.match(doc)] == [3, 7]
    assert [h.watchlist_id for h in first.match(doc)] == [3]


def test_frequencies_change_the_choice_but_never_the_result() -> None:
    spec = WatchlistSpec(id=1, name="x", query="alpha beta gamma")
    doc = Document(title="", body="alpha beta gamma")
    for freq in ({"alpha": 0.001}, {"gamma": 0.001}, {}):
        assert [h.watchlist_id for h in Engine.build([spec], frequencies=freq).match(doc)] == [1]


def test_explain_uses_the_engine() -> None:
    doc = Document(title="", body="Troops near the border.")
    hit = explain("troops NEAR/3 border", doc)
    assert hit is not None and hit.watchlist_id == 0
    assert explain("troops NEAR/2 border", doc) is None
    assert reference_match("troops NEAR/3 border", doc)


def test_fingerprint_ignores_order_but_not_content() -> None:
    assert fingerprint(SPECS) == fingerprint(list(reversed(SPECS)))
    assert fingerprint(SPECS) != fingerprint(SPECS[:-1])
    edited = [*SPECS[:-1], WatchlistSpec(id=7, name="site", query="source:example.org")]
    assert fingerprint(SPECS) != fingerprint(edited)


async def test_holder_swaps_only_when_the_specs_change() -> None:
    holder = EngineHolder()
    empty = holder.engine
    assert len(empty) == 0
    assert await holder.rebuild(SPECS) is True
    built = holder.engine
    assert built is not empty and len(built) == 4
    assert await holder.rebuild(list(reversed(SPECS))) is False
    assert holder.engine is built


async def test_holder_keeps_the_old_engine_when_a_query_is_bad() -> None:
    holder = EngineHolder(SPECS)
    before = holder.engine
    with pytest.raises(QuerySyntaxError):
        await holder.rebuild([WatchlistSpec(id=1, name="bad", query="NOT x")])
    assert holder.engine is before
    assert await holder.rebuild(SPECS[:2]) is True


async def test_readers_see_the_old_or_the_new_engine_never_a_partial_one() -> None:
    old_specs = [WatchlistSpec(id=i, name=f"a{i}", query=f"alpha{i} OR shared") for i in range(300)]
    new_specs = [WatchlistSpec(id=i, name=f"b{i}", query=f"beta{i} OR shared") for i in range(1000, 1600)]
    holder = EngineHolder(old_specs)
    doc = Document(title="", body="shared words")
    seen: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(len(holder.engine.match(doc)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert await holder.rebuild(new_specs) is True
        await asyncio.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert seen <= {300, 600}
    assert len(holder.engine.match(doc)) == 600


async def test_concurrent_rebuilds_are_serialised() -> None:
    holder = EngineHolder()
    results = await asyncio.gather(holder.rebuild(SPECS), holder.rebuild(SPECS))
    assert sorted(results) == [False, True]
    assert holder.fingerprint == fingerprint(SPECS)
