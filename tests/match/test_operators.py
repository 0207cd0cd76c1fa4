"""Every operator of the language, checked through the engine and the reference evaluator alike."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from monitor.match import Document, Engine, WatchlistSpec, reference_match


def matches(
    query: str,
    body: str,
    *,
    title: str = "",
    source: str = "",
    language: str | None = None,
    synonyms: Sequence[Sequence[str]] = (),
) -> bool:
    """Both evaluators' answer (they must agree)."""
    doc = Document(title=title, body=body, source=source, language=language)
    groups = tuple(tuple(g) for g in synonyms)
    engine = Engine.build([WatchlistSpec(id=7, name="t", query=query, synonyms=groups)])
    got = [h.watchlist_id for h in engine.match(doc)]
    expected = reference_match(query, doc, synonyms=groups)
    assert got == ([7] if expected else []), f"engine {got} vs reference {expected}"
    return expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("nato", "NATO leaders met.", True),
        ("nato", "The senator spoke.", False),  # whole words only
        ("nato", "NATO-led forces", True),
        ("erdogan", "President Erdoğan said", True),
        ("Erdoğan", "president erdogan said", True),
        ("russia", "Russia's army", True),
        ("russia", "Russia’s army", True),
        ("russia", "Russians", False),
        ("istanbul", "İstanbul and Ankara", True),
        ("istanbul", "ıstanbul", True),
        ("strasse", "Die Straße ist lang", True),
        ("straße", "STRASSE", True),
        ("finance", "ﬁnance ministers", True),
        ("aesir", "The Æsir gods", True),
        ("nato", "ＮＡＴＯ summit", True),
        ("1,000", "more than 1,000 troops", True),
        ("1000", "more than 1,000 troops", False),
    ],
)
def test_terms(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ('"white house"', "the White House said", True),
        ('"white house"', "the white, house said", True),  # punctuation between words is ignored
        ('"white house"', "the house is white", False),
        ('"house white"', "the White House said", False),
        ('"the white house said"', "in the White House said", True),
        ('"the white house said"', "in the White House today said", False),
    ],
)
def test_phrases(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("troops AND border", "troops at the border", True),
        ("troops AND border", "troops at the frontier", False),
        ("troops border", "border troops", True),
        ("troops OR army", "the army moved", True),
        ("troops OR army", "the navy moved", False),
        ("troops NOT exercise", "troops massed", True),
        ("troops NOT exercise", "troops on exercise", False),
        ("troops AND NOT exercise", "troops on exercise", False),
        ("(troops OR army) (border OR frontier)", "army at the frontier", True),
        ("(troops OR army) (border OR frontier)", "army at the coast", False),
        ("troops NOT (exercise OR drill)", "troops drill", False),
        ("troops (NOT exercise OR border)", "troops on exercise at the border", True),
        ("troops (NOT exercise OR border)", "troops on exercise", False),
    ],
)
def test_boolean_operators(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("troops NEAR/1 border", "troops border", True),
        ("troops NEAR/1 border", "troops at border", False),
        ("troops NEAR/5 border", "troops massed near the northern border", True),  # 5 positions apart
        ("troops NEAR/4 border", "troops massed near the northern border", False),
        ("border NEAR/5 troops", "troops massed near the northern border", True),  # either order
        ("troops ONEAR/5 border", "troops massed near the northern border", True),
        ("border ONEAR/5 troops", "troops massed near the northern border", False),  # in order only
        ("troops NEAR/3 border", "troops. Then, the border", True),  # punctuation does not count
        ("troops NEAR/3 border", "Troops gathered. Far away, beyond hills: a border", False),
        ('"northern border" NEAR/3 troops', "troops near the northern border", True),
        ('"northern border" NEAR/2 troops', "troops near the northern border", False),
        ("(troops OR army) NEAR/2 border", "the army at border", True),
        ("escal* NEAR/3 border", "escalation at the border", True),
        ("escal* NEAR/3 border", "escalation far from the quiet border", False),
        ("cs(US) NEAR/2 troops", "US troops", True),
        ("cs(US) NEAR/2 troops", "us troops", False),
        ("war NEAR/3 war", "war is war", True),  # two distinct occurrences
        ("war NEAR/3 war", "the war ended", False),
        ("(troops NEAR/2 massed) NEAR/3 border", "troops massed at the border", True),
        ("(troops NEAR/2 massed) ONEAR/1 border", "border troops massed", False),
    ],
)
def test_proximity(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_near_never_crosses_from_title_to_body() -> None:
    assert matches("troops NEAR/2 border", "border closed", title="Troops") is False
    assert matches("troops border", "border closed", title="Troops") is True


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("escalat*", "the escalation continued", True),
        ("escalat*", "they escalated", True),
        ("escalat*", "escalat", True),
        ("escalat*", "de-escalation", True),  # hyphen separates words
        ("escalat*", "deescalation", False),
        ("Ésca*", "escape", True),
        ("troops escal*", "escalation but no soldiers", False),
    ],
)
def test_prefix_wildcards(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("cs(US)", "US troops", True),
        ("cs(US)", "give us troops", False),
        ("cs(US)", "Us and them", False),
        ("cs(US)", "U.S. troops", False),  # "U.S." is two words, u and s
        ("cs(U.S.)", "U.S. troops", True),
        ("cs(U.S.)", "u.s. troops", False),
        ("cs(US)", "ＵＳ troops", True),  # width is not case: NFKC on both sides
        ("cs(Straße)", "Straße", True),
        ("cs(Straße)", "STRASSE", False),
        ("cs(Apple) iphone", "Apple launched an iPhone", True),
        ("cs(Apple) iphone", "apple launched an iPhone", False),
        ("cs(U.S.)", "U.S. and the U", True),  # a first word at the very end is not an occurrence
        ("cs(U.S.)", "u.s. and the U", False),
        ("cs(New York)", "new york, not New", False),
    ],
)
def test_case_sensitive_terms(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("U.S.", "U.S. troops", True),
        ("U.S.", "U.S troops", True),
        ("U.S.", "u s troops", True),
        ("U.S.", "US troops", False),
        ("U.S.", "the bus", False),
        ("U.S. OR cs(US)", "US troops", True),
        ("U.S. OR cs(US)", "let us go", False),
        ("us", "US troops", True),
        ("us", "U.S. troops", False),
    ],
)
def test_us_abbreviation(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("cease-fire", "a cease-fire was agreed", True),
        ("cease-fire", "a ceasefire was agreed", True),
        ("cease-fire", "a cease fire was agreed", True),
        ("ceasefire", "a ceasefire was agreed", True),
        ("ceasefire", "a cease-fire was agreed", False),
        ("ceasefire", "a cease fire was agreed", False),
        ('"cease fire"', "a cease-fire was agreed", True),
        ('"cease fire"', "a ceasefire was agreed", False),
        ("cease-fire NEAR/2 agreed", "a ceasefire was agreed", True),
    ],
)
def test_hyphenated_words(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_fields() -> None:
    assert matches("title:nato", "nothing", title="NATO summit") is True
    assert matches("title:nato", "NATO summit", title="nothing") is False
    assert matches("body:nato", "NATO summit", title="nothing") is True
    assert matches("body:nato", "nothing", title="NATO summit") is False
    assert matches('title:"nato summit" body:troops', "troops", title="NATO summit") is True
    assert matches("title:(nato OR eu) troops", "troops", title="EU summit") is True
    assert matches("title:escal*", "escalation", title="calm") is False
    assert matches("title:(troops NEAR/2 border)", "troops border", title="troops at border") is True
    assert matches("nato", "", title="NATO") is True  # no field: title or body


@pytest.mark.parametrize(
    ("query", "source", "expected"),
    [
        ("source:example.com", "example.com", True),
        ("source:example.com", "www.example.com", True),
        ("source:example.com", "news.eu.example.com", True),
        ("source:example.com", "badexample.com", False),
        ("source:example.com", "example.com.evil.net", False),
        ("source:www.example.com", "example.com", False),
        ("source:example.com", "https://WWW.EXAMPLE.COM:443/path", True),
        ("source:example.com", "", False),
    ],
)
def test_source_filter(query: str, source: str, expected: bool) -> None:
    assert matches(query, "anything", source=source) is expected


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("lang:en nato", "en", True),
        ("lang:en nato", "en-GB", True),
        ("lang:en nato", "EN_us", True),
        ("lang:en nato", "de", False),
        ("lang:en nato", None, False),
        ("lang:en-gb nato", "en", False),
        ("lang:pt-br nato", "pt-BR", True),
        ("nato NOT lang:de", "de", False),
        ("nato NOT lang:de", None, True),
    ],
)
def test_language_filter(query: str, language: str | None, expected: bool) -> None:
    assert matches(query, "NATO", language=language) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("kyiv", "Kiev is the capital", True),
        ("kiev", "Київ", True),
        ("Київ", "KYIV", True),
        ("kyiv*", "Kiev", False),  # wildcards are not expanded
        ("cs(Kyiv)", "Kiev", False),  # nor case-sensitive terms
        ('"new york"', "in NYC today", True),
        ("nyc", "in New York today", True),
        ("nyc", "in New Jersey", False),
        ("kyiv NEAR/2 shelling", "shelling of Kiev", True),
    ],
)
def test_synonyms(query: str, text: str, expected: bool) -> None:
    groups = [("Kyiv", "Kiev", "Київ"), ("New York", "NYC")]
    assert matches(query, text, synonyms=groups) is expected


def test_queries_without_a_required_literal_are_still_evaluated() -> None:
    assert matches("source:example.com OR lang:de", "x", source="www.example.com") is True
    assert matches("source:example.com OR lang:de", "x", source="other.org", language="de") is True
    assert matches("source:example.com OR lang:de", "x", source="other.org", language="en") is False
    assert matches("(nato OR source:example.com) NOT sport", "sport", source="example.com") is False
    assert matches("(nato OR source:example.com) NOT sport", "news", source="example.com") is True
