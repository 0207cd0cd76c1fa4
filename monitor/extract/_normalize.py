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
# The union of the three classes above: one scan tells whether any of them has work to do.
_ODD = re.compile(
    "[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u00ad\u180e\u200b\u2060\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
# A dash lost on the way leaves exactly two ASCII spaces between two words ("meeting  total unanimity").
# Only a letter followed by a *lower-case* letter counts: a capital after a double space is more often
# a lost sentence break, and three or more spaces are layout, not a lost character.
_LOST_DASH = re.compile(r"(?<=[^\W\d_]) {2}(?=[^\W\d_])")
# ftfy's own detector is thorough but slow (~0.1 ms a line). Mojibake from UTF-8 read as Windows-1252 or
# Latin-1 (by far the common kind) always shows a lead-byte letter (Â..ô) followed by a continuation-byte
# character (U+0080..U+00BF or one of the Windows-1252 punctuation marks), or C1 controls: only lines
# with such a pair are handed to ftfy. Other kinds of mojibake are left alone.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160"
    "\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153"
    "\u017e\u0178]|[\u0080-\u009f]"
)
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
    """One line in, one clean line out (possibly empty); see ``_normalize_once``.

    Repeated until nothing changes (at most a few rounds): a mojibake repair can expose a space that then
    collapses, and a collapsed space can complete a mojibake sequence. Iterating makes cleaning a fixed
    point, which the daemon relies on when it re-normalises stored text.
    """
    for _ in range(4):
        cleaned = _normalize_once(line, repair_dashes=repair_dashes)
        if cleaned == line:
            break
        line = cleaned
    return line


def _normalize_once(line: str, *, repair_dashes: bool) -> str:
    """One round of character normalisation.

    ``repair_dashes`` turns a double space between two words into " — " (see ``_LOST_DASH``). It is
    meant for text that went through a lossy pipeline before reaching us (the seed files); text we
    extract from HTML ourselves never lost its dashes, and there a double space is markup residue.
    """
    if not line:
        return ""
    if line.isascii() and line.isprintable():  # the common case: only spacing can need work
        if repair_dashes and "  " in line:
            line = _LOST_DASH.sub(_dash, line)
        return " ".join(line.split())
    if not line.isascii() and _MOJIBAKE_HINT.search(line) and is_bad(line):
        # Mojibake first: its byte sequences include C1 "controls" that are really UTF-8 fragments.
        line = ftfy.fix_text(line, _FTFY)
    if _ODD.search(line):  # one scan for the three kinds of odd characters below (most lines have none)
        if _INVISIBLE.search(line):
            line = _INVISIBLE.sub("", line)
        if _CONTROLS.search(line):
            line = _CONTROLS.sub(" ", line)
        if repair_dashes and "  " in line:
            line = _LOST_DASH.sub(_dash, line)
        line = _SPACES.sub(" ", line)
    elif repair_dashes and "  " in line:
        line = _LOST_DASH.sub(_dash, line)
    if not line.isascii() and not unicodedata.is_normalized("NFC", line):
        line = unicodedata.normalize("NFC", line)
    return " ".join(line.split())
