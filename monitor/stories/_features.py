"""What two write-ups of one event share: named entities and the rare words of title and lede.

Entities come from a capitalised-phrase extractor (no model can be downloaded here, and a news story
names its people, places and organisations with capitals): every capitalised word that is not a common
sentence opener, plus adjacent pairs of them ("dmitry peskov"), so that "Peskov" alone still matches.
Terms are the lower-cased words of the title and the first ``lede_words`` words of the body. Weights are
IDF learned online from the stream (document frequencies over every article added so far: _vocab.py).
"""

from __future__ import annotations

import re
from collections import Counter

from monitor.stories._text import PrefixedHashes, words

# A capitalised word (possessive 's dropped), not glued to a preceding letter or digit. Written to start
# with its capital (the "not glued" check is a look-behind after it) so that the regex engine can skip
# to the next capital instead of trying every position: the same matches as
# (?<![\w'-])((?:[A-Z]\.){2,}|[A-Z][A-Za-z-]*[A-Za-z]|[A-Z]{2,})(?:'s)?(?![\w-]), three times faster.
_CAP_WORD = re.compile(r"([A-Z](?<![\w'-][A-Z])(?:\.(?:[A-Z]\.)+|[A-Za-z-]*[A-Za-z]|[A-Z]+))(?:'s)?(?![\w-])")

# Capitalised words that do not name anything: sentence openers, titles of address, calendar words.
_NOT_NAMES_TEXT = (
    """a about above according across after again against all almost along already also although always
    among an and another any anyone are around as at back be because been before being below between both
    but by can could did do does during each earlier either even ever every few first for from further
    had has have he her here hers him his how however i if in into is it its just last later least less
    like many may me meanwhile might more most much must my neither never next no nor not now of off
    often on once one only or other others our out over own perhaps please quite rather read said same
    say says she should since so some still such than that the their them then there these they this
    those though through thus to today together too under unless until up upon us very was we were what
    whatever when where whether which while who whom whose why will with within without would yet you
    your yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday january february
    march april june july august september october november december mr mrs ms dr sen rep gov gen lt
    col sgt st jr sr inc ltd co corp photo image video getty images ap reuters afp updated update
    editor's note story highlights click here watch share tweet email advertisement related cnn"""
)
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())

_STOP_TERMS_TEXT = (
    """a about after again against all also an and any are as at be because been before but by can could
    did do does for from had has have he her his how if in into is it its just more most new no not now of
    on one only or other our out over said says she so some than that the their them then there these
    they this to up us was we were what when where which while who will with would you year years two
    three four five first last week day days told says say may could people time state states"""
)
_STOP_TERMS = frozenset(_STOP_TERMS_TEXT.split())


def entity_counts(text: str) -> Counter[str]:
    """Capitalised words and adjacent pairs of them, lower-cased, with their counts.

    Two capitalised words are adjacent when only spaces separate them (join sentences with " . " to
    keep pairs from spanning them); the regex does the scanning so that the Python loop only sees
    capitalised words (about one token in ten).
    """
    counts: dict[str, int] = {}
    get = counts.get
    prev_end = -2
    prev: str | None = None
    names = _NAMES
    for m in _CAP_WORD.finditer(text):
        raw = m.group(1)
        name = names.get(raw, "")
        if name == "":
            name = names[raw] = _name(raw)
        if name is None:
            prev = None
            continue
        counts[name] = get(name, 0) + 1
        start = m.start()
        if prev is not None and text[prev_end:start].isspace():
            pair = prev + " " + name
            counts[pair] = get(pair, 0) + 1
        prev, prev_end = name, m.end()
    return Counter(counts)


def _name(raw: str) -> str | None:
    """The entity a capitalised word names (lower-cased, dots dropped), or None for a non-name."""
    name = raw.replace(".", "").lower()
    if name in _NOT_NAMES and not raw.isupper():  # "US" and "U.S." name a country
        return None
    return name


class _NameCache(dict[str, "str | None"]):
    """raw capitalised word -> :func:`_name` (bounded: cleared when it passes 200,000 entries)."""

    def __setitem__(self, key: str, value: str | None) -> None:
        if len(self) > 200_000:
            self.clear()
        super().__setitem__(key, value)


_NAMES = _NameCache()


def lede_terms(title: str, body_tokens: list[str], *, lede_words: int) -> set[str]:
    """Lower-cased content words of the title and of the lede (first ``lede_words`` body tokens).

    Built by ``set(filter(None, map(...)))`` over a cache: a known token costs no Python bytecode, and
    the terms go into the set in the same order as one ``add`` per kept token."""
    tokens = words(title)
    tokens += body_tokens[:lede_words]
    return set(filter(None, map(_TERMS.__getitem__, tokens)))


class _TermCache(dict[str, "str | None"]):
    """token -> its term (None: not kept), computed on a miss; bounded: cleared past 200,000 entries."""

    def __missing__(self, word: str) -> str | None:
        if len(self) > 200_000:
            self.clear()
        term = self[word] = _stem(word) if _keep(word) else None
        return term


_TERMS = _TermCache()


def _keep(word: str) -> bool:
    return (len(word) >= 3 or any(c.isdigit() for c in word)) and word not in _STOP_TERMS


def _stem(word: str) -> str:
    """Plural endings only: enough for "talks"/"talk", harmless elsewhere."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


entity_feature = PrefixedHashes("e:").__getitem__  # stable hash of "e:" + entity name
term_feature = PrefixedHashes("t:").__getitem__  # stable hash of "t:" + term
