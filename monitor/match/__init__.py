"""The match stage: boolean watchlist queries against articles, many watchlists at once.

Query language (full reference in ``docs`` of the CLI ``monitor watchlist test``):

* words match whole words, ignoring case, accents and width (``nato`` matches "NATO", not "senator";
  ``erdogan`` matches "Erdoğan"); a possessive 's is ignored ("Russia's" is ``russia``);
* ``"exact phrase"``; ``AND``, ``OR``, ``NOT``, parentheses; adjacent items are ANDed;
* ``a NEAR/5 b`` (either order) and ``a ONEAR/5 b`` (a first): at most 5 word positions apart, so
  ``NEAR/1`` means adjacent; operands are terms, phrases, wildcards, ``cs()`` and OR-groups of them;
* ``escalat*`` (at least 3 letters before the star); ``cs(US)`` matches "US" only;
* ``title:…``, ``body:…`` (default: either), ``source:example.com`` (and subdomains), ``lang:en``;
* a hyphenated word also matches the closed-up and spaced spellings: ``cease-fire`` matches
  "cease-fire", "cease fire" and "ceasefire", while ``ceasefire`` only matches "ceasefire";
  ``U.S.`` matches "U.S." and "U.S" (not "US"/"us"); write ``U.S. OR cs(US)`` for both.

The engine (``Engine``) follows Lucene Monitor: one pass over each article, candidates selected by index
clauses, exact evaluation of candidates; ``reference_match`` is the slow evaluator it is tested against.
"""

from monitor.match._analysis import DocView
from monitor.match._ast import Query
from monitor.match._engine import Engine, EngineStats, explain
from monitor.match._errors import QuerySyntaxError
from monitor.match._holder import EngineHolder, fingerprint
from monitor.match._parser import parse_query, validate_query
from monitor.match._reference import reference_match
from monitor.match._snippet import mark_spans
from monitor.match._types import Document, WatchlistSpec

__all__ = [
    "DocView",
    "Document",
    "Engine",
    "EngineHolder",
    "EngineStats",
    "Query",
    "QuerySyntaxError",
    "WatchlistSpec",
    "explain",
    "fingerprint",
    "mark_spans",
    "parse_query",
    "reference_match",
    "validate_query",
]
