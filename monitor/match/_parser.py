"""Recursive-descent parser: query text → ``Query`` tree, or a ``QuerySyntaxError`` with a position.

Precedence, loosest first: ``OR``; ``AND`` (explicit, or implicit between adjacent items); ``NOT``
(prefix); ``NEAR/n`` and ``ONEAR/n`` (left-associative); then terms, ``"phrases"``, ``cs(...)``,
``field:...`` and parenthesised groups. So ``a b OR c`` is ``(a AND b) OR c`` and
``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``.

Literals are folded here, once; a bare word that folds to several words (``U.S.``, ``o'brien``) is a
phrase, and a hyphenated word also matches its closed-up spelling: ``cease-fire`` means
``("cease fire" OR ceasefire)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from monitor.match._ast import (
    And,
    CaseTerm,
    Field,
    Lang,
    Near,
    Not,
    Or,
    Phrase,
    Prefix,
    Query,
    Source,
    Term,
)
from monitor.match._errors import QuerySyntaxError
from monitor.match._fold import char_tokens, clean, fold, words
from monitor.match._lexer import Token, tokenize
from monitor.match._types import normalize_host

__all__ = ["MIN_STEM", "parse_query", "validate_query"]

MIN_STEM = 3
_HYPHENS = "-\u2010\u2011"
_HOST = re.compile(r"[^\W_](?:[\w.-]*[^\W_])?", re.UNICODE)
_LANG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_STARTS_UNARY = frozenset({"WORD", "PHRASE", "CS", "FIELD", "FILTER", "(", "NOT"})
_NEAR_OPERAND = "NEAR operands must be terms, phrases, wildcards or OR-groups of them"

Synonyms = dict[tuple[str, ...], list[Query]]

# Nodes of bare words already parsed, per (word as written, field): watchlists share their words, so
# 100,000 queries fold a vocabulary of a few ten thousand words once and share the (frozen) nodes.
_WORDS: dict[tuple[str, str], Query] = {}
_WORDS_LIMIT = 200_000


# A query of plain words (ASCII letters and digits, no operator): the tree the grammar gives for it, the
# words ANDed, is built directly. It is the shape users write most, and the grammar's calls (a dozen
# per word) are most of the time a build of 100,000 watchlists spends parsing.
_PLAIN_WORDS = re.compile(r"\s*[A-Za-z0-9]+(?:\s+[A-Za-z0-9]+)*\s*")
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR", "ONEAR"})
_NOT_AND_ONLY = _OPERATORS - {"AND", "NOT"}  # the operators ``_plain_and`` leaves to the grammar


def parse_query(text: str, *, synonyms: Sequence[Sequence[str]] = ()) -> Query:
    """Parse a query; raise ``QuerySyntaxError`` naming the position and the problem."""
    if not synonyms and _PLAIN_WORDS.fullmatch(text):
        raws = text.split()
        if _OPERATORS.isdisjoint(raws):
            return _and([_word(raw, 0, "any", text) for raw in raws])
        if _NOT_AND_ONLY.isdisjoint(raws):
            tree = _plain_and(raws, text)
            if tree is not None:
                return tree
    return _Parser(text, _synonym_map(synonyms)).parse()


def _plain_and(raws: list[str], text: str) -> Query | None:
    """The grammar's tree for plain words joined by ``AND`` and negated by ``NOT`` (``a AND b``,
    ``a b NOT c``), the next most common shapes; ``None`` for anything the grammar would refuse (an
    operator without its operand, only negations), so that the grammar says why."""
    items: list[Query] = []
    negated = False
    operand_needed = True
    for raw in raws:
        if raw == "AND":
            if operand_needed:
                return None
            operand_needed = True
        elif raw == "NOT":
            negated = not negated  # NOT NOT a is a
            operand_needed = True
        else:
            node = _word(raw, 0, "any", text)
            items.append(Not(node) if negated else node)
            negated = operand_needed = False
    if operand_needed or all(type(item) is Not for item in items):
        return None
    return _and(items)


def _word(raw: str, pos: int, field: Field, query: str) -> Query:
    """The node of a bare word without synonyms, shared with every query that has it (``_WORDS``)."""
    known = _WORDS.get((raw, field))
    if known is None:
        known = _literal(raw, pos, field, query, {})  # {}: a query's term (None: a synonym)
        if len(_WORDS) >= _WORDS_LIMIT:
            _WORDS.clear()
        _WORDS[raw, field] = known
    return known


def validate_query(text: str, *, synonyms: Sequence[Sequence[str]] = ()) -> None:
    """Raise ``QuerySyntaxError`` if the query (or one of its synonyms) would be refused."""
    parse_query(text, synonyms=synonyms)


def _synonym_map(groups: Sequence[Sequence[str]]) -> Synonyms:
    """Folded spelling of each member → the alternatives it expands to (all members of its groups)."""
    out: Synonyms = {}
    for group in groups:
        nodes: list[Query] = []
        keys: list[tuple[str, ...]] = []
        for member in group:
            text = member.strip()
            nodes.append(_literal(text, 0, "any", text, None))
            if "*" not in text:
                keys.append(tuple(words(text)))
        for key in keys:
            bucket = out.setdefault(key, [])
            bucket.extend(n for n in nodes if n not in bucket)
    return out


def _literal(raw: str, pos: int, field: Field, query: str, synonyms: Synonyms | None) -> Query:
    """The node of a bare word: a term, a phrase, a prefix, or an OR of spellings and synonyms."""
    if "*" in raw:
        star = raw.index("*")
        if star != len(raw) - 1:
            raise QuerySyntaxError(query, pos + star, "* is only allowed at the end of a word")
        folded = clean(fold(raw[:-1]))
        stem = folded.split()
        if len(stem) > 1 or folded.rstrip() != folded:
            raise QuerySyntaxError(query, pos, "a wildcard stem must be a single word")
        if not stem or len(stem[0]) < MIN_STEM:
            raise QuerySyntaxError(query, pos, f"a wildcard needs at least {MIN_STEM} letters before *")
        return Prefix(stem[0], field, raw)
    ws = tuple(words(raw))
    if not ws:
        problem = "synonym has no letters or digits" if synonyms is None else "term has no letters or digits"
        raise QuerySyntaxError(query, pos, problem)
    node = _words_node(ws, field, raw)
    if any(h in raw for h in _HYPHENS):
        closed = tuple(words(raw.translate({ord(h): None for h in _HYPHENS})))
        if closed != ws:
            node = _or([node, _words_node(closed, field, raw)])
    return _with_synonyms(node, ws, field, synonyms)


def _words_node(ws: tuple[str, ...], field: Field, raw: str) -> Query:
    return Term(ws[0], field, raw) if len(ws) == 1 else Phrase(ws, field, raw)


def _with_synonyms(node: Query, ws: tuple[str, ...], field: Field, synonyms: Synonyms | None) -> Query:
    if not synonyms or ws not in synonyms:
        return node
    alternatives: list[Query] = [node]
    for member in synonyms[ws]:
        moved = _in_field(member, field)
        if moved not in alternatives:
            alternatives.append(moved)
    return _or(alternatives)


def _in_field(node: Query, field: Field) -> Query:
    """A synonym member (parsed field-less) moved into ``field``."""
    if isinstance(node, Term):
        return Term(node.word, field, node.raw)
    if isinstance(node, Phrase):
        return Phrase(node.words, field, node.raw)
    if isinstance(node, Prefix):
        return Prefix(node.stem, field, node.raw)
    if isinstance(node, Or):
        return Or(tuple(_in_field(c, field) for c in node.children))
    return node


def _or(children: list[Query]) -> Query:
    flat: list[Query] = []
    for c in children:
        for item in c.children if isinstance(c, Or) else (c,):
            if item not in flat:
                flat.append(item)
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _and(children: list[Query]) -> Query:
    flat: list[Query] = []
    for c in children:
        flat.extend(c.children if isinstance(c, And) else (c,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _is_span(node: Query, field: Field) -> bool:
    if isinstance(node, Term | Phrase | Prefix | CaseTerm):
        return node.field == field
    if isinstance(node, Or):
        return all(_is_span(c, field) for c in node.children)
    if isinstance(node, Near):
        return node.field == field
    return False


def _has_field(node: Query) -> bool:
    if isinstance(node, Term | Phrase | Prefix | CaseTerm | Near):
        return node.field != "any"
    if isinstance(node, Source | Lang):
        return True
    if isinstance(node, And | Or):
        return any(_has_field(c) for c in node.children)
    if isinstance(node, Not):
        return _has_field(node.child)
    return False


def _positive(node: Query) -> bool:
    """Whether every match needs at least one positive literal or filter (not only absences)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_positive(c) for c in node.children)
    return True


class _Parser:
    def __init__(self, query: str, synonyms: Synonyms) -> None:
        self.query = query
        self.synonyms = synonyms
        self.tokens = tokenize(query)
        self.i = 0
        self.first_not: int | None = None

    # helpers ------------------------------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, pos: int, problem: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, pos, problem)

    def _operand_needed(self, op: Token, label: str) -> None:
        nxt = self.peek()
        if nxt.kind not in _STARTS_UNARY:
            raise self.fail(op.pos, f"dangling operator {label}")

    # grammar ------------------------------------------------------------------------------------------
    def parse(self) -> Query:
        first = self.peek()
        if first.kind == "END":
            raise self.fail(0, "empty query")
        node = self.parse_or("any")
        tok = self.peek()
        if tok.kind == ")":
            raise self.fail(tok.pos, "unbalanced parenthesis")
        if tok.kind != "END":  # pragma: no cover - every other token is consumed by the grammar
            raise self.fail(tok.pos, "unexpected token")
        if not _positive(node):
            pos = self.first_not if self.first_not is not None else 0
            raise self.fail(pos, "query is only negative (NOT) and would match nearly every article")
        return node

    # (``self.tokens[self.i]`` rather than ``peek()`` on the paths every query takes: a build parses
    # 100,000s of queries, and the calls were a tenth of it)
    def parse_or(self, field: Field) -> Query:
        items = [self.parse_and(field)]
        while self.tokens[self.i].kind == "OR":
            op = self.take()
            self._operand_needed(op, "OR")
            items.append(self.parse_and(field))
        return _or(items)

    def parse_and(self, field: Field) -> Query:
        tok = self.tokens[self.i]
        if tok.kind in ("AND", "OR", "NEAR"):
            raise self.fail(tok.pos, f"dangling operator {tok.text or tok.kind}")
        items = [self.parse_unary(field)]
        while True:
            tok = self.tokens[self.i]
            if tok.kind == "AND":
                self.take()
                self._operand_needed(tok, "AND")
                items.append(self.parse_unary(field))
            elif tok.kind in _STARTS_UNARY:
                items.append(self.parse_unary(field))
            else:
                return _and(items)

    def parse_unary(self, field: Field) -> Query:
        tok = self.tokens[self.i]
        if tok.kind == "NOT":
            self.take()
            if self.first_not is None:
                self.first_not = tok.pos
            self._operand_needed(tok, "NOT")
            inner = self.parse_unary(field)
            return inner.child if isinstance(inner, Not) else Not(inner)
        return self.parse_near(field)

    def parse_near(self, field: Field) -> Query:
        left_pos = self.tokens[self.i].pos
        left = self.parse_primary(field)
        while self.tokens[self.i].kind == "NEAR":
            op = self.take()
            nxt = self.peek()
            if nxt.kind == "NOT":
                raise self.fail(nxt.pos, _NEAR_OPERAND)
            if nxt.kind not in _STARTS_UNARY:
                raise self.fail(op.pos, f"dangling operator {op.text}")
            right_pos = nxt.pos
            right = self.parse_primary(field)
            for node, pos in ((left, left_pos), (right, right_pos)):
                if not _is_span(node, field):
                    problem = _NEAR_OPERAND
                    if field == "any" and _has_field(node):
                        problem = "a field inside NEAR: put it around the NEAR, like title:(a NEAR/3 b)"
                    raise self.fail(pos, problem)
            left = Near(left, right, op.distance, op.ordered, field)
        return left

    def parse_primary(self, field: Field) -> Query:
        tok = self.tokens[self.i]
        self.i += 1
        kind = tok.kind
        if kind == "(":
            if self.peek().kind == ")":
                raise self.fail(tok.pos, "empty parentheses")
            node = self.parse_or(field)
            if self.peek().kind != ")":
                raise self.fail(tok.pos, "unbalanced parenthesis")
            self.take()
            return node
        if kind == "WORD":
            if self.synonyms:
                return _literal(tok.text, tok.pos, field, self.query, self.synonyms)
            return _word(tok.text, tok.pos, field, self.query)
        if kind == "PHRASE":
            return self.phrase(tok, field)
        if kind == "CS":
            return self.case_sensitive(tok, field)
        if kind in ("FIELD", "FILTER"):
            if field != "any":
                raise self.fail(tok.pos, f"fields cannot be nested (already inside {field}:)")
            if kind == "FILTER":
                return self.filter(tok)
            if self.peek().kind not in ("WORD", "PHRASE", "CS", "("):
                raise self.fail(tok.pos, f"{tok.text}: needs a term, phrase or (group) after the colon")
            return self.parse_primary(tok.text)  # type: ignore[arg-type]
        if kind == ")":
            raise self.fail(tok.pos, "unbalanced parenthesis")
        if kind == "END":  # pragma: no cover - callers check that an operand follows
            raise self.fail(tok.pos, "unexpected end of query")
        raise self.fail(tok.pos, f"dangling operator {tok.text or kind}")

    def phrase(self, tok: Token, field: Field) -> Query:
        if "*" in tok.text:
            raise self.fail(tok.pos + 1 + tok.text.index("*"), "wildcards are not allowed in a phrase")
        ws = tuple(words(tok.text))
        if not ws:
            raise self.fail(tok.pos, "empty phrase")
        return _with_synonyms(_words_node(ws, field, tok.text), ws, field, self.synonyms)

    def case_sensitive(self, tok: Token, field: Field) -> Query:
        if "*" in tok.text:
            raise self.fail(tok.pos + 3 + tok.text.index("*"), "wildcards are not allowed in cs()")
        if any(q in tok.text for q in '("'):
            raise self.fail(tok.pos, "cs() takes plain words, without quotes or parentheses")
        found = char_tokens(tok.text)
        if not found:
            raise self.fail(tok.pos, "empty cs()")
        ws = tuple(w for w, _s, _e in found)
        originals = tuple(unicodedata.normalize("NFKC", tok.text[s:e]) for _w, s, e in found)
        return CaseTerm(ws, originals, field, tok.text)

    def filter(self, tok: Token) -> Query:
        value = tok.text.strip().lower()
        if tok.name == "source":
            host = normalize_host(value)
            if not _HOST.fullmatch(host):
                raise self.fail(tok.pos, "source: needs a host name like example.com")
            return Source(host)
        code = value.replace("_", "-")
        if not _LANG.fullmatch(code):
            raise self.fail(tok.pos, "lang: needs a language code like en or pt-BR")
        return Lang(code)
