"""NEAR checks that stop early give what listing every combined range gives.

``near_exists`` answers ``bool(near_spans(...))`` from the nearest partners of each left range, and
``FieldText.has_near`` uses it (and a presence check of both words) instead of ``spans``; both are
checked against the full listing, on short fields (a title) and long ones (a body, past ``_FEW``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.match import parse_query
from monitor.match._analysis import FieldText
from monitor.match._ast import Near
from monitor.match._near import Span, near_exists, near_spans
from tests.match.strategies import long_texts, near_queries, texts

_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_span = st.tuples(st.integers(0, 30), st.integers(0, 3)).map(lambda p: (p[0], p[0] + p[1]))
_spans = st.lists(_span, max_size=8).map(lambda spans: sorted(set(spans)))


@_settings
@given(left=_spans, right=_spans, distance=st.integers(1, 6), ordered=st.booleans())
def test_near_exists_is_whether_near_spans_finds_a_pair(
    left: list[Span], right: list[Span], distance: int, ordered: bool
) -> None:
    assert near_exists(left, right, distance, ordered) == bool(near_spans(left, right, distance, ordered))


long_fields = st.lists(long_texts, min_size=3, max_size=8).map(" ".join)


@_settings
@given(query=near_queries, text=st.one_of(texts, long_fields))
def test_has_near_is_whether_the_near_has_spans(query: str, text: str) -> None:
    node = parse_query(query)
    if not isinstance(node, Near):
        return
    field = FieldText(text)
    assert field.has_near(node) == bool(FieldText(text).spans(node))
    assert field.has_near(node) == bool(field.spans(node))  # with the caches the first call filled
