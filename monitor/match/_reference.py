"""The slow, obvious evaluator that the engine is tested against.

It shares only the parser and the per-character definition of folding (``char_tokens``) with the engine:
no automaton, no index, no offset map, no fast folding. Every literal is found by walking the word list
of the field, every NEAR by trying every pair of occurrences.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from monitor.match._ast import And, CaseTerm, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term
from monitor.match._fold import char_tokens
from monitor.match._parser import parse_query
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["reference_match"]

_Word = tuple[str, str]  # (folded word, NFKC original spelling)
_Span = tuple[int, int]  # first and last word position, inclusive


def reference_match(query: str, doc: Document, *, synonyms: Sequence[Sequence[str]] = ()) -> bool:
    """Whether ``query`` matches ``doc``, computed the slow and obvious way."""
    node = parse_query(query, synonyms=synonyms)
    fields = {"title": _words(doc.title), "body": _words(doc.body)}
    return _holds(node, fields, doc)


def _words(text: str) -> list[_Word]:
    return [(w, unicodedata.normalize("NFKC", text[s:e])) for w, s, e in char_tokens(text)]


def _holds(node: Query, fields: dict[str, list[_Word]], doc: Document) -> bool:
    if isinstance(node, And):
        return all(_holds(c, fields, doc) for c in node.children)
    if isinstance(node, Or):
        return any(_holds(c, fields, doc) for c in node.children)
    if isinstance(node, Not):
        return not _holds(node.child, fields, doc)
    if isinstance(node, Source):
        host_labels = normalize_host(doc.source).split(".")
        want = node.host.split(".")
        return len(host_labels) >= len(want) and host_labels[len(host_labels) - len(want) :] == want
    if isinstance(node, Lang):
        have = normalize_language(doc.language).split("-")
        want = node.code.split("-")
        return bool(doc.language) and have[: len(want)] == want
    names = ("title", "body") if node.field == "any" else (node.field,)
    return any(_spans(node, fields[name]) for name in names)


def _spans(node: Query, ws: list[_Word]) -> set[_Span]:
    n = len(ws)
    if isinstance(node, Term):
        return {(i, i) for i in range(n) if ws[i][0] == node.word}
    if isinstance(node, Prefix):
        return {(i, i) for i in range(n) if ws[i][0].startswith(node.stem)}
    if isinstance(node, Phrase):
        k = len(node.words)
        return {(i, i + k - 1) for i in range(n - k + 1) if tuple(w for w, _ in ws[i : i + k]) == node.words}
    if isinstance(node, CaseTerm):
        k = len(node.words)
        return {
            (i, i + k - 1)
            for i in range(n - k + 1)
            if tuple(w for w, _ in ws[i : i + k]) == node.words
            and tuple(o for _, o in ws[i : i + k]) == node.originals
        }
    if isinstance(node, Or):
        out: set[_Span] = set()
        for c in node.children:
            out |= _spans(c, ws)
        return out
    if isinstance(node, Near):
        found: set[_Span] = set()
        for a in _spans(node.left, ws):
            for b in _spans(node.right, ws):
                after = a[1] < b[0] and b[0] - a[1] <= node.distance
                before = b[1] < a[0] and a[0] - b[1] <= node.distance
                if after or (before and not node.ordered):
                    found.add((min(a[0], b[0]), max(a[1], b[1])))
        return found
    raise TypeError(f"not a span node: {node!r}")  # pragma: no cover - the parser refuses these
