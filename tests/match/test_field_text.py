"""The per-field lookups of the engine (``FieldText``) against the plainest definitions, on long fields.

The documents of ``strategies`` are short, where ``FieldText`` scans its token list; fields of more
than ``_FEW`` tokens (article bodies) take other paths (``str.find`` in the padded text, bisection in
the word offsets), checked here against the token list and regexes over the cleaned text.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.match import Document, Engine, WatchlistSpec, _analysis, reference_match
from monitor.match._analysis import FieldText
from monitor.match._ast import Near, Term
from tests.match.strategies import WORDS, long_texts, near_queries

long_fields = st.lists(long_texts, min_size=6, max_size=12).map(" ".join)  # mostly past ``_FEW`` tokens
_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(text=long_fields)
def test_word_positions_and_first_occurrences_of_a_long_field(text: str) -> None:
    field = FieldText(text)
    tokens = field.tokens
    starts = [m.start() for m in re.finditer(r"\S+", field.cleaned)]
    for word in [*WORDS, "the", "a", "nat", "zebra"]:
        expected = [i for i, token in enumerate(tokens) if token == word]
        assert field.positions(word) == expected
        first = (starts[expected[0]], starts[expected[0]] + len(word)) if expected else None
        assert field.first_word(word) == first
    for stem in ("bor", "tro", "cea", "fir", "zeb"):
        at = next((i for i, token in enumerate(tokens) if token.startswith(stem)), None)
        assert field.first_prefix(stem) == (
            None if at is None else (starts[at], starts[at] + len(tokens[at]))
        )


@_settings
@given(text=long_fields, data=st.data())
def test_first_phrase_of_a_long_field(text: str, data: st.DataObject) -> None:
    field = FieldText(text)
    tokens = field.tokens
    starts = [m.start() for m in re.finditer(r"\S+", field.cleaned)]
    n = data.draw(st.integers(2, 3))
    i = data.draw(st.integers(0, max(0, len(tokens) - n)))
    for words in (tuple(tokens[i : i + n]), ("troops", "border"), ("the", "nato", "fire")):
        if len(words) < 2:
            continue
        at = next((k for k in range(len(tokens)) if tuple(tokens[k : k + len(words)]) == words), None)
        expected = None if at is None else (starts[at], starts[at + len(words) - 1] + len(words[-1]))
        assert field.first_phrase(words) == expected


@_settings
@given(
    text=long_fields, left=st.sampled_from(WORDS), right=st.sampled_from(WORDS), distance=st.integers(1, 6)
)
def test_near_of_two_words_in_a_long_field(text: str, left: str, right: str, distance: int) -> None:
    field = FieldText(text)
    for ordered in (False, True):
        node = Near(Term(left), Term(right), distance, ordered)
        assert field.has_near(node) == bool(field.spans(node))


long_documents = st.builds(Document, title=long_texts, body=long_fields, source=st.just("example.com"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(near_queries, min_size=1, max_size=8), doc=long_documents)
def test_near_queries_on_long_articles_equal_the_reference(batch: list[str], doc: Document) -> None:
    engine = Engine.build([WatchlistSpec(id=i, name=f"w{i}", query=q) for i, q in enumerate(batch)])
    expected = [i for i, q in enumerate(batch) if reference_match(q, doc)]
    assert [h.watchlist_id for h in engine.match(doc)] == expected


@_settings
@given(text=st.one_of(long_fields, st.sampled_from(["", "  ", "a", "a b a", "U.S. u s"])))
def test_first_indexes_are_the_first_occurrence_of_each_word(text: str) -> None:
    field = FieldText(text)
    assert field.first_indexes() == {token: field.tokens.index(token) for token in field.tokens}


def test_first_indexes_of_a_field_longer_than_the_numbers_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_analysis, "_NUMBERS", list(range(3)))
    for text in ("a b", "a b c", "a b c a d b e"):
        field = FieldText(text)
        assert field.first_indexes() == {token: field.tokens.index(token) for token in field.tokens}
