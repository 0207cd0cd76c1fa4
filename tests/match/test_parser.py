"""The query parser: trees for valid queries, a position and a reason for every invalid one."""

from __future__ import annotations

import pickle
import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import QuerySyntaxError, parse_query, validate_query
from monitor.match._ast import And, CaseTerm, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term
from monitor.match._parser import _Parser

_FIELD_IN_NEAR = "a field inside NEAR: put it around the NEAR, like title:(a NEAR/3 b)"


@pytest.mark.parametrize(
    ("query", "position", "problem"),
    [
        ("(troops AND border", 0, "unbalanced parenthesis"),
        ("troops AND border)", 17, "unbalanced parenthesis"),
        ("troops AND (border OR (nato)", 11, "unbalanced parenthesis"),
        (")", 0, "unbalanced parenthesis"),
        ("()", 0, "empty parentheses"),
        ("troops NEAR border", 7, "NEAR needs a distance, like NEAR/5"),
        ("troops NEAR/ border", 7, "NEAR needs a distance, like NEAR/5"),
        ("troops NEAR/x border", 7, "NEAR needs a distance, like NEAR/5"),
        ("troops ONEAR border", 7, "ONEAR needs a distance, like ONEAR/5"),
        ("troops NEAR/0 border", 7, "NEAR distance must be between 1 and 100"),
        ("troops NEAR/101 border", 7, "NEAR distance must be between 1 and 100"),
        ('""', 0, "empty phrase"),
        ('troops "  ,  "', 7, "empty phrase"),
        ('troops "border', 7, "unterminated quote"),
        ("NOT", 0, "dangling operator NOT"),
        ("NOT nato", 0, "query is only negative (NOT) and would match nearly every article"),
        ("troops OR NOT nato", 10, "query is only negative (NOT) and would match nearly every article"),
        ("(NOT a) OR (NOT b) OR c", 1, "query is only negative (NOT) and would match nearly every article"),
        ("foo:bar", 0, "unknown field 'foo'"),
        ("troops AND", 7, "dangling operator AND"),
        ("AND troops", 0, "dangling operator AND"),
        ("troops OR", 7, "dangling operator OR"),
        ("troops OR OR border", 7, "dangling operator OR"),
        ("troops NEAR/5", 7, "dangling operator NEAR"),
        ("NEAR/5 troops", 0, "dangling operator NEAR"),
        ("(troops AND) border", 8, "dangling operator AND"),
        ("es*", 0, "a wildcard needs at least 3 letters before *"),
        ("*", 0, "a wildcard needs at least 3 letters before *"),
        ("esc*alate", 3, "* is only allowed at the end of a word"),
        ("u.s*", 0, "a wildcard stem must be a single word"),
        ("us-*", 0, "a wildcard stem must be a single word"),
        ('"escal* crisis"', 6, "wildcards are not allowed in a phrase"),
        ("cs(Esc*)", 6, "wildcards are not allowed in cs()"),
        ("cs(", 0, "unterminated cs("),
        ("cs()", 0, "empty cs()"),
        ("cs( - )", 0, "empty cs()"),
        ("title:(body:nato)", 7, "fields cannot be nested (already inside title:)"),
        ("title:(source:example.com)", 7, "fields cannot be nested (already inside title:)"),
        ("title: nato", 6, "title: needs a term, phrase or (group) after the colon"),
        ("title:", 6, "title: needs a term, phrase or (group) after the colon"),
        ("source: x", 7, "source: needs a host name like example.com right after the colon"),
        ("source:-x-", 0, "source: needs a host name like example.com"),
        ("lang:english", 0, "lang: needs a language code like en or pt-BR"),
        ("title:nato NEAR/3 border", 0, _FIELD_IN_NEAR),
        ("(a b) NEAR/3 c", 0, "NEAR operands must be terms, phrases, wildcards or OR-groups of them"),
        ("a NEAR/3 (b NOT c)", 9, "NEAR operands must be terms, phrases, wildcards or OR-groups of them"),
        ("a NEAR/3 NOT c", 9, "NEAR operands must be terms, phrases, wildcards or OR-groups of them"),
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("&", 0, "term has no letters or digits"),
        ("troops — border", 7, "term has no letters or digits"),
    ],
)
def test_syntax_errors_name_the_position_and_the_problem(query: str, position: int, problem: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        validate_query(query)
    err = caught.value
    assert (err.position, err.problem) == (position, problem)
    assert err.query == query
    assert str(err) == f"{problem} at {position}"


def test_render_puts_a_caret_under_the_position() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("troops AND (border OR nato))")
    assert caught.value.render() == (
        "unbalanced parenthesis at 27\n  troops AND (border OR nato))\n                             ^"
    )


def test_render_keeps_the_caret_aligned_across_tabs_and_line_breaks() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("troops\tAND\n")
    lines = caught.value.render().splitlines()
    assert lines == ["dangling operator AND at 7", "  troops AND ", "         ^"]


def test_errors_survive_pickling_with_their_fields() -> None:
    err = QuerySyntaxError("a AND", 2, "dangling operator AND").for_watchlist(4, "ukraine")
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert (copy.query, copy.position, copy.problem, copy.watchlist_id, copy.watchlist_name) == (
        "a AND",
        2,
        "dangling operator AND",
        4,
        "ukraine",
    )
    assert str(copy) == "watchlist 'ukraine' (id 4): dangling operator AND at 2"


def test_a_bad_synonym_is_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="synonym has no letters or digits"):
        validate_query("kyiv", synonyms=[("Kyiv", "--")])


def test_terms_phrases_and_implicit_and() -> None:
    assert parse_query("NATO") == Term("nato")
    assert parse_query('"Exact  Phrase"') == Phrase(("exact", "phrase"))
    assert parse_query('"nato"') == Term("nato")
    assert parse_query("troops border") == And((Term("troops"), Term("border")))
    assert parse_query("troops AND border AND nato") == And((Term("troops"), Term("border"), Term("nato")))
    assert parse_query("“smart quotes”") == Phrase(("smart", "quotes"))


def test_lower_case_operators_are_words() -> None:
    assert parse_query("war and peace") == And((Term("war"), Term("and"), Term("peace")))


def test_precedence_or_below_and_below_not_below_near() -> None:
    a, b, c = Term("a"), Term("b"), Term("c")
    assert parse_query("a b OR c") == Or((And((a, b)), c))
    assert parse_query("a OR b c") == Or((a, And((b, c))))
    assert parse_query("a NOT b") == And((a, Not(b)))
    assert parse_query("NOT a NEAR/3 b c") == And((Not(Near(a, b, 3)), c))
    assert parse_query("a NEAR/2 b NEAR/3 c") == Near(Near(a, b, 2), c, 3)
    assert parse_query("a AND NOT NOT b") == And((a, b))


def test_near_operands() -> None:
    assert parse_query("troops ONEAR/5 border") == Near(Term("troops"), Term("border"), 5, ordered=True)
    assert parse_query('(troops OR army) NEAR/5 "the border"') == Near(
        Or((Term("troops"), Term("army"))), Phrase(("the", "border")), 5
    )
    assert parse_query("escal* NEAR/2 cs(US)") == Near(Prefix("escal"), CaseTerm(("us",), ("US",)), 2)
    assert parse_query("title:(a NEAR/2 b)") == Near(Term("a", "title"), Term("b", "title"), 2, field="title")


def test_wildcard_case_sensitive_and_fields() -> None:
    assert parse_query("Escalat*") == Prefix("escalat")
    assert parse_query("cs(U.S.)") == CaseTerm(("u", "s"), ("U", "S"))
    assert parse_query("cs(ＵＳ)") == CaseTerm(("us",), ("US",))
    assert parse_query("title:(a OR b) body:c") == And(
        (Or((Term("a", "title"), Term("b", "title"))), Term("c", "body"))
    )
    assert parse_query('Title:"a b"') == Phrase(("a", "b"), "title")
    assert parse_query("source:WWW.Example.com. x") == And((Source("www.example.com"), Term("x")))
    assert parse_query("source:https://example.com/path x") == And((Source("example.com"), Term("x")))
    assert parse_query("lang:pt_BR x") == And((Lang("pt-br"), Term("x")))
    assert parse_query("source:example.com") == Source("example.com")


def test_hyphens_apostrophes_and_dots_in_words() -> None:
    assert parse_query("cease-fire") == Or((Phrase(("cease", "fire")), Term("ceasefire")))
    assert parse_query("ceasefire") == Term("ceasefire")
    assert parse_query('"cease-fire"') == Phrase(("cease", "fire"))
    assert parse_query("U.S.") == Phrase(("u", "s"))
    assert parse_query("russia's") == Term("russia")
    assert parse_query("o'brien") == Phrase(("o", "brien"))
    assert parse_query("10:30") == Phrase(("10", "30"))


def test_synonyms_expand_terms_and_phrases_but_not_case_sensitive_terms() -> None:
    groups = [("Kyiv", "Kiev", "Київ"), ("New York", "NYC")]
    assert parse_query("kiev", synonyms=groups) == Or((Term("kiev"), Term("kyiv"), Term("киів")))
    assert parse_query('"new york"', synonyms=groups) == Or((Phrase(("new", "york")), Term("nyc")))
    assert parse_query("title:nyc", synonyms=groups) == Or(
        (Term("nyc", "title"), Phrase(("new", "york"), "title"))
    )
    assert parse_query("cs(Kyiv)", synonyms=groups) == CaseTerm(("kyiv",), ("Kyiv",))
    assert parse_query("kyiv*", synonyms=groups) == Prefix("kyiv")
    assert parse_query("odesa", synonyms=groups) == Term("odesa")


def test_a_watchlist_synonym_may_be_a_wildcard() -> None:
    assert parse_query("truce", synonyms=[("truce", "armistic*")]) == Or((Term("truce"), Prefix("armistic")))


_plain_words = st.lists(
    st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
        st.sampled_from(["AND", "OR", "NOT", "NEAR", "ONEAR", "and", "NEARBY", "cs", "Nato", "US"]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(words=_plain_words, gaps=st.lists(st.sampled_from([" ", "  ", "\t", "\n "]), min_size=7, max_size=7))
def test_plain_words_get_the_tree_of_the_grammar(words: list[str], gaps: list[str]) -> None:
    """Queries of plain words, also joined by AND or negated by NOT, skip the grammar (``_PLAIN_WORDS``,
    ``_plain_and``); the tree must be the grammar's, and a query the grammar refuses (operators without
    operands, only negations, OR or NEAR out of place) must be refused alike."""
    query = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:], strict=False))
    assert _outcome(lambda: parse_query(query)) == _outcome(lambda: _Parser(query, {}).parse())


def _outcome(parse: Callable[[], Query]) -> Query | tuple[int, str]:
    try:
        return parse()
    except QuerySyntaxError as exc:
        return exc.position, exc.problem
