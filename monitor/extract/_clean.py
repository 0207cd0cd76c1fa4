"""``clean_paragraphs``: the text-level cleanup shared by the HTML and the plain-text paths.

Order matters and is chosen so that the result is a fixed point (cleaning clean output changes nothing):
characters first (so that patterns see canonical text), then structure (glued sentences and headings),
then furniture, then the title, then duplicates (last, because the earlier steps create comparable
units).
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.extract._boilerplate import is_boilerplate, is_section_end, strip_list_marker
from monitor.extract._normalize import normalize_line, split_lines
from monitor.extract._paragraphs import dedupe, paragraph_key, split_glued

__all__ = ["clean_paragraphs", "prepare_lines"]

# A "related articles" / comments / copyright heading ends the article only if most of the text is
# already behind us; earlier than that it is more likely an in-article box, which is dropped alone.
_SECTION_END_MIN_SHARE = 0.5
_MAX_RESPLIT = 3


def prepare_lines(paragraphs: Iterable[str], *, repair_dashes: bool = True) -> list[str]:
    """Character-level normalisation and structural splitting, without dropping anything but blanks."""
    lines: list[str] = []
    for paragraph in paragraphs:
        for raw in split_lines(paragraph):
            lines.extend(_prepare(raw, repair_dashes=repair_dashes, depth=0))
    return lines


def _prepare(raw: str, *, repair_dashes: bool, depth: int) -> list[str]:
    line = strip_list_marker(normalize_line(raw, repair_dashes=repair_dashes))
    if not line:
        return []
    pieces = split_glued(line)
    if pieces == [line] or depth >= _MAX_RESPLIT:
        return pieces
    # A piece can normalise differently on its own (mojibake detection looks at the whole string) or
    # expose another bullet: run it through again, so that cleaning clean output changes nothing.
    out: list[str] = []
    for piece in pieces:
        out.extend(_prepare(piece, repair_dashes=repair_dashes, depth=depth + 1))
    return out


def _truncate_at_section_end(lines: list[str]) -> list[str]:
    total = sum(len(line) for line in lines)
    seen = 0
    for index, line in enumerate(lines):
        if index and is_section_end(line) and seen >= _SECTION_END_MIN_SHARE * total:
            return lines[:index]
        seen += len(line)
    return lines


def clean_paragraphs(
    paragraphs: Iterable[str],
    *,
    title: str | None = None,
    repair_dashes: bool = True,
    cut_trailing_sections: bool = True,
) -> tuple[str, ...]:
    """Clean article paragraphs: one paragraph per element of the result, each a single clean line.

    Applies, in order: whitespace collapse (no-break, thin and zero-width spaces, soft hyphens, tabs),
    NFC, unambiguous mojibake repair (ftfy), lost-dash repair (``repair_dashes``; a double space between
    two words becomes " — ", meant for text extracted by someone else), bullet removal, splitting of glued
    sentences and glued headings, truncation at a trailing "related"/comments/copyright section, removal
    of furniture lines (navigation, share/comment prompts, newsletter and cookie boxes, captions, photo
    credits, bylines and datelines standing alone, markup remnants), removal of the title repeated as a
    body line, and finally of duplicate paragraphs and of short paragraphs contained in a longer one.
    """
    lines = prepare_lines(paragraphs, repair_dashes=repair_dashes)
    if cut_trailing_sections:
        lines = _truncate_at_section_end(lines)
    lines = [line for line in lines if not is_boilerplate(line)]
    title_key = paragraph_key(normalize_line(title, repair_dashes=False)) if title else None
    return tuple(dedupe(lines, drop_key=title_key or None))
