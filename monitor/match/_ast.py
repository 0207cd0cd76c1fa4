"""The parsed form of a query: a small tree of frozen nodes with folded literals.

Fields are pushed down to the leaves while parsing (``title:(a OR b)`` becomes two leaves with
``field="title"``), synonyms and hyphenated words are expanded into ``Or`` nodes, so that the engine,
the reference evaluator and the witness finder all walk the same simple tree.

Every leaf carries its ``key``: the string under which the engine records that the literal occurs in an
article. Keys live in separate name spaces by construction: a word key is letters and digits only, a
phrase key contains spaces, a prefix key ends with ``*``, and filter keys contain ``:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal, TypeAlias

__all__ = [
    "And",
    "CaseTerm",
    "Field",
    "Key",
    "Lang",
    "Near",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "Query",
    "Source",
    "SpanNode",
    "Term",
    "literal_key",
]

Field = Literal["any", "title", "body"]
Key: TypeAlias = str | tuple[str, str]  # a word, "stem*", "source:…"/"lang:…", or a pair of adjacent words


def literal_key(words: tuple[str, ...]) -> str:
    """Key of a word sequence: the word itself, or the words joined by single spaces (a phrase)."""
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Term:
    """One folded word, matched as a whole word."""

    word: str
    field: Field = "any"
    raw: str = dc_field(default="", compare=False)

    @property
    def key(self) -> str:
        return self.word


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more folded words in a row (punctuation between them is ignored)."""

    words: tuple[str, ...]
    field: Field = "any"
    raw: str = dc_field(default="", compare=False)

    @property
    def key(self) -> str:
        return literal_key(self.words)


@dataclass(frozen=True, slots=True)
class Prefix:
    """A word starting with ``stem`` (the query wrote ``stem*``)."""

    stem: str
    field: Field = "any"
    raw: str = dc_field(default="", compare=False)

    @property
    def key(self) -> str:
        return self.stem + "*"


@dataclass(frozen=True, slots=True)
class CaseTerm:
    """``cs(...)``: like a term or phrase, but each word's original spelling must equal ``originals``.

    ``originals`` are NFKC-normalised (a full-width ＵＳ equals US; case and accents still count).
    """

    words: tuple[str, ...]
    originals: tuple[str, ...]
    field: Field = "any"
    raw: str = dc_field(default="", compare=False)

    @property
    def key(self) -> str:
        return literal_key(self.words)


@dataclass(frozen=True, slots=True)
class Source:
    """``source:host``: the article's host is ``host`` or one of its subdomains."""

    host: str

    @property
    def key(self) -> str:
        return "source:" + self.host


@dataclass(frozen=True, slots=True)
class Lang:
    """``lang:code``: the article's language tag starts with these subtags (``en`` matches ``en-GB``)."""

    code: str

    @property
    def key(self) -> str:
        return "lang:" + self.code


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Query


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/n right`` (either order) or ``left ONEAR/n right`` (left first).

    Operands are span nodes (terms, phrases, prefixes, cs terms, OR-groups and NEARs of those); both are
    matched in the same field, their word ranges must not overlap, and the distance is the difference
    of word positions between the end of the first and the start of the second: ``NEAR/1`` means adjacent,
    ``NEAR/5`` allows up to four words in between.
    """

    left: Query
    right: Query
    distance: int
    ordered: bool = False
    field: Field = "any"


Query: TypeAlias = Term | Phrase | Prefix | CaseTerm | Source | Lang | And | Or | Not | Near
SpanNode: TypeAlias = Term | Phrase | Prefix | CaseTerm | Or | Near
