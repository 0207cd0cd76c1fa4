"""Helpers shared by the parsers: headers, the error contract, plain text, dates and URLs.

Kept free of feedparser (which only ``_feed.py`` may import) so that the HTML and sitemap parsers can
use them too.
"""

from __future__ import annotations

import codecs
import functools
import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import ParamSpec, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html
from tld import get_fld

from monitor.parse._types import ParseError

P = ParamSpec("P")
R = TypeVar("R")

FETCHABLE_SCHEMES = frozenset({"http", "https", "file"})
_WS = re.compile(r"\s+")
_HIDDEN = ("script", "style", "noscript", "template")
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


def parse_contract(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a public parser so that malformed input can only ever surface as :class:`ParseError`.

    Callers (the pipeline, the pool) then need one ``except`` clause and never crash a poll loop on a
    hostile body; the original exception stays chained as ``__cause__`` for debugging.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except ParseError:
                raise
            except Exception as exc:  # the contract: nothing but ParseError escapes a parser
                url = kwargs.get("url")
                where = url if isinstance(url, str) else "<unknown url>"
                detail = f"{type(exc).__name__}: {exc}"[:300]
                raise ParseError(
                    f"cannot parse {what} at {where}: {detail}", url=url if isinstance(url, str) else None
                ) from exc

        return wrapper

    return decorate


# -- headers and charsets ------------------------------------------------------------------------------


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Response headers with lower-case keys (feedparser and our lookups expect them)."""
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _content_type(headers: Mapping[str, str]) -> Message:
    msg = Message()
    msg["content-type"] = headers.get("content-type", "")
    return msg


def media_type(headers: Mapping[str, str]) -> str:
    """The bare media type of a (lower-cased) header mapping, '' when absent."""
    if not headers.get("content-type"):
        return ""
    return _content_type(headers).get_content_type().lower()


def known_codec(name: str | None) -> str | None:
    """``name`` if Python knows the codec, else None (a bogus charset must not crash a parser)."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None


def header_charset(headers: Mapping[str, str]) -> str | None:
    if not headers.get("content-type"):
        return None
    param = _content_type(headers).get_param("charset")
    return known_codec(param if isinstance(param, str) else None)


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_:.\-]+)""")
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)


def bom_codec(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """Decode an HTML page the way browsers do: BOM, then Content-Type charset, then the XML declaration
    (XHTML) or ``<meta>``.

    Without any declaration, strict UTF-8 is tried before charset-normalizer guesses: most of the web is
    UTF-8 and a guess on a short page is worse than that prior.
    """
    codec = bom_codec(body) or header_charset(headers)
    if codec is None:
        match = _XML_ENCODING.match(body[:1024]) or _META_CHARSET.search(body[:4096])
        codec = known_codec(match.group(1).decode("ascii")) if match else None
        if codec and codec.startswith(("utf-16", "utf-32")):
            codec = "utf-8"  # an ASCII-readable <meta> cannot be UTF-16; HTML says to read UTF-8
    if codec is not None:
        return body.decode(codec, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:65536]).best()
        return body.decode(best.encoding if best else "cp1252", errors="replace")


def html_document(body: bytes, *, url: str, headers: Mapping[str, str], what: str) -> lxml.html.HtmlElement:
    """Parse an HTML page into an lxml tree (libxml2's HTML parser is forgiving and never fetches).

    The text is decoded here (see :func:`decode_html`) and handed to libxml2 as UTF-8 with the encoding
    forced, so that neither a ``<meta>`` nor an XML declaration can make it decode a second time.
    """
    text = decode_html(body, headers)
    if not text.strip():
        raise ParseError(f"empty {what} at {url}", url=url)
    try:
        parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True)  # parsers are not thread-safe
        doc = lxml.html.document_fromstring(text.encode("utf-8", errors="replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ParseError(f"no HTML content in the {what} at {url}: {exc}", url=url) from exc
    if doc is None:
        raise ParseError(f"no HTML content in the {what} at {url}", url=url)
    return doc


def base_url(doc: lxml.html.HtmlElement, url: str) -> str:
    """The document's base URL: ``<base href>`` resolved against the page URL, else the page URL."""
    for base in doc.iter("base"):
        href = str(base.get("href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


# -- text ----------------------------------------------------------------------------------------------


def collapse(text: str | None) -> str | None:
    """Collapse runs of whitespace; None for nothing left."""
    if text is None:
        return None
    out = _WS.sub(" ", text).strip()
    return out or None


def plain_text(text: str | None, *, markup: bool = False) -> str | None:
    """Plain text from a title-like string: tags stripped and entities decoded, whitespace collapsed.

    ``markup`` says the source declared HTML; otherwise the string is only treated as markup when it
    looks like it (an RSS title with escaped tags is common), so that "a < b" survives intact. Script
    and style elements go with their text: feedparser no longer sanitises (see ``_feed``).
    """
    if not text:
        return None
    if markup or _LOOKS_LIKE_MARKUP.search(text):
        try:
            fragment = lxml.html.fragment_fromstring(text, create_parent="div")
            for hidden in list(fragment.iter(_HIDDEN)):  # their text is code, not words of the title
                hidden.drop_tree()
            text = str(fragment.text_content())
        except (lxml.etree.ParserError, ValueError):
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return collapse(html.unescape(text) if "&" in text else text)


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate them), so ``content_html`` is always HTML."""
    paragraphs = [html.escape(p.strip()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


# -- dates ---------------------------------------------------------------------------------------------


def _parse_raw_date(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return None  # "-0000" or an unknown zone name: the offset is unknown, let the fallback decide
    return parsed


def parse_date(raw: str | None, fallback: datetime | None = None) -> datetime | None:
    """A timezone-aware datetime that keeps the source's own UTC offset.

    ``raw`` is the date as written (RFC 822 or ISO 8601 / RFC 3339); ``fallback`` is an aware value
    from a more lenient parser (feedparser's UTC ``*_parsed``), used when ``raw`` has no usable offset
    and trusted for the *instant* when both disagree (then shown in the raw string's offset).
    """
    parsed = _parse_raw_date(raw) if raw else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = None if fallback is not None else parsed.replace(tzinfo=UTC)
    if parsed is None:
        return fallback
    if fallback is not None and abs(parsed - fallback) > timedelta(seconds=1):
        return fallback.astimezone(parsed.tzinfo)
    return parsed


def parse_w3c_date(raw: str | None) -> datetime | None:
    """Sitemap/JSON Feed dates (W3C datetime, RFC 3339); a bare date means midnight UTC."""
    if not raw:
        return None
    parsed = _parse_raw_date(raw)
    if parsed is None:
        # W3C datetime also allows "YYYY" and "YYYY-MM".
        match = re.fullmatch(r"\s*(\d{4})(?:-(\d{2}))?\s*", raw)
        if not match:
            return None
        try:
            return datetime(int(match.group(1)), int(match.group(2) or 1), 1, tzinfo=UTC)
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# -- URLs ----------------------------------------------------------------------------------------------


def resolve_url(base: str, href: str | None, *, keep_fragment: bool = False) -> str | None:
    """``href`` made absolute against ``base``; None unless it is an http(s) or file URL.

    Fragments are dropped (they name a place in a page, not another article); ``javascript:``,
    ``mailto:``, ``data:`` and friends come back as None.
    """
    if not href:
        return None
    href = href.strip()
    if not href:
        return None
    try:
        parts = urlsplit(href)
        if not (parts.scheme and parts.netloc):  # already absolute: skip the (costly) join
            parts = urlsplit(urljoin(base, href))
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        return None
    if scheme != "file" and not parts.netloc:
        return None
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit(
        (scheme, parts.netloc, parts.path or ("/" if scheme != "file" else ""), parts.query, fragment)
    )


def is_url(value: str | None) -> bool:
    """True for an absolute http(s) or file URL (a guid that can double as the entry's link)."""
    if not value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    return scheme in FETCHABLE_SCHEMES and (scheme == "file" or bool(parts.netloc))


def _site(host: str) -> str:
    fld = get_fld(host, fail_silently=True, fix_protocol=True)
    if isinstance(fld, str):
        return fld.lower()
    return host.removeprefix("www.")


def same_site(url: str, reference: str) -> bool:
    """Whether two URLs belong to the same site: same registrable domain (public suffix list, private
    suffixes included, so ``a.github.io`` and ``b.github.io`` differ); IPs and ``localhost`` must match
    exactly; file URLs only match file URLs."""
    try:
        a, b = urlsplit(url), urlsplit(reference)
        host_a = (a.hostname or "").rstrip(".")
        host_b = (b.hostname or "").rstrip(".")
    except ValueError:
        return False
    if "file" in (a.scheme, b.scheme):
        return a.scheme == b.scheme and host_a in ("", "localhost") and host_b in ("", "localhost")
    if not host_a or not host_b:
        return False
    if host_a == host_b:
        return True
    return _site(host_a) == _site(host_b)
