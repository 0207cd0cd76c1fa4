"""Extract/normalise stage: a fetched page, a feed entry's HTML or pre-extracted text in,
``NormalizedArticle`` out.

Everything here is pure CPU work (bytes in, value out, no I/O, no caches that grow), so the daemon can
run it in a worker thread or process. See ``_html`` for the page pipeline, ``_fragment`` for the fast
path for article HTML carried in feeds, and ``_clean`` for the text-level cleanup all paths share.

The names below are loaded on first use (PEP 562): the daemon's event-loop process only catches
``ExtractionError`` and hands the functions to worker processes, so it need not hold trafilatura,
htmldate, readability and ftfy (~10 MB) that only the workers run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.extract._clean import clean_paragraphs
    from monitor.extract._decode import decode_html
    from monitor.extract._errors import ExtractionError
    from monitor.extract._fragment import normalize_fragment
    from monitor.extract._html import extract_html
    from monitor.extract._text import normalize_document, normalize_text

__all__ = [
    "ExtractionError",
    "clean_paragraphs",
    "decode_html",
    "extract_html",
    "normalize_document",
    "normalize_fragment",
    "normalize_text",
]

_HOME = {
    "ExtractionError": "_errors",
    "clean_paragraphs": "_clean",
    "decode_html": "_decode",
    "extract_html": "_html",
    "normalize_document": "_text",
    "normalize_fragment": "_fragment",
    "normalize_text": "_text",
}

# __getattr__ is hidden from mypy, which would otherwise type any misspelt name as Any.
_getattr, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
if not TYPE_CHECKING:
    __getattr__ = _getattr
