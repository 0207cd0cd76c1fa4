"""The match stage: boolean watchlist queries against articles, many watchlists at once.

Query language
==============

Words
    ``nato`` matches the whole word, ignoring case, accents, width and ligatures: "NATO", "Nato",
    "ＮＡＴＯ"; ``erdogan`` matches "Erdoğan", ``strasse`` matches "Straße", ``istanbul`` matches
    "İstanbul" and "ıstanbul". It never matches inside a word ("senator"). A possessive 's is dropped
    ("Russia's", "Russia’s" are ``russia``); other apostrophes, hyphens and dots separate words
    ("O'Brien" is ``o brien``).

``"exact phrase"``
    The words in a row; punctuation between them is ignored ("White, House" matches).

``AND``, ``OR``, ``NOT``, ``( )``
    Upper case only ("and" is a word). Adjacent items are ANDed: ``troops border``. Precedence,
    loosest first: OR, AND, NOT, NEAR. A query must require something positive: ``NOT sport`` or
    ``a OR NOT b`` are refused (they would match nearly every article).

``a NEAR/n b``, ``a ONEAR/n b``
    Both in the same field, at most ``n`` word positions apart (``NEAR/1``: adjacent), in either order
    (``ONEAR``: ``a`` first). The distance runs from the end of the first to the start of the second;
    operands never overlap (``war NEAR/3 war`` needs two occurrences). Operands are words, phrases,
    wildcards, ``cs()`` and OR-groups or NEARs of those; ``n`` is 1 to 100.

``escalat*``
    Any word starting with the stem; at least 3 letters before the star, only at the end of a word,
    not inside phrases or ``cs()``.

``cs(US)``
    Case- and accent-sensitive: the original spelling must be "US" (width does not count: NFKC).

Fields
    ``title:…`` and ``body:…`` take a word, phrase, ``cs()`` or a parenthesised group; no field means
    title or body (a NEAR or phrase never spans both). ``source:example.com`` matches the host and its
    subdomains; ``lang:en`` matches "en", "en-GB" (a document without a language never matches).

Synonyms
    A watchlist may declare groups (``Kyiv|Kiev|Київ``): a word or phrase of the query equal to a member
    matches any member (not inside ``cs()``, not a wildcard).

Decisions on spelling
    * ``cease-fire`` (hyphen in the query) matches "cease-fire", "cease fire" and "ceasefire";
      ``ceasefire`` only matches "ceasefire"; ``"cease fire"`` matches "cease fire" and "cease-fire".
      Write the hyphenated form to catch every spelling.
    * "U.S." is two words, ``u s``: ``U.S.`` matches "U.S.", "U.S" and "u s" but not "US"; ``us``
      matches "US" and "us" but not "U.S."; ``cs(US)`` matches "US" only. ``U.S. OR cs(US)`` catches
      both spellings of the country without the pronoun.

Errors name the 0-based position and the problem; ``QuerySyntaxError.render()`` repeats the query
with a caret under the position.

Engine
======

``Engine`` follows Lucene Monitor: one pass over each article, candidate watchlists selected through
the index of their most selective required clauses, exact evaluation of candidates only, a snippet
for each hit. ``EngineHolder`` swaps engines atomically for a running daemon. ``reference_match`` is
the slow, obvious evaluator the engine is tested against.
"""

from monitor.match._ast import Query
from monitor.match._engine import Engine, EngineStats, explain
from monitor.match._errors import QuerySyntaxError
from monitor.match._holder import EngineHolder, fingerprint
from monitor.match._parser import parse_query, validate_query
from monitor.match._reference import reference_match
from monitor.match._snippet import mark_spans
from monitor.match._types import Document, WatchlistSpec

__all__ = [
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
