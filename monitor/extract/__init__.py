"""Extract/normalise stage: fetched bytes or pre-extracted text in, ``NormalizedArticle`` out.

Everything here is pure CPU work (bytes in, value out, no I/O, no caches that grow), so the daemon can
run it in a worker thread or process. See ``_html`` for the HTML pipeline and ``_clean`` for the
text-level cleanup both paths share.
"""

from monitor.extract._clean import clean_paragraphs
from monitor.extract._decode import decode_html
from monitor.extract._errors import ExtractionError
from monitor.extract._html import extract_html
from monitor.extract._text import normalize_document, normalize_text

__all__ = [
    "ExtractionError",
    "clean_paragraphs",
    "decode_html",
    "extract_html",
    "normalize_document",
    "normalize_text",
]
