"""Phrases in a padded field text (``" " + cleaned + " "``), apart from ``_analysis`` to keep it short."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["occurrences"]


def occurrences(padded: str, words: tuple[str, ...], begin: int = 0) -> Iterator[tuple[int, int]]:
    """Folded (start, end) of each occurrence of the words in a row, in ``" " + cleaned + " "``, from
    offset ``begin`` of ``padded``.

    ``str.find`` of " word" (a needle ending in a space searches up to twice as slowly) and a check of
    the space after it, then the next words are compared in place, past the spaces punctuation left.
    """
    first = " " + words[0]
    end = len(padded)
    at = padded.find(first, begin)
    while at >= 0:
        j = at + len(first)  # the space after the first word, unless a longer word starts so
        if padded[j] == " ":
            for word in words[1:]:
                while j < end and padded[j] == " ":
                    j += 1
                if not padded.startswith(word, j):
                    break
                j += len(word)
                if padded[j] != " ":
                    break
            else:
                yield at, j - 1
        at = padded.find(first, at + 1)
