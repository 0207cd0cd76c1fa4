"""Extract/normalise stage: a fetched page, a feed entry's HTML or pre-extracted text in,
``NormalizedArticle`` out.

Everything here is pure CPU work (bytes in, value out, no I/O, no caches that grow), so the daemon can
run it in a worker thread or process. See ``_html`` for the page pipeline, ``_fragment`` for the fast
path for article HTML carried in feeds, and ``_clean`` for the text-level cleanup all paths share.
"""

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
