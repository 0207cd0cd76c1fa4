"""Folding and tokenising: the single definition of "the same word" for queries and articles.

A word is a maximal run of letters and digits in the *folded* text. Folding is per character:

* case-folded (``str.casefold``: ß → ss, İ → i̇ → i) and NFKD-decomposed, so full-width letters and
  ligatures become plain ones (ＮＡＴＯ → nato, ﬁ → fi);
* combining marks (category Mn) are dropped (Erdoğan → erdogan);
* letters that do not decompose are mapped explicitly (ł ø đ ð þ æ œ ı ħ ŧ);
* apostrophe look-alikes become ``'``; every other non-ASCII character that is not a letter or a digit
  becomes a space (it separates words, exactly like ASCII punctuation).

Then, when cutting words: an apostrophe + ``s`` at the end of a word is a possessive and is dropped
("Russia's" → ``russia``, as Lucene's EnglishPossessiveFilter does); every other apostrophe, hyphen or
punctuation mark separates words ("O'Brien" → ``o brien``, "cease-fire" → ``cease fire``, "U.S." →
``u s``).

The engine folds a whole article with a few C-level string operations (``fold``/``clean``) instead of a
Python loop per character, and keeps an ``OffsetMap`` to point back into the original text; the
reference evaluator uses ``fold_char`` one character at a time. Tests check that both agree.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

__all__ = [
    "APOSTROPHES",
    "OffsetMap",
    "char_tokens",
    "clean",
    "fold",
    "fold_char",
    "non_ascii",
    "replace_non_ascii",
    "words",
]

APOSTROPHES = frozenset("'\u2019\u2018\u02bc\uff07")
_SPECIAL = {
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "œ": "oe",
    "ı": "i",
    "ħ": "h",
    "ŧ": "t",
}
_ASCII_BYTES = bytes(range(0x80))
_FOLDED: dict[str, str] = {}


def _fold_once(s: str) -> str:
    out: list[str] = []
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", s).casefold())
    for ch in decomposed:
        if unicodedata.category(ch) == "Mn":
            continue
        if ch in APOSTROPHES:
            out.append("'")
            continue
        ch = _SPECIAL.get(ch, ch)
        if ch >= "\x80" and not ch.isalnum():
            ch = " "
        out.append(ch)
    return "".join(out)


def fold_char(c: str) -> str:
    """The folded form of one character (possibly empty, possibly several characters)."""
    done = _FOLDED.get(c)
    if done is not None:
        return done
    if c < "\x80":
        result = c.lower()
    elif c in APOSTROPHES:
        result = "'"
    else:
        result = c
        for _ in range(4):  # iterate to a fixed point so that folding twice changes nothing
            nxt = _fold_once(result)
            if nxt == result:
                break
            result = nxt
    _FOLDED[c] = result
    return result


def non_ascii(text: str) -> frozenset[str]:
    """The distinct non-ASCII characters of a text."""
    if text.isascii():
        return frozenset()
    # C-level: the UTF-8 bytes without the ASCII ones are exactly the non-ASCII characters' sequences
    rest = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return frozenset(rest.decode("utf-8", "surrogatepass"))


def replace_non_ascii(text: str, chars: frozenset[str] | None = None) -> str:
    """Replace each non-ASCII character by its folded form; ASCII is left as is (``clean`` lowers it).

    Only the distinct non-ASCII characters of the text (``chars``, if already known) are looked at in
    Python (a news article has a handful: quotes, dashes, a few accented letters); the replacing is done
    by ``str.replace`` in C.
    """
    for c in non_ascii(text) if chars is None else chars:
        folded = fold_char(c)
        if folded != c:
            text = text.replace(c, folded)
    return text


# ASCII upper-case letters are lowered; bytes >= 0x80 (the inside of UTF-8 sequences) are left alone, so
# translating the UTF-8 bytes keeps character offsets.
_LOWER_TABLE = bytes(c + 32 if 65 <= c <= 90 else c for c in range(256))
# Also every ASCII byte that is not a letter, a digit or an apostrophe becomes a space.
_CLEAN_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if chr(c).isalnum() or c >= 0x80 or c == 0x27 else 0x20 for c in range(256)
)
_POSSESSIVE = re.compile(r"'s(?=[ ']|\Z)")


def fold(text: str) -> str:
    """Fold a whole text; equal to ``"".join(map(fold_char, text))``, done with C-level string calls."""
    replaced = replace_non_ascii(text)
    if replaced.isascii():
        return replaced.lower()
    return replaced.encode("utf-8").translate(_LOWER_TABLE).decode("utf-8")


def clean(folded: str) -> str:
    """Lower ASCII, replace every separator by a space and drop possessive 's; same length.

    The input is a folded text, or a text whose non-ASCII characters were folded by
    ``replace_non_ascii``. After this, ``str.split()`` yields exactly the words, and ``" word "`` occurs
    in ``" " + clean + " "`` exactly where the word occurs.
    """
    if folded.isascii():
        s = folded.encode("ascii").translate(_CLEAN_TABLE).decode("ascii")
    else:
        s = folded.encode("utf-8").translate(_CLEAN_TABLE).decode("utf-8")
    if "'" in s:
        if "'s'" in s:
            s = _POSSESSIVE.sub("  ", s)
        else:
            s = s.replace("'s ", "   ")
            if s.endswith("'s"):
                s = s[:-2] + "  "
        s = s.replace("'", " ")
    return s


def words(text: str) -> list[str]:
    """The folded words of a text, in order (query literals go through this too)."""
    return clean(replace_non_ascii(text)).split()


class OffsetMap:
    """Maps offsets in ``fold(text)`` back to offsets in ``text``.

    Folding changes the length only at characters whose folded form is not one character long (ß, æ, …,
    combining marks); those are found once per text and the offsets between them are linear. For an
    ASCII text, or any text without such characters, the map is the identity.
    """

    __slots__ = ("_fold_end", "_fold_start", "_length", "_orig", "_shift", "_zero", "identity")

    def __init__(self, text: str, chars: frozenset[str] | None = None) -> None:
        events: list[tuple[int, int]] = []
        if not text.isascii():
            for c in non_ascii(text) if chars is None else chars:
                n = len(fold_char(c))
                if n != 1:
                    i = text.find(c)
                    while i >= 0:
                        events.append((i, n))
                        i = text.find(c, i + 1)
        events.sort()
        self.identity = not events  # offsets are the same in both texts
        self._length = len(text)
        self._orig = [p for p, _ in events]
        self._fold_start: list[int] = []
        self._fold_end: list[int] = []
        self._shift = [0]  # shift[k]: folded minus original offset after the first k events
        self._zero = {p for p, n in events if n == 0}
        shift = 0
        for p, n in events:
            self._fold_start.append(p + shift)
            self._fold_end.append(p + shift + n)
            shift += n - 1
            self._shift.append(shift)

    def start(self, x: int) -> int:
        """Original offset of the character that produced folded offset ``x`` (a word's start)."""
        if not self._orig:
            return x
        k = bisect_right(self._fold_end, x)
        if k < len(self._orig) and self._fold_start[k] <= x:
            return self._orig[k]
        return x - self._shift[k]

    def end(self, x: int) -> int:
        """Original (exclusive) end for a folded (exclusive) end ``x``, including trailing marks."""
        if not self._orig or x <= 0:
            return x if not self._orig else 0
        o = self.start(x - 1) + 1
        while o < self._length and o in self._zero:
            o += 1
        return o


def char_tokens(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` found one character at a time: ``(folded word, original start, original end)``.

    This is the plain definition (used by the reference evaluator and for ``cs()`` literals); the engine
    gets the same words from ``fold``/``clean`` much faster. The original end includes combining marks
    that follow the word's last character.
    """
    folded: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        for ch in fold_char(c):
            folded.append(ch)
            origin.append(i)
    n = len(folded)
    separator = [not ch.isalnum() for ch in folded]
    for j in range(n - 1):
        if folded[j] == "'" and folded[j + 1] == "s" and (j + 2 == n or not folded[j + 2].isalnum()):
            separator[j + 1] = True
    out: list[tuple[str, int, int]] = []
    j = 0
    while j < n:
        if separator[j]:
            j += 1
            continue
        k = j
        while k < n and not separator[k]:
            k += 1
        end = origin[k - 1] + 1
        while end < len(text) and fold_char(text[end]) == "":
            end += 1
        out.append(("".join(folded[j:k]), origin[j], end))
        j = k
    return out
