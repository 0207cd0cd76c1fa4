"""Hypothesis strategies: random (valid) queries and random texts over a small shared vocabulary.

The vocabulary is small on purpose, so that random queries match random texts often; texts spell the
words in many ways (case, accents, ligatures, full width, possessives, hyphens, punctuation) so that the
folding, offsets and cs() paths of the engine are exercised against the reference.
"""

from __future__ import annotations

from hypothesis import strategies as st

from monitor.match import Document

WORDS = ["nato", "troops", "border", "kyiv", "kiev", "us", "strasse", "fine", "cease", "fire", "ceasefire"]
# How each word may be written in a text (the first spelling is the plain one).
SPELLINGS: dict[str, list[str]] = {
    "nato": ["nato", "NATO", "Nato", "ＮＡＴＯ", "NATO's", "NATO’s"],
    "troops": ["troops", "Troops", "TROOPS", "troops'"],
    "border": ["border", "Border", "bördér", "BORDER"],
    "kyiv": ["Kyiv", "kyiv", "KYIV"],
    "kiev": ["Kiev", "kiev", "Kiev's"],
    "us": ["us", "US", "Us", "U.S.", "U.S"],
    "strasse": ["strasse", "Straße", "STRASSE", "straße"],
    "fine": ["fine", "ﬁne", "Fine", "FINE"],
    "cease": ["cease", "Cease"],
    "fire": ["fire", "Fire", "FIRE"],
    "ceasefire": ["ceasefire", "Ceasefire", "cease-fire", "cease fire", "Cease-Fire"],
}
FILLERS = ["the", "of", "at", "said", "İstanbul", "æsir", "Erdoğan", "a", "in", "1,000", "O'Brien"]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", " - ", "\n", " (", ") ", " “", "” ", ": ", "…", "'"]
HOSTS = ["example.com", "www.example.com", "news.example.org", "other.net", ""]
LANGS = ["en", "en-GB", "de", None]

_word = st.sampled_from(WORDS).flatmap(lambda w: st.sampled_from(SPELLINGS[w]))
_token = st.one_of(_word, _word, _word, st.sampled_from(FILLERS))
_separator = st.one_of(st.just(" "), st.just(" "), st.sampled_from(SEPARATORS))
texts = st.lists(st.tuples(_token, _separator), max_size=24).map(lambda ps: "".join(w + s for w, s in ps))

long_texts = st.lists(st.tuples(_token, _separator), min_size=6, max_size=24).map(
    lambda parts: "".join(w + s for w, s in parts)
)
documents = st.builds(
    Document,
    title=texts,
    body=long_texts,
    source=st.sampled_from(HOSTS),
    language=st.sampled_from(LANGS),
)

_terms = st.sampled_from(
    [*WORDS, "Kyiv", "NATO", "Straße", "ﬁne", "ＮＡＴＯ", "nato's", "U.S.", "cease-fire"]
)
_phrases = st.sampled_from(
    ['"troops border"', '"nato troops"', '"cease fire"', '"border kyiv"', '"us nato"', '"the border"']
)
_prefixes = st.sampled_from(["bor*", "tro*", "cea*", "nat*", "str*", "kyi*", "fir*", "ceasef*"])
_cs = st.sampled_from(["cs(US)", "cs(us)", "cs(NATO)", "cs(Nato)", "cs(U.S.)", "cs(Straße)", "cs(Kyiv)"])
_plain = st.one_of(_terms, _terms, _terms, _phrases, _prefixes, _cs)


def _span_expr(depth: int) -> st.SearchStrategy[str]:
    """Operands NEAR accepts: literals, OR-groups of them, nested NEARs."""
    if depth <= 0:
        return _plain
    smaller = _span_expr(depth - 1)
    return st.one_of(
        _plain,
        st.lists(smaller, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        st.tuples(smaller, st.sampled_from(["NEAR", "ONEAR"]), st.integers(1, 6), smaller).map(
            lambda t: f"({t[0]} {t[1]}/{t[2]} {t[3]})"
        ),
    )


def _near(operand: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(operand, st.sampled_from(["NEAR", "ONEAR"]), st.integers(1, 6), operand).map(
        lambda t: f"({t[0]} {t[1]}/{t[2]} {t[3]})"
    )


def _positive(depth: int) -> st.SearchStrategy[str]:
    """Queries that always require something positive (so that the parser accepts them)."""
    if depth <= 0:
        return st.one_of(_plain, _plain, _near(_plain))
    smaller = _positive(depth - 1)
    pairs = st.lists(smaller, min_size=2, max_size=3)
    return st.one_of(
        _plain,
        _plain,
        _near(_plain),
        _near(_span_expr(1)),
        pairs.map(lambda xs: "(" + " ".join(xs) + ")"),
        pairs.map(lambda xs: "(" + " AND ".join(xs) + ")"),
        pairs.map(lambda xs: "(" + " OR ".join(xs) + ")"),
        st.tuples(smaller, _plain).map(lambda t: f"({t[0]} NOT {t[1]})"),
        st.tuples(smaller, _near(_plain)).map(lambda t: f"({t[0]} NOT {t[1]})"),
        smaller.map(lambda q: f"({q} NOT zebra)"),
        st.tuples(smaller, smaller).map(lambda t: f"({t[0]} AND NOT ({t[1]} OR fire))"),
        st.tuples(st.sampled_from(["title", "body"]), _span_expr(1)).map(lambda t: f"{t[0]}:({t[1]})"),
        st.tuples(st.sampled_from(["title", "body"]), _plain).map(lambda t: f"{t[0]}:{t[1]}"),
        st.tuples(smaller, st.sampled_from(["source:example.com", "lang:en", "source:other.net"])).map(
            lambda t: f"({t[0]} {t[1]})"
        ),
    )


queries = _positive(2)
near_queries = _near(_span_expr(1))
SYNONYMS = (("Kyiv", "Kiev"), ("cease-fire", "truce"))
