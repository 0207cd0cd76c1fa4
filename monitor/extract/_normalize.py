"""Character-level normalisation of one line: whitespace, invisible characters, NFC, mojibake, lost dashes.

Kept separate from the paragraph-level cleanup because it is the part that must never change meaning:
it only fixes how characters are *spelled*.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.badness import is_bad

__all__ = ["normalize_line", "split_lines"]

# Spaces that are not U+0020: no-break, thin, hair, figure, ideographic... all become one plain space.
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Zero-width and soft characters that only affect rendering. ZWJ/ZWNJ (U+200C/U+200D) are kept: they
# change how Persian, Indic scripts and emoji sequences read, so removing them would alter the text.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b\u2060\ufeff]")
# C0/C1 control characters (line breaks were split off before this runs).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A dash lost on the way leaves exactly two ASCII spaces between two words ("meeting  total unanimity").
# Only a letter followed by a *lower-case* letter counts: a capital after a double space is more often
# a lost sentence break, and three or more spaces are layout, not a lost character.
_LOST_DASH = re.compile(r"(?<=[^\W\d_]) {2}(?=[^\W\d_])")
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # "&amp;" in plain text is text; HTML entities were decoded by the parser
    fix_latin_ligatures=False,  # NFC, not NFKC: keep what the publisher wrote
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    normalization="NFC",
    explain=False,
)


def _dash(match: re.Match[str]) -> str:
    following = match.string[match.end()]
    return " — " if following.islower() else match.group(0)


def split_lines(text: str) -> list[str]:
    """Split on every Unicode line boundary (CR, LF, CRLF, U+2028/2029, NEL, VT, FF)."""
    return text.splitlines()


def normalize_line(line: str, *, repair_dashes: bool) -> str:
    """One line in, one clean line out (possibly empty).

    ``repair_dashes`` turns a double space between two words into " — " (see ``_LOST_DASH``). It is
    meant for text that went through a lossy pipeline before reaching us (the seed files); text we
    extract from HTML ourselves never lost its dashes, and there a double space is markup residue.
    """
    if not line:
        return ""
    if not line.isascii() and is_bad(line):
        # Mojibake first: its byte sequences include C1 "controls" that are really UTF-8 fragments.
        line = ftfy.fix_text(line, _FTFY)
    if _INVISIBLE.search(line):
        line = _INVISIBLE.sub("", line)
    if _CONTROLS.search(line):
        line = _CONTROLS.sub(" ", line)
    if repair_dashes and "  " in line:
        line = _LOST_DASH.sub(_dash, line)
    line = _SPACES.sub(" ", line)
    if not line.isascii() and not unicodedata.is_normalized("NFC", line):
        line = unicodedata.normalize("NFC", line)
    return " ".join(line.split())
