"""NEAR checks that stop early give what listing every combined range gives.

``near_exists`` answers ``bool(near_spans(...))`` from the nearest partners of each left range, and
``FieldText.has_near`` uses it (and a presence check of both words) instead of ``spans``; both are
checked against the full listing, on short fields (a title) and long ones (a body, past ``_FEW``).
``DocView.has_spans`` asks the fields of a node (title, body or both) as ``DocView.fields`` lists them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.match import Document, parse_query
from monitor.match._analysis import FieldText
from monitor.match._ast import And, CaseTerm, Near, Not, Or, Query
from monitor.match._near import Span, near_exists, near_spans
from monitor.match._view import DocView, Lookup
from tests.match.strategies import long_texts, near_queries, queries, texts

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


def _span_nodes(node: Query) -> list[CaseTerm | Near]:
    """The ``cs()`` and NEAR nodes of a query (the ones ``DocView.has_spans`` is asked about)."""
    if isinstance(node, CaseTerm | Near):
        return [node]
    if isinstance(node, And | Or):
        return [found for child in node.children for found in _span_nodes(child)]
    if isinstance(node, Not):
        return _span_nodes(node.child)
    return []


_fielded = st.tuples(
    st.sampled_from(["", "title:", "body:"]),
    st.one_of(near_queries, st.sampled_from(["cs(US)", "cs(NATO)", "cs(Nato)", "cs(U.S.)", "cs(Kyiv)"])),
).map("".join)
_two_fields = st.builds(Document, title=st.one_of(texts, long_fields), body=st.one_of(texts, long_fields))


@_settings
@given(query=st.one_of(_fielded, queries), doc=_two_fields)
# each node in one field only, asked of each field (random texts seldom make these)
@example(query="title:(nato NEAR/2 troops)", doc=Document(title="fire", body="nato troops"))
@example(query="body:(nato NEAR/2 troops)", doc=Document(title="nato troops", body="fire"))
@example(query="nato NEAR/2 troops", doc=Document(title="nato troops", body="fire"))
@example(query="title:cs(US)", doc=Document(title="fire", body="US troops"))
@example(query="body:cs(US)", doc=Document(title="US troops", body="fire"))
@example(query="cs(US)", doc=Document(title="US troops", body="fire"))
def test_has_spans_asks_each_field_of_the_node(query: str, doc: Document) -> None:
    """``DocView.has_spans`` (tests written out per field) against its definition over ``fields``,
    for nodes of every field (``title:(a NEAR/2 b)``, ``body:cs(US)``, unfielded), in a title and a
    body drawn apart (so that a node is often in one field only)."""
    view = DocView(doc, FieldText(doc.title), FieldText(doc.body), Lookup())
    for node in _span_nodes(parse_query(query)):
        fields = view.fields(node.field)
        if isinstance(node, CaseTerm):
            expected = any(f.first_case(node) is not None for f in fields)
        else:
            expected = any(bool(f.spans(node)) for f in fields)
        assert view.has_spans(node) == expected, node
