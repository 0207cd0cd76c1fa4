"""Parsing HTML into the one lxml tree that metadata, dates and trafilatura all read.

The parser is configured like trafilatura's own (comments and processing instructions dropped, no
default doctype, no id collection) with one difference that matters for speed: elements are created as
``lxml.html.HtmlElement`` through lxml's C-level default class lookup instead of ``lxml.html``'s
Python-level ``HtmlElementClassLookup``. That lookup is a Python call each time lxml creates a proxy
for a node, which trafilatura, htmldate and our walks do hundreds of thousands of times per page set:
measured on 200 WCXB pages, parsing took 1.9 ms instead of 3.2 ms a page and trafilatura 8 % less
time, with identical trees (element counts on all 711 pages) and identical extracted text (compared on
those 200 pages). What is lost
is only ``lxml.html``'s special classes for form controls (``FormElement.fields`` and the like), which
nothing here uses.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from monitor.extract._errors import ExtractionError

__all__ = ["parse_fragment", "parse_html"]

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def _parser() -> etree.HTMLParser:
    parser = etree.HTMLParser(
        collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True, no_network=True
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment)
    )
    return parser


# One parser per thread: lxml replicates only its *default* parser for each thread, and the lxml FAQ asks
# for a parser per thread otherwise (the daemon may extract in worker threads).
_LOCAL = threading.local()


def _thread_parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _parser()
    return parser


def parse_html(text: str) -> Any:
    """A whole page. Raises ``ExtractionError`` when the text is not HTML.

    As in ``trafilatura.load_html``: text that does not mention ``html`` in its first 50 characters and
    parses to a single element is rejected as "not an HTML document", and trafilatura's loader (which
    repairs a few documents libxml2 chokes on) is the fallback when our parse yields nothing.
    """
    declaration = _XML_DECLARATION.match(text)  # lxml refuses a str that declares an encoding
    if declaration is not None:
        text = text[declaration.end() :]
    try:
        tree = etree.fromstring(text, _thread_parser()) if text.strip() else None
    except (ValueError, etree.ParserError):
        tree = None
    if tree is None or len(tree) < 1:
        import trafilatura  # here, not at the top: the page path only (a feed's fragments never need it)

        tree = trafilatura.load_html(text) if text.strip() else None
    elif "html" not in text[:50].lower() and len(tree) < 2:
        tree = None
    if tree is None:
        raise ExtractionError("the payload is not an HTML document")
    return tree


def parse_fragment(text: str) -> Any:
    """A piece of HTML (a feed entry's content): the ``<body>`` element holding it, or None."""
    try:
        root = etree.fromstring(f"<html><body>{text}</body></html>", _thread_parser())
    except (ValueError, etree.ParserError):
        return None
    return None if root is None else root.find("body")
