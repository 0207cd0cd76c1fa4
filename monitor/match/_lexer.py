"""Cutting a query into tokens, each with its position for error messages.

Operators are upper-case only (``AND OR NOT NEAR/n ONEAR/n``): a lower-case "and" is an ordinary word.
A word runs until whitespace, a parenthesis or a double quote; ``name:`` at the start of a word is a
field; ``cs(`` opens a case-sensitive literal that runs to the next ``)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Literal, NamedTuple

from monitor.match._errors import QuerySyntaxError

__all__ = ["MAX_DISTANCE", "TEXT_FIELDS", "Token", "tokenize"]

MAX_DISTANCE = 100
TEXT_FIELDS = ("title", "body")
_FILTER_FIELDS = ("source", "lang")
_OPEN_QUOTES = '"“”„'
_NEXT = re.compile(r"\s*+([^\s()\"“”„]*+)")  # the blanks, then the chunk there (maybe empty)
_CLOSING = re.compile(r"[\"“”]")
_FIELD = re.compile(r"([A-Za-z]+):")
_NEAR = re.compile(r"(O?)NEAR(?:/(.*))?\Z")

Kind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "PHRASE", "CS", "FIELD", "FILTER", "WORD", "END"]


class Token(NamedTuple):  # a tuple: built fast (a query has a handful of tokens, there may be 100,000s)
    kind: Kind
    pos: int
    text: str = ""  # word, phrase content, cs() content, field name, filter value
    name: str = ""  # FILTER: "source" or "lang"
    distance: int = 0  # NEAR
    ordered: bool = False  # NEAR: ONEAR


# ``Token(...)`` goes through the Python-level ``__new__`` of a named tuple (keyword defaults); building
# the tuple directly is a C call, and a build of 100,000 watchlists makes about a million tokens.
_token: Callable[[tuple[Kind, int, str, str, int, bool]], Token] = partial(tuple.__new__, Token)


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    append = tokens.append
    while True:
        m = _NEXT.match(query, i)  # one regex call finds the next token's start and, for a chunk, its end
        i, j = m.span(1)  # type: ignore[union-attr]  # the pattern always matches
        if i >= n:
            append(_token(("END", n, "", "", 0, False)))
            return tokens
        if i == j:  # not a chunk: a parenthesis or a quote
            c = query[i]
            if c in "()":
                append(_token(("(" if c == "(" else ")", i, "", "", 0, False)))
                i += 1
                continue
            closing = _CLOSING.search(query, i + 1)  # c is an opening quote
            if closing is None:
                raise QuerySyntaxError(query, i, "unterminated quote")
            j = closing.start()
            append(_token(("PHRASE", i, query[i + 1 : j], "", 0, False)))
            i = j + 1
            continue
        chunk = query[i:j]
        field = _FIELD.match(chunk) if ":" in chunk else None  # (a regex call costs more than ``in``)
        if field:
            name = field.group(1).lower()
            if name not in TEXT_FIELDS and name not in _FILTER_FIELDS:
                raise QuerySyntaxError(query, i, f"unknown field '{field.group(1)}'")
            after = i + field.end()
            if name in _FILTER_FIELDS:
                value = query[after:j]
                if not value:
                    what = "a host name like example.com" if name == "source" else "a language code like en"
                    raise QuerySyntaxError(query, after, f"{name}: needs {what} right after the colon")
                tokens.append(Token("FILTER", i, value, name=name))
                i = j
                continue
            if after >= n or query[after].isspace() or query[after] == ")":
                problem = f"{name}: needs a term, phrase or (group) after the colon"
                raise QuerySyntaxError(query, after, problem)
            tokens.append(Token("FIELD", i, name))
            i = after
            continue
        if chunk == "cs" and j < n and query[j] == "(":
            k = query.find(")", j + 1)
            if k < 0:
                raise QuerySyntaxError(query, i, "unterminated cs(")
            tokens.append(Token("CS", i, query[j + 1 : k]))
            i = k + 1
            continue
        if chunk in ("AND", "OR", "NOT"):
            append(_token((chunk, i, "", "", 0, False)))  # type: ignore[arg-type]
            i = j
            continue
        near = _NEAR.match(chunk) if "NEAR" in chunk else None
        if near:
            append(_near_token(query, i, near))
            i = j
            continue
        append(_token(("WORD", i, chunk, "", 0, False)))
        i = j


def _near_token(query: str, pos: int, m: re.Match[str]) -> Token:
    ordered = bool(m.group(1))
    op = "ONEAR" if ordered else "NEAR"
    raw = m.group(2)
    if raw is None or not raw.isascii() or not raw.isdigit():
        raise QuerySyntaxError(query, pos, f"{op} needs a distance, like {op}/5")
    distance = int(raw)
    if not 1 <= distance <= MAX_DISTANCE:
        raise QuerySyntaxError(query, pos, f"{op} distance must be between 1 and {MAX_DISTANCE}")
    return Token("NEAR", pos, op, distance=distance, ordered=ordered)
